"""The Shopify cassette scenarios: how the fake shop is set up for each, and what the connector does in it.

`record.py` runs each scenario against the fake shop on 127.0.0.1 under vcrpy and rewrites the host to
https://acme.myshopify.com; the tests run the same `act` against the cassette in record mode "none", so every
request must be byte-for-byte the recorded one (bodies are deterministic: sorted JSON, keys from the outbox keys).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from channelhub_connectors.shopify.connector import ShopifyConnector

from channelhub.errors import ConnectorError, RateLimited, Skippable
from channelhub.model.shipments import Shipment, ShipmentLine
from channelhub.ports import CancellationRequest, FulfillmentRequest, PullRequest, StockUpdate
from doubles.shopify import samples
from doubles.shopify.fake_shop import FakeShop

SHOP = "https://acme.myshopify.com"
SETTINGS: dict[str, Any] = {
    "shop": "acme",
    "access_token": "shpat_secret_token_value",
    "client_secret": "whsec_test",
    "location_id": "4242",
    "page_size": 2,
    "backfill_threshold": 0,
}
NOW = datetime(2026, 3, 5, 12, 0, tzinfo=UTC)


class FakeClock:
    """A clock the client's sleep advances: no wall-clock waits, in recording or replay."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def advance(self, seconds: float) -> None:
        """Time passing outside the client (the engine waiting before its retry): not one of its sleeps."""
        self.now += seconds


@dataclass
class Retried:
    """What a scenario with an engine retry returns: the first call's error, then the retry's result."""

    first: ConnectorError
    result: Any


def _retried_by_the_engine(act: Callable[[ShopifyConnector], Any]) -> Callable[[ShopifyConnector], Retried]:
    """Run `act`, which must fail; wait as the engine would (the RateLimited's retry_after); run it again."""

    def run(connector: ShopifyConnector) -> Retried:
        try:
            act(connector)
        except ConnectorError as exc:
            first = exc
        else:
            raise AssertionError("the first call was meant to fail")
        if isinstance(first, RateLimited) and first.retry_after:
            connector.client.clock.advance(first.retry_after)  # type: ignore[attr-defined]
        return Retried(first, act(connector))

    return run


@dataclass
class Scenario:
    name: str
    setup: Callable[[FakeShop], None]
    act: Callable[[ShopifyConnector], Any]
    settings: dict[str, Any]


def _orders(shop: FakeShop, count: int = 3) -> None:
    for n in range(1, count + 1):
        shop.orders.append(samples.graphql_order(n, updated_at=f"2026-03-0{n}T10:00:00Z"))


def _skus(shop: FakeShop) -> None:
    shop.add_sku("SKU-1", 10, 1)
    shop.add_sku("SKU-2", 7, 2)  # the hub last confirmed 5: stale; the target 3 is lower -> re-sent against 7
    shop.add_sku("SKU-3", 2, 3)  # the hub last confirmed 4: stale; the target 9 is higher -> drift reported
    shop.add_sku("SKU-4", None, 4)  # not stocked at the location: from 2026-10 it may be set there all the same
    shop.add_sku("SKU-5", 6, 5, mutable=False)  # a bundle's parent: NON_MUTABLE_INVENTORY_ITEM, its own failure


def _fulfilment_orders(shop: FakeShop) -> None:
    _orders(shop, 1)
    oid = "gid://shopify/Order/820001"
    shop.fulfillment_orders[oid] = [
        {
            "id": "gid://shopify/FulfillmentOrder/31",
            "status": "OPEN",
            "lineItems": {
                "nodes": [
                    {
                        "id": "gid://shopify/FulfillmentOrderLineItem/41",
                        "remainingQuantity": 2,
                        "lineItem": {"id": "gid://shopify/LineItem/8200011", "sku": "SKU-A1"},
                    },
                    {
                        "id": "gid://shopify/FulfillmentOrderLineItem/42",
                        "remainingQuantity": 1,
                        "lineItem": {"id": "gid://shopify/LineItem/8200012", "sku": "SKU-B"},
                    },
                ]
            },
        }
    ]


def fulfilment(key: str, tracking: str, lines: tuple[ShipmentLine, ...] = ()) -> FulfillmentRequest:
    return FulfillmentRequest(
        order_external_id="820001",
        order_number="#1001",
        shipment=Shipment(
            carrier="UPS",
            tracking_number=tracking,
            tracking_url=f"https://ups.example/{tracking}",
            shipped_at=NOW,
            lines=lines,
        ),
        line_external_ids={"SKU-A1": "8200011", "SKU-B": "8200012"},
        idempotency_key=key,
    )


def _pull(cursor: str | None) -> Callable[[ShopifyConnector], Any]:
    return lambda c: list(c.pull_orders(PullRequest(cursor=cursor, overlap=timedelta(minutes=10), now=NOW)))


STOCK_UPDATES = [
    StockUpdate("SKU-1", 8, "stock-k1", previous=10),
    StockUpdate("SKU-2", 3, "stock-k2", previous=5),
    StockUpdate("SKU-3", 9, "stock-k3", previous=4),
    StockUpdate("SKU-4", 1, "stock-k4", previous=None),
    StockUpdate("SKU-404", 1, "stock-k5", previous=0),
    StockUpdate("SKU-5", 2, "stock-k6", previous=6),
]


def _fulfil_twice(c: ShopifyConnector) -> None:
    c.push_fulfillment(fulfilment("ful-1", "1Z999"))
    c.push_fulfillment(fulfilment("ful-1", "1Z999"))  # the retry: finds the tracking number, sends nothing


