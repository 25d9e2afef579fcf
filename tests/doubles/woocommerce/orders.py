"""Orders in the documented REST v3 shape (woocommerce.github.io/woocommerce-rest-api-docs, "Order properties"),
with figures computed the way WooCommerce computes them, written by us (no vendor payload is copied).

How WooCommerce fills the figures (`WC_Cart_Totals`, `WC_Abstract_Order::calculate_totals`):

- line `subtotal` is before discounts, `total` after; both EXCLUDE tax, also when prices include tax (the tax
  is taken out of the entered price); `subtotal_tax`/`total_tax` are the line's taxes before/after discounts;
- a coupon's `discount` excludes tax, its tax is `discount_tax`; the order's `discount_total` is the lines'
  subtotal minus their total, `discount_tax` the same for their taxes;
- shipping and fee `total` exclude tax (`total_tax` beside them);
- `total` = lines' totals + shipping + fees + `total_tax`, and `total_tax` = `cart_tax` + `shipping_tax`;
- every figure is a string rounded to the store's decimals.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

CENT = Decimal("0.01")


def cents(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _split_tax(gross: Decimal, rate: Decimal, included: bool) -> tuple[Decimal, Decimal]:
    """(net, tax) of a figure entered with or without tax, unrounded net as WooCommerce keeps it."""
    if included:
        tax = gross * rate / (1 + rate)
        return gross - tax, tax
    return gross, gross * rate


def _line(
    oid: int, n: int, line: dict[str, Any], discount: Decimal, rate: Decimal, included: bool
) -> tuple[dict[str, Any], Decimal, Decimal]:
    """The line item, and its total and tax after discounts unrounded (what the order's totals sum when the
    store rounds tax at subtotal level)."""
    qty = int(line.get("quantity", 1))
    entered = Decimal(str(line.get("price", "10.00"))) * qty
    net, tax = _split_tax(entered, rate, included)
    net_after, tax_after = _split_tax(entered - discount, rate, included)
    return {
        "id": oid * 100 + n, "name": line.get("name", f"Item {n}"), "product_id": line.get("product_id", 10),
        "variation_id": line.get("variation_id", 0), "quantity": qty, "tax_class": "",
        "subtotal": f"{cents(net)}", "subtotal_tax": f"{cents(tax)}", "total": f"{cents(net_after)}",
        "total_tax": f"{cents(tax_after)}",
        "taxes": [{"id": 1, "total": f"{cents(tax_after)}", "subtotal": f"{cents(tax)}"}] if rate else [],
        "meta_data": line.get("meta_data", []), "sku": line.get("sku", ""),
        "price": float(cents(net / qty)),
    }, net_after, tax_after  # fmt: skip


def _coupon_shares(amounts: list[Decimal], coupon: Decimal) -> list[Decimal]:
    """A fixed cart coupon spread over the lines in proportion to their price, the remainder on the last line."""
    whole = sum(amounts, Decimal(0))
    coupon = min(coupon, whole)  # a coupon never takes a line below zero
    shares = [cents(coupon * a / whole) if whole else Decimal(0) for a in amounts]
    if shares:
        shares[-1] += coupon - sum(shares, Decimal(0))
    return shares


def make_order(
    oid: int,
    *,
    status: str = "processing",
    modified: str = "2024-05-01T10:00:00",
    created: str | None = None,
    lines: list[dict[str, Any]] | None = None,
    currency: str = "EUR",
    total: str | None = None,
    refunds: list[dict[str, Any]] | None = None,
    coupons: bool = False,
    fees: bool = False,
    prices_include_tax: bool = False,
    tax_rate: str = "0.20",
    shipping: str = "4.90",
    payment_method: str = "stripe",
    paid: bool | None = None,
    meta_data: list[dict[str, Any]] | None = None,
    customer_note: str = "",
    round_tax_at_subtotal: bool = False,
) -> dict[str, Any]:
    """An order in the documented REST v3 shape. `lines`: dicts with sku, product_id, variation_id, quantity,
    price (a decimal string, as the merchant typed it: with tax when `prices_include_tax`), name, meta_data.
    One `tax_rate` ("VAT") applies to lines, shipping and the fee; a coupon takes 2.00 as entered (with tax
    when prices include it), the fee ("Gift wrap") costs 1.50 before tax. `paid` (default: processing and
    completed orders are paid) sets date_paid and transaction_id as a card gateway does; `total` overrides
    the grand total (a wrong one, for the tests of what does not add up). `round_tax_at_subtotal` is the
    store setting "Round tax at subtotal level, instead of per line": the order's tax is the rounded sum of the
    lines' unrounded taxes, while each line still shows its own tax rounded."""
    rate = Decimal(tax_rate)
    lines = lines or [{"sku": f"SKU-{oid}", "product_id": 10, "quantity": 1, "price": "10.00"}]
    entered = [Decimal(str(line.get("price", "10.00"))) * int(line.get("quantity", 1)) for line in lines]
    shares = _coupon_shares(entered, Decimal("2.00") if coupons else Decimal(0))
    made = [_line(oid, n, line, shares[n - 1], rate, prices_include_tax) for n, line in enumerate(lines, start=1)]
    items = [item for item, _, _ in made]
    ship, ship_tax = cents(Decimal(shipping)), cents(Decimal(shipping) * rate)  # shipping costs are entered ex tax
    fee, fee_tax = (Decimal("1.50"), cents(Decimal("1.50") * rate)) if fees else (Decimal(0), Decimal(0))

    def total_of(field: str) -> Decimal:
        return sum((Decimal(i[field]) for i in items), Decimal(0))

    if round_tax_at_subtotal:
        line_tax, line_net = cents(sum((t for _, _, t in made), Decimal(0))), sum((n for _, n, _ in made), Decimal(0))
    else:
        line_tax, line_net = total_of("total_tax"), total_of("total")
    cart_tax = line_tax + fee_tax
    grand = cents(line_net + ship + fee + cart_tax + ship_tax)
    paid = status in ("processing", "completed") if paid is None else paid
    address = {"first_name": "Ada", "last_name": "Lovelace", "company": "", "address_1": "1 Analytical Row",
               "address_2": "", "city": "Lyon", "state": "", "postcode": "69001", "country": "FR"}  # fmt: skip
    return {
        "id": oid, "parent_id": 0, "number": str(oid), "order_key": f"wc_order_fake{oid}", "created_via": "checkout",
        "status": status, "currency": currency,
        "date_created": created or modified, "date_created_gmt": created or modified,
        "date_modified": modified, "date_modified_gmt": modified,
        "discount_total": f"{total_of('subtotal') - total_of('total'):.2f}",
        "discount_tax": f"{total_of('subtotal_tax') - total_of('total_tax'):.2f}",
        "shipping_total": f"{ship:.2f}", "shipping_tax": f"{ship_tax:.2f}", "cart_tax": f"{cart_tax:.2f}",
        "total": total if total is not None else f"{grand:.2f}", "total_tax": f"{cart_tax + ship_tax:.2f}",
        "prices_include_tax": prices_include_tax, "customer_id": 7, "customer_note": customer_note,
        "billing": {**address, "email": "ada@example.test", "phone": "+33 1 00 00 00 00"},
        "shipping": {**address, "phone": ""},
        "payment_method": payment_method,
        "payment_method_title": {"stripe": "Card", "cod": "Cash on delivery", "bacs": "Direct bank transfer"}.get(
            payment_method, payment_method
        ),
        "transaction_id": f"ch_{oid}" if paid else "",
        "date_paid": modified if paid else None, "date_paid_gmt": modified if paid else None,
        "date_completed": modified if status == "completed" else None,
        "date_completed_gmt": modified if status == "completed" else None,
        "meta_data": meta_data or [], "line_items": items,
        "tax_lines": [{"id": 900 + oid, "rate_code": "FR-VAT-1", "rate_id": 1, "label": "VAT", "compound": False,
                       "tax_total": f"{cart_tax:.2f}", "shipping_tax_total": f"{ship_tax:.2f}",
                       "rate_percent": float(rate * 100), "meta_data": []}] if rate else [],
        "shipping_lines": [{"id": 800 + oid, "method_title": "Flat rate", "method_id": "flat_rate",
                            "total": f"{ship:.2f}", "total_tax": f"{ship_tax:.2f}",
                            "taxes": [{"id": 1, "total": f"{ship_tax:.2f}", "subtotal": ""}] if rate else [],
                            "meta_data": []}],
        "fee_lines": [{"id": 700 + oid, "name": "Gift wrap", "tax_class": "", "tax_status": "taxable",
                       "total": f"{fee:.2f}", "total_tax": f"{fee_tax:.2f}",
                       "taxes": [{"id": 1, "total": f"{fee_tax:.2f}", "subtotal": ""}] if rate else [],
                       "meta_data": []}] if fees else [],
        "coupon_lines": [{"id": 600 + oid, "code": "spring",
                          "discount": f"{total_of('subtotal') - total_of('total'):.2f}",
                          "discount_tax": f"{total_of('subtotal_tax') - total_of('total_tax'):.2f}",
                          "meta_data": []}] if coupons else [],
        "refunds": refunds or [],
    }  # fmt: skip
