"""A small fake Shopify Admin GraphQL API for tests, cassette recording and the throttle bench (loopback only).

`FakeShop.handle(method, path, body)` answers in the documented shapes: orders (filtered by updated_at, paged,
deliberately NOT sorted), ordersCount, bulk operations (a JSONL result with __parentId children), productVariants by
SKU, inventory levels, inventorySetQuantities (compare-and-set with CHANGE_FROM_QUANTITY_STALE, unknown items,
@idempotent replay), fulfillment orders and fulfillmentCreate, refundCreate, orderCancel (`fake_orders`), webhook
subscriptions (`fake_webhooks`). Every answer carries extensions.cost.throttleStatus from a leaky bucket
(`Bucket`) run on an injectable clock; a request costing more than is available gets THROTTLED (HTTP 200, or 429
with `throttle_status=429`). `faults` queues scripted failures ("500", "401", "throttled") for the next requests.
`mock_transport()` serves it in-process to httpx; `serve()` on 127.0.0.1 for vcrpy recording.

Every request is checked against Shopify's published schema of the pinned version (`fake_schema`) before the
fake looks at it: one Shopify would refuse (a field the version does not have, a wrong argument, variables that
do not coerce) is answered as Shopify answers it, `errors` and no `data`, and noted in `refused`. Every answer is
shaped by the same schema, so it holds exactly the fields asked for; an answer the schema does not allow is a bug
in the fake and raises `FakeAnswerError` (under `serve()`, a 500 noted in `broken`).
"""

from __future__ import annotations

import copy
import json
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx

from doubles.shopify.fake_orders import OrderOperations
from doubles.shopify.fake_schema import AdminSchema, FakeAnswerError, admin_schema
from doubles.shopify.fake_webhooks import WebhookOperations


@dataclass
class Bucket:
    maximum: float = 1000.0
    restore_rate: float = 100.0
    clock: Callable[[], float] = time.monotonic
    available: float = 1000.0
    at: float | None = None

    def take(self, cost: float) -> bool:
        now = self.clock()
        if self.at is not None:
            self.available = min(self.maximum, self.available + self.restore_rate * (now - self.at))
        self.at = now
        if cost > self.available:
            return False
        self.available -= cost
        return True

    def status(self) -> dict[str, float]:
        return {
            "maximumAvailable": self.maximum,
            "currentlyAvailable": round(self.available, 3),
            "restoreRate": self.restore_rate,
        }


COSTS = {
    "Orders": 60,
    "SetQuantities": 10,
    "FulfillmentCreate": 10,
    "RefundCreate": 10,
    "BulkRun": 10,
    "OrderCancel": 10,
}


