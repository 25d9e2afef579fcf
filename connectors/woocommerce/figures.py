"""WooCommerce money, lines, fees, shipping and totals -> canonical figures (pure; used by `mapper`).

WooCommerce stores every line, shipping and fee figure EXCLUSIVE of tax, also when the store's prices include
tax (`prices_include_tax`): its cart subtracts the tax from the entered price (`WC_Cart_Totals::
calculate_item_subtotals`, "$item->subtotal = $item->subtotal - array_sum( $item->subtotal_taxes )"), and coupon
amounts lose their tax the same way. The REST answer rounds each figure to the store's decimals. So:

- prices exclude tax (`prices_include_tax` false or absent): the figures are kept as reported, ex tax, and the
  canonical order says `taxes_included=False`;
- prices include tax: each figure is converted to what the customer saw, figure + its own tax (line `subtotal +
  subtotal_tax`, `total + total_tax`; shipping `total + total_tax`; fee `total + total_tax`; order discount
  `discount_total + discount_tax`), and the order says `taxes_included=True`, which is then true of every
  canonical figure. These are the round prices the merchant typed in: the ex-tax halves, each rounded to cents,
  drift by up to half a cent per line, the tax-inclusive sums do not.

Either way the canonical totals add up as `channelhub.model.totals` reads them:
`subtotal - discount + shipping + fees (+ tax unless taxes_included) = total`.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from channelhub.errors import MappingError
from channelhub.model.money import MoneyBag
from channelhub.model.orders import Discount, Fee, LineKind, OrderLine, ShippingLine, TaxLine, Totals
from channelhub.ports import hub_sku

_TAGS = re.compile(r"<[^>]+>")
# WooCommerce names a variation "Parent - Attribute, Attribute" (the separator is filterable; stores from before
# 3.0 wrote "&ndash;", which html.unescape turns into an en dash).
_VARIANT_SEPARATORS = (" - ", " \u2013 ")


def text(value: Any) -> str:
    """A display text from the store: HTML entities decoded ("Ground Advantage&#8482;" -> "Ground Advantage™"),
    tags dropped (WooCommerce wraps a meta display value in <p>), whitespace trimmed."""
    return html.unescape(_TAGS.sub("", str(value or ""))).strip()


class Money:
    """Decimal amounts from the store's strings, refusing floats, booleans and non-numbers with the field's name."""

    def __init__(self, currency: str, what: str, where: str) -> None:
        self.currency, self.what, self.where = currency, what, where

    def amount(self, value: Any, field: str) -> Decimal:
        if isinstance(value, bool) or value is None or isinstance(value, float):
            raise MappingError(f"{self.what}: {field} is not a decimal string: {value!r}", where=self.where)
        try:
            result = Decimal(str(value).strip())
        except InvalidOperation:
            raise MappingError(f"{self.what}: {field} is not a number: {value!r}", where=self.where) from None
        if not result.is_finite():
            raise MappingError(f"{self.what}: {field} is not a finite number: {value!r}", where=self.where)
        return result

    def optional(self, value: Any, field: str) -> Decimal:
        """An amount that WooCommerce may leave out or empty (a tax figure on an untaxed store): 0 then."""
        return Decimal(0) if value in (None, "") else self.amount(value, field)

    def bag(self, value: Decimal) -> MoneyBag:
        return MoneyBag.of(value, self.currency)


@dataclass(frozen=True)
class Figures:
    """Reads the order's figures in one tax mode (see the module docstring)."""

    money: Money
    taxes_included: bool
    rates: Mapping[str, Mapping[str, Any]]

    def gross(self, item: Mapping[str, Any], field: str, tax_field: str, label: str) -> Decimal:
        """`item[field]`, plus `item[tax_field]` when prices include tax."""
        value = self.money.amount(item.get(field), f"{label} {field}")
        if self.taxes_included:
            value += self.money.optional(item.get(tax_field), f"{label} {tax_field}")
        return value

    def taxes(self, items: Any, label: str) -> tuple[TaxLine, ...]:
        out = []
        for tax in items or ():
            amount = self.money.amount(tax.get("total") or "0", f"{label} tax {tax.get('id')}")
            if not amount:
                continue
            rate = self.rates.get(str(tax.get("id"))) or {}
            out.append(
                TaxLine(
                    title=text(rate.get("label")) or f"tax rate {tax.get('id')}",
                    rate=rate_percent(rate),
                    amount=self.money.bag(amount),
                )
            )
        return tuple(out)

    def line(
        self, item: Mapping[str, Any], sku_map: Mapping[str, str], resolved: Mapping[str, str], where: str
    ) -> OrderLine:
        line_id = str(item.get("id"))
        title = text(item.get("name"))
        label = f"line {line_id} ({title or 'unnamed'})"
        quantity = item.get("quantity")
        if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
            raise MappingError(
                f"{self.money.what}: {label} quantity is not a positive whole number: {quantity!r}", where=where
            )
        subtotal = self.gross(item, "subtotal", "subtotal_tax", label)
        total = self.gross(item, "total", "total_tax", label)
        variation_id, product_id = _id(item.get("variation_id")), _id(item.get("product_id"))
        channel_sku = str(item.get("sku") or "").strip() or resolved.get(line_id, "")
        return OrderLine(
            external_id=line_id,
            # None when neither the line, the store's look-ups nor the SKU map name one: the hub holds the order.
            sku=hub_sku(sku_map, channel_sku, variant_id=variation_id, product_id=product_id, title=title),
            # REST v3 line items carry no virtual/downloadable flag nor product type: every line is a product
            # that needs stock, as far as the order payload can tell.
            kind=LineKind.PRODUCT,
            title=title,
            variant_title=variant_title(item, title) if variation_id else "",
            quantity=quantity,
            # `price` is a JSON number (a float) in the payload: the unit price comes from the exact subtotal.
            unit_price=self.money.bag(subtotal / quantity),
            subtotal=self.money.bag(subtotal),
            total_discount=self.money.bag(subtotal - total) if subtotal != total else None,
            taxes=self.taxes(item.get("taxes"), label),
            variant_id=variation_id,
            product_id=product_id,
        )

    def shipping_line(self, item: Mapping[str, Any]) -> ShippingLine:
        label = f"shipping line {item.get('id')}"
        return ShippingLine(
            title=text(item.get("method_title")),
            code=str(item.get("method_id") or ""),
            price=self.money.bag(self.gross(item, "total", "total_tax", label)),
            taxes=self.taxes(item.get("taxes"), label),
        )

    def fee(self, item: Mapping[str, Any]) -> Fee:
        label = f"fee {item.get('id')}"
        return Fee(
            external_id=str(item.get("id") or ""),
            kind="fee",
            title=text(item.get("name")),
            amount=self.money.bag(self.gross(item, "total", "total_tax", label)),
            taxes=self.taxes(item.get("taxes"), label),
        )

    def discount(self, item: Mapping[str, Any]) -> Discount:
        label = f"coupon {item.get('code')}"
        return Discount(
            code=str(item.get("code") or ""),
            kind="coupon",
            amount=self.money.bag(self.gross(item, "discount", "discount_tax", label)),
        )

    def totals(self, order: Mapping[str, Any], lines: tuple[OrderLine, ...], fees: tuple[Fee, ...]) -> Totals:
        subtotal = sum((line.subtotal.shop.amount for line in lines if line.subtotal), Decimal(0))
        discount = self.gross(_zero(order, "discount_total"), "discount_total", "discount_tax", "order")
        shipping = self.gross(_zero(order, "shipping_total"), "shipping_total", "shipping_tax", "order")
        return Totals(
            subtotal=self.money.bag(subtotal),
            discount=self.money.bag(discount),
            shipping=self.money.bag(shipping),
            fees=self.money.bag(sum((fee.amount.shop.amount for fee in fees), Decimal(0))),
            tax=self.money.bag(self.money.optional(order.get("total_tax"), "total_tax")),
            total=self.money.bag(self.money.amount(order.get("total"), "total")),
        )

    def tax_lines(self, order: Mapping[str, Any]) -> tuple[TaxLine, ...]:
        out = []
        for tax in order.get("tax_lines") or ():
            label = f"tax line {tax.get('id')}"
            amount = self.money.optional(tax.get("tax_total"), f"{label} tax_total")
            amount += self.money.optional(tax.get("shipping_tax_total"), f"{label} shipping_tax_total")
            title = text(tax.get("label")) or str(tax.get("rate_code") or "") or "tax"
            out.append(TaxLine(title=title, rate=rate_percent(tax), amount=self.money.bag(amount)))
        return tuple(out)


