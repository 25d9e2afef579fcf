"""GET /metrics after real actions on a hub on a SQLite file: every figure the issue names moves when the thing it
counts happens (so each test fails if its instrumentation is removed), the token guards it, and a database that
does not answer leaves the process figures served with `channelhub_database_up 0`.

The process counters are shared by every test in the run (one registry per process, as in production), so the
tests compare a figure before and after the action.
"""

from __future__ import annotations

import json
import threading
import time
import warnings
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from channelhub_connectors.shopify.webhooks import signature
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from channelhub.runtime import Hub
from channelhub.services import channels as channel_services
from channelhub.services import stock as stock_services
from channelhub.stock.policy import ChannelStockPolicy
from channelhub.testing.fakes import FakeOrderSource, make_order
from channelhub.web.app import create_app
from channelhub.web.metrics import metrics_registry
from doubles.shopify import samples

# starlette's TestClient warns, on import, that it will want httpx2; httpx is what the project pins today.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", message="Using `httpx` with `starlette.testclient`")
    from starlette.testclient import TestClient

TOKEN = "metrics-test-token-1234567890"
SECRET = "shopify-client-secret-test"
CONFIG = """
database = "{url}"

[http]
listen = "127.0.0.1:0"
max_body_bytes = 65536
token = "{token}"

[[locations]]
code = "main"

[[channels]]
name = "shop"
kind = "marketplace"
reconcile = "off"
[channels.settings]
root = "shop"

[[channels]]
name = "web"
kind = "shopify"
[channels.settings]
shop = "acme"
access_token = "shpat_metrics_test"
client_secret = "{secret}"
location_id = "1"
"""
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def hub(tmp_path: Path, db_url: str) -> Iterator[Hub]:
    """The hub on each backend (SQLite file, PostgreSQL): the queries behind the figures run on both."""
    (tmp_path / "shop" / "inbox").mkdir(parents=True)
    config = CONFIG.format(url=db_url, token=TOKEN, secret=SECRET)
    (tmp_path / "channelhub.toml").write_text(config, encoding="utf-8")
    with Hub.open(tmp_path / "channelhub.toml", connect=True) as opened:
        opened.channels["shop"].connector = FakeOrderSource("shop")  # records every write; pulls what it is given
        opened.policies = [ChannelStockPolicy("shop")]  # stock goes to the fake only, never to Shopify
        yield opened


@pytest.fixture
def client(hub: Hub) -> TestClient:
    return TestClient(create_app(hub))  # no lifespan: no applier thread, stored deliveries stay waiting


def shop(hub: Hub) -> FakeOrderSource:
    connector = hub.channels["shop"].connector
    assert isinstance(connector, FakeOrderSource)
    return connector


def parse(exposition: str) -> Samples:
    """{(sample name, sorted labels): value} of every sample in the exposition."""
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


def scrape(client: TestClient) -> Samples:
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"] == CONTENT_TYPE_LATEST
    return parse(answer.text)


def value(samples: Samples, name: str, **labels: str) -> float | None:
    return samples.get((name, tuple(sorted(labels.items()))))


def count(samples: Samples, name: str, **labels: str) -> float:
    """A counter's or histogram's value, 0 when it has no such child yet."""
    return value(samples, name, **labels) or 0.0


def test_metrics_needs_the_token(client: TestClient) -> None:
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer not-the-token-at-all"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"}).status_code == 401
    assert value(scrape(client), "channelhub_database_up") == 1.0


def test_an_order_held_for_stock_counts_a_refusal_and_a_stock_hold(hub: Hub, client: TestClient) -> None:
    stock_services.set_stock(hub, "MUG-1", 1, location=None, reason="count")
    stock_services.set_stock(hub, "CUP-1", 0, location=None, reason="count")
    before = scrape(client)
    assert value(before, "channelhub_orders_on_hold", reason="stock") == 0.0
    # Two short lines, one order: the refusal is counted per order.
    shop(hub).pages = [[make_order("A-1", [("MUG-1", 3), ("CUP-1", 1)]), make_order("A-2", [("NOPE-1", 1)])]]
    channel_services.pull_channel(hub, "shop")
    after = scrape(client)
    refused = "channelhub_reservations_refused_total"
    assert count(after, refused, reason="short_stock") - count(before, refused, reason="short_stock") == 1
    assert count(after, refused, reason="unknown_sku") - count(before, refused, reason="unknown_sku") == 1
    assert value(after, "channelhub_orders_on_hold", reason="stock") == 2.0
    assert value(after, "channelhub_orders", state="on_hold") == 2.0
    assert value(after, "channelhub_orders", state="confirmed") == 0.0