@dataclass
class FakeShop(OrderOperations, WebhookOperations):
    orders: list[dict[str, Any]] = field(default_factory=list)
    variants: dict[str, dict[str, Any]] = field(default_factory=dict)  # sku -> {variant, item, available}
    fulfillment_orders: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # order gid -> FOs
    bucket: Bucket = field(default_factory=Bucket)
    base_url: str = "https://fake.myshopify.com"
    throttle_status: int = 200
    faults: list[str] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)  # operation names, in order
    set_calls: int = 0
    fulfillments: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    refunds: list[dict[str, Any]] = field(default_factory=list)
    bulk_polls: int = 0
    now: str = "2026-03-05T12:00:00Z"  # what the shop stamps on changes (cancelledAt): fixed, for cassettes
    cancellations: list[dict[str, Any]] = field(default_factory=list)  # the orderCancel variables it carried out
    pending_authorization: set[str] = field(default_factory=set)  # order gids Shopify will not cancel yet
    cancel_job_failures: dict[str, str] = field(default_factory=dict)  # order gid -> the failed job's error
    schema: AdminSchema = field(default_factory=admin_schema)
    refused: list[str] = field(default_factory=list)  # why requests were refused by the schema
    broken: list[str] = field(default_factory=list)  # answers the fake built that the schema forbids (serve())
    bulk_query: str = ""  # the query of the last bulk operation run (its result is answered by it)
    subscriptions: list[dict[str, Any]] = field(default_factory=list)  # webhook subscriptions (fake_webhooks)
    _idempotent: dict[str, dict[str, Any]] = field(default_factory=dict)

    # -- setup ----------------------------------------------------------------------------------------------

    def add_sku(self, sku: str, available: int | None, n: int | None = None, *, mutable: bool = True) -> None:
        """A variant and its inventory item; `available` None: not stocked at the location; `mutable` False: an
        item the API may not adjust (a bundle's parent)."""
        n = n if n is not None else len(self.variants) + 1
        self.variants[sku] = {
            "variant": f"gid://shopify/ProductVariant/{7000 + n}",
            "item": f"gid://shopify/InventoryItem/{9000 + n}",
            "available": available,
            "mutable": mutable,
        }

    def available(self, sku: str) -> int:
        return int(self.variants[sku]["available"])

    # -- HTTP -------------------------------------------------------------------------------------------------

    def handle(self, method: str, path: str, body: bytes) -> tuple[int, dict[str, str], bytes]:
        """One HTTP request: (status, headers, body). Checked by the schema first, then faults, then the bucket."""
        if method == "GET" and path.startswith("/bulk/"):
            return 200, {"Content-Type": "application/jsonl"}, self.bulk_jsonl()
        request = json.loads(body or b"{}")
        query, variables = request.get("query", ""), request.get("variables") or {}
        refusals = self.schema.refusals(query, variables)
        if refusals:
            self.refused.extend(refusals)
            return _json(200, {"errors": [{"message": m} for m in refusals]})
        match = re.search(r"(query|mutation)\s+(\w+)", query)
        name = match.group(2) if match else "Anonymous"
        self.calls.append(name)
        faulted = self._fault()
        if faulted is not None:
            return faulted
        cost = COSTS.get(name, 2 if "Status" in name else 20)
        if not self.bucket.take(cost):
            throttled = {"message": "Throttled", "extensions": {"code": "THROTTLED"}}
            return _json(self.throttle_status, {"errors": [throttled], "extensions": self._cost(cost, None)})
        data = self.schema.answer(query, variables, getattr(self, f"op_{name}")(variables))
        return _json(200, {"data": data, "extensions": self._cost(cost, cost)})

    def _fault(self) -> tuple[int, dict[str, str], bytes] | None:
        """The next scripted failure's answer (None: none, or one that only empties the bucket)."""
        if not self.faults:
            return None
        fault = self.faults.pop(0)
        if fault in {"500", "502", "503"}:
            return int(fault), {"Content-Type": "text/plain"}, b"upstream error"
        if fault in {"401", "403"}:
            return _json(int(fault), {"errors": "[API] Invalid API key or access token"})
        if fault == "throttled":
            self.bucket.available = 0.0
        return None

    def _cost(self, requested: float, actual: float | None) -> dict[str, Any]:
        return {
            "cost": {
                "requestedQueryCost": requested,
                "actualQueryCost": actual,
                "throttleStatus": self.bucket.status(),
            }
        }

    def mock_transport(self) -> httpx.MockTransport:
        def reply(request: httpx.Request) -> httpx.Response:
            status, headers, body = self.handle(request.method, request.url.path, request.read())
            return httpx.Response(status, headers=headers, content=body)

        return httpx.MockTransport(reply)

    def serve(self) -> tuple[ThreadingHTTPServer, str]:
        """Serve on 127.0.0.1 (an ephemeral port) in a daemon thread; returns (server, base URL)."""
        shop = self
        lock = threading.Lock()

        class Handler(BaseHTTPRequestHandler):
            def _answer(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                with lock:
                    try:
                        status, headers, body = shop.handle(self.command, self.path, self.rfile.read(length))
                    except FakeAnswerError as exc:  # the recorder checks `broken`: a cassette of a fake's bug
                        shop.broken.append(str(exc))
                        status, headers, body = 500, {"Content-Type": "text/plain"}, str(exc).encode()
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            do_GET = do_POST = _answer

            def log_message(self, *args: Any) -> None:
                return None

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.base_url = f"http://127.0.0.1:{server.server_address[1]}"
        return server, self.base_url

    # -- operations -------------------------------------------------------------------------------------------

    def op_VariantsBySku(self, v: dict[str, Any]) -> dict[str, Any]:
        wanted = re.findall(r'sku:"((?:[^"\\]|\\.)*)"', v["query"])
        nodes = [
            {"id": self.variants[s]["variant"], "sku": s, "inventoryItem": {"id": self.variants[s]["item"]}}
            for s in wanted
            if s in self.variants
        ]
        return {"productVariants": {"nodes": nodes[: int(v["first"])]}}

    def _by_item(self) -> dict[str, str]:
        return {rec["item"]: sku for sku, rec in self.variants.items()}

    def op_InventoryLevels(self, v: dict[str, Any]) -> dict[str, Any]:
        items, nodes = self._by_item(), []
        for i in v["ids"]:
            quantity = self.variants[items[i]]["available"] if i in items else None
            level = None if quantity is None else {"quantities": [{"name": "available", "quantity": quantity}]}
            nodes.append(None if i not in items else {"id": i, "inventoryLevel": level})
        return {"nodes": nodes}

    def op_SetQuantities(self, v: dict[str, Any]) -> dict[str, Any]:
        key = v["key"]
        if key in self._idempotent:
            return copy.deepcopy(self._idempotent[key])
        self.set_calls += 1
        items = self._by_item()
        quantities = v["input"]["quantities"]
        errors = [e for n, q in enumerate(quantities) if (e := self._quantity_error(n, q, items)) is not None]
        if not errors:  # the mutation is atomic: one error applies nothing
            for q in quantities:
                self.variants[items[q["inventoryItemId"]]]["available"] = int(q["quantity"])
        group = (
            None
            if errors
            else {"reason": v["input"]["reason"], "referenceDocumentUri": v["input"].get("referenceDocumentUri")}
        )
        answer = {"inventorySetQuantities": {"inventoryAdjustmentGroup": group, "userErrors": errors}}
        self._idempotent[key] = answer
        return copy.deepcopy(answer)

    def _quantity_error(self, n: int, q: dict[str, Any], items: dict[str, str]) -> dict[str, Any] | None:
        """The userError for one quantity, or None. From 2026-10 an item may be set at any location (Shopify
        dropped ITEM_NOT_STOCKED_AT_LOCATION): an item not stocked there becomes stocked with the quantity."""
        path = ["input", "quantities", str(n)]
        if "changeFromQuantity" not in q:  # required on every quantity from 2026-04
            return {
                "field": [*path, "changeFromQuantity"],
                "message": "changeFromQuantity is required",
                "code": "COMPARE_QUANTITY_REQUIRED",
            }
        sku = items.get(q["inventoryItemId"])
        if sku is None:
            return {
                "field": [*path, "inventoryItemId"],
                "message": "The specified inventory item could not be found.",
                "code": "INVALID_INVENTORY_ITEM",
            }
        record = self.variants[sku]
        if not record.get("mutable", True):
            return {
                "field": [*path, "inventoryItemId"],
                "message": "The specified inventory item is not allowed to be adjusted via API.",
                "code": "NON_MUTABLE_INVENTORY_ITEM",
            }
        stored = record["available"]
        if q["changeFromQuantity"] is not None and q["changeFromQuantity"] != stored:
            return {
                "field": [*path, "changeFromQuantity"],
                "message": "The changeFromQuantity value does not match persisted value.",
                "code": "CHANGE_FROM_QUANTITY_STALE",
            }
        return None

    def op_FulfillmentOrders(self, v: dict[str, Any]) -> dict[str, Any]:
        gid = v["id"]
        if gid not in self.fulfillment_orders:
            return {"order": None}
        return {
            "order": {
                "id": gid,
                "fulfillments": copy.deepcopy(self.fulfillments.get(gid, [])),
                "fulfillmentOrders": {"nodes": copy.deepcopy(self.fulfillment_orders[gid])},
            }
        }

    def op_FulfillmentCreate(self, v: dict[str, Any]) -> dict[str, Any]:
        f = v["fulfillment"]
        order_gid = None
        shipped: list[dict[str, Any]] = []
        for group in f["lineItemsByFulfillmentOrder"]:
            for gid, fos in self.fulfillment_orders.items():
                for fo in fos:
                    if fo["id"] != group["fulfillmentOrderId"]:
                        continue
                    order_gid = gid
                    wanted = {i["id"]: i["quantity"] for i in group.get("fulfillmentOrderLineItems") or []}
                    for item in fo["lineItems"]["nodes"]:
                        take = wanted.get(item["id"], 0) if wanted else item["remainingQuantity"]
                        take = min(take, item["remainingQuantity"])
                        item["remainingQuantity"] -= take
                        if take:
                            shipped.append({"quantity": take, "lineItem": {"id": item["lineItem"]["id"]}})
                    if all(i["remainingQuantity"] == 0 for i in fo["lineItems"]["nodes"]):
                        fo["status"] = "CLOSED"
        assert order_gid is not None, "unknown fulfillment order"
        made = {
            "id": f"gid://shopify/Fulfillment/{5000 + sum(len(x) for x in self.fulfillments.values())}",
            "status": "SUCCESS",
            "createdAt": self.now,
            "trackingInfo": [{k: f["trackingInfo"].get(k) for k in ("company", "number", "url")}],
            "fulfillmentLineItems": {"nodes": shipped},
        }
        self.fulfillments.setdefault(order_gid, []).append(made)
        order = self.order(order_gid)
        if order is not None:  # the order shows it from now on, as Shopify's does
            order.setdefault("fulfillments", []).append(copy.deepcopy(made))
        return {"fulfillmentCreate": {"fulfillment": made, "userErrors": []}}

    def op_RefundCreate(self, v: dict[str, Any]) -> dict[str, Any]:
        key = v["key"]
        if key not in self._idempotent:
            self._idempotent[key] = {"refundCreate": self._refund(v["input"])}
        return copy.deepcopy(self._idempotent[key])

    def _refund(self, refund: dict[str, Any]) -> dict[str, Any]:
        order = next((o for o in self.orders if o["id"] == refund["orderId"]), None)
        if order is None:
            return {"refund": None, "userErrors": [{"field": ["orderId"], "message": "Order does not exist"}]}
        prices = {
            line["id"]: Decimal(line["originalUnitPriceSet"]["shopMoney"]["amount"])
            for line in order["lineItems"]["nodes"]
        }
        unknown = [r["lineItemId"] for r in refund.get("refundLineItems") or [] if r["lineItemId"] not in prices]
        if unknown:
            field_path = ["refundLineItems", "lineItemId"]
            return {"refund": None, "userErrors": [{"field": field_path, "message": f"Unknown line item {unknown[0]}"}]}
        total = sum(
            (prices[r["lineItemId"]] * int(r["quantity"]) for r in refund.get("refundLineItems") or []), Decimal(0)
        )
        self.refunds.append(refund)
        money = {"amount": f"{total:.2f}", "currencyCode": order["currencyCode"]}
        return {
            "refund": {"id": f"gid://shopify/Refund/{len(self.refunds)}", "totalRefundedSet": {"shopMoney": money}},
            "userErrors": [],
        }


def _json(status: int, payload: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(payload).encode()
