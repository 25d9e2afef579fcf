"""WooCommerce order JSON (REST v3, also the order.created/order.updated webhook body) -> the canonical Order.

Pure: no I/O. Lines whose `sku` is empty are looked up by the connector BEFORE mapping (a variation's SKU first,
then its parent's); the answers travel with the record in an envelope, so a replay maps the same way:

    {"woocommerce_order": <the order exactly as received>, "resolved_skus": {"<line id>": "SKU", ...}}

A bare order (no envelope) is the common case. A line that still has no SKU goes through the channel's SKU map
(`ports.hub_sku`: `variant:<variation id>`, `product:<product id>`, `title:<name>`); without an entry its SKU is
None and the hub holds the order naming the line, until an entry is added and the order replayed.

Responsibilities: `payment` (status word + payment facts -> financial status, the status table),
`figures` (money, lines, fees, shipping, discounts, totals), `fulfilments` (Shipment Tracking items).

Tax mode, decided here: WooCommerce reports line, shipping and fee figures EXCLUSIVE of tax even when the store's
prices include tax. When `prices_include_tax` is true the canonical figures are converted to tax-inclusive ones
(each figure plus its own tax) and `taxes_included=True`; otherwise they are kept ex tax and `taxes_included=False`.
Either way `taxes_included` is true of the canonical figures and the totals add up (see `figures`). The store's
own word stays in `extra["prices_include_tax"]`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from channelhub_connectors.woocommerce.figures import Figures, Money, text
from channelhub_connectors.woocommerce.fulfilments import channel_shipments
from channelhub_connectors.woocommerce.payment import ON_HOLD_REASON, gmt, status_facts
from pydantic import ValidationError

from channelhub.errors import MappingError
from channelhub.model.orders import Address, Customer, FinancialStatus, Order, Refund
from channelhub.ports import RawRecord

ENVELOPE = "woocommerce_order"
__all__ = ["ENVELOPE", "ON_HOLD_REASON", "envelope", "map_order", "map_record", "unwrap"]


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


def map_record(
    record: RawRecord, *, channel: str, sku_map: Mapping[str, str], carriers: Mapping[str, str] | None = None
) -> Order:
    try:
        data = json.loads(record.body)
    except ValueError as exc:
        raise MappingError(f"not JSON: {exc}", where=record.source) from None
    order, resolved = unwrap(data)
    return map_order(
        order, channel=channel, sku_map=sku_map, resolved_skus=resolved, where=record.source, carriers=carriers
    )


def map_order(
    order: Mapping[str, Any],
    *,
    channel: str,
    sku_map: Mapping[str, str],
    resolved_skus: Mapping[str, str] | None = None,
    where: str = "",
    carriers: Mapping[str, str] | None = None,
) -> Order:
    """The canonical order, or MappingError naming the field (and the line) that does not map. `carriers` turns
    a Shipment Tracking provider slug back into the hub's carrier name (`fulfilments.carrier_names`)."""
    where = where or f"woocommerce order {order.get('id')}"
    try:
        return _map(order, channel, sku_map, resolved_skus or {}, where, carriers or {})
    except MappingError:
        raise
    except ValidationError as exc:
        first = exc.errors()[0]
        path = ".".join(str(p) for p in first["loc"]) or "(order)"
        raise MappingError(f"order {order.get('id')}: {path}: {first['msg']}", where=where) from None
    except (KeyError, TypeError, ValueError) as exc:
        raise MappingError(f"order {order.get('id')}: {type(exc).__name__}: {exc}", where=where) from None


