"""WooCommerce order JSON (REST v3, also the order.created/order.updated webhook body) -> the canonical Order.

Pure: no I/O. Lines whose `sku` is empty are looked up by the connector BEFORE mapping (a variation's SKU first,
then its parent's); the answers travel with the record in an envelope, so a replay maps the same way:

    {"woocommerce_order": <the order exactly as received>, "resolved_skus": {"<line id>": "SKU", ...}}

A bare order (no envelope) is the common case. Status words map as follows (`apply` turns them into moves):

    pending              payment PENDING                    -> on hold, "awaiting payment"
    on-hold              payment PENDING + hold_reason      -> on hold, the store's words
    processing           PAID                               -> reserve and confirm
    completed            PAID + FULFILLED                   -> shipped by the store
    cancelled, failed    VOIDED + cancelled_at              -> released
    refunded             REFUNDED + cancelled_at            -> released
    trash                VOIDED + cancelled_at              -> released
    anything else        hold_reason naming the status      -> on hold until a person looks
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import ValidationError

from channelhub.errors import MappingError
from channelhub.model.money import MoneyBag
from channelhub.model.orders import (
    Address,
    ChannelFulfillment,
    Customer,
    Discount,
    FinancialStatus,
    Order,
    OrderLine,
    Refund,
    ShippingLine,
    TaxLine,
    Totals,
)
from channelhub.ports import RawRecord

ENVELOPE = "woocommerce_order"

_PAID_STATUSES = {"processing": FinancialStatus.PAID, "completed": FinancialStatus.PAID}
_RELEASING = {
    "cancelled": FinancialStatus.VOIDED,
    "failed": FinancialStatus.VOIDED,
    "trash": FinancialStatus.VOIDED,
    "refunded": FinancialStatus.REFUNDED,
}
ON_HOLD_REASON = "on-hold at WooCommerce (awaiting payment confirmation or the merchant's review)"


def unwrap(data: Any) -> tuple[dict[str, Any], dict[str, str]]:
    """(order, resolved SKUs by line id) from a record body's JSON: an envelope or a bare order."""
    if isinstance(data, dict) and ENVELOPE in data:
        order, resolved = data[ENVELOPE], data.get("resolved_skus") or {}
    else:
        order, resolved = data, {}
    if not isinstance(order, dict):
        raise MappingError(f"expected a WooCommerce order object, got {type(order).__name__}")
    return order, {str(k): str(v) for k, v in resolved.items()}


def envelope(order: Mapping[str, Any], resolved: Mapping[str, str]) -> str:
    return json.dumps({ENVELOPE: order, "resolved_skus": dict(resolved)}, ensure_ascii=False, separators=(",", ":"))


def map_record(record: RawRecord, *, channel: str, sku_map: Mapping[str, str]) -> Order:
    try:
        data = json.loads(record.body)
    except ValueError as exc:
        raise MappingError(f"not JSON: {exc}", where=record.source) from None
    order, resolved = unwrap(data)
    return map_order(order, channel=channel, sku_map=sku_map, resolved_skus=resolved, where=record.source)


def map_order(
    order: Mapping[str, Any],
    *,
    channel: str,
    sku_map: Mapping[str, str],
    resolved_skus: Mapping[str, str] | None = None,
    where: str = "",
) -> Order:
    """The canonical order, or MappingError naming the field (and the line) that does not map."""
    where = where or f"woocommerce order {order.get('id')}"
    try:
        return _map(order, channel, sku_map, resolved_skus or {}, where)
    except MappingError:
        raise
    except ValidationError as exc:
        first = exc.errors()[0]
        path = ".".join(str(p) for p in first["loc"]) or "(order)"
        raise MappingError(f"order {order.get('id')}: {path}: {first['msg']}", where=where) from None
    except (KeyError, TypeError, ValueError) as exc:
        raise MappingError(f"order {order.get('id')}: {type(exc).__name__}: {exc}", where=where) from None


