"""A real-shaped Shopify order (a custom item, a tip, a gift card, shipping protection, a duty, Shopify's own
fulfilments, a note and tags) through `inspect` and through the engine: held for its custom item by default,
reserved for its stock lines only under `unmapped_lines = "no_stock"`, its own fulfilment recorded as a
shipment of exactly that unit and never pushed back."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from channelhub_connectors.shopify.connector import ShopifyConnector
from sqlalchemy import func, select
from typer.testing import CliRunner

from channelhub.cli import app
from channelhub.stock import ledger
from channelhub.stock.policy import ChannelStockPolicy
from channelhub.store import Database
from channelhub.store.tables import SHIPMENTS, OrderRow, OutboxRow, StockLevelRow
from channelhub.sync.ingest import IngestRules
from channelhub.sync.pull import run_pull
from channelhub.testing.engine import replay_held
from doubles.shopify import samples

NOW = datetime(2026, 3, 3, 12, 0, tzinfo=UTC)
POLICIES = (ChannelStockPolicy(channel="shopify"),)


def test_inspect_marks_each_line_and_keeps_fees_fulfilments_and_notes(tmp_path: Path) -> None:
    path = tmp_path / "orders-create.json"
    path.write_text(json.dumps(samples.rest_order(3, extras=True)))
    result = CliRunner().invoke(app, ["inspect", "shopify", str(path)])
    assert result.exit_code == 0, result.output
    (order,) = json.loads(result.stdout[: result.stdout.rindex("]") + 1])
    kinds = {line["title"]: (line["kind"], line["sku"], line["requires_stock"]) for line in order["lines"]}
    assert kinds["Engraving plate"] == ("custom", None, True)  # no SKU, needs shipping: the order is held
    assert kinds["Tip"][0] == "tip" and kinds["Tip"][2] is False
    assert kinds["Gift card"] == ("gift_card", "GIFT-25", False)
    assert kinds["Shipping protection"] == ("service", "PROTECT-1", False)
    assert [(fee["kind"], fee["amount"]["shop"]["amount"]) for fee in order["fees"]] == [("duty", "1.20")]
    (shipped,) = order["fulfillments"]  # the cancelled one is not a shipment
    assert shipped["tracking_numbers"] == ["1ZSHIPPED"] and shipped["lines"][0]["quantity"] == 1
    assert order["note"] and order["tags"] and order["warnings"] == []  # the figures add up
    assert "held: order 820003: line 3 'Engraving plate' has no SKU" in result.stderr
    assert "no stock: order 820003: line 5 'Gift card' is a gift_card line" in result.stderr


def _stock(db: Database, levels: dict[str, int]) -> None:
    with db.transaction() as session:
        ledger.ensure_location(session, "WH1")
        for sku, quantity in levels.items():
            ledger.ensure_sku(session, sku)
            ledger.set_on_hand(session, sku, "WH1", quantity, "test stock")


def _levels(db: Database) -> dict[str, tuple[int, int]]:
    with db.transaction() as session:
        rows = session.execute(select(StockLevelRow.sku, StockLevelRow.on_hand, StockLevelRow.reserved))
        return {sku: (on_hand, reserved) for sku, on_hand, reserved in rows}


def test_the_engine_holds_the_custom_item_by_default(sqlite_database: Database, fake_connector) -> None:
    _stock(sqlite_database, {"SKU-A4": 10, "SKU-B": 10})
    connector, shop, _ = fake_connector(page_size=250)
    shop.orders.append(samples.graphql_order(4, extras=True, fulfillment="PARTIALLY_FULFILLED"))
    run_pull(sqlite_database, connector, policies=POLICIES, overlap=timedelta(minutes=5), now=NOW)
    with sqlite_database.transaction() as session:
        row = session.scalars(select(OrderRow)).one()
    assert (row.state, row.hold_kind) == ("on_hold", "mapping")
    assert row.hold_reason == "line 3 'Engraving plate' has no SKU"
    assert _levels(sqlite_database) == {"SKU-A4": (10, 0), "SKU-B": (10, 0)}  # Shopify's fulfilment waits too

    # The merchant gives the custom item a SKU in the channel's SKU map; the replay reserves the order and
    # records the fulfilment Shopify had reported.
    _stock(sqlite_database, {"PLATE-1": 3})
    mapped = ShopifyConnector(
        connector.config, replace(connector.context, sku_map={"title:Engraving plate": "PLATE-1"})
    )
    report = replay_held(sqlite_database, mapped, POLICIES, now=NOW + timedelta(minutes=5))
    assert report.records == 1
    with sqlite_database.transaction() as session:
        row = session.scalars(select(OrderRow)).one()
    assert row.state == "partially_shipped"
    assert _levels(sqlite_database) == {"SKU-A4": (9, 1), "SKU-B": (10, 1), "PLATE-1": (3, 1)}


def test_with_no_stock_custom_lines_the_stock_lines_reserve_and_shopifys_fulfilment_ships_one_unit(
    sqlite_database: Database, fake_connector
) -> None:
    _stock(sqlite_database, {"SKU-A5": 10, "SKU-B": 10, "GIFT-25": 10})
    connector, shop, _ = fake_connector(page_size=250)
    shop.orders.append(samples.graphql_order(5, extras=True, fulfillment="PARTIALLY_FULFILLED"))
    rules = IngestRules(unmapped_lines="no_stock")
    run_pull(sqlite_database, connector, policies=POLICIES, overlap=timedelta(minutes=5), now=NOW, rules=rules)
    with sqlite_database.transaction() as session:
        row = session.scalars(select(OrderRow)).one()
        shipments = session.execute(select(SHIPMENTS.c.external_id, SHIPMENTS.c.tracking_number)).all()
        pushes = session.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.kind == "fulfillment"))
    assert row.state == "partially_shipped"
    # SKU-A5 x2 reserved, one unit of it shipped by Shopify; the gift card (stock-less) never touched its stock.
    assert _levels(sqlite_database) == {"SKU-A5": (9, 1), "SKU-B": (10, 1), "GIFT-25": (10, 0)}
    assert [tuple(s) for s in shipments] == [("951", "1ZSHIPPED")]
    assert pushes == 0  # Shopify's own fulfilment is not pushed back to Shopify
