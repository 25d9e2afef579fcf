"""Shopify payloads -> the canonical Order.

Two shapes reach the hub: a GraphQL `Order` node (polling, bulk JSONL, camelCase, gid ids) and the REST shape of
webhooks (snake_case, numeric ids). Each is first read into the same neutral form (`Neutral`, below) and then
built by ONE function, so an order seen through both paths maps to an identical canonical Order:

- ids are the numeric part of the gid (orders, lines, variants, products, customers, refunds);
- money is a MoneyBag of shop and presentment money, exactly as reported; numbers are parsed as Decimal (a
  JSON float such as a tax rate 0.06 never becomes binary);
- discounts are the order's discount applications, each with the sum of its allocations over lines and shipping
  lines (both shapes carry those allocations); a line's `total_discount` is the sum of its own allocations;
- lines: what each sells and whether it needs stock (`read_lines`); the SKU through the channel's SKU map by the
  one rule every connector uses (`channelhub.ports.hub_sku`): a line without a SKU maps by `variant:<id>`,
  `product:<id>` or `title:<title>`, else keeps None (the core holds the order, naming the line: the order is
  never lost for it);
- totals with the canonical meaning (`read_order`), fees (duties, additional fees) and Shopify's own successful
  fulfilments (`read_extras`);
- note, tags, the first payment gateway as `payment_method`. `paid_at` stays None: Shopify's order has no field
  for when it was paid (`processedAt` is when it was processed; the capture time lives on its transactions).

An unknown currency or a missing field raise MappingError naming the order and the field.
"""

from __future__ import annotations

from collections.abc import Mapping

from channelhub_connectors.shopify.read_order import read_graphql, read_rest
from channelhub_connectors.shopify.shapes import Neutral, Reader, loads, numeric_id

from channelhub.errors import MappingError
from channelhub.model.money import MoneyBag
from channelhub.model.orders import ChannelFulfillment, Discount, FinancialStatus, Order
from channelhub.ports import hub_sku

FINANCIAL = {s.value: s for s in FinancialStatus}
FULFILLMENT = {
    "fulfilled": ChannelFulfillment.FULFILLED,
    "partially_fulfilled": ChannelFulfillment.PARTIALLY_FULFILLED,
    "partial": ChannelFulfillment.PARTIALLY_FULFILLED,  # REST's word
}


def _sum(bags: list[MoneyBag]) -> MoneyBag:
    total = bags[0]
    for bag in bags[1:]:
        presentment = (
            total.presentment + bag.presentment
            if total.presentment is not None and bag.presentment is not None
            else None
        )
        total = MoneyBag(shop=total.shop + bag.shop, presentment=presentment)
    return total


def map_order(body: str, *, channel: str, source: str, sku_map: Mapping[str, str] | None = None) -> Order:
    """Map a GraphQL Order node or a REST order (JSON text) to the canonical Order; MappingError if it does not."""
    try:
        data = loads(body)
    except ValueError as exc:
        raise MappingError(f"not JSON: {exc}", where=source) from None
    if not isinstance(data, dict):
        raise MappingError("an order payload must be a JSON object", where=source)
    if isinstance(data.get("order"), dict):
        data = data["order"]
    where = f"{source} (order {numeric_id(data.get('id', '?'))})"
    rest = "line_items" in data or "admin_graphql_api_id" in data
    reader = Reader(where)
    neutral = read_rest(data, reader) if rest else read_graphql(data, reader)
    return _build(neutral, channel=channel, where=where, sku_map=sku_map or {})


def _build(n: Neutral, *, channel: str, where: str, sku_map: Mapping[str, str]) -> Order:
    financial = FINANCIAL.get(n.financial.lower())
    hold = ""
    if financial is None:
        financial, hold = FinancialStatus.PENDING, f"unknown Shopify financial status {n.financial!r}"
    fulfillment = FULFILLMENT.get(n.fulfillment.lower(), ChannelFulfillment.UNFULFILLED)
    lines = tuple(
        line.model_copy(
            update={
                "sku": hub_sku(
                    sku_map, line.sku, variant_id=line.variant_id, product_id=line.product_id, title=line.title
                )
            }
        )
        for line in n.lines
    )
    discounts = []
    for index in sorted(n.allocations):
        kind, code = n.applications.get(index, ("", ""))
        discounts.append(Discount(code=code, kind=kind, amount=_sum(n.allocations[index])))
    status = f"{financial.value}/{fulfillment.value}" + ("/cancelled" if n.cancelled_at else "")
    try:
        return Order(
            channel=channel,
            external_id=n.id,
            number=n.number,
            placed_at=n.placed_at,
            updated_at=n.updated_at,
            currency=n.currency,
            presentment_currency=n.presentment_currency,
            financial_status=financial,
            fulfillment=fulfillment,
            cancelled_at=n.cancelled_at,
            channel_status=status,
            customer=n.customer,
            shipping_address=n.shipping_address,
            billing_address=n.billing_address,
            lines=lines,
            shipping_lines=tuple(n.shipping_lines),
            fees=tuple(n.fees),
            discounts=tuple(discounts),
            taxes=tuple(n.taxes),
            taxes_included=n.taxes_included,
            totals=n.totals,
            refunds=tuple(sorted(n.refunds, key=lambda r: (r.created_at, r.external_id))),
            fulfillments=tuple(n.fulfillments),
            payment_method=n.payment_method,
            note=n.note,
            tags=n.tags,
            hold_reason=hold,
            extra={"gid": f"gid://shopify/Order/{n.id}"},
        )
    except ValueError as exc:  # pydantic's ValidationError is a ValueError
        raise MappingError(f"invalid order: {exc}".splitlines()[0] + f" ({_first_error(exc)})", where=where) from None


def _first_error(exc: ValueError) -> str:
    errors = getattr(exc, "errors", None)
    if callable(errors):
        first = errors()[0]
        return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"
    return str(exc)
