"""The WooCommerce mapper: status words, money, lines and the bad inputs that must be quarantined or held."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from channelhub_connectors.woocommerce import mapper
from typer.testing import CliRunner
from woo_helpers import FIXTURES, connector

from channelhub.cli import app
from channelhub.errors import MappingError
from channelhub.model.orders import ChannelFulfillment, FinancialStatus, Order
from channelhub.ports import RawRecord
from doubles.woocommerce.fake_store import make_order


def _map(order: dict, **kw) -> Order:  # type: ignore[type-arg]
    return connector(**kw).map_order(RawRecord("orders", "test", json.dumps(order)))


@pytest.mark.parametrize(
    ("status", "financial", "held", "cancelled", "fulfilment"),
    [
        ("pending", FinancialStatus.PENDING, "", False, ChannelFulfillment.UNFULFILLED),
        ("on-hold", FinancialStatus.PENDING, "on-hold at WooCommerce", False, ChannelFulfillment.UNFULFILLED),
        ("processing", FinancialStatus.PAID, "", False, ChannelFulfillment.UNFULFILLED),
        ("completed", FinancialStatus.PAID, "", False, ChannelFulfillment.FULFILLED),
        ("cancelled", FinancialStatus.VOIDED, "", True, ChannelFulfillment.UNFULFILLED),
        ("failed", FinancialStatus.VOIDED, "", True, ChannelFulfillment.UNFULFILLED),
        ("refunded", FinancialStatus.REFUNDED, "", True, ChannelFulfillment.UNFULFILLED),
        ("wc-awaiting-pickup", FinancialStatus.PENDING, "'wc-awaiting-pickup'", False, ChannelFulfillment.UNFULFILLED),
    ],
)
def test_status_words(status, financial, held, cancelled, fulfilment) -> None:  # type: ignore[no-untyped-def]
    order = _map(make_order(1, status=status))
    assert order.financial_status == financial
    assert (held in order.hold_reason) if held else order.hold_reason == ""
    assert (order.cancelled_at is not None) == cancelled
    assert order.fulfillment == fulfilment
    assert order.channel_status == status


def test_money_is_decimal_from_strings_and_figures_are_kept_as_reported() -> None:
    raw = make_order(7, coupons=True, fees=True, lines=[{"sku": "A", "product_id": 1, "quantity": 3, "price": "1.10"}])
    order = _map(raw)
    line = order.lines[0]
    assert line.unit_price.shop.amount == Decimal("1.10") and line.unit_price.shop.currency == "EUR"
    assert line.subtotal is not None and line.subtotal.shop.amount == Decimal("3.30")
    assert line.total_discount is not None and line.total_discount.shop.amount == Decimal("2.00")
    assert order.totals.total.shop.amount == Decimal(raw["total"])
    assert order.totals.shipping is not None and order.totals.shipping.shop.amount == Decimal("4.90")
    assert order.discounts[0].code == "spring" and order.discounts[0].amount.shop.amount == Decimal("2.00")
    assert order.taxes[0].title == "VAT" and order.taxes[0].rate == Decimal("20")
    assert line.taxes[0].amount.shop.amount == Decimal("0.26")  # 20% of the 1.30 left after the coupon
    assert [(f.title, f.amount.shop.amount, f.external_id) for f in order.fees] == [
        ("Gift wrap", Decimal("1.50"), "707")
    ]
    assert (
        order.totals.fees is not None and order.totals.fees.shop.amount == Decimal("1.50") and "fees" not in order.extra
    )
    assert order.taxes_included is False and order.extra["prices_include_tax"] is False
    assert order.payment_method == "stripe" and order.extra["payment_method_title"] == "Card"
    assert order.shipping_address is not None and order.shipping_address.country == "FR"
    assert order.customer is not None and order.customer.email == "ada@example.test"


def test_refunds_and_partial_refund_status() -> None:
    order = _map(make_order(8, refunds=[{"id": 77, "reason": "damaged", "total": "-5.00"}]))
    assert order.financial_status == FinancialStatus.PARTIALLY_REFUNDED
    assert order.refunds[0].amount.shop.amount == Decimal("5.00") and order.refunds[0].reason == "damaged"


def test_channel_sku_map_applies() -> None:
    order = _map(make_order(9, lines=[{"sku": "woo-a", "product_id": 1}]), sku_map={"woo-a": "HUB-A"})
    assert order.lines[0].sku == "HUB-A"


def test_line_without_sku_is_kept_without_one_so_the_hub_holds_the_order_naming_it() -> None:
    raw = make_order(10, lines=[{"sku": "OK", "product_id": 1}, {"sku": "", "product_id": 5, "variation_id": 6}])
    order = _map(raw)
    assert [line.sku for line in order.lines] == ["OK", None]
    assert order.unmapped_reason() == "line 2 'Item 2' has no SKU"


@pytest.mark.parametrize(
    ("key", "line"),
    [
        ("variant:6", {"sku": "", "product_id": 5, "variation_id": 6}),
        ("product:5", {"sku": "", "product_id": 5, "variation_id": 6}),
        ("title:Mystery box", {"sku": "", "product_id": 5, "name": "Mystery box"}),
    ],
)
def test_a_line_without_sku_maps_through_the_sku_map_by_variation_product_or_title(key, line) -> None:  # type: ignore[no-untyped-def]
    order = _map(make_order(13, lines=[line]), sku_map={key: "HUB-BOX"})
    assert order.lines[0].sku == "HUB-BOX" and order.unmapped_reason() == ""


@pytest.mark.parametrize("total", ["12,50", "abc", None, 12.5])
def test_non_numeric_total_is_a_mapping_error(total) -> None:  # type: ignore[no-untyped-def]
    raw = make_order(11)
    raw["total"] = total
    with pytest.raises(MappingError, match="total"):
        _map(raw)


def test_envelope_carries_looked_up_skus() -> None:
    raw = make_order(12, lines=[{"sku": "", "product_id": 5}])
    body = mapper.envelope(raw, {"1201": "FOUND"})
    order = connector().map_order(RawRecord("orders", "test", body))
    assert order.lines[0].sku == "FOUND" and order.external_id == "12"


def test_inspect_maps_a_saved_payload_through_the_cli() -> None:
    result = CliRunner().invoke(app, ["inspect", "woocommerce", str(FIXTURES / "orders.json")])
    assert result.exit_code == 0, result.output
    start = result.stdout.index("[")
    orders = json.loads(result.stdout[start : result.stdout.rindex("]") + 1])
    assert [o["external_id"] for o in orders] == ["501", "502"]
    assert orders[0]["lines"][1]["variant_id"] == "22" and orders[1]["fulfillment"] == "fulfilled"


def test_inspect_of_a_single_order_with_a_custom_status_shows_the_hold_reason() -> None:
    woo = connector()
    (record,) = woo.inspect("x.json", (FIXTURES / "order_custom_status.json").read_bytes(), {})
    assert "wc-awaiting-pickup" in woo.map_order(record).hold_reason
