"""Reading what surrounds an order's lines in both Shopify shapes: additional fees, the fulfilments Shopify
reports, refunds, tags.

- Additional fees: GraphQL `Order.additionalFees {id name price taxLines}`, one fee each. REST webhooks carry the
  totals (`original_total_additional_fees_set`) but no documented list: an `additional_fees` list is read when
  present (not confirmed), else the total becomes one fee titled "Additional fees".
- Fulfilments: only those Shopify says succeeded (status SUCCESS / "success"); pending, open, cancelled, error and
  failure ones shipped nothing. Each keeps its tracking and its lines (an order line id and a quantity). GraphQL
  `fulfillments { id status createdAt trackingInfo {company number url} fulfillmentLineItems {nodes {quantity
  lineItem {id}}}}`; REST `fulfillments[] {id status created_at tracking_company tracking_numbers tracking_urls
  line_items[{id quantity}]}`.
- Refunds: GraphQL `totalRefundedSet`; REST (refunds carry no such set) the successful refund transactions in
  presentment money, with the shop money taken from the refund lines' subtotal and tax sets when the transactions
  are not in the shop currency.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from channelhub_connectors.shopify.shapes import Keys, Reader, nodes, numeric_id, sum_bags, taxes, text

from channelhub.errors import MappingError
from channelhub.model.money import MoneyBag
from channelhub.model.orders import ChannelShipment, Fee, FulfilmentLine, Refund

SHIPPED = {"success"}


def read_fees(r: Reader, data: Mapping[str, Any], keys: Keys) -> list[Fee]:
    """The order's additional fees (not its duties: those are the lines', `read_lines.read_duties`)."""
    listed = data.get(keys.k("additionalFees", "additional_fees"))
    if isinstance(listed, list):
        return [
            Fee(
                external_id=numeric_id(r.need(fee, "id", f"additionalFees[{n}].")),
                kind="fee",
                title=text(fee.get("name")),
                amount=r.bag(fee.get(keys.k("price", "price_set")), f"additionalFees[{n}].price", rest=keys.rest),
                taxes=tuple(taxes(r, fee.get(keys.k("taxLines", "tax_lines")), f"additionalFees[{n}].taxLines", keys)),
            )
            for n, fee in enumerate(listed)
        ]
    total = data.get("original_total_additional_fees_set") if keys.rest else None
    if total is None:
        return []
    amount = r.bag(total, "original_total_additional_fees_set", rest=True)
    return [] if amount.shop.amount == 0 else [Fee(kind="fee", title="Additional fees", amount=amount)]


def read_fulfillments(r: Reader, data: Mapping[str, Any], keys: Keys) -> list[ChannelShipment]:
    out = []
    for n, item in enumerate(nodes(data.get("fulfillments"))):
        path = f"fulfillments[{n}]"
        if text(item.get("status")).lower() not in SHIPPED:
            continue
        if keys.rest:
            companies = [text(item.get("tracking_company"))]
            numbers = [text(x) for x in item.get("tracking_numbers") or [item.get("tracking_number")]]
            urls = [text(x) for x in item.get("tracking_urls") or [item.get("tracking_url")]]
            lines = [(ln.get("id"), ln.get("quantity")) for ln in item.get("line_items") or []]
        else:
            tracking = [t for t in item.get("trackingInfo") or [] if isinstance(t, Mapping)]
            companies = [text(t.get("company")) for t in tracking]
            numbers = [text(t.get("number")) for t in tracking]
            urls = [text(t.get("url")) for t in tracking]
            lines = [
                ((ln.get("lineItem") or {}).get("id"), ln.get("quantity"))
                for ln in nodes(item.get("fulfillmentLineItems"))
            ]
        out.append(
            ChannelShipment(
                external_id=numeric_id(r.need(item, "id", f"{path}.")),
                shipped_at=r.time(r.need(item, keys.k("createdAt", "created_at"), f"{path}."), f"{path}.createdAt"),
                carrier=next((c for c in companies if c), ""),
                tracking_numbers=tuple(x for x in numbers if x),
                tracking_urls=tuple(x for x in urls if x),
                lines=tuple(
                    FulfilmentLine(line_id=numeric_id(line_id), quantity=int(quantity))
                    for line_id, quantity in lines
                    if line_id is not None and quantity
                ),
            )
        )
    return sorted(out, key=lambda s: (s.shipped_at, s.external_id))


def read_tags(data: Mapping[str, Any]) -> tuple[str, ...]:
    """GraphQL gives a list, REST a comma-separated string."""
    value = data.get("tags")
    items = value.split(",") if isinstance(value, str) else value or []
    return tuple(tag for tag in (text(t).strip() for t in items) if tag)


def rest_refund(r: Reader, data: Mapping[str, Any], i: int, shop_currency: str) -> Refund:
    path = f"refunds[{i}]"
    paid = [
        t
        for t in data.get("transactions") or []
        if t.get("kind") == "refund" and t.get("status", "success") == "success"
    ]
    lines = data.get("refund_line_items") or []
    if paid:
        pres = r.money(
            sum((Decimal(str(t.get("amount", "0"))) for t in paid), Decimal(0)), paid[0].get("currency"), path
        )
    else:
        pres = None
    if pres is not None and pres.currency == shop_currency:
        shop = pres
    else:  # transactions in the customer's currency: the shop money is the refund lines' sets
        sets = [
            r.bag(ln.get(key), f"{path}.refund_line_items.{key}", rest=True)
            for ln in lines
            for key in ("subtotal_set", "total_tax_set")
            if ln.get(key)
        ]
        if not sets:
            raise MappingError(f"refund {data.get('id')} has no amount in the shop currency", where=r.where)
        shop = sum_bags(sets).shop
    return Refund(
        external_id=numeric_id(r.need(data, "id", f"{path}.")),
        created_at=r.time(r.need(data, "created_at", f"{path}."), f"{path}.created_at"),
        amount=MoneyBag(shop=shop, presentment=pres),
        reason=text(data.get("note")),
        lines=tuple((numeric_id(ln.get("line_item_id")), int(ln.get("quantity", 0))) for ln in lines),
    )


def graphql_refund(r: Reader, data: Mapping[str, Any], i: int) -> Refund:
    path = f"refunds[{i}]"
    return Refund(
        external_id=numeric_id(r.need(data, "id", f"{path}.")),
        created_at=r.time(r.need(data, "createdAt", f"{path}."), f"{path}.createdAt"),
        amount=r.bag(data.get("totalRefundedSet"), f"{path}.totalRefundedSet", rest=False),
        reason=text(data.get("note")),
        lines=tuple(
            (numeric_id((ln.get("lineItem") or {}).get("id")), int(ln.get("quantity", 0)))
            for ln in nodes(data.get("refundLineItems"))
        ),
    )