def test_a_pull_sets_the_last_successful_pull_and_the_lag(hub: Hub, client: TestClient) -> None:
    before = scrape(client)
    assert value(before, "channelhub_channel_last_pull_success_timestamp_seconds", channel="shop") is None
    assert value(before, "channelhub_channel_pull_lag_seconds", channel="shop") is None
    started = datetime.now(UTC).timestamp()
    shop(hub).pages = [[make_order("B-1", [("MUG-1", 1)])]]
    channel_services.pull_channel(hub, "shop")
    finished = datetime.now(UTC).timestamp()
    after = scrape(client)
    last = value(after, "channelhub_channel_last_pull_success_timestamp_seconds", channel="shop")
    assert last is not None and started <= last <= finished
    lag = value(after, "channelhub_channel_pull_lag_seconds", channel="shop")
    assert lag is not None and 0 <= lag <= datetime.now(UTC).timestamp() - started
    assert value(after, "channelhub_channel_stopped", channel="shop") == 0.0
    assert value(after, "channelhub_channel_last_pull_success_timestamp_seconds", channel="web") is None


def test_a_channel_stopped_by_a_fatal_error_shows_as_stopped(hub: Hub, client: TestClient) -> None:
    assert value(scrape(client), "channelhub_channel_stopped", channel="shop") == 0.0
    channel_services.stop_channel(hub, "shop", "the channel refused the credentials")
    assert value(scrape(client), "channelhub_channel_stopped", channel="shop") == 1.0


def test_a_record_that_does_not_map_shows_as_quarantined(hub: Hub, client: TestClient) -> None:
    shop(hub).broken_skus = {"BAD-1"}
    shop(hub).pages = [[make_order("Q-1", [("BAD-1", 1)]), make_order("Q-2", [("MUG-1", 1)])]]
    channel_services.pull_channel(hub, "shop")
    assert value(scrape(client), "channelhub_quarantined_records", channel="shop") == 1.0


def test_a_dead_outbox_row_shows_in_dead_letters_and_depth(hub: Hub, client: TestClient) -> None:
    shop(hub).fail_items["MUG-1"] = ("the channel refuses this SKU", False)  # not retryable: dead at once
    stock_services.set_stock(hub, "MUG-1", 4, location=None, reason="count")
    waiting = scrape(client)
    assert value(waiting, "channelhub_outbox_depth", channel="shop", kind="stock", status="pending") == 1.0
    assert value(waiting, "channelhub_outbox_dead_letters", channel="shop", kind="stock") is None
    channel_services.dispatch(hub)
    after = scrape(client)
    assert value(after, "channelhub_outbox_dead_letters", channel="shop", kind="stock") == 1.0
    assert value(after, "channelhub_outbox_depth", channel="shop", kind="stock", status="dead") == 1.0
    assert value(after, "channelhub_outbox_depth", channel="shop", kind="stock", status="pending") is None


def test_a_dispatched_stock_write_observes_both_histograms(hub: Hub, client: TestClient) -> None:
    stock_services.set_stock(hub, "MUG-1", 7, location=None, reason="count")
    before = scrape(client)
    age = value(before, "channelhub_outbox_oldest_waiting_seconds", channel="shop", kind="stock")
    assert age is not None and age >= 0
    labels = {"channel": "shop", "kind": "stock"}
    started = time.monotonic()
    channel_services.dispatch(hub)
    took = time.monotonic() - started
    after = scrape(client)
    assert shop(hub).listed == {"MUG-1": 7}
    for histogram in ("channelhub_dispatch_seconds", "channelhub_outbox_delivery_seconds"):
        assert count(after, f"{histogram}_count", **labels) - count(before, f"{histogram}_count", **labels) == 1
        observed = count(after, f"{histogram}_sum", **labels) - count(before, f"{histogram}_sum", **labels)
        assert observed >= 0
    assert (
        count(after, "channelhub_dispatch_seconds_sum", **labels)
        - count(before, "channelhub_dispatch_seconds_sum", **labels)
        <= took
    )
    assert value(after, "channelhub_outbox_oldest_waiting_seconds", **labels) is None