def variant_title(item: Mapping[str, Any], title: str) -> str:
    """The variation's attributes as the customer saw them: the visible line meta (WooCommerce lists a
    variation's attributes there, with `display_key`/`display_value`; keys starting with "_" are hidden), else
    what follows the separator in the name WooCommerce builds ("Guitar Pro3 - White" -> "White")."""
    values = []
    for meta in item.get("meta_data") or ():
        if not isinstance(meta, Mapping) or str(meta.get("key") or "").startswith("_"):
            continue
        shown = meta.get("display_value", meta.get("value"))
        if isinstance(shown, str | int) and text(shown):
            values.append(text(shown))
    if values:
        return ", ".join(values)
    for separator in _VARIANT_SEPARATORS:
        if separator in title:
            return title.rsplit(separator, 1)[1].strip()
    return ""


def rate_percent(tax_line: Mapping[str, Any]) -> Decimal | None:
    value = tax_line.get("rate_percent")
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _id(value: Any) -> str:
    return str(value) if value not in (None, "", 0, "0") else ""


def _zero(order: Mapping[str, Any], field: str) -> dict[str, Any]:
    """The order-level pair (`field`, its tax) with absent values read as 0, in the shape `gross` takes."""
    tax_field = field.replace("_total", "_tax")
    return {field: order.get(field) or "0", tax_field: order.get(tax_field) or "0"}
