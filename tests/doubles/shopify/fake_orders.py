"""The fake shop's order operations (a mixin of `fake_shop.FakeShop`): orders, one order, the count, the bulk
backfill, and the cancellation: `orderCancel` and the read the connector makes before it.

orderCancel, as Shopify documents it (2026-10): it refuses an order that is already cancelled, that has
fulfilments (its fulfilments would have to be cancelled first), or that has a pending payment authorization (see
`pending_authorization`), each as an orderCancelUserError. It answers at once with a Job (asynchronous); the fake
carries the job out at once (cancelledAt, cancelReason, updatedAt set, the staff note kept) but, like Shopify, says
it is not done yet. `restock: true` would put the order's units back in stock, as Shopify does; the hub sends false
(it restocks itself). A job the test scripts to fail (`cancel_job_failures`) answers FAILED with its error.
"""

from __future__ import annotations

import copy
import json
import re
from typing import Any

from doubles.shopify.fake_schema import AdminSchema

FULFILLED = {"FULFILLED", "PARTIALLY_FULFILLED"}


class OrderOperations:
    """`op_<OperationName>(variables) -> data` for the order documents. State lives on the FakeShop."""

    orders: list[dict[str, Any]]
    variants: dict[str, dict[str, Any]]
    fulfillments: dict[str, list[dict[str, Any]]]
    base_url: str
    bulk_polls: int
    now: str
    cancellations: list[dict[str, Any]]
    pending_authorization: set[str]
    cancel_job_failures: dict[str, str]
    schema: AdminSchema
    refused: list[str]
    bulk_query: str

    def order(self, gid: str) -> dict[str, Any] | None:
        return next((o for o in self.orders if o["id"] == gid), None)

    def op_Orders(self, v: dict[str, Any]) -> dict[str, Any]:
        found = self.orders
        m = re.search(r"updated_at:>'([^']+)'", v.get("query") or "")
        if m:
            found = [o for o in found if o["updatedAt"] > m.group(1)]
        found = sorted(found, key=lambda o: o["id"], reverse=True)  # not by updatedAt, on purpose
        start = int(v.get("after") or 0)
        page = found[start : start + int(v["first"])]
        more = start + len(page) < len(found)
        info = {"hasNextPage": more, "endCursor": str(start + len(page)) if more else None}
        return {"orders": {"nodes": copy.deepcopy(page), "pageInfo": info}}

    def op_Order(self, v: dict[str, Any]) -> dict[str, Any]:
        order = self.order(v["id"])
        return {"order": None if order is None else copy.deepcopy(order)}

    def op_OrdersCount(self, v: dict[str, Any]) -> dict[str, Any]:
        return {"ordersCount": {"count": len(self.orders), "precision": "EXACT"}}

    def op_BulkRun(self, v: dict[str, Any]) -> dict[str, Any]:
        problems = self.schema.bulk_refusals(v["query"])
        if problems:  # Shopify checks the bulk query when the operation is created
            self.refused.extend(problems)
            error = {"field": ["query"], "message": "; ".join(problems), "code": "INVALID"}
            return {"bulkOperationRunQuery": {"bulkOperation": None, "userErrors": [error]}}
        self.bulk_query = v["query"]
        return {
            "bulkOperationRunQuery": {
                "bulkOperation": {"id": "gid://shopify/BulkOperation/1", "status": "CREATED"},
                "userErrors": [],
            }
        }

    def op_BulkStatus(self, v: dict[str, Any]) -> dict[str, Any]:
        self.bulk_polls += 1
        done = self.bulk_polls >= 2
        return {
            "node": {
                "id": v["id"],
                "status": "COMPLETED" if done else "RUNNING",
                "errorCode": None,
                "objectCount": str(len(self.orders)),
                "partialDataUrl": None,
                "url": f"{self.base_url}/bulk/1.jsonl" if done else None,
            }
        }

    def bulk_jsonl(self) -> bytes:
        """The bulk result as Shopify writes it: the bulk query's answer (shaped and checked by the schema, like
        every answer), each order a line, each node of a connection in it a line of its own with `__parentId`."""
        assert self.bulk_query, "no bulk operation was run"
        orders = sorted(self.orders, key=lambda o: o["id"])
        data = self.schema.answer(self.bulk_query, {}, {"orders": {"nodes": copy.deepcopy(orders)}})
        out: list[str] = []
        for edge in data["orders"]["edges"]:
            _flatten(edge["node"], None, out)
        return ("\n".join(out) + "\n").encode()

    def op_OrderCancelState(self, v: dict[str, Any]) -> dict[str, Any]:
        order = self.order(v["id"])
        return {"order": None if order is None else copy.deepcopy(order)}

    def op_OrderCancel(self, v: dict[str, Any]) -> dict[str, Any]:
        order = self.order(v["orderId"])
        refusal = self._cancel_refusal(v["orderId"], order)
        if refusal is not None:
            return _cancel_answer(None, [refusal])
        assert order is not None
        n = len(self.cancellations) + 1
        job = {"id": f"gid://shopify/Job/cancel-{n}", "done": False}
        failure = self.cancel_job_failures.get(order["id"])
        if failure is not None:
            error = {"code": "INVALID", "field": None, "message": failure}
            result = {"id": f"gid://shopify/OrderCancelJobResult/{n}", "done": True, "status": "FAILED"}
            return _cancel_answer({**job, "done": True}, [], {**result, "errors": [error]})
        self.cancellations.append(copy.deepcopy(v))
        order.update(cancelledAt=self.now, updatedAt=self.now, cancelReason=v["reason"])
        if v["restock"]:
            self._restock(order)
        result = {"id": f"gid://shopify/OrderCancelJobResult/{n}", "done": False, "status": "STARTED", "errors": []}
        return _cancel_answer(job, [], result)

    def _cancel_refusal(self, gid: str, order: dict[str, Any] | None) -> dict[str, Any] | None:
        """The orderCancelUserError Shopify answers with, or None when it would cancel."""
        if order is None:
            return {"code": "NOT_FOUND", "field": ["orderId"], "message": "Order does not exist"}
        if order.get("cancelledAt"):
            return {"code": "INVALID", "field": ["orderId"], "message": "Order has already been cancelled"}
        if order.get("displayFulfillmentStatus") in FULFILLED or self.fulfillments.get(gid):
            message = "Cannot cancel an order with fulfillments; cancel its fulfillments first"
            return {"code": "INVALID", "field": ["orderId"], "message": message}
        if gid in self.pending_authorization:
            message = "Cannot cancel an order with a pending payment authorization"
            return {"code": "INVALID", "field": ["orderId"], "message": message}
        return None

    def _restock(self, order: dict[str, Any]) -> None:
        for line in order["lineItems"]["nodes"]:
            record = self.variants.get(line.get("sku") or "")
            if record is not None and record["available"] is not None:
                record["available"] += int(line["quantity"])


def _flatten(node: dict[str, Any], parent: str | None, out: list[str]) -> None:
    """One JSONL line for `node` (its connections taken out), then a line for each of their nodes."""
    children = {k: v for k, v in node.items() if isinstance(v, dict) and isinstance(v.get("edges"), list)}
    line = {k: v for k, v in node.items() if k not in children}
    out.append(json.dumps(line if parent is None else {**line, "__parentId": parent}))
    for connection in children.values():
        for edge in connection["edges"]:
            _flatten(edge["node"], node["id"], out)


def _cancel_answer(
    job: dict[str, Any] | None, errors: list[dict[str, Any]], result: dict[str, Any] | None = None
) -> dict[str, Any]:
    plain = [{"field": e["field"], "message": e["message"]} for e in errors]  # the deprecated userErrors
    payload = {"job": job, "jobResult": result, "orderCancelUserErrors": errors, "userErrors": plain}
    return {"orderCancel": payload}