def _map(
    order: Mapping[str, Any],
    channel: str,
    sku_map: Mapping[str, str],
    resolved: Mapping[str, str],
    where: str,
    carriers: Mapping[str, str],
) -> Order:
    oid = order.get("id")
    if oid in (None, "", 0):
        raise MappingError("order without an id", where=where)
    currency = str(order.get("currency") or "")
    if not currency:
        raise MappingError(f"order {oid}: no currency", where=where)
    money = Money(currency, f"order {oid}", where)
    rates = {str(t.get("rate_id")): t for t in order.get("tax_lines") or ()}
    figures = Figures(money, order.get("prices_include_tax") is True, rates)
    updated_at = gmt(order, "date_modified", where)
    facts = status_facts(order, updated_at, where)
    refunds = tuple(_refund(r, money, updated_at) for r in order.get("refunds") or ())
    lines = tuple(figures.line(item, sku_map, resolved, where) for item in order.get("line_items") or ())
    if not lines:
        raise MappingError(f"order {oid}: no line items", where=where)
    fees = tuple(figures.fee(f) for f in order.get("fee_lines") or ())
    totals = figures.totals(order, lines, fees)
    billing, shipping = order.get("billing") or {}, order.get("shipping") or {}
    placed_at = gmt(order, "date_created", where)
    return Order(
        channel=channel,
        external_id=str(oid),
        number=str(order.get("number") or oid),
        placed_at=placed_at,
        updated_at=updated_at,
        currency=currency,
        financial_status=_after_refunds(facts.financial, refunds, totals.total.shop.amount),
        fulfillment=facts.fulfillment,
        cancelled_at=facts.cancelled_at,
        channel_status=str(order.get("status") or ""),
        paid_at=facts.paid_at,
        payment_method=str(order.get("payment_method") or ""),
        customer=_customer(order, billing, shipping),
        shipping_address=_address(shipping),
        billing_address=_address(billing),
        lines=lines,
        shipping_lines=tuple(figures.shipping_line(s) for s in order.get("shipping_lines") or ()),
        fees=fees,
        discounts=tuple(figures.discount(c) for c in order.get("coupon_lines") or ()),
        taxes=figures.tax_lines(order),
        taxes_included=figures.taxes_included,
        totals=totals,
        refunds=refunds,
        fulfillments=channel_shipments(order, updated_at, carriers),
        customer_note=str(order.get("customer_note") or "").strip(),
        hold_reason=facts.hold_reason,
        extra=_extra(order),
    )


def _after_refunds(financial: FinancialStatus, refunds: tuple[Refund, ...], total: Decimal) -> FinancialStatus:
    refunded = sum((r.amount.shop.amount for r in refunds), Decimal(0))
    if refunded and financial == FinancialStatus.PAID:
        return FinancialStatus.REFUNDED if refunded >= total else FinancialStatus.PARTIALLY_REFUNDED
    return financial


def _refund(item: Mapping[str, Any], money: Money, updated_at: Any) -> Refund:
    amount = money.amount(item.get("total"), f"refund {item.get('id')} total")
    return Refund(
        external_id=str(item.get("id")),
        # The order's refund summary carries no date; the order's last change is the latest it can be.
        created_at=updated_at,
        amount=money.bag(abs(amount)),
        reason=text(item.get("reason") or item.get("refund")),
    )


def _customer(order: Mapping[str, Any], billing: Mapping[str, Any], shipping: Mapping[str, Any]) -> Customer | None:
    name = " ".join(p for p in (billing.get("first_name"), billing.get("last_name")) if p)
    customer_id = order.get("customer_id") or ""
    if not (name or billing.get("email") or customer_id):
        return None
    return Customer(
        external_id=str(customer_id or ""),
        email=str(billing.get("email") or ""),
        name=name,
        # `shipping.phone` exists since WooCommerce 5.6; the billing phone is the one checkout asks for.
        phone=str(billing.get("phone") or shipping.get("phone") or "").strip(),
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


def _extra(order: Mapping[str, Any]) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if order.get("payment_method_title"):
        extra["payment_method_title"] = text(order["payment_method_title"])
    if order.get("transaction_id"):
        extra["transaction_id"] = str(order["transaction_id"])
    if order.get("prices_include_tax") is not None:
        extra["prices_include_tax"] = bool(order["prices_include_tax"])
    return extra
