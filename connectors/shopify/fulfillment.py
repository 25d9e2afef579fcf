"""Tracking out: a shipment becomes one `fulfillmentCreate` over the order's open fulfillment orders.

1. Read the order's fulfilments and fulfillment orders (one query).
2. If a fulfilment already carries the shipment's tracking number, the shipment was recorded (by an earlier try
   whose answer was lost, or by hand): done, nothing sent. This check is what makes a retry safe:
   `fulfillmentCreate` takes no `@idempotent` key (only the inventory and refund mutations do).
3. Otherwise allocate the shipment's lines (hub SKU -> the order's line id, from `line_external_ids`) over the
   open fulfillment-order lines of that line item, up to their remaining quantity. An empty shipment fulfils every
   remaining unit. A line that cannot be placed (unknown line id, more than remains) is Skippable with the reason.
4. `fulfillmentCreate` with `trackingInfo {company, number, url}` and `notifyCustomer` from the settings.
"""

from __future__ import annotations

from typing import Any

from channelhub_connectors.shopify import queries
from channelhub_connectors.shopify.client import ShopifyClient
from channelhub_connectors.shopify.shapes import numeric_id

from channelhub.errors import Fatal, Skippable
from channelhub.ports import FulfillmentRequest

OPEN = {"OPEN", "IN_PROGRESS"}


def push_fulfillment(client: ShopifyClient, request: FulfillmentRequest, *, notify: bool, where: str) -> str | None:
    """Record the shipment; returns the new fulfilment's id, or None when it was already there."""
    gid = f"gid://shopify/Order/{numeric_id(request.order_external_id)}"
    here = f"{where}, order {request.order_number or request.order_external_id}"
    order = client.execute(queries.FULFILLMENT_ORDERS, {"id": gid}).get("order")
    if not order:
        raise Skippable(f"Shopify has no order {gid}", where=here)
    number = request.shipment.tracking_number
    for existing in order.get("fulfillments") or []:
        if any((t or {}).get("number") == number for t in existing.get("trackingInfo") or []):
            return None
    groups = _allocate(order, request, here)
    shipment = request.shipment
    tracking: dict[str, Any] = {"company": shipment.carrier, "number": number}
    if shipment.tracking_url:
        tracking["url"] = shipment.tracking_url
    fulfillment = {"lineItemsByFulfillmentOrder": groups, "notifyCustomer": notify, "trackingInfo": tracking}
    result = client.execute(queries.FULFILLMENT_CREATE, {"fulfillment": fulfillment}).get("fulfillmentCreate") or {}
    errors = result.get("userErrors") or []
    if errors:
        message = "; ".join(str(e.get("message")) for e in errors)
        raise Skippable(f"fulfillmentCreate refused: {message}", where=here)
    created = result.get("fulfillment") or {}
    if not created.get("id"):
        raise Fatal("fulfillmentCreate answered without a fulfillment", where=here)
    return str(created["id"])


def _allocate(order: dict[str, Any], request: FulfillmentRequest, where: str) -> list[dict[str, Any]]:
    fulfillment_orders = [
        fo for fo in (order.get("fulfillmentOrders") or {}).get("nodes") or [] if fo.get("status") in OPEN
    ]
    if not request.shipment.lines:
        groups = [{"fulfillmentOrderId": fo["id"]} for fo in fulfillment_orders]
        if not groups:
            raise Skippable("nothing left to fulfil: no open fulfillment order", where=where)
        return groups
    wanted: dict[str, int] = {}
    for line in request.shipment.lines:
        line_id = request.line_external_ids.get(line.sku)
        if not line_id:
            raise Skippable(f"SKU {line.sku} is not a line of this order", where=where)
        key = numeric_id(line_id)
        wanted[key] = wanted.get(key, 0) + line.quantity
    by_fo: dict[str, list[dict[str, Any]]] = {}
    for fo in fulfillment_orders:
        for item in (fo.get("lineItems") or {}).get("nodes") or []:
            key = numeric_id((item.get("lineItem") or {}).get("id", ""))
            need = wanted.get(key, 0)
            take = min(need, int(item.get("remainingQuantity") or 0))
            if take > 0:
                by_fo.setdefault(fo["id"], []).append({"id": item["id"], "quantity": take})
                wanted[key] = need - take
    short = {k: v for k, v in wanted.items() if v > 0}
    if short:
        detail = ", ".join(f"line {k}: {v} more than remains open" for k, v in sorted(short.items()))
        raise Skippable(f"cannot fulfil: {detail}", where=where)
    return [{"fulfillmentOrderId": fo, "fulfillmentOrderLineItems": items} for fo, items in by_fo.items()]
