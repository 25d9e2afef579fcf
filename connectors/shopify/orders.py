"""Orders in: incremental polling page by page, and a bulk-operation backfill streamed from JSONL.

Polling: `orders(first, after, query: "updated_at:>'<cursor - overlap>'")`. Shopify's order of results within the
window is not relied on: each page's cursor is the greatest `updatedAt` seen so far (never less than the stored
cursor), so a page committed later can only move it forward. A crash between pages repeats at most the window.

Backfill (first sync, cursor None, more orders than `backfill_threshold`): `bulkOperationRunQuery`, poll the
operation by id until COMPLETED, then stream the JSONL result line by line. Child lines (line items, shipping
lines, discount applications) follow their parent order and are joined to it by `__parentId`; one order is held
in memory at a time and pages of `page_size` records are yielded as they fill, so memory stays bounded whatever
the shop's size. The backfill page's cursor is the greatest `updatedAt` in it, like a poll.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime
from typing import Any

from channelhub_connectors.shopify import queries, user_errors
from channelhub_connectors.shopify.client import ShopifyClient
from channelhub_connectors.shopify.user_errors import Outcome, describe, worst

from channelhub.errors import Fatal, Retryable
from channelhub.ports import PulledPage, PullRequest, RawRecord

STREAM = "orders"
CHILD_KEYS = {
    "LineItem": "lineItems",
    "ShippingLine": "shippingLines",
    "DiscountCodeApplication": "discountApplications",
    "AutomaticDiscountApplication": "discountApplications",
    "ManualDiscountApplication": "discountApplications",
    "ScriptDiscountApplication": "discountApplications",
}


def iso(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _later(a: str | None, b: str | None) -> str | None:
    if a is None or b is None:
        return a or b
    return a if _parse(a) >= _parse(b) else b


def _parse(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def poll(client: ShopifyClient, request: PullRequest, *, page_size: int, where: str) -> Iterator[PulledPage]:
    """Everything updated since the cursor less the overlap, one PulledPage per GraphQL page."""
    search = None
    if request.cursor is not None:
        search = f"updated_at:>'{iso(_parse(request.cursor) - request.overlap)}'"
    cursor, after, page = request.cursor, None, 0
    while True:
        data = client.execute(queries.ORDERS, {"first": page_size, "after": after, "query": search})
        orders = data.get("orders") or {}
        nodes = orders.get("nodes") or []
        page += 1
        records = []
        for node in nodes:
            updated = node.get("updatedAt")
            if isinstance(updated, str):
                cursor = _later(cursor, updated)
            records.append(record_of(node, f"{where} orders page {page}"))
        yield PulledPage(records=records, cursor=cursor, label=f"orders page {page}")
        info = orders.get("pageInfo") or {}
        if not info.get("hasNextPage"):
            return
        after = info.get("endCursor")


def record_of(node: dict[str, Any], source: str) -> RawRecord:
    ext = str(node.get("id", "")).rsplit("/", 1)[-1] or None
    return RawRecord(
        stream=STREAM, source=f"{source}, order {ext}", body=json.dumps(node, sort_keys=True), external_id=ext
    )


def count_orders(client: ShopifyClient) -> int:
    data = client.execute(queries.ORDERS_COUNT, {"query": None})
    return int((data.get("ordersCount") or {}).get("count") or 0)


def run_bulk(
    client: ShopifyClient,
    *,
    poll_interval: float,
    timeout: float,
    sleep: Callable[[float], None],
    where: str,
) -> str:
    """Start the bulk orders query, wait for it, return the result URL ("" when the shop has no orders)."""
    data = client.execute(queries.BULK_RUN, {"query": queries.BULK_ORDERS})
    result = data.get("bulkOperationRunQuery") or {}
    errors = result.get("userErrors") or []
    if errors:
        table = user_errors.BULK_OPERATION_RUN_QUERY
        message = describe(errors, table)
        if worst(table, errors) is Outcome.RETRY:
            raise Retryable(f"no bulk operation can start now: {message}", where=where)
        raise Fatal(f"bulkOperationRunQuery refused: {message}", where=where)  # a bug or a refusal: no retry fixes it
    op_id = (result.get("bulkOperation") or {}).get("id")
    waited = 0.0
    while True:
        node = client.execute(queries.BULK_STATUS, {"id": op_id}).get("node") or {}
        status = node.get("status")
        if status == "COMPLETED":
            return str(node.get("url") or "")
        if status in {"FAILED", "CANCELED", "CANCELING", "EXPIRED"}:
            raise Retryable(f"bulk operation {op_id} ended {status} ({node.get('errorCode')})", where=where)
        if waited >= timeout:
            raise Retryable(f"bulk operation {op_id} still {status} after {waited:.0f}s", where=where)
        sleep(poll_interval)
        waited += poll_interval


def join_jsonl(lines: Iterable[bytes], label: str) -> Iterator[RawRecord]:
    """Rebuild order nodes from bulk JSONL (a parent line, then its children with __parentId), one at a time.

    A line that is not JSON, or a child whose parent is not the current order, becomes a problem record."""
    current: dict[str, Any] | None = None
    start = 0
    for number, raw in enumerate(lines, 1):
        try:
            obj = json.loads(raw)
        except ValueError as exc:
            yield RawRecord(
                STREAM, f"{label} line {number}", raw.decode("utf-8", "replace"), problem=f"not JSON: {exc}"
            )
            continue
        parent = obj.pop("__parentId", None)
        if parent is None:
            if current is not None:
                yield record_of(current, f"{label} lines {start}-{number - 1}")
            current, start = obj, number
            for key in set(CHILD_KEYS.values()):
                current.setdefault(key, {"nodes": []})
            continue
        if current is None or parent != current.get("id"):
            yield RawRecord(
                STREAM,
                f"{label} line {number}",
                json.dumps(obj),
                problem=f"child of {parent}, which is not the order before it",
            )
            continue
        key = CHILD_KEYS.get(str(obj.get("__typename")), "lineItems")
        current[key]["nodes"].append(obj)
    if current is not None:
        yield record_of(current, f"{label} lines {start}-end")


def pages_of(records: Iterable[RawRecord], page_size: int, label: str) -> Iterator[PulledPage]:
    batch: list[RawRecord] = []
    cursor: str | None = None
    part = 0
    for record in records:
        batch.append(record)
        if record.problem is None:
            updated = json.loads(record.body).get("updatedAt")
            if isinstance(updated, str):
                cursor = _later(cursor, updated)
        if len(batch) >= page_size:
            part += 1
            yield PulledPage(records=batch, cursor=cursor, label=f"{label} part {part}")
            batch = []
    part += 1
    yield PulledPage(records=batch, cursor=cursor, label=f"{label} part {part}")
