"""Records -> canonical orders: prices, currencies, statuses, SKU maps, and the reasons a record does not map."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from channelhub_connectors.marketplace.connector import MarketplaceConnector

from channelhub.errors import ConfigError, MappingError
from channelhub.model import FinancialStatus
from channelhub.ports import RawRecord

from .conftest import FIXTURES

Make = Callable[..., MarketplaceConnector]


def good_records(connector: MarketplaceConnector, name: str) -> dict[str, RawRecord]:
    recs = connector.inspect(f"inbox/{name}", (FIXTURES / name).read_bytes(), {})
    return {r.external_id: r for r in recs if r.problem is None}


def generic_record(rows: list[dict[str, str]]) -> RawRecord:
    body = {"file": "inbox/t.csv", "layout": "generic_orders", "rows": [{"line": i + 2, "values": v} for i, v in
                                                                        enumerate(rows)]}  # fmt: skip
    return RawRecord(stream="orders", source="inbox/t.csv lines 2-9", body=json.dumps(body), external_id="T-1")


BASE = {"order_id": "T-1", "order_date": "2026-11-20", "sku": "MUG-RED", "quantity": "1", "unit_price": "5",
        "currency": "EUR"}  # fmt: skip


def test_amazon_unshipped_report_maps_with_zero_prices_in_the_channel_currency(make_connector: Make) -> None:
    connector = make_connector(orders_layout="amazon_unshipped_orders", currency="EUR", sku_map={"MUG-RED": "HUB-1"})
    order = connector.map_order(good_records(connector, "amazon_unshipped.tsv")["302-1111111-2222222"])
    assert order.channel == "mp"
    assert order.currency == "EUR"
    assert order.financial_status is FinancialStatus.PAID
    assert order.placed_at == datetime(2026, 11, 20, 8, 15, tzinfo=UTC)
    assert [(line.external_id, line.sku, line.quantity) for line in order.lines] == [
        ("51000000000001", "HUB-1", 2),
        ("51000000000002", "MUG-BLUE", 1),
    ]
    assert all(line.unit_price.shop.amount == 0 for line in order.lines)
    assert order.total_amount == 0
    assert order.shipping_address is not None and order.shipping_address.country == "DE"
    assert order.customer is not None and order.customer.email == "buyer1@marketplace.example"
    assert order.extra["quantity_to_ship"] == {"51000000000001": "2", "51000000000002": "1"}


def test_body_in_the_older_named_form_maps_the_same(make_connector: Make) -> None:
    """Inbox rows stored before the compact body (every column named per row) still map, as do odd values."""
    connector = make_connector(orders_layout="amazon_unshipped_orders", currency="EUR")
    record = good_records(connector, "amazon_unshipped.tsv")["302-1111111-2222222"]
    body = json.loads(record.body)
    named = {**body, "rows": [{"line": line, "values": dict(zip(body["columns"], fields, strict=True))}
                              for line, fields in body["rows"]]}  # fmt: skip
    del named["columns"]
    odd = {**body, "rows": [[line, [f if f != "2" else 2 for f in fields]] for line, fields in body["rows"]]}
    expected = connector.map_order(record)
    for other in (named, odd):
        assert connector.map_order(replace(record, body=json.dumps(other))) == expected


def test_amazon_new_orders_columns_carry_prices_taxes_and_shipping(make_connector: Make) -> None:
    connector = make_connector(orders_layout="amazon_unshipped_orders")
    order = connector.map_order(good_records(connector, "amazon_new_orders.tsv")["026-5555555-6666666"])
    assert order.currency == "USD"
    assert order.placed_at == datetime(2026, 11, 22, 18, 0, tzinfo=UTC)  # -08:00 made UTC
    mug = order.lines[0]
    assert mug.unit_price.shop.amount == Decimal("9.99")  # item-price is the line's: 29.97 / 3
    assert order.totals.subtotal is not None and order.totals.subtotal.shop.amount == Decimal("44.97")
    assert order.totals.tax is not None and order.totals.tax.shop.amount == Decimal("4.00")
    assert order.shipping_lines[0].price.shop.amount == Decimal("4.99")
    assert order.total_amount == Decimal("53.96")


def test_generic_statuses_and_currencies(make_connector: Make) -> None:
    connector = make_connector()
    recs = good_records(connector, "generic_orders.csv")
    paid = connector.map_order(recs["G-1001"])
    assert paid.financial_status is FinancialStatus.PAID and paid.total_amount == Decimal("28.50")
    assert paid.number == "1001"
    pending = connector.map_order(recs["G-1002"])
    assert pending.financial_status is FinancialStatus.PENDING and pending.currency == "GBP"


def test_a_status_outside_the_map_holds_the_order_and_cancelled_voids_it(make_connector: Make) -> None:
    connector = make_connector()
    held = connector.map_order(generic_record([{**BASE, "status": "awaiting-fraud-check"}]))
    assert held.financial_status is FinancialStatus.PENDING
    assert "awaiting-fraud-check" in held.hold_reason
    cancelled = connector.map_order(generic_record([{**BASE, "status": "Cancelled"}]))
    assert cancelled.financial_status is FinancialStatus.VOIDED and cancelled.cancelled_at is not None


@pytest.mark.parametrize(
    ("rows", "settings", "reason"),
    [
        ([{**BASE, "quantity": "0"}], {}, "quantity must be positive, not 0"),  # one row: the source names it
        ([BASE, {**BASE, "sku": "B", "quantity": "0"}], {}, "line 3: quantity must be positive, not 0"),
        ([{**BASE, "currency": ""}], {}, "no currency"),
        ([BASE, {**BASE, "sku": "B", "currency": "USD"}], {}, "different currencies: EUR, USD"),
        ([{**BASE, "ship_country": "Narnia"}], {}, "unknown ISO 3166 country code"),
        ([{**BASE, "currency": "ZZZ"}], {}, "'ZZZ' is not an ISO 4217 currency code"),
    ],
)
def test_records_that_do_not_map_raise_mapping_error_naming_the_source(
    make_connector: Make, rows: list[dict[str, str]], settings: dict[str, str], reason: str
) -> None:
    connector = make_connector(**settings)
    with pytest.raises(MappingError) as caught:
        connector.map_order(generic_record(rows))
    assert caught.value.where == "inbox/t.csv lines 2-9"
    assert reason in caught.value.message


def test_the_channel_currency_fills_rows_without_one(make_connector: Make) -> None:
    order = make_connector(currency="chf").map_order(generic_record([{**BASE, "currency": ""}]))
    assert order.currency == "CHF"


def test_a_problem_record_never_maps(make_connector: Make) -> None:
    record = RawRecord(stream="orders", source="inbox/x.csv line 3", body="{}", problem="inbox/x.csv line 3: bad")
    with pytest.raises(MappingError, match="line 3: bad"):
        make_connector().map_order(record)


def test_inspection_maps_a_file_without_a_currency_column_in_the_currency_given() -> None:
    data = (FIXTURES / "amazon_unshipped.tsv").read_bytes()
    plain = MarketplaceConnector.for_inspection("amazon_unshipped_orders")
    record = next(r for r in plain.inspect("amazon_unshipped.tsv", data, {}) if r.problem is None)
    with pytest.raises(MappingError, match="no currency"):
        plain.map_order(record)
    inspecting = MarketplaceConnector.for_inspection("amazon_unshipped_orders", currency="eur")
    assert inspecting.settings.currency == "EUR"
    orders = [inspecting.map_order(r) for r in inspecting.inspect("amazon_unshipped.tsv", data, {})]
    assert {o.currency for o in orders} == {"EUR"} and len(orders) == 2
    with pytest.raises(ConfigError, match="unknown ISO 4217 currency code: 'EURO'") as caught:
        MarketplaceConnector.for_inspection("amazon_unshipped_orders", currency="EURO")
    assert caught.value.where == "inspect: currency"