def _fulfil_partial(c: ShopifyConnector) -> None:
    c.push_fulfillment(fulfilment("ful-p1", "1ZPART1", (ShipmentLine(sku="SKU-A1", quantity=1),)))
    c.push_fulfillment(
        fulfilment("ful-p2", "1ZPART2", (ShipmentLine(sku="SKU-A1", quantity=1), ShipmentLine(sku="SKU-B", quantity=1)))
    )


CANCEL_REASON = "Customer asked to cancel: ordered the wrong size"


def cancellation(n: int, key: str, reason: str = CANCEL_REASON) -> CancellationRequest:
    return CancellationRequest(str(820000 + n), f"#{1000 + n}", reason, key)


def _cancellable(shop: FakeShop) -> None:
    """Order 1 open, order 2 fulfilled (Shopify refuses), order 3 cancelled in Shopify already; stock for 1's lines."""
    shop.orders.append(samples.graphql_order(1))
    shop.orders.append(samples.graphql_order(2, fulfillment="FULFILLED"))
    shop.orders.append(samples.graphql_order(3, cancelled_at="2026-03-04T08:00:00Z"))
    shop.add_sku("SKU-A1", 10, 1)
    shop.add_sku("SKU-B", 4, 2)


def _cancel_orders(c: ShopifyConnector) -> list[str]:
    """Cancel order 1, then again (the retry after a lost answer), then order 3, then order 2."""
    outcomes = []
    for n, key in ((1, "cancel-1"), (1, "cancel-1"), (3, "cancel-3"), (2, "cancel-2")):
        try:
            c.push_cancellation(cancellation(n, key))
            outcomes.append("done")
        except Skippable as exc:
            outcomes.append(f"skipped: {exc}")
    return outcomes


def _with_faults(*faults: str) -> Callable[[FakeShop], None]:
    def setup(shop: FakeShop) -> None:
        _orders(shop, 1)
        shop.faults.extend(faults)

    return setup


def _bulk(shop: FakeShop) -> None:
    _orders(shop, 3)


SALE_SKUS = [f"S{n:03d}" for n in range(300)]


def _catalogue(shop: FakeShop) -> None:
    for n, sku in enumerate(SALE_SKUS, start=1):
        shop.add_sku(sku, 10, n)


def _marketplace_sale(shopify: ShopifyConnector) -> list[Any]:
    """The whole hub: 300 SKUs counted in and published, then one sale of each on a marketplace channel (a flat
    file), then a pass with nothing changed. Returns the dispatcher's report of each of the three passes."""
    import tempfile
    from pathlib import Path

    from channelhub_connectors.marketplace.connector import MarketplaceConnector

    from channelhub.ports import ConnectorContext
    from channelhub.stock import ledger
    from channelhub.stock.policy import ChannelStockPolicy
    from channelhub.store import open_database
    from channelhub.sync.dispatch import Dispatcher
    from channelhub.sync.publish import publish
    from channelhub.sync.pull import run_pull

    policies = [ChannelStockPolicy("shopify")]
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        db = open_database(f"sqlite:///{root / 'hub.db'}")
        with db.transaction() as session:
            ledger.ensure_location(session, "main")
            for sku in SALE_SKUS:
                ledger.set_on_hand(session, sku, "main", 10, reason="count")
            publish(session, SALE_SKUS, policies, cause="count")
        dispatcher = Dispatcher(db, {"shopify": shopify}, worker_id="cassette")
        due = datetime.now(UTC) + timedelta(minutes=1)
        reports = [dispatcher.run_once(due)]

        inbox = root / "market" / "inbox"
        inbox.mkdir(parents=True)
        rows = "".join(f"M-{n},2026-03-05 11:00:00,1,{sku},1,9.90,EUR,DE\n" for n, sku in enumerate(SALE_SKUS))
        (inbox / "orders.csv").write_text(
            "order_id,order_date,line_id,sku,quantity,unit_price,currency,ship_country\n" + rows
        )
        market = MarketplaceConnector(
            {"root": "market", "orders_layout": "generic_orders"}, ConnectorContext(channel="market", base_dir=root)
        )
        pulled = run_pull(db, market, policies=policies, overlap=timedelta(0), now=NOW)
        assert pulled.applied == len(SALE_SKUS), pulled
        reports.append(dispatcher.run_once(due))
        reports.append(dispatcher.run_once(due))
        db.dispose()
    return reports


SCENARIOS = {
    s.name: s
    for s in [
        Scenario("paging", _orders, _pull(None), SETTINGS),
        Scenario("incremental", _orders, _pull("2026-03-02T10:05:00Z"), SETTINGS),
        Scenario("bulk_backfill", _bulk, _pull(None), {**SETTINGS, "backfill_threshold": 2, "page_size": 250}),
        Scenario("stock_push", _skus, lambda c: c.push_stock(STOCK_UPDATES), SETTINGS),
        Scenario("fulfilment", _fulfilment_orders, _fulfil_twice, SETTINGS),
        Scenario("partial_fulfilment", _fulfilment_orders, _fulfil_partial, SETTINGS),
        Scenario(
            "throttled_then_success",
            _with_faults("throttled"),
            _retried_by_the_engine(_pull("2026-02-01T00:00:00Z")),
            SETTINGS,
        ),
        Scenario(
            "server_error_then_success",
            _with_faults("503"),
            _retried_by_the_engine(_pull("2026-02-01T00:00:00Z")),
            SETTINGS,
        ),
        Scenario("unauthorized", _with_faults("401"), _pull("2026-02-01T00:00:00Z"), SETTINGS),
        Scenario("marketplace_sale", _catalogue, _marketplace_sale, SETTINGS),
        Scenario("cancellation", _cancellable, _cancel_orders, SETTINGS),
    ]
}
