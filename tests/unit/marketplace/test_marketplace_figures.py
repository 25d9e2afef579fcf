"""Figures exactly as the file reports them, rows without a SKU, and what people read (phones, payment date).

Decimal equality ignores the exponent (Decimal("0.00") == 0), so "kept as reported" is checked on the text of
each amount: str(Decimal("0.00")) is "0.00", str(Decimal(0)) is "0".
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from channelhub_connectors.marketplace.connector import MarketplaceConnector

from channelhub.model import Order
from channelhub.model.money import MoneyBag
from channelhub.model.totals import totals_warnings
from channelhub.ports import ConnectorContext, RawRecord

from .test_marketplace_mapping import Make, good_records

FIGURES = "amazon_new_orders_figures.tsv"
GENERIC_HEADER = (
    "order_id,order_date,line_id,sku,title,quantity,unit_price,line_discount,shipping_price,shipping_tax,currency"
)


def text(bag: MoneyBag | None) -> str | None:
    """The amount as written ("0.00", "38.115"), None when there is none."""
    return None if bag is None else str(bag.shop.amount)


def amazon_orders(connector: MarketplaceConnector, name: str = FIGURES) -> dict[str, Order]:
    return {ext: connector.map_order(record) for ext, record in good_records(connector, name).items()}


def generic_orders(connector: MarketplaceConnector, *rows: str, header: str = GENERIC_HEADER) -> dict[str, Order]:
    data = "\n".join([header, *rows]).encode() + b"\n"
    records = list(connector.inspect("inbox/t.csv", data, {}))
    assert all(r.problem is None for r in records), [r.problem for r in records]
    return {r.external_id: connector.map_order(r) for r in records}


@pytest.fixture
def amazon(make_connector: Make) -> MarketplaceConnector:
    return make_connector(orders_layout="amazon_unshipped_orders")


# -- money exactly as reported --------------------------------------------------------------------------------


def test_a_line_price_for_several_units_is_the_line_subtotal_and_the_unit_price_is_derived(
    amazon: MarketplaceConnector,
) -> None:
    order = amazon_orders(amazon)["114-1000001-1000001"]
    cable = order.lines[0]
    assert (cable.quantity, text(cable.subtotal), text(cable.unit_price)) == (2, "1.29", "0.645")
    # The order's subtotal sums the reported line totals: 1.29 + 508.20, not 0.645 x 2 + ...
    assert text(order.totals.subtotal) == "509.49"


def test_a_reported_zero_stays_zero_with_its_exponent(amazon: MarketplaceConnector) -> None:
    order = amazon_orders(amazon)["114-1000002-1000002"]
    (shipping,) = order.shipping_lines
    assert text(shipping.price) == "0.00"
    assert [(t.title, text(t.amount)) for t in shipping.taxes] == [("shipping tax", "0.00")]
    assert text(order.totals.shipping) == "0.00"
    cable = amazon_orders(amazon)["114-1000001-1000001"].lines[0]
    assert [(t.title, text(t.amount)) for t in cable.taxes] == [("item tax", "0.00")]


def test_a_reported_zero_discount_and_shipping_tax_stay_zero_in_a_generic_file(make_connector: Make) -> None:
    orders = generic_orders(
        make_connector(),
        "Z-1,2026-11-20,1,MUG-RED,Red mug,2,9.50,0.00,0.00,0.00,EUR",
        "Z-1,2026-11-20,2,MUG-BLUE,Blue mug,1,9.50,0.00,0.00,0.00,EUR",
    )
    order = orders["Z-1"]
    assert text(order.totals.discount) == "0.00"  # 0.00 + 0.00, as reported: not None, not 0
    assert [text(line.total_discount) for line in order.lines] == ["0.00", "0.00"]
    assert [(t.title, text(t.amount)) for t in order.shipping_lines[0].taxes] == [("shipping tax", "0.00")]
    assert [(t.title, text(t.amount)) for t in order.taxes] == [("shipping tax", "0.00")]
    assert (text(order.totals.subtotal), text(order.totals.tax), text(order.totals.total)) == ("28.50", "0.00", "28.50")


def test_a_sub_cent_tax_is_kept_as_reported_on_the_line_the_order_and_the_total(
    amazon: MarketplaceConnector,
) -> None:
    order = amazon_orders(amazon)["114-1000001-1000001"]
    desk = order.lines[1]
    assert [(t.title, text(t.amount)) for t in desk.taxes] == [("item tax", "38.115")]
    # One TaxLine per kind, summed over the rows: item tax 0.00 + 38.115, shipping tax 0.00 + 0.37.
    assert [(t.title, text(t.amount)) for t in order.taxes] == [("item tax", "38.115"), ("shipping tax", "0.37")]
    assert text(order.totals.tax) == "38.485"
    assert text(order.totals.shipping) == "4.99"
    assert text(order.totals.total) == "552.965"  # 509.49 + 4.99 + 38.485, nothing rounded


def test_figures_a_file_never_reports_are_none_not_zero(make_connector: Make) -> None:
    connector = make_connector(orders_layout="amazon_unshipped_orders", currency="EUR")
    order = amazon_orders(connector, "amazon_unshipped.tsv")["302-1111111-2222222"]
    totals = order.totals
    assert (totals.subtotal, totals.shipping, totals.tax, totals.discount) == (None, None, None, None)
    assert order.taxes == () and order.shipping_lines == ()
    assert all(line.subtotal is None and line.taxes == () for line in order.lines)
    assert order.total_amount == 0  # the report has no prices


# -- rows without a SKU ---------------------------------------------------------------------------------------


def test_a_row_without_a_sku_maps_with_sku_none_and_its_title_and_the_order_names_it(
    amazon: MarketplaceConnector,
) -> None:
    order = amazon_orders(amazon)["114-1000002-1000002"]
    (bowl,) = order.lines
    assert (bowl.external_id, bowl.sku, bowl.title, bowl.requires_stock) == (
        "71000000000003",
        None,
        "Handmade bowl",
        True,
    )
    assert text(bowl.subtotal) == "24.00"
    assert order.unmapped_reason() == "line 1 'Handmade bowl' has no SKU"  # the core holds the order with it


def test_a_row_without_a_sku_maps_by_its_title_key(make_connector: Make) -> None:
    connector = make_connector(orders_layout="amazon_unshipped_orders", sku_map={"title:Handmade bowl": "BOWL-1"})
    (bowl,) = amazon_orders(connector)["114-1000002-1000002"].lines
    assert bowl.sku == "BOWL-1"


def test_rows_without_a_sku_or_line_id_get_ids_from_their_place_the_same_on_every_read(make_connector: Make) -> None:
    header = "order_id,order_date,sku,title,quantity,unit_price,currency"
    rows = ["N-1,2026-11-20,,Gift box,1,3.00,EUR", "N-1,2026-11-20,MUG-RED,Red mug,1,9.50,EUR",
            "N-1,2026-11-20,,Gift box,1,3.00,EUR"]  # fmt: skip
    first = generic_orders(make_connector(), *rows, header=header)["N-1"]
    again = generic_orders(make_connector(), *rows, header=header)["N-1"]
    assert [(line.external_id, line.sku) for line in first.lines] == [
        ("#1", None),
        ("MUG-RED", "MUG-RED"),
        ("#3", None),
    ]
    assert first == again
    assert first.unmapped_reason() == "line 1 'Gift box', line 3 'Gift box' have no SKU"


def test_a_quarantined_row_without_a_sku_replays_into_an_order(make_connector: Make) -> None:
    """A record quarantined before SKUs became optional ("required column 'sku' is empty") maps on replay."""
    connector = make_connector()
    body = {"file": "inbox/old.csv", "layout": "generic_orders",
            "columns": ["order_id", "order_date", "line_id", "sku", "title", "quantity", "unit_price", "currency"],
            "rows": [[9, ["M-7", "2026-11-20", "1", "", "No sku", "1", "9.50", "EUR"]]]}  # fmt: skip
    record = RawRecord(stream="orders", source="inbox/old.csv line 9", body=json.dumps(body), external_id="M-7")
    (line,) = connector.map_order(record).lines
    assert (line.external_id, line.sku, line.title) == ("1", None, "No sku")


# -- what people read -----------------------------------------------------------------------------------------


def test_buyer_and_ship_to_phones_and_the_payment_date(amazon: MarketplaceConnector) -> None:
    order = amazon_orders(amazon)["114-1000001-1000001"]
    assert order.customer is not None and order.customer.phone == "+1 206 555 0100"
    assert order.shipping_address is not None and order.shipping_address.phone == "+1 206 555 0199"
    assert order.paid_at == datetime(2026, 11, 23, 17, 41, tzinfo=UTC)  # payments-date, -08:00 made UTC
    assert order.placed_at == datetime(2026, 11, 23, 17, 30, tzinfo=UTC)


def test_the_unshipped_report_carries_the_buyer_phone_and_the_payment_date(make_connector: Make) -> None:
    connector = make_connector(orders_layout="amazon_unshipped_orders", currency="EUR")
    orders = amazon_orders(connector, "amazon_unshipped.tsv")
    first = orders["302-1111111-2222222"]
    assert first.customer is not None and first.customer.phone == "+49 30 1234567"
    assert first.paid_at == datetime(2026, 11, 20, 8, 20, tzinfo=UTC)
    assert orders["302-3333333-4444444"].paid_at == datetime(2026, 11, 21, tzinfo=UTC)


def test_a_generic_file_carries_the_payment_date_and_ship_to_phone(make_connector: Make) -> None:
    header = "order_id,order_date,paid_at,sku,quantity,unit_price,currency,ship_country,ship_phone"
    rows = ["P-1,2026-11-20 10:00:00,,MUG-RED,1,9.50,EUR,DE,+49 30 555",
            "P-2,2026-11-20 10:00:00,2026-11-20 10:05:00,MUG-RED,1,9.50,EUR,DE,"]  # fmt: skip
    orders = generic_orders(make_connector(), *rows, header=header)
    assert orders["P-1"].paid_at is None
    assert orders["P-1"].shipping_address is not None and orders["P-1"].shipping_address.phone == "+49 30 555"
    assert orders["P-2"].paid_at == datetime(2026, 11, 20, 10, 5, tzinfo=UTC)


def test_taxes_included_is_the_layouts_word(amazon: MarketplaceConnector, tmp_path: Path) -> None:
    assert {o.taxes_included for o in amazon_orders(amazon).values()} == {False}
    folder = tmp_path / "layouts"
    folder.mkdir()
    source = (Path(__file__).resolve().parents[3] / "mappings" / "amazon_unshipped_orders.yaml").read_text()
    (folder / "amazon_eu.yaml").write_text(source.replace("prices_include_tax: false", "prices_include_tax: true"))
    (tmp_path / "root" / "inbox").mkdir(parents=True, exist_ok=True)
    context = ConnectorContext(channel="mp", base_dir=tmp_path, mapping_dirs=[folder])
    eu = MarketplaceConnector({"root": "root", "orders_layout": "amazon_eu"}, context)
    order = amazon_orders(eu)["114-1000001-1000001"]
    assert order.taxes_included is True
    assert text(order.totals.total) == "514.48"  # 509.49 + 4.99: the item prices already hold the tax
    assert totals_warnings(order) == ()


# -- real-shaped files add up ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "settings"),
    [
        (FIGURES, {"orders_layout": "amazon_unshipped_orders"}),
        ("amazon_new_orders.tsv", {"orders_layout": "amazon_unshipped_orders"}),
        ("amazon_unshipped.tsv", {"orders_layout": "amazon_unshipped_orders", "currency": "EUR"}),
        ("generic_orders.csv", {}),
        ("generic_messy.csv", {}),
    ],
)
def test_real_shaped_files_add_up(make_connector: Make, name: str, settings: dict[str, str]) -> None:
    orders = amazon_orders(make_connector(**settings), name)
    assert orders
    for order in orders.values():
        assert totals_warnings(order) == (), order.external_id


def test_a_reported_order_total_is_kept_and_checked_against_the_lines(make_connector: Make) -> None:
    header = "order_id,order_date,sku,quantity,unit_price,line_tax,line_discount,shipping_price,order_total,currency"
    orders = generic_orders(make_connector(), "T-1,2026-11-20,MUG-RED,3,9.99,2.40,1.00,4.99,36.36,USD",
                            "T-2,2026-11-20,MUG-RED,3,9.99,2.40,1.00,4.99,40.00,USD", header=header)  # fmt: skip
    good = orders["T-1"]  # 29.97 - 1.00 + 4.99 + 2.40 = 36.36
    assert (text(good.totals.subtotal), text(good.totals.discount), text(good.totals.total)) == (
        "29.97",
        "1.00",
        "36.36",
    )
    assert totals_warnings(good) == ()
    odd = orders["T-2"]  # the channel's total is kept as reported; the core records the difference as a warning
    assert text(odd.totals.total) == "40.00"
    assert totals_warnings(odd) != ()


def test_amounts_keep_the_text_of_the_file(amazon: MarketplaceConnector) -> None:
    """No amount is quantized on the way: the parser checks cells, the mapper reads them with Decimal()."""
    orders = amazon_orders(amazon)
    amounts = [text(line.subtotal) for order in orders.values() for line in order.lines]
    assert amounts == ["1.29", "508.20", "24.00"]
    desk = orders["114-1000001-1000001"].lines[1]
    assert desk.subtotal is not None and desk.subtotal.shop.amount.as_tuple().exponent == -2
    assert desk.unit_price.shop.amount == Decimal("508.20")
