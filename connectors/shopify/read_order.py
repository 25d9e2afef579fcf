"""Reading a whole Shopify order, GraphQL node or REST/webhook, into the neutral form (`shapes.Neutral`).

The totals carry the canonical meaning (`channelhub.model.totals`: subtotal - discount + shipping + fees (+ tax
unless included) = total), which is not always the meaning of Shopify's field of the same name:
- subtotal: the lines BEFORE discounts. Shopify's `subtotalPriceSet` is after discounts, so it is not used. REST
  reports the figure as `total_line_items_price_set`; GraphQL has no such field, so it is the sum of the lines'
  `originalTotalSet` (each "the total price of the line item when the order was created ... doesn't include
  discounts").
- discount: every discount, lines and shipping: the sum of the discount allocations both shapes carry on lines
  and shipping lines. `totalDiscountsSet` ("order and line level discounts") is used only when no allocation is
  there, since the docs do not say whether it holds shipping discounts.
- shipping: `totalShippingPriceSet` / `total_shipping_price_set`, the shipping before discounts (REST documents it
  so, and GraphQL's deprecated `totalShippingPrice` that the set replaces).
- fees: the duties (`originalTotalDutiesSet`, left out when `dutiesIncluded` says they are in the prices) plus the
  additional fees (`originalTotalAdditionalFeesSet`), as created: `totalPriceSet` is before returns too.
- tax `totalTaxSet`, total `totalPriceSet`; `taxesIncluded` says which reading of the tax holds.
- outstanding: GraphQL `totalOutstandingSet`, REST `total_outstanding` (a plain amount in the shop currency). Only
  the shop money is kept, so that both shapes of one order map to the same canonical order.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from channelhub_connectors.shopify.read_extras import (
    graphql_refund,
    read_fees,
    read_fulfillments,
    read_tags,
    rest_refund,
)
from channelhub_connectors.shopify.read_lines import mark_tips, read_duties, read_line, tip_received
from channelhub_connectors.shopify.shapes import (
    Keys,
    Neutral,
    Reader,
    address,
    allocations,
    full_name,
    nodes,
    numeric_id,
    sum_bags,
    taxes,
    text,
)

from channelhub.errors import MappingError
from channelhub.model.money import ISO_4217_CODES, MoneyBag
from channelhub.model.orders import Customer, Fee, OrderLine, Refund, ShippingLine, Totals

DISCOUNT_KINDS = {
    "DiscountCodeApplication": "discount_code",
    "AutomaticDiscountApplication": "automatic",
    "ManualDiscountApplication": "manual",
    "ScriptDiscountApplication": "script",
}


def read_graphql(data: Mapping[str, Any], reader: Reader) -> Neutral:
    """A GraphQL Order node (connections as {nodes: [...]} or edges, or plain lists from a bulk result)."""
    return _read(data, reader, Keys(rest=False), lambda item, i: graphql_refund(reader, item, i))


def read_rest(data: Mapping[str, Any], reader: Reader) -> Neutral:
    """A REST / webhook order (snake_case)."""
    shop_currency = str(data.get("currency") or "").upper()
    return _read(data, reader, Keys(rest=True), lambda item, i: rest_refund(reader, item, i, shop_currency))


def _read(
    data: Mapping[str, Any], r: Reader, keys: Keys, refund: Callable[[Mapping[str, Any], int], Refund]
) -> Neutral:
    k, need = keys.k, r.need
    currency = str(need(data, k("currencyCode", "currency"))).upper()
    if currency not in ISO_4217_CODES:
        raise MappingError(f"unknown currency {currency!r}", where=r.where)
    pres_currency = data.get(k("presentmentCurrencyCode", "presentment_currency"))
    allocs: dict[int, list[MoneyBag]] = {}
    lines, duties = _lines(data, r, keys, allocs, currency)
    shipping = _shipping(data, r, keys, allocs)
    cancelled = data.get(k("cancelledAt", "cancelled_at"))
    gateways = data.get(k("paymentGatewayNames", "payment_gateway_names")) or []
    return Neutral(
        id=numeric_id(need(data, "id")),
        number=text(data.get("name")),
        placed_at=r.time(need(data, k("createdAt", "created_at")), "createdAt"),
        updated_at=r.time(need(data, k("updatedAt", "updated_at")), "updatedAt"),
        cancelled_at=None if not cancelled else r.time(cancelled, "cancelledAt"),
        currency=currency,
        presentment_currency=None if pres_currency is None else str(pres_currency).upper(),
        financial=text(need(data, k("displayFinancialStatus", "financial_status"))),
        fulfillment=text(data.get(k("displayFulfillmentStatus", "fulfillment_status"))) or "unfulfilled",
        email=text(data.get("email")),
        customer=_customer(data, keys),
        shipping_address=address(r, data.get(k("shippingAddress", "shipping_address")), "shippingAddress", keys),
        billing_address=address(r, data.get(k("billingAddress", "billing_address")), "billingAddress", keys),
        lines=lines,
        shipping_lines=shipping,
        taxes=taxes(r, data.get(k("taxLines", "tax_lines")), "taxLines", keys),
        totals=_totals(data, r, keys, lines, allocs, currency),
        refunds=[refund(item, i) for i, item in enumerate(data.get("refunds") or [])],
        fees=[*duties, *read_fees(r, data, keys)],
        fulfillments=read_fulfillments(r, data, keys),
        taxes_included=_flag(data.get(k("taxesIncluded", "taxes_included"))),
        note=text(data.get("note")).strip(),
        tags=read_tags(data),
        payment_method=text(gateways[0]) if gateways else "",
        applications=_applications(data, keys),
        allocations=allocs,
    )


def _lines(
    data: Mapping[str, Any], r: Reader, keys: Keys, allocs: dict[int, list[MoneyBag]], currency: str
) -> tuple[list[OrderLine], list[Fee]]:
    line_data = nodes(r.need(data, keys.k("lineItems", "line_items")))
    if not line_data:
        raise MappingError("an order without line items", where=r.where)
    lines = [read_line(r, line, i, keys, allocs) for i, line in enumerate(line_data)]
    duties = [fee for i, line in enumerate(line_data) for fee in read_duties(r, line, i, keys)]
    return mark_tips(lines, tip_received(r, data, keys, currency)), duties


def _shipping(data: Mapping[str, Any], r: Reader, keys: Keys, allocs: dict[int, list[MoneyBag]]) -> list[ShippingLine]:
    k, out = keys.k, []
    for i, ship in enumerate(nodes(data.get(k("shippingLines", "shipping_lines")))):
        path = f"shippingLines[{i}]"
        allocations(
            r, ship.get(k("discountAllocations", "discount_allocations")), f"{path}.discountAllocations", keys, allocs
        )
        out.append(
            ShippingLine(
                title=text(ship.get("title")),
                code=text(ship.get("code")),
                price=r.bag(ship.get(k("originalPriceSet", "price_set")), f"{path}.price", rest=keys.rest),
                taxes=tuple(taxes(r, ship.get(k("taxLines", "tax_lines")), f"{path}.taxLines", keys)),
            )
        )
    return out


def _applications(data: Mapping[str, Any], keys: Keys) -> dict[int, tuple[str, str]]:
    out: dict[int, tuple[str, str]] = {}
    for i, app in enumerate(nodes(data.get(keys.k("discountApplications", "discount_applications")))):
        if keys.rest:
            out[i] = (text(app.get("type")), text(app.get("code") or app.get("title")))
        else:
            kind = DISCOUNT_KINDS.get(text(app.get("__typename")), text(app.get("__typename")))
            out[int(app.get("index", i))] = (kind, text(app.get("code") or app.get("title")))
    return out


def _customer(data: Mapping[str, Any], keys: Keys) -> Customer | None:
    """The order's customer; the order's own phone (`phone`, given at checkout) when the customer has none."""
    cust = data.get("customer")
    if not isinstance(cust, Mapping) or cust.get("id") is None:
        return None
    k = keys.k
    return Customer(
        external_id=numeric_id(cust["id"]),
        email=text(cust.get("email") or data.get("email")),
        name=full_name(cust.get(k("firstName", "first_name")), cust.get(k("lastName", "last_name"))),
        phone=text(cust.get("phone") or data.get("phone")),
    )


def _totals(
    data: Mapping[str, Any],
    r: Reader,
    keys: Keys,
    lines: list[OrderLine],
    allocs: dict[int, list[MoneyBag]],
    currency: str,
) -> Totals:
    """The order's figures with the canonical meaning (module docstring)."""
    k, rest = keys.k, keys.rest

    def bag(name: str, rest_name: str) -> MoneyBag | None:
        value = data.get(k(name, rest_name))
        return None if value is None else r.bag(value, name, rest=rest)

    total = bag("totalPriceSet", "total_price_set")
    if total is None:
        raise MappingError(f"missing field {k('totalPriceSet', 'total_price_set')}", where=r.where)
    listed = data.get("total_line_items_price_set") if rest else None
    subtotal = None if listed is None else r.bag(listed, "total_line_items_price_set", rest=True)
    if subtotal is None:
        subtotals = [line.subtotal for line in lines if line.subtotal is not None]
        subtotal = sum_bags(subtotals) if len(subtotals) == len(lines) else None
    every = [b for bags in allocs.values() for b in bags]
    duties = (
        None
        if data.get(k("dutiesIncluded", "duties_included"))
        else bag("originalTotalDutiesSet", "original_total_duties_set")
    )
    fee_bags = [b for b in (duties, bag("originalTotalAdditionalFeesSet", "original_total_additional_fees_set")) if b]
    return Totals(
        subtotal=subtotal,
        shipping=bag("totalShippingPriceSet", "total_shipping_price_set"),
        tax=bag("totalTaxSet", "total_tax_set"),
        discount=sum_bags(every) if every else bag("totalDiscountsSet", "total_discounts_set"),
        fees=sum_bags(fee_bags) if fee_bags else None,
        total=total,
        outstanding=_outstanding(data, r, keys, currency),
    )


def _outstanding(data: Mapping[str, Any], r: Reader, keys: Keys, currency: str) -> MoneyBag | None:
    if keys.rest:
        plain = data.get("total_outstanding")
        return (
            None if plain in (None, "") else MoneyBag(shop=r.money(Decimal(str(plain)), currency, "total_outstanding"))
        )
    value = data.get("totalOutstandingSet")
    return None if value is None else MoneyBag(shop=r.bag(value, "totalOutstandingSet", rest=False).shop)


def _flag(value: Any) -> bool | None:
    return None if value is None else bool(value)
