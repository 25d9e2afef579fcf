"""Reading lists from ShipStation: paging, the shipment pull (shipped and voided labels) and the pull of orders
cancelled at ShipStation.

Sources (docs.shipstation.com, ShipStation V1 API): "List Shipments" (GET /shipments with shipDateStart,
shipDateEnd, voidDateStart, voidDateEnd, storeId, includeShipmentItems, sortBy, sortDir, page, pageSize; the
answer {shipments, total, page, pages}); "List Orders" (GET /orders with orderNumber, orderStatus,
modifyDateStart, storeId, page, pageSize; the answer {orders, total, page, pages}); "Multi-Page Responses"
(total, page, pages).

The shipment pull runs two passes, both by Pacific calendar date from the cursor less the overlap: labels by
shipDate, then labels by voidDate (a label voided today keeps its old shipDate, so the first pass would miss the
void: it comes back to the hub through the second). Dates are whole days, so a pull re-reads the day it starts
on; the engine's apply is idempotent. The cursor is the pull's `now`, carried by the very last page only (a
crash before it re-reads from the old cursor). With no cursor the pull starts `backfill_days` back.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from channelhub_connectors.shipstation.client import ShipStationClient
from channelhub_connectors.shipstation.reading import is_hub_key, order_record, shipment_record
from channelhub_connectors.shipstation.times import pacific_day, to_pacific

from channelhub.ports import PulledPage, PullRequest, RawRecord


def pages(
    client: ShipStationClient, target: str, params: Mapping[str, Any], key: str
) -> Iterator[tuple[int, int, list[Any]]]:
    """(page, pages, items) for each page of a list at `target` (a path or an api_host URL), from page 1."""
    page, total = 1, 1
    while page <= total:
        answer = client.request("GET", target, params={**params, "page": page})
        data = answer if isinstance(answer, dict) else {}
        found = data.get(key)
        items: list[Any] = found if isinstance(found, list) else []
        try:
            total = max(int(data.get("pages") or page), page)
        except (TypeError, ValueError):
            total = page
        yield page, total, items
        page += 1


def parse_cursor(value: str) -> datetime:
    parsed = datetime.fromisoformat(value)
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def format_cursor(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def since(request: PullRequest, backfill_days: int) -> datetime:
    """Where a pull starts: the cursor less the overlap, or `backfill_days` before now without a cursor."""
    if request.cursor:
        return parse_cursor(request.cursor) - request.overlap
    return request.now - timedelta(days=backfill_days)


def pull_shipments(
    client: ShipStationClient, request: PullRequest, *, page_size: int, store_id: int | None, backfill_days: int
) -> Iterator[PulledPage]:
    """Pages of raw shipment records (stream "shipments"), shipped then voided; see the module docstring."""
    day = pacific_day(since(request, backfill_days))
    common: dict[str, Any] = {"includeShipmentItems": "true", "pageSize": page_size, "sortDir": "ASC"}
    if store_id is not None:
        common["storeId"] = store_id
    passes = (("shipped", {"shipDateStart": day, "sortBy": "ShipDate"}), ("voided", {"voidDateStart": day}))
    for number, (name, params) in enumerate(passes, 1):
        for page, total, items in pages(client, "shipments", {**common, **params}, "shipments"):
            records = [
                shipment_record(item, f"ShipStation {name} shipments page {page}/{total} #{i}")
                for i, item in enumerate(items, 1)
            ]
            last = number == len(passes) and page >= total
            yield PulledPage(
                records=records,
                cursor=format_cursor(request.now) if last else None,
                label=f"ShipStation {name} shipments since {day}, page {page}/{total}",
            )


def pull_cancelled_orders(
    client: ShipStationClient, request: PullRequest, *, page_size: int, store_id: int | None, backfill_days: int
) -> Iterator[PulledPage]:
    """Pages of orders cancelled at ShipStation since the cursor (stream "provider_orders"); only orders under
    one of the hub's keys become records (the account holds other stores' orders too)."""
    start = since(request, backfill_days)
    params: dict[str, Any] = {"orderStatus": "cancelled", "modifyDateStart": to_pacific(start), "pageSize": page_size}
    if store_id is not None:
        params["storeId"] = store_id
    for page, total, items in pages(client, "orders", params, "orders"):
        records: list[RawRecord] = [
            order_record(item, f"ShipStation cancelled orders page {page}/{total} #{i}")
            for i, item in enumerate(items, 1)
            if isinstance(item, dict) and is_hub_key(item.get("orderKey"))
        ]
        yield PulledPage(
            records=records,
            cursor=format_cursor(request.now) if page >= total else None,
            label=f"ShipStation cancelled orders page {page}/{total}",
        )


def find_order(client: ShipStationClient, order_key: str, order_number: str) -> dict[str, Any] | None:
    """The ShipStation order under `order_key`, looked up by its order number (v1 lists orders by orderNumber,
    not by orderKey; several stores may share a number, so the key decides); None when there is none."""
    for _page, _total, items in pages(client, "orders", {"orderNumber": order_number, "pageSize": 100}, "orders"):
        for item in items:
            if isinstance(item, dict) and item.get("orderKey") == order_key:
                return item
    return None
