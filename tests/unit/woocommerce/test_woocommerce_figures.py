"""Figures through the mapper: totals that add up in both tax modes (the core's own check), names people read."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from woo_helpers import connector

from channelhub.model.orders import Order
from channelhub.model.totals import totals_warnings
from channelhub.ports import RawRecord
from doubles.woocommerce.fake_store import make_order

LINES = [
    {"sku": "GUITAR", "product_id": 20, "variation_id": 23, "quantity": 1, "price": "119.00"},
    {"sku": "PICK", "product_id": 30, "quantity": 7, "price": "0.99"},
    {"sku": "STRING", "product_id": 31, "quantity": 3, "price": "9.99"},
]


def _map(raw: dict, **kw) -> Order:  # type: ignore[type-arg]
    return connector(**kw).map_order(RawRecord("orders", "test", json.dumps(raw)))


@pytest.mark.parametrize("included", [False, True])
@pytest.mark.parametrize(("coupons", "fees"), [(False, False), (True, False), (False, True), (True, True)])
def test_totals_add_up_with_coupons_shipping_fees_and_taxes_in_both_tax_modes(included, coupons, fees) -> None:  # type: ignore[no-untyped-def]
    order = _map(make_order(40, lines=LINES, coupons=coupons, fees=fees, prices_include_tax=included))
    assert order.taxes_included is included
    assert totals_warnings(order) == ()


def test_prices_including_tax_read_as_the_customer_saw_them() -> None:
    raw = make_order(41, lines=LINES, coupons=True, fees=True, prices_include_tax=True)
    assert raw["line_items"][0]["subtotal"] == "99.17"  # WooCommerce keeps the ex-tax half
    order = _map(raw)
    guitar = order.lines[0]
    assert guitar.unit_price.shop.amount == Decimal("119.00") and guitar.subtotal is not None
    assert order.totals.shipping is not None and order.totals.shipping.shop.amount == Decimal("5.88")  # 4.90 + 20%
    assert order.fees[0].amount.shop.amount == Decimal("1.80")  # 1.50 + 20%
    # The coupon as entered (2.00, tax included), give or take the store's rounding of each line's two halves.
    assert order.totals.discount is not None
    assert abs(order.totals.discount.shop.amount - Decimal("2.00")) <= Decimal("0.03")
    typed = Decimal("119.00") + 7 * Decimal("0.99") + 3 * Decimal("9.99")
    assert abs(sum(line.subtotal.shop.amount for line in order.lines if line.subtotal) - typed) <= Decimal("0.03")


def test_prices_including_tax_read_ex_tax_would_not_add_up() -> None:
    """Why the mapper converts: with tax rounded at subtotal level, the ex-tax halves, each rounded to cents,
    drift off the total; the tax-inclusive figures are the round prices typed in."""
    raw = make_order(42, lines=[{"sku": "A", "product_id": 1, "price": "10.00"}] * 0 + [
        {"sku": f"A{n}", "product_id": n, "price": "10.00"} for n in range(1, 11)
    ], prices_include_tax=True, shipping="0", round_tax_at_subtotal=True)  # fmt: skip
    ex_tax = sum(Decimal(i["subtotal"]) for i in raw["line_items"]) + Decimal(raw["total_tax"])
    assert ex_tax != Decimal(raw["total"])  # 83.30 + 16.67 = 99.97, the customer paid 100.00
    assert totals_warnings(_map(raw)) == ()


@pytest.mark.parametrize("included", [False, True])
def test_a_total_that_is_off_is_a_warning(included: bool) -> None:
    raw = make_order(43, lines=LINES, coupons=True, fees=True, prices_include_tax=included)
    raw["total"] = str(Decimal(raw["total"]) + Decimal("5.00"))
    (warning,) = totals_warnings(_map(raw))
    assert "a difference of 5.00" in warning


def test_the_documented_sample_shape_adds_up() -> None:
    """The REST docs' order 727 figures (typed here): 2 x 3.00 and 12.00 at 7.5%, 10.00 flat shipping."""
    raw = make_order(727, lines=[{"sku": "", "product_id": 93, "quantity": 2, "price": "3.00"}], tax_rate="0.075")
    raw.update(shipping_total="10.00", shipping_tax="0.00", total="29.35", total_tax="1.35", cart_tax="1.35")
    raw["shipping_lines"][0].update(total="10.00", total_tax="0.00", taxes=[])
    raw["line_items"].append({**raw["line_items"][0], "id": 316, "sku": "Bar3", "quantity": 1, "subtotal": "12.00",
                              "subtotal_tax": "0.90", "total": "12.00", "total_tax": "0.90"})  # fmt: skip
    order = _map(raw, sku_map={"product:93": "WOO-SINGLE"})
    assert [line.sku for line in order.lines] == ["WOO-SINGLE", "Bar3"]
    assert totals_warnings(order) == ()


def test_names_are_decoded_and_variations_read_as_product_and_variant() -> None:
    lines = [
        {"sku": "G", "product_id": 20, "variation_id": 23, "name": "Guitar Pro3 - White"},
        {"sku": "S", "product_id": 22, "variation_id": 24, "name": "Ship Your Idea &ndash; Black",
         "meta_data": [{"id": 1, "key": "pa_color", "value": "black", "display_key": "Color",
                        "display_value": "<p>Black</p>\n"}, {"id": 2, "key": "_reduced_stock", "value": "1"}]},
        {"sku": "H", "product_id": 25, "variation_id": 26, "name": "Hoodie",
         "meta_data": [{"id": 3, "key": "pa_size", "value": "l", "display_key": "Size", "display_value": "L"},
                       {"id": 4, "key": "pa_colour", "value": "blue", "display_key": "Colour",
                        "display_value": "Blue"}]},
        {"sku": "T", "product_id": 27, "name": "Caf&eacute; T-shirt - Limited"},
    ]  # fmt: skip
    raw = make_order(44, lines=lines, fees=True)
    raw["shipping_lines"][0]["method_title"] = "Ground Advantage&#8482;"
    raw["fee_lines"][0]["name"] = "Gift wrap &amp; card"
    order = _map(raw)
    assert [line.display_name for line in order.lines] == [
        "Guitar Pro3 - White",
        "Ship Your Idea \u2013 Black",
        "Hoodie - L, Blue",
        "Caf\u00e9 T-shirt - Limited",  # not a variation: the dash is part of the name
    ]
    assert [line.variant_title for line in order.lines] == ["White", "Black", "L, Blue", ""]
    assert order.shipping_lines[0].title == "Ground Advantage\u2122"
    assert order.fees[0].title == "Gift wrap & card"


def test_customer_note_and_phones() -> None:
    raw = make_order(45, customer_note="Leave it with the neighbour, please")
    raw["billing"]["phone"] = ""
    raw["shipping"]["phone"] = "+33 6 12 34 56 78"
    order = _map(raw)
    assert order.customer_note == "Leave it with the neighbour, please"
    assert order.customer is not None and order.customer.phone == "+33 6 12 34 56 78"
    assert order.shipping_address is not None and order.shipping_address.phone == "+33 6 12 34 56 78"
    assert order.billing_address is not None and order.billing_address.phone == ""
