"""Webhooks at the fake store: register is idempotent and signs with the channel's webhook_secret (never logged,
never answered back), a disabled webhook is re-activated, remove deletes for good, refusals are WooCommerce's."""

from __future__ import annotations

import logging

import pytest
from channelhub_connectors.woocommerce import subscriptions
from woo_helpers import WEBHOOK_SECRET, fake

from channelhub.errors import Fatal, Skippable

URL = "https://hub.example.com/webhooks/woo"


def test_register_twice_creates_each_topic_once_with_the_channel_secret(caplog) -> None:
    store, connector = fake()
    with caplog.at_level(logging.DEBUG):
        first = connector.register_webhooks(URL)
        again = connector.register_webhooks(URL)
    assert [s.topic for s in first] == ["order.created", "order.updated"] and again == first
    assert {s.status for s in first} == {"active"} and {s.address for s in first} == {URL}
    assert len(store.calls("POST", "/wp-json/wc/v3/webhooks")) == 2
    assert {w["secret"] for w in store.webhooks.values()} == {WEBHOOK_SECRET}
    assert WEBHOOK_SECRET not in caplog.text
    assert store.refusals == []


def test_no_answer_carries_the_secret() -> None:
    store, connector = fake()
    connector.register_webhooks(URL)
    status, _, listed = store.handle("GET", "https://shop.example.test/wp-json/wc/v3/webhooks",
                                     _auth(store), None)  # fmt: skip
    assert status == 200 and listed and all("secret" not in w for w in listed)


def test_a_disabled_webhook_is_re_activated_not_duplicated() -> None:
    store, connector = fake()
    connector.register_webhooks(URL)
    hook = next(w for w in store.webhooks.values() if w["topic"] == "order.updated")
    hook["status"] = "disabled"  # as WooCommerce leaves it after 5 failed deliveries
    found = connector.register_webhooks(URL)
    assert len(store.webhooks) == 2 and hook["status"] == "active"
    assert found[1].id == str(hook["id"]) and found[1].status == "active"


def test_list_pages_and_remove_deletes_only_that_address(monkeypatch) -> None:
    monkeypatch.setattr(subscriptions, "PER_PAGE", 1)
    store, connector = fake()
    mine = connector.register_webhooks(URL)
    other = connector.register_webhooks("https://other.example.com/hooks")
    assert len(connector.list_webhooks()) == 4
    assert sorted(connector.remove_webhooks(URL), key=lambda s: s.id) == mine
    assert {s.id for s in connector.list_webhooks()} == {s.id for s in other}
    deletes = store.calls("DELETE")
    assert len(deletes) == 2 and all(query.get("force") == ["true"] for _, _, query in deletes)


def test_without_a_webhook_secret_register_refuses_naming_the_setting() -> None:
    store, connector = fake(webhook_secret=None)
    with pytest.raises(Fatal, match="webhook_secret"):
        connector.register_webhooks(URL)
    assert store.webhooks == {}


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"topic": "order.shipped", "delivery_url": URL}, "woocommerce_rest_shop_webhook_invalid_topic"),
        ({"topic": "order.created"}, "rest_missing_callback_param"),
        ({"topic": "order.created", "delivery_url": "ftp://x"}, "woocommerce_rest_shop_webhook_invalid_delivery_url"),
    ],
)
def test_the_fake_refuses_what_woocommerce_refuses(body, code) -> None:
    store, connector = fake()
    with pytest.raises(Skippable) as caught:
        connector.client.call("POST", "webhooks", data=body)
    assert code in str(caught.value)
    assert store.webhooks == {}


def test_a_delete_without_force_is_refused_as_woocommerce_does() -> None:
    store, connector = fake()
    connector.register_webhooks(URL)
    wid = next(iter(store.webhooks))
    status, _, answer = store.handle("DELETE", f"https://shop.example.test/wp-json/wc/v3/webhooks/{wid}",
                                     _auth(store), None)  # fmt: skip
    assert (status, answer["code"]) == (501, "woocommerce_rest_trash_not_supported")
    assert wid in store.webhooks


def _auth(store) -> dict[str, str]:
    import base64

    token = base64.b64encode(f"{store.consumer_key}:{store.consumer_secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}
