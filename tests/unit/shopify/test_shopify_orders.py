"""Mapping both shapes to one canonical order, webhooks, bad input through run_pull, stock batching via Dispatcher."""

from __future__ import annotations

import json
import math
from datetime import timedelta

import pytest
from channelhub_connectors.shopify import webhooks
from channelhub_connectors.shopify.connector import ShopifyConnector
from scenarios import NOW

from channelhub.errors import MappingError
from channelhub.model.orders import ChannelFulfillment, FinancialStatus, Order
from channelhub.ports import RawRecord, StockUpdate
from doubles.shopify import samples

VECTOR_BODY = b'{"foo": "bar"}'
VECTOR_SIG = "B23tXN681gZ0qIWNRrgtzBE9XSDo5yaUu6wfmhu3a7g="


def _headers(topic: str, body: bytes, secret: str = "whsec_test", delivery: str = "d-1") -> dict[str, str]:
    return {
        "X-Shopify-Topic": topic,
        "X-Shopify-Hmac-Sha256": webhooks.signature(secret, body),
        "X-Shopify-Webhook-Id": delivery,
        "X-Shopify-Shop-Domain": "acme.myshopify.com",
    }


def test_the_same_order_by_webhook_and_by_polling_maps_identically(fake_connector) -> None:
    connector, _, _ = fake_connector()
    body = json.dumps(samples.rest_order(1, refund=True, extras=True)).encode()
    (hook,) = connector.parse_webhook(_headers("orders/updated", body), body)
    polled = connector.map_order(
        RawRecord("orders", "poll", json.dumps(samples.graphql_order(1, refund=True, extras=True)))
    )
    webhook = connector.map_order(hook)
    for name in Order.model_fields:
        assert getattr(webhook, name) == getattr(polled, name), name
    assert polled.currency == "CAD" and polled.presentment_currency == "USD"
    assert polled.totals.total.shop.amount == polled.totals.total.shop.amount.__class__("79.05")
    assert [line.kind.value for line in polled.lines] == ["product", "product", "custom", "tip", "gift_card", "service"]
    assert [f.kind for f in polled.fees] == ["duty"] and [s.external_id for s in polled.fulfillments] == ["951"]
    assert polled.tags == ("gift", "vip") and polled.note and polled.payment_method == "shopify_payments"
    assert polled.taxes_included is False and polled.totals.outstanding is not None
    assert polled.totals.total.presentment is not None and polled.totals.total.presentment.currency == "USD"
    assert polled.lines[0].total_discount is not None and polled.discounts[0].code == "SAVE5"
    assert polled.lines[0].taxes[0].rate == polled.lines[0].taxes[0].rate.__class__("0.13")
    assert polled.refunds[0].lines == (("8200011", 1),) and polled.refunds[0].amount.shop.amount == 10
    assert polled.shipping_address is not None and polled.shipping_address.country == "CA"
    assert polled.customer is not None and polled.customer.name == "Ada Lovelace"
    assert hook.delivery_id == "d-1"


@pytest.mark.parametrize(
    ("graphql", "rest", "financial", "fulfilment"),
    [
        ("PENDING", "pending", FinancialStatus.PENDING, None),
        ("AUTHORIZED", "authorized", FinancialStatus.AUTHORIZED, None),
        ("PARTIALLY_REFUNDED", "partially_refunded", FinancialStatus.PARTIALLY_REFUNDED, None),
    ],
)
def test_statuses_map_the_same_from_both_shapes(fake_connector, graphql, rest, financial, fulfilment) -> None:
    connector, _, _ = fake_connector()
    a = connector.map_order(RawRecord("orders", "g", json.dumps(samples.graphql_order(1, financial=graphql))))
    b = connector.map_order(RawRecord("orders", "r", json.dumps(samples.rest_order(1, financial=rest))))
    assert a.financial_status == b.financial_status == financial


def test_fulfilment_status_and_cancellation(fake_connector) -> None:
    connector, _, _ = fake_connector()
    a = connector.map_order(
        RawRecord(
            "orders",
            "g",
            json.dumps(
                samples.graphql_order(1, fulfillment="PARTIALLY_FULFILLED", cancelled_at="2026-03-03T00:00:00Z")
            ),
        )
    )
    b = connector.map_order(
        RawRecord(
            "orders",
            "r",
            json.dumps(samples.rest_order(1, fulfillment="partial", cancelled_at="2026-03-02T19:00:00-05:00")),
        )
    )
    assert a.fulfillment == b.fulfillment == ChannelFulfillment.PARTIALLY_FULFILLED
    assert a.cancelled_at == b.cancelled_at is not None


