"""`channelhub webhooks register|list|remove` over a config whose Shopify and WooCommerce channels reach the fakes
(the connectors are built with the fakes' transports), and the refusals: no address, plain http, a channel that
cannot manage subscriptions (exit 2 each)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest
from channelhub_connectors.shopify.connector import ShopifyConnector
from channelhub_connectors.woocommerce.connector import WooCommerceConnector
from typer.testing import CliRunner

from channelhub.cli import app
from channelhub.ports import ConnectorContext
from channelhub.runtime import Hub
from doubles.shopify.fake_shop import FakeShop
from doubles.woocommerce.fake_store import FakeStore, session_for

PLAIN = """
from channelhub.ports import Capability, Connector, EmptySettings, WriteResult


class PlainConnector(Connector):
    kind = "plain"
    capabilities = frozenset({Capability.PUSH_STOCK})
    config_model = EmptySettings

    def push_stock(self, updates):
        return [WriteResult(u.idempotency_key) for u in updates]
"""

CONFIG = """
database = "sqlite:///hub.db"

[[channels]]
name = "shopify"
kind = "shopify"
[channels.settings]
shop = "acme"
access_token = "shpat_cli_token"
client_secret = "whsec_cli"
location_id = "1"

[[channels]]
name = "woo"
kind = "woocommerce"
[channels.settings]
store_url = "https://shop.example.test"
consumer_key = "ck_cli"
consumer_secret = "cs_cli"
webhook_secret = "wh_cli_secret"

[[channels]]
name = "plain"
kind = "plain"
"""


@pytest.fixture
def fakes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> SimpleNamespace:
    (tmp_path / "connectors").mkdir()
    (tmp_path / "connectors" / "plain.py").write_text(PLAIN)
    (tmp_path / "channelhub.toml").write_text(CONFIG)
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("CHANNELHUB_CONFIG", raising=False)
    shop, store = FakeShop(), FakeStore(consumer_key="ck_cli", consumer_secret="cs_cli")
    real_build = Hub._build

    def build(self: Hub, runtime) -> list[str]:  # the real connectors, over the fakes' transports
        context = ConnectorContext(channel=runtime.name)
        if runtime.kind == "shopify":
            context.transport = httpx.Client(transport=shop.mock_transport())
            runtime.connector = ShopifyConnector(runtime.settings.connector_config, context, sleep=lambda s: None)
        elif runtime.kind == "woocommerce":
            context.transport = session_for(store)
            runtime.connector = WooCommerceConnector(runtime.settings.connector_config, context)
        else:
            return real_build(self, runtime)
        return []

    monkeypatch.setattr(Hub, "_build", build)
    return SimpleNamespace(shop=shop, store=store)


def invoke(*args: str):
    return CliRunner().invoke(app, list(args))


@pytest.mark.parametrize("channel", ["shopify", "woo"])
def test_register_twice_list_and_remove(fakes: SimpleNamespace, channel: str) -> None:
    url = f"https://hub.example.com/webhooks/{channel}"
    first = invoke("webhooks", "register", "--channel", channel, "--url", url, "--json")
    assert first.exit_code == 0, first.output
    registered = json.loads(first.stdout)
    assert registered and {s["address"] for s in registered} == {url}
    again = invoke("webhooks", "register", "--channel", channel, "--url", url, "--json")
    assert json.loads(again.stdout) == registered
    listed = invoke("webhooks", "list", "--channel", channel)
    assert listed.exit_code == 0 and url in listed.stdout and f"({len(registered)})" in listed.stdout
    removed = invoke("webhooks", "remove", "--channel", channel, "--url", url, "--json")
    assert removed.exit_code == 0 and len(json.loads(removed.stdout)) == len(registered)
    assert json.loads(invoke("webhooks", "list", "--channel", channel, "--json").stdout) == []
    assert "wh_cli_secret" not in first.output + again.output + listed.output


def test_without_url_or_public_url_register_exits_2_saying_what_to_do(fakes: SimpleNamespace) -> None:
    result = invoke("webhooks", "register", "--channel", "woo")
    assert result.exit_code == 2
    assert "--url" in result.stderr and "public_url" in result.stderr
    assert fakes.store.webhooks == {}


def test_the_address_defaults_to_the_receiver_under_public_url(fakes, tmp_path: Path) -> None:
    config = tmp_path / "channelhub.toml"
    config.write_text(config.read_text() + '\n[http]\npublic_url = "https://hub.example.com/"\n')
    result = invoke("webhooks", "register", "--channel", "shopify", "--json")
    assert result.exit_code == 0, result.output
    assert {s["address"] for s in json.loads(result.stdout)} == {"https://hub.example.com/webhooks/shopify"}


@pytest.mark.parametrize("url", ["http://hub.example.com/webhooks/woo", "ftp://hub.example.com/x", "hub/webhooks"])
def test_a_url_that_is_not_https_is_refused_with_exit_2(fakes: SimpleNamespace, url: str) -> None:
    result = invoke("webhooks", "register", "--channel", "woo", "--url", url)
    assert result.exit_code == 2, result.output
    assert fakes.store.webhooks == {}


def test_a_loopback_http_url_is_taken(fakes: SimpleNamespace) -> None:
    result = invoke("webhooks", "register", "--channel", "woo", "--url", "http://127.0.0.1:8787/webhooks/woo")
    assert result.exit_code == 0, result.output
    assert len(fakes.store.webhooks) == 2


def test_a_channel_that_cannot_manage_subscriptions_exits_2_naming_it(fakes: SimpleNamespace) -> None:
    for command in (["register", "--url", "https://hub.example.com/x"], ["list"], ["remove"]):
        result = invoke("webhooks", *command, "--channel", "plain")
        assert result.exit_code == 2, result.output
        assert "plain" in result.stderr and "webhook_subscriptions" in result.stderr


def test_an_unknown_channel_exits_2(fakes: SimpleNamespace) -> None:
    result = invoke("webhooks", "list", "--channel", "nope")
    assert result.exit_code == 2 and "nope" in result.stderr
