"""Do an order's reported figures add up? The check the hub runs on every imported order.

    subtotal - discount + shipping + fees (+ tax, unless the prices include tax) = total

in the shop currency, each figure as the channel reported it (`Totals`; fees summed from `Order.fees` when the
totals carry none). A difference of more than one minor unit of the currency (a cent; one yen; a fils of the
three-decimal dinars) is a warning kept on the order, never a refusal: the channel's total is what the customer
paid, and a person decides what the difference means. An order whose channel does not say whether prices include
tax passes when either reading adds up. An order without a subtotal is not checked (there is nothing to add).
"""

from __future__ import annotations

from decimal import Decimal

from channelhub.model.orders import Order

# ISO 4217 minor units that are not 2 (the codes in use; the rest of the table is 2).
_MINOR_UNITS = {
    **dict.fromkeys(("BIF", "CLP", "DJF", "GNF", "ISK", "JPY", "KMF", "KRW", "PYG", "RWF", "UGX", "UYI", "VND",
                     "VUV", "XAF", "XOF", "XPF"), 0),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
    **dict.fromkeys(("CLF", "UYW"), 4),
}  # fmt: skip


def minor_unit(currency: str) -> Decimal:
    """The smallest amount of `currency` (0.01 EUR, 1 JPY, 0.001 KWD)."""
    return Decimal(1).scaleb(-_MINOR_UNITS.get(currency, 2))


def totals_warnings(order: Order) -> tuple[str, ...]:
    """Why the order's figures do not add up (empty when they do, or when there is no subtotal to check)."""
    totals = order.totals
    if totals.subtotal is None:
        return ()
    currency = order.currency
    fees = (
        totals.fees.shop.amount
        if totals.fees is not None
        else sum((fee.amount.shop.amount for fee in order.fees), Decimal(0))
    )
    before_tax = (
        totals.subtotal.shop.amount
        - (totals.discount.shop.amount if totals.discount else 0)
        + (totals.shipping.shop.amount if totals.shipping else 0)
        + fees
    )
    tax = totals.tax.shop.amount if totals.tax else Decimal(0)
    reported = totals.total.shop.amount
    tolerance = minor_unit(currency)
    readings = {True: before_tax, False: before_tax + tax}
    if order.taxes_included is not None:
        readings = {order.taxes_included: readings[order.taxes_included]}
    if any(abs(reported - computed) <= tolerance for computed in readings.values()):
        return ()
    computed = readings.get(bool(order.taxes_included), before_tax + tax)
    parts = [f"subtotal {totals.subtotal.shop.amount}"]
    if totals.discount:
        parts.append(f"- discount {totals.discount.shop.amount}")
    if totals.shipping:
        parts.append(f"+ shipping {totals.shipping.shop.amount}")
    if fees:
        parts.append(f"+ fees {fees}")
    if order.taxes_included is False or (order.taxes_included is None and tax):
        parts.append(f"+ tax {tax}")
    included = " (prices include tax)" if order.taxes_included else ""
    return (
        f"totals do not add up: {' '.join(parts)} = {computed} {currency}{included}, but the channel's total is "
        f"{reported} {currency} (a difference of {reported - computed})",
    )