def test_the_reference_webhook_vector_verifies_and_tampering_is_rejected(fake_connector) -> None:
    connector, _, _ = fake_connector(client_secret="test_secret_key")
    good = {"X-Shopify-Hmac-Sha256": VECTOR_SIG}
    assert connector.verify_webhook(good, VECTOR_BODY) is True
    assert connector.verify_webhook({"x-shopify-hmac-sha256": VECTOR_SIG}, VECTOR_BODY) is True
    assert connector.verify_webhook(good, b'{"foo": "baz"}') is False
    assert connector.verify_webhook({}, VECTOR_BODY) is False
    wrong, _, _ = fake_connector(client_secret="another_secret")
    assert wrong.verify_webhook(good, VECTOR_BODY) is False
    unset, _, _ = fake_connector(client_secret=None)
    assert unset.verify_webhook(good, VECTOR_BODY) is False


def test_refund_webhook_fetches_the_order_with_its_refund(fake_connector) -> None:
    connector, shop, _ = fake_connector()
    shop.orders.append(samples.graphql_order(1, refund=True))
    body = json.dumps({"id": 8200017, "order_id": 820001, "note": "damaged"}).encode()
    (record,) = connector.parse_webhook(_headers("refunds/create", body, delivery="d-9"), body)
    order = connector.map_order(record)
    assert record.delivery_id == "d-9" and order.refunds[0].external_id == "8200017"


def _bad(n: int, **changes) -> dict:
    order = samples.graphql_order(n)
    order.update(changes)
    return order


def _no_country(n: int) -> dict:
    order = samples.graphql_order(n)
    order["shippingAddress"] = {**order["shippingAddress"], "countryCodeV2": None}
    return order


def test_bad_orders_are_quarantined_with_the_reason_and_the_rest_of_the_page_imports(sqlite_database) -> None:
    import httpx
    from scenarios import SETTINGS
    from sqlalchemy import select

    from channelhub.ports import ConnectorContext
    from channelhub.store.tables import InboxRow, OrderRow
    from channelhub.sync.pull import run_pull
    from doubles.shopify.fake_shop import FakeShop

    # Each bad order is one Shopify can send (the fake shop answers only what the schema allows): an address
    # without a country, a CurrencyCode value that is not ISO 4217 (Shopify's enum has USDC), an order with no
    # line left. (A line without a SKU is no such order: see the next test.)
    shop_orders = [
        samples.graphql_order(1),
        samples.graphql_order(2),
        _bad(3, currencyCode="USDC"),
        _bad(4, lineItems={"nodes": []}),
        samples.graphql_order(5),
        _no_country(6),
    ]
    shop = FakeShop(orders=shop_orders)
    connector = ShopifyConnector(
        {**SETTINGS, "page_size": 250},
        ConnectorContext(channel="shopify", transport=httpx.Client(transport=shop.mock_transport())),
    )
    report = run_pull(sqlite_database, connector, policies=(), overlap=timedelta(minutes=5), now=NOW)
    assert report.applied == 3 and report.quarantined == 3, report
    with sqlite_database.transaction() as session:
        reasons = {
            r.external_id: r.reason for r in session.scalars(select(InboxRow).where(InboxRow.status == "quarantined"))
        }
        stored = set(session.scalars(select(OrderRow.external_id)))
    assert stored == {"820001", "820002", "820005"}
    assert "missing field shippingAddress.countryCodeV2" in reasons["820006"]
    assert "unknown currency 'USDC'" in reasons["820003"]
    assert "an order without line items" in reasons["820004"]
    assert all("orders page 1" in r for r in reasons.values())


