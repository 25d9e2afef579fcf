"""The WooCommerce connector driven by the real engine (run_pull, apply_records, Dispatcher) over the in-process
fake store, plus webhook signatures and the transport's error table."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import requests
from channelhub_connectors.woocommerce.webhooks import signature
from sqlalchemy import func, select
from woo_helpers import WEBHOOK_SECRET, connector, fake, settings

from channelhub.errors import ConfigError, Fatal, RateLimited, Retryable
from channelhub.model.shipments import Shipment, ShipmentLine
from channelhub.stock import ledger
from channelhub.stock.policy import ChannelStockPolicy
from channelhub.store import Database
from channelhub.store.tables import InboxRow, OrderRow, OutboxRow
from channelhub.sync.dispatch import Dispatcher
from channelhub.sync.publish import publish
from channelhub.sync.pull import run_pull
from channelhub.testing.engine import apply_records
from channelhub.testing.engine import ship as record_shipment
from doubles.woocommerce.fake_store import make_order, session_for

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
POLICIES = (ChannelStockPolicy(channel="woo"),)


def _stock(db: Database, levels: dict[str, int]) -> set[str]:
    touched: set[str] = set()
    with db.transaction() as session:
        ledger.ensure_location(session, "WH1")
        for sku, quantity in levels.items():
            ledger.ensure_sku(session, sku)
            touched |= ledger.set_on_hand(session, sku, "WH1", quantity, "test stock").skus
        publish(session, touched, POLICIES, cause="test")
    return touched


# --- stock out through the dispatcher -------------------------------------------------------------------------


def test_thousand_changed_skus_reach_woocommerce_in_ten_batches_and_an_unchanged_pass_makes_none(
    sqlite_database: Database,
) -> None:
    store, woo = fake()
    skus = [f"SKU-{i:04d}" for i in range(1000)]
    for i, sku in enumerate(skus):
        store.add_product(1000 + i, sku, stock=0)
    _stock(sqlite_database, {sku: 5 for sku in skus})
    dispatcher = Dispatcher(sqlite_database, {"woo": woo}, worker_id="t")
    now = datetime.now(UTC) + timedelta(seconds=1)  # the outbox rows are due from the wall-clock time they were made

    report = dispatcher.run_once(now)
    assert report.done == 1000 and report.dead == 0 and report.retried == 0
    batches = store.calls("POST", "/wp-json/wc/v3/products/batch")
    assert len(batches) == 10
    assert all(p["stock_quantity"] == 5 for p in store.products.values())
    lookups = store.calls("GET")
    assert len(lookups) == 10  # products?sku=<100 SKUs>, then cached

    before = len(store.log)
    _stock(sqlite_database, {sku: 5 for sku in skus})  # a pass that changes nothing the store does not have
    report = dispatcher.run_once(datetime.now(UTC) + timedelta(minutes=1))
    assert len(store.log) == before, "an unchanged pass called WooCommerce"
    assert report.calls == 0

    _stock(sqlite_database, {"SKU-0007": 2})
    dispatcher.run_once(datetime.now(UTC) + timedelta(minutes=2))
    assert len(store.log) == before + 1 and store.products[1007]["stock_quantity"] == 2


def test_an_unmanaged_item_is_reported_once_and_never_pushed(caplog: pytest.LogCaptureFixture) -> None:
    store, woo = fake()
    store.add_product(1, "LOOSE", manage_stock=False)
    from channelhub.ports import StockUpdate

    for attempt in range(2):
        (result,) = woo.push_stock([StockUpdate("LOOSE", 3, f"k{attempt}")])
        assert not result.ok and not result.retryable and "manage_stock" in (result.error or "")
    assert store.calls("POST") == []
    assert sum("LOOSE" in r.getMessage() for r in caplog.records) == 1


# --- orders in through run_pull ------------------------------------------------------------------------------


def test_bad_orders_are_quarantined_or_held_with_the_reason_and_the_rest_of_the_page_imports(
    sqlite_database: Database,
) -> None:
    store, woo = fake()
    store.add_product(5, "")  # a product without a SKU: its line cannot be named
    _stock(sqlite_database, {"GOOD": 10})
    good = [{"sku": "GOOD", "product_id": 1}]
    store.orders[1] = make_order(1, lines=good)
    store.orders[2] = make_order(2, lines=[*good, {"sku": "", "product_id": 5, "name": "Mystery box"}])
    store.orders[3] = make_order(3, lines=good, total="twelve")
    store.orders[4] = make_order(4, lines=good, status="wc-awaiting-pickup")
    store.orders[5] = make_order(5, lines=good, status="pending")
    store.orders[6] = make_order(6, lines=good, status="on-hold")
    store.orders[7] = make_order(7, lines=good, status="cancelled")

    report = run_pull(sqlite_database, woo, policies=POLICIES, overlap=timedelta(minutes=5), now=NOW)
    assert report.ok and report.quarantined == 1 and report.applied == 6

    with sqlite_database.transaction() as session:
        inbox = {r.external_id: (r.status, r.reason) for r in session.scalars(select(InboxRow))}
        orders = {r.external_id: (r.state, r.hold_reason) for r in session.scalars(select(OrderRow))}
    # A line without a SKU no longer loses the order: it is imported and held, naming the line (model 725d9d5).
    assert orders["2"][0] == "on_hold" and "line 2 'Mystery box' has no SKU" in orders["2"][1]
    assert inbox["3"][0] == "quarantined" and "total is not a number: 'twelve'" in inbox["3"][1]
    assert orders["1"] == ("confirmed", "")
    assert orders["4"][0] == "on_hold" and "'wc-awaiting-pickup'" in orders["4"][1]
    assert orders["5"] == ("on_hold", "awaiting payment (stripe)")
    assert orders["6"][0] == "on_hold" and "on-hold at WooCommerce" in orders["6"][1]
    assert orders["7"][0] == "cancelled"


def test_an_order_shipped_in_two_parts_is_completed_by_the_last_part(sqlite_database: Database) -> None:
    store, woo = fake()
    store.add_product(1, "MUG", stock=5)
    store.add_product(2, "TEE", stock=5)
    _stock(sqlite_database, {"MUG": 5, "TEE": 5})
    store.orders[21] = make_order(21, lines=[{"sku": "MUG", "product_id": 1}, {"sku": "TEE", "product_id": 2}])
    assert run_pull(sqlite_database, woo, policies=POLICIES, overlap=timedelta(minutes=5), now=NOW).applied == 1
    dispatcher = Dispatcher(sqlite_database, {"woo": woo}, worker_id="t")

    def ship(sku: str, tracking: str) -> None:
        shipment = Shipment(
            carrier="DHL", tracking_number=tracking, shipped_at=NOW, lines=[ShipmentLine(sku=sku, quantity=1)]
        )
        record_shipment(sqlite_database, ("woo", "21"), shipment, source="test", policies=POLICIES)
        assert dispatcher.run_once(datetime.now(UTC) + timedelta(seconds=1)).dead == 0

    ship("MUG", "T-1")
    assert store.orders[21]["status"] == "processing"  # half of it is still in the warehouse
    ship("TEE", "T-2")
    assert store.orders[21]["status"] == "completed"
    assert len(store.notes[21]) == 2  # one note per parcel, none repeated


# --- webhooks -----------------------------------------------------------------------------------------------


def _delivery(body: bytes, delivery: str = "d-1", secret: str = WEBHOOK_SECRET) -> dict[str, str]:
    return {
        "X-WC-Webhook-Topic": "order.updated",
        "X-WC-Webhook-Delivery-ID": delivery,
        "X-WC-Webhook-Resource": "order",
        "X-WC-Webhook-Signature": signature(secret, body),
    }


def test_webhook_signatures() -> None:
    woo = connector()
    body = json.dumps(make_order(1)).encode()
    headers = _delivery(body)
    assert woo.verify_webhook(headers, body)
    assert woo.verify_webhook({k.lower(): v for k, v in headers.items()}, body)  # header names are case-blind
    assert not woo.verify_webhook(headers, body.replace(b'"processing"', b'"completed"'))
    assert not woo.verify_webhook(_delivery(body, secret="someone-else"), body)
    missing = {k: v for k, v in headers.items() if k != "X-WC-Webhook-Signature"}
    assert not woo.verify_webhook(missing, body)
    assert not connector(webhook_secret=None).verify_webhook(headers, body)  # no secret configured: refuse


def test_webhook_ping_is_accepted_and_yields_nothing() -> None:
    woo = connector()
    body = b"webhook_id=42"
    headers = {"X-WC-Webhook-Signature": signature(WEBHOOK_SECRET, body)}
    assert woo.verify_webhook(headers, body)
    assert woo.parse_webhook(headers, body) == []


def test_webhook_and_polling_give_the_same_canonical_order(sqlite_database: Database) -> None:
    store, woo = fake()
    store.add_product(20, "HOODIE", type_="variable")
    store.add_variation(20, 22, "HOODIE-M")
    raw = make_order(9, lines=[{"sku": "", "product_id": 20, "variation_id": 22}])
    store.orders[9] = raw
    (page,) = list(
        woo.pull_orders(
            __import__("channelhub.ports", fromlist=["PullRequest"]).PullRequest(None, timedelta(minutes=5), NOW)
        )
    )
    polled = woo.map_order(page.records[0])
    body = json.dumps(raw, indent=2).encode()  # a webhook body is formatted its own way
    (record,) = woo.parse_webhook(_delivery(body, "d-9"), body)
    assert record.delivery_id == "d-9"
    assert woo.map_order(record) == polled and polled.lines[0].sku == "HOODIE-M"

    first = apply_records(sqlite_database, woo, [record], POLICIES, now=NOW)
    again = apply_records(sqlite_database, woo, woo.parse_webhook(_delivery(body, "d-9"), body), POLICIES, now=NOW)
    assert first.applied == 1 and again.duplicates == 1 and again.applied == 0


# --- transport and error table ---------------------------------------------------------------------------------


def test_plain_http_is_refused_unless_explicitly_allowed() -> None:
    with pytest.raises(ConfigError, match="in the clear"):
        connector(store_url="http://shop.example.test")
    assert connector(store_url="http://shop.example.test", allow_insecure_http=True).settings.allow_insecure_http


def test_secrets_are_secretstr_and_never_in_the_settings_repr() -> None:
    woo = connector()
    text = repr(woo.settings) + str(woo.settings.model_dump())
    assert settings()["consumer_secret"] not in text and WEBHOOK_SECRET not in text


def test_query_string_auth_sends_the_keys_as_parameters_through_the_injected_session() -> None:
    store, woo = fake(query_string_auth=True)
    list(
        woo.pull_orders(
            __import__("channelhub.ports", fromlist=["PullRequest"]).PullRequest(None, timedelta(minutes=5), NOW)
        )
    )
    (_, _, query) = store.log[0]
    assert query["consumer_key"] == [settings()["consumer_key"]]


def _scripted(status: int, body: dict, headers: dict[str, str] | None = None) -> Exception:
    store, woo = fake()
    store.scripted.append(("GET", "/orders", (status, headers or {}, body)))
    from channelhub.ports import PullRequest

    with pytest.raises(Exception) as caught:
        list(woo.pull_orders(PullRequest(None, timedelta(minutes=5), NOW)))
    return caught.value


def test_error_table() -> None:
    invalid = _scripted(
        400,
        {
            "code": "rest_invalid_param",
            "message": "Invalid parameter(s): per_page",
            "data": {"status": 400, "params": {"per_page": "must be between 1 and 100"}},
        },
    )
    assert isinstance(invalid, Fatal) and "per_page: must be between 1 and 100" in str(invalid)
    cannot_view = _scripted(
        403, {"code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot list resources."}
    )
    assert isinstance(cannot_view, Fatal) and "Read/Write permission" in str(cannot_view)
    busy = _scripted(503, {"code": "maintenance", "message": "Briefly unavailable"}, {"Retry-After": "30"})
    assert isinstance(busy, RateLimited) and busy.retry_after == 30
    broken = _scripted(502, {})
    assert type(broken) is Retryable


def test_network_failure_is_retryable_and_names_no_secret() -> None:
    class Down(requests.adapters.BaseAdapter):  # type: ignore[misc]
        def send(self, request, **kwargs):  # type: ignore[no-untyped-def]
            raise requests.ConnectionError(f"cannot reach {request.url}")

        def close(self) -> None:
            return None

    session = requests.Session()
    session.mount("https://", Down())
    woo = connector(session, query_string_auth=True)
    from channelhub.ports import PullRequest

    with pytest.raises(Retryable) as caught:
        list(woo.pull_orders(PullRequest(None, timedelta(minutes=5), NOW)))
    assert settings()["consumer_secret"] not in str(caught.value)


def test_fake_adapter_counts_requests() -> None:
    store, _ = fake()
    session_for(store).get("https://shop.example.test/wp-json/wc/v3/orders")
    assert len(store.log) == 1


def _on_hand(db: Database, sku: str) -> int:
    from channelhub.store.tables import StockLevelRow

    with db.transaction() as session:
        return int(sum(session.scalars(select(StockLevelRow.on_hand).where(StockLevelRow.sku == sku))))


def _shipments(db: Database) -> list[tuple[str, str]]:
    from channelhub.store.tables import SHIPMENTS

    with db.transaction() as session:
        rows = session.execute(select(SHIPMENTS.c.tracking_number, SHIPMENTS.c.source).order_by(SHIPMENTS.c.id))
        return [(number, source) for number, source in rows]


def test_tracking_added_in_the_store_is_a_shipment_and_the_hubs_own_tracking_is_not_recorded_twice(
    sqlite_database: Database,
) -> None:
    store, woo = fake()
    store.add_product(1, "MUG", stock=5)
    _stock(sqlite_database, {"MUG": 5})
    store.orders[31] = make_order(31, lines=[{"sku": "MUG", "product_id": 1, "quantity": 2}])
    store.orders[32] = make_order(32, lines=[{"sku": "MUG", "product_id": 1}])
    run_pull(sqlite_database, woo, policies=POLICIES, overlap=timedelta(minutes=5), now=NOW)

    # The hub ships order 31 and pushes the tracking; the extension keeps it in the order's meta.
    dispatcher = Dispatcher(sqlite_database, {"woo": woo}, worker_id="t")
    shipment = Shipment(carrier="DHL", tracking_number="JD-31", shipped_at=NOW)
    record_shipment(sqlite_database, ("woo", "31"), shipment, source="cli", policies=POLICIES)
    assert dispatcher.run_once(datetime.now(UTC) + timedelta(seconds=1)).dead == 0
    # The merchant ships order 32 from WooCommerce's admin with the Shipment Tracking extension.
    store._store_tracking(32, {"tracking_provider": "", "custom_tracking_provider": "Colissimo",
                               "tracking_number": "6A32", "date_shipped": "2024-06-01"}, 1)  # fmt: skip
    store.orders[32]["status"] = "completed"
    for oid in (31, 32):
        store.orders[oid]["date_modified_gmt"] = "2024-06-01T13:00:00"
    assert _on_hand(sqlite_database, "MUG") == 3

    run_pull(sqlite_database, woo, policies=POLICIES, overlap=timedelta(minutes=5), now=NOW + timedelta(hours=2))
    assert _on_hand(sqlite_database, "MUG") == 2  # 32's unit committed once; 31's own tracking came back: nothing
    (hubs, stores) = _shipments(sqlite_database)
    assert hubs == ("JD-31", "cli") and stores[0] == "6A32" and stores[1].startswith("woo:")
    with sqlite_database.transaction() as session:
        states = {ext: state for ext, state in session.execute(select(OrderRow.external_id, OrderRow.state))}
        fulfilment_pushes = session.scalar(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.kind == "fulfillment")
        )
    assert states == {"31": "shipped", "32": "shipped"}
    assert fulfilment_pushes == 1  # the hub's own; the store's shipment is never pushed back to it