def webhook_headers(body: bytes, secret: str = SECRET) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Webhook-Id": "0f0e0d0c-aaaa-4b37-8a5f-bf7d70bcd043",
        "X-Shopify-Shop-Domain": "acme.myshopify.com",
        "X-Shopify-Hmac-Sha256": signature(secret, body),
    }


def test_webhook_answers_are_counted_by_channel_and_outcome(client: TestClient) -> None:
    body = json.dumps(samples.rest_order(9)).encode()
    before = scrape(client)
    assert client.post("/webhooks/web", headers=webhook_headers(body, "forged"), content=body).status_code == 401
    assert client.post("/webhooks/web", headers=webhook_headers(body), content=body).status_code == 200
    assert client.post("/webhooks/web", content=b"x" * 70000).status_code == 413
    assert client.post("/webhooks/nobody-configured-this", content=b"{}").status_code == 404
    after = scrape(client)
    total = "channelhub_webhook_requests_total"
    for channel, outcome in (("web", "bad_signature"), ("web", "stored"), ("web", "too_large"),
                             ("_unknown", "unknown_channel")):  # fmt: skip
        moved = count(after, total, channel=channel, outcome=outcome) - count(
            before, total, channel=channel, outcome=outcome
        )
        assert moved == 1, (channel, outcome)
    assert not any(dict(labels).get("channel") == "nobody-configured-this" for _name, labels in after)
    assert value(after, "channelhub_webhook_deliveries_waiting", channel="web") == 1.0  # no applier here


def test_a_database_that_is_gone_leaves_the_process_figures(hub: Hub, client: TestClient, tmp_path: Path) -> None:
    if hub.db.is_postgres:
        pytest.skip("a SQLite file removed under the running hub")
    body = b"x" * 70000
    client.post("/webhooks/web", content=body)  # a process figure to find afterwards
    (tmp_path / "hub.db").unlink()
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert answer.status_code == 200
    samples = parse(answer.text)
    assert value(samples, "channelhub_database_up") == 0.0
    assert count(samples, "channelhub_webhook_requests_total", channel="web", outcome="too_large") >= 1
    names = {name for name, _labels in samples}
    assert not names & {"channelhub_orders", "channelhub_orders_on_hold", "channelhub_outbox_depth"}


def test_unreadable_database_figures_are_absent_not_zero(hub: Hub) -> None:
    def broken(_hub: Hub) -> object:
        raise RuntimeError("relation outbox does not exist")

    samples = parse(generate_latest(metrics_registry(hub, broken)).decode())  # type: ignore[arg-type]
    assert value(samples, "channelhub_database_up") == 0.0
    assert value(samples, "channelhub_orders", state="on_hold") is None
    healthy = parse(generate_latest(metrics_registry(hub)).decode())
    assert value(healthy, "channelhub_orders", state="on_hold") == 0.0


def test_a_scrape_does_not_wait_for_a_writer(hub: Hub, client: TestClient) -> None:
    """The figures are read in a snapshot beside the writer (SQLite WAL): a scrape while a write transaction is
    open answers with the database up, the writer still holding its lock."""
    holding, release = threading.Event(), threading.Event()

    def writer() -> None:
        with hub.db.transaction() as session:
            session.execute(text("UPDATE channel_state SET last_error = last_error"))
            holding.set()
            release.wait(60)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert holding.wait(60)
        samples = scrape(client)
        assert thread.is_alive() and not release.is_set()
    finally:
        release.set()
        thread.join(60)
    assert value(samples, "channelhub_database_up") == 1.0