def test_an_order_with_a_line_without_a_sku_is_imported_not_quarantined(sqlite_database, fake_connector) -> None:
    from sqlalchemy import select

    from channelhub.store.tables import InboxRow, OrderRow
    from channelhub.sync.pull import run_pull

    connector, shop, _ = fake_connector(page_size=250)
    shop.orders.append(samples.graphql_order(2, sku_a=""))
    report = run_pull(sqlite_database, connector, policies=(), overlap=timedelta(minutes=5), now=NOW)
    with sqlite_database.transaction() as session:
        stored = {row.external_id: row for row in session.scalars(select(OrderRow))}
        quarantined = list(session.scalars(select(InboxRow.reason).where(InboxRow.status == "quarantined")))
    assert quarantined == [] and set(stored) == {"820002"}, (report, quarantined)
    held = stored["820002"]
    assert (held.state, held.hold_kind) == ("on_hold", "mapping")
    assert held.hold_reason.startswith("line 1 ") and held.hold_reason.endswith("has no SKU")


def test_mapping_errors_name_the_order(fake_connector) -> None:
    connector, _, _ = fake_connector()
    with pytest.raises(MappingError, match=r"order 820006.*missing field shippingAddress.countryCodeV2"):
        connector.map_order(RawRecord("orders", "x", json.dumps(_no_country(6))))


@pytest.mark.parametrize("count", [300, 250, 1])
def test_changed_skus_take_ceil_n_over_250_set_calls_and_an_unchanged_pass_none(
    sqlite_database, fake_connector, count
) -> None:
    from sqlalchemy import update

    from channelhub.store.tables import OutboxRow
    from channelhub.sync.dispatch import Dispatcher
    from channelhub.sync.outbox import enqueue

    connector, shop, _ = fake_connector()
    for n in range(count):
        shop.add_sku(f"S{n:04d}", 10, n)

    def publish(quantity: int, tag: str) -> None:
        with sqlite_database.transaction() as session:
            for n in range(count):
                enqueue(
                    session,
                    channel="shopify",
                    kind="stock",
                    subject=f"S{n:04d}",
                    payload={"sku": f"S{n:04d}", "quantity": quantity},
                    cause=f"sale-{tag}-{n}",
                )
            session.execute(update(OutboxRow).values(due_at=NOW - timedelta(minutes=1)))

    dispatcher = Dispatcher(sqlite_database, {"shopify": connector}, worker_id="t")
    publish(9, "a")
    report = dispatcher.run_once(NOW)
    assert shop.set_calls == math.ceil(count / 250) and report.done == count
    assert {shop.available(f"S{n:04d}") for n in range(count)} == {9}
    publish(9, "b")  # nothing changed: the dispatcher skips every row, no call reaches Shopify
    before = len(shop.calls)
    report = dispatcher.run_once(NOW)
    assert report.skipped == count and shop.set_calls == math.ceil(count / 250) and len(shop.calls) == before
    publish(7, "c")  # the next sale compares against the confirmed 9
    dispatcher.run_once(NOW)
    assert shop.set_calls == 2 * math.ceil(count / 250) and shop.available("S0000") == 7


def test_push_stock_repeated_with_the_same_keys_is_safe(fake_connector) -> None:
    connector, shop, _ = fake_connector()
    shop.add_sku("A", 5, 1)
    updates = [StockUpdate("A", 3, "k-a", previous=5)]
    assert connector.push_stock(updates)[0].ok
    assert connector.push_stock(updates)[0].ok  # Shopify replays the first answer for the same @idempotent key
    assert shop.set_calls == 1 and shop.available("A") == 3


def test_a_webhook_delivered_twice_and_the_same_order_polled_yield_one_order(sqlite_database, fake_connector) -> None:
    from sqlalchemy import func, select

    from channelhub.store.tables import OrderRow
    from channelhub.sync.pull import run_pull
    from channelhub.testing.engine import apply_records

    connector, shop, _ = fake_connector()
    body = json.dumps(samples.rest_order(1)).encode()
    headers = _headers("orders/create", body, delivery="d-42")
    assert connector.verify_webhook(headers, body)
    first = apply_records(sqlite_database, connector, connector.parse_webhook(headers, body), ())
    again = apply_records(sqlite_database, connector, connector.parse_webhook(headers, body), ())
    assert first.applied == 1 and again.duplicates == 1 and again.applied == 0
    shop.orders.append(samples.graphql_order(1))  # the poll sees the same order the webhook announced
    polled = run_pull(sqlite_database, connector, policies=(), overlap=timedelta(minutes=5), now=NOW)
    assert polled.records == 1
    with sqlite_database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(OrderRow)) == 1
        (document,) = session.scalars(select(OrderRow.document))
    assert Order.model_validate(document) == connector.map_order(connector.parse_webhook(headers, body)[0])