def _map(
    order: Mapping[str, Any], channel: str, sku_map: Mapping[str, str], resolved: Mapping[str, str], where: str
) -> Order:
    oid = order.get("id")
    if oid in (None, "", 0):
        raise MappingError("order without an id", where=where)
    currency = str(order.get("currency") or "")
    if not currency:
        raise MappingError(f"order {oid}: no currency", where=where)
    money = _Money(currency, f"order {oid}", where)
    status = str(order.get("status") or "")
    updated_at = _gmt(order, "date_modified", where)
    financial, hold_reason, cancelled_at, fulfillment = _status(status, updated_at)
    total = money.bag(order.get("total"), "total")
    refunds = tuple(_refund(r, money, updated_at) for r in order.get("refunds") or ())
    refunded = sum((r.amount.shop.amount for r in refunds), Decimal(0))
    if refunded and financial == FinancialStatus.PAID:
        financial = FinancialStatus.REFUNDED if refunded >= total.shop.amount else FinancialStatus.PARTIALLY_REFUNDED
    rates = {str(t.get("rate_id")): t for t in order.get("tax_lines") or ()}
    lines = tuple(_line(item, money, rates, sku_map, resolved, where) for item in order.get("line_items") or ())
    if not lines:
        raise MappingError(f"order {oid}: no line items", where=where)
    billing, shipping = order.get("billing") or {}, order.get("shipping") or {}
    subtotal = sum(
        (money.amount(i.get("subtotal"), f"line {i.get('id')} subtotal") for i in order.get("line_items") or ()),
        Decimal(0),
    )
    return Order(
        channel=channel,
        external_id=str(oid),
        number=str(order.get("number") or oid),
        placed_at=_gmt(order, "date_created", where),
        updated_at=updated_at,
        currency=currency,
        financial_status=financial,
        fulfillment=fulfillment,
        cancelled_at=cancelled_at,
        channel_status=status,
        customer=_customer(order, billing),
        shipping_address=_address(shipping),
        billing_address=_address(billing),
        lines=lines,
        shipping_lines=tuple(
            ShippingLine(
                title=str(s.get("method_title") or ""),
                code=str(s.get("method_id") or ""),
                price=money.bag(s.get("total"), f"shipping line {s.get('id')} total"),
                taxes=_taxes(s.get("taxes"), money, rates, f"shipping line {s.get('id')}"),
            )
            for s in order.get("shipping_lines") or ()
        ),
        discounts=tuple(
            Discount(
                code=str(c.get("code") or ""),
                kind="coupon",
                amount=money.bag(c.get("discount"), f"coupon {c.get('code')} discount"),
            )
            for c in order.get("coupon_lines") or ()
        ),
        taxes=tuple(
            TaxLine(
                title=str(t.get("label") or t.get("rate_code") or "tax"),
                rate=_rate(t),
                amount=MoneyBag.of(
                    money.amount(t.get("tax_total"), f"tax line {t.get('id')} tax_total")
                    + money.amount(t.get("shipping_tax_total") or "0", f"tax line {t.get('id')} shipping_tax_total"),
                    currency,
                ),
            )
            for t in order.get("tax_lines") or ()
        ),
        totals=Totals(
            subtotal=MoneyBag.of(subtotal, currency),
            shipping=money.bag(order.get("shipping_total") or "0", "shipping_total"),
            tax=money.bag(order.get("total_tax") or "0", "total_tax"),
            discount=money.bag(order.get("discount_total") or "0", "discount_total"),
            total=total,
        ),
        refunds=refunds,
        hold_reason=hold_reason,
        extra=_extra(order, money),
    )


def _status(status: str, updated_at: datetime) -> tuple[FinancialStatus, str, datetime | None, ChannelFulfillment]:
    if status in _PAID_STATUSES:
        shipped = ChannelFulfillment.FULFILLED if status == "completed" else ChannelFulfillment.UNFULFILLED
        return _PAID_STATUSES[status], "", None, shipped
    if status in _RELEASING:
        # WooCommerce keeps no cancellation time: the modification that set the status is the best we know.
        return _RELEASING[status], "", updated_at, ChannelFulfillment.UNFULFILLED
    if status == "pending":
        return FinancialStatus.PENDING, "", None, ChannelFulfillment.UNFULFILLED
    if status == "on-hold":
        return FinancialStatus.PENDING, ON_HOLD_REASON, None, ChannelFulfillment.UNFULFILLED
    reason = f"unknown WooCommerce order status {status!r}: held until someone decides what it means"
    return FinancialStatus.PENDING, reason, None, ChannelFulfillment.UNFULFILLED


def _gmt(order: Mapping[str, Any], name: str, where: str) -> datetime:
    """`<name>_gmt` as aware UTC (WooCommerce writes it without an offset); `<name>` alone is store-local."""
    raw = order.get(f"{name}_gmt")
    if not raw:
        raise MappingError(f"order {order.get('id')}: {name}_gmt is missing", where=where)
    try:
        value = datetime.fromisoformat(str(raw))
    except ValueError:
        raise MappingError(f"order {order.get('id')}: {name}_gmt is not a date: {raw!r}", where=where) from None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class _Money:
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

    def bag(self, value: Any, field: str) -> MoneyBag:
        return MoneyBag.of(self.amount(value, field), self.currency)


def _line(
    item: Mapping[str, Any],
    money: _Money,
    rates: Mapping[str, Any],
    sku_map: Mapping[str, str],
    resolved: Mapping[str, str],
    where: str,
) -> OrderLine:
    line_id = str(item.get("id"))
    label = f"line {line_id} ({item.get('name') or 'unnamed'})"
    channel_sku = str(item.get("sku") or "").strip() or resolved.get(line_id, "")
    if not channel_sku:
        if item.get("variation_id"):
            why = f"neither variation {item['variation_id']} nor its parent product {item.get('product_id')} has one"
        else:
            why = f"product {item.get('product_id')} has none"
        raise MappingError(f"{money.what}: {label} has no SKU ({why})", where=where)
    quantity = item.get("quantity")
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity <= 0:
        raise MappingError(f"{money.what}: {label} quantity is not a positive whole number: {quantity!r}", where=where)
    subtotal = money.amount(item.get("subtotal"), f"{label} subtotal")
    total = money.amount(item.get("total"), f"{label} total")
    discount = subtotal - total
    return OrderLine(
        external_id=line_id,
        sku=sku_map.get(channel_sku, channel_sku),
        title=str(item.get("name") or ""),
        quantity=quantity,
        # `price` is a JSON number (a float) in the payload: derive the unit price from the exact subtotal.
        unit_price=MoneyBag.of(subtotal / quantity, money.currency),
        total_discount=MoneyBag.of(discount, money.currency) if discount else None,
        taxes=_taxes(item.get("taxes"), money, rates, label),
        variant_id=str(item.get("variation_id") or ""),
        product_id=str(item.get("product_id") or ""),
    )


def _taxes(items: Any, money: _Money, rates: Mapping[str, Any], label: str) -> tuple[TaxLine, ...]:
    out = []
    for tax in items or ():
        amount = money.amount(tax.get("total"), f"{label} tax {tax.get('id')}")
        if not amount:
            continue
        rate = rates.get(str(tax.get("id"))) or {}
        out.append(
            TaxLine(
                title=str(rate.get("label") or f"tax rate {tax.get('id')}"),
                rate=_rate(rate),
                amount=MoneyBag.of(amount, money.currency),
            )
        )
    return tuple(out)


def _rate(tax_line: Mapping[str, Any]) -> Decimal | None:
    value = tax_line.get("rate_percent")
    if value is None or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _refund(item: Mapping[str, Any], money: _Money, updated_at: datetime) -> Refund:
    amount = money.amount(item.get("total"), f"refund {item.get('id')} total")
    return Refund(
        external_id=str(item.get("id")),
        # The order's refund summary carries no date; the order's last change is the latest it can be.
        created_at=updated_at,
        amount=MoneyBag.of(abs(amount), money.currency),
        reason=str(item.get("reason") or item.get("refund") or ""),
    )


def _customer(order: Mapping[str, Any], billing: Mapping[str, Any]) -> Customer | None:
    name = " ".join(p for p in (billing.get("first_name"), billing.get("last_name")) if p)
    customer_id = order.get("customer_id") or ""
    if not (name or billing.get("email") or customer_id):
        return None
    return Customer(
        external_id=str(customer_id or ""),
        email=str(billing.get("email") or ""),
        name=name,
        phone=str(billing.get("phone") or ""),
    )


def _address(data: Mapping[str, Any]) -> Address | None:
    if not data or not str(data.get("country") or "").strip():
        return None  # WooCommerce allows an address without a country (virtual goods); the model does not
    return Address(
        name=" ".join(p for p in (data.get("first_name"), data.get("last_name")) if p),
        company=str(data.get("company") or ""),
        line1=str(data.get("address_1") or ""),
        line2=str(data.get("address_2") or ""),
        city=str(data.get("city") or ""),
        region=str(data.get("state") or ""),
        postal_code=str(data.get("postcode") or ""),
        country=str(data["country"]),
        phone=str(data.get("phone") or ""),
    )


def _extra(order: Mapping[str, Any], money: _Money) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if order.get("payment_method"):
        extra["payment_method"] = str(order["payment_method"])
    if order.get("payment_method_title"):
        extra["payment_method_title"] = str(order["payment_method_title"])
    if order.get("prices_include_tax") is not None:
        extra["prices_include_tax"] = bool(order["prices_include_tax"])
    fees = [
        {
            "name": str(f.get("name") or ""),
            "total": str(money.amount(f.get("total"), f"fee {f.get('id')} total")),
            "total_tax": str(money.amount(f.get("total_tax") or "0", f"fee {f.get('id')} total_tax")),
        }
        for f in order.get("fee_lines") or ()
    ]
    if fees:
        extra["fees"] = fees  # the canonical model has no fee lines yet: kept as the store reported them
    return extra
