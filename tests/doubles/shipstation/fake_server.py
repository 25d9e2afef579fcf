"""A fake ShipStation v1 account behind an httpx.MockTransport, for the tests and the benchmark.

What it refuses, as ShipStation does (docs.shipstation.com, ShipStation V1 API):
- a request without the account's Basic credentials: 401 ("Requirements" > Authentication);
- more than `limit` requests in a window: 429, and every answer carries X-Rate-Limit-Limit, -Remaining and -Reset
  (seconds until the window resets; whole seconds as ShipStation sends them, or milliseconds when the window is
  shortened for the benchmark, where whole seconds would round 1.5 s up to 2);
- createorder without orderNumber, orderDate, orderStatus, billTo or shipTo, with an unknown orderStatus, an item
  without a name ("Cannot be null"), or an amount sent as a string rather than a number: 400 with a ModelState;
- createorder for an orderKey whose order is shipped or cancelled: the docs say such orders "may not be updated"
  without saying how; this fake answers 400 (UNCONFIRMED) and changes nothing, so a client that writes blind sees it;
- pageSize above 500: 400.
Error bodies follow ASP.NET Web API ({"Message", "ExceptionMessage", "ModelState"}), as ShipStation's do
(UNCONFIRMED in the reference). Times are written as ShipStation writes them: Pacific, no offset, 7 digits.
"""

from __future__ import annotations

import base64
import json
import math
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs, urlsplit
from zoneinfo import ZoneInfo

import httpx

PACIFIC = ZoneInfo("America/Los_Angeles")
STATUSES = {"awaiting_payment", "awaiting_shipment", "shipped", "on_hold", "cancelled"}
REQUIRED = ("orderNumber", "orderDate", "orderStatus", "billTo", "shipTo")
NUMBERS = ("amountPaid", "taxAmount", "shippingAmount")


def ss_time(value: datetime) -> str:
    return value.astimezone(PACIFIC).replace(tzinfo=None).strftime("%Y-%m-%dT%H:%M:%S.0000000")


def _encode(value: Any) -> bytes:
    return json.dumps(value, default=lambda d: float(d) if isinstance(d, Decimal) else str(d)).encode()


class FakeShipStation:
    """One ShipStation account. `now` gives the account's clock (UTC) for createDate/modifyDate; `clock` paces
    the rate window (seconds, monotonic)."""

    def __init__(
        self,
        api_key: str = "ss_key",
        api_secret: str = "ss_secret",
        *,
        host: str = "ssapi.shipstation.com",
        limit: int = 40,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.host, self.limit, self.window, self.clock, self.now = host, limit, window, clock, now
        self._auth = "Basic " + base64.b64encode(f"{api_key}:{api_secret}".encode()).decode()
        self._lock = threading.Lock()
        self.window_start: float | None = None
        self.count = 0
        self.orders: dict[str, dict[str, Any]] = {}  # orderKey -> order
        self.shipments: list[dict[str, Any]] = []
        self.batches: dict[str, list[int]] = {}  # SHIP_NOTIFY batchId -> shipment ids
        self.import_batches: dict[str, list[str]] = {}  # ORDER_NOTIFY importBatch -> order keys
        self.log: list[tuple[float, str, str, int]] = []  # (clock, method, path, status) of every request
        self.creates = self.updates = self.refused = 0
        self._ids = 1000

    # -- transport ---------------------------------------------------------------------------------------------

    def mock_transport(self) -> httpx.MockTransport:
        def reply(request: httpx.Request) -> httpx.Response:
            status, headers, body = self.handle(request.method, str(request.url), request.headers, request.read())
            return httpx.Response(status, headers=headers, content=body)

        return httpx.MockTransport(reply)

    def handle(self, method: str, url: str, headers: Any, body: bytes) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            parts = urlsplit(url)
            status, answer, extra = self._route(method, parts.netloc, parts.path, parse_qs(parts.query), headers, body)
            self.log.append((self.clock(), method, parts.path, status))
            return status, {"Content-Type": "application/json; charset=utf-8", **extra}, _encode(answer)

    def _rate(self) -> tuple[bool, dict[str, str]]:
        now = self.clock()
        if self.window_start is None or now >= self.window_start + self.window:
            self.window_start, self.count = now, 0
        self.count += 1
        left = self.window_start + self.window - now
        reset = str(math.ceil(left)) if self.window >= 60 else f"{left:.3f}"
        headers = {
            "X-Rate-Limit-Limit": str(self.limit),
            "X-Rate-Limit-Remaining": str(max(self.limit - self.count, 0)),
            "X-Rate-Limit-Reset": reset,
        }
        return self.count > self.limit, headers

    def _route(
        self, method: str, host: str, path: str, query: dict[str, list[str]], headers: Any, body: bytes
    ) -> tuple[int, Any, dict[str, str]]:
        if host != self.host:
            return 404, {"Message": f"no such host {host}"}, {}
        if headers.get("authorization") != self._auth:
            return 401, {"Message": "Authorization has been denied for this request."}, {}
        over, rate = self._rate()
        if over:
            return 429, {"Message": "Too Many Requests"}, rate
        q = {k: v[0] for k, v in query.items()}
        if q.get("pageSize") and int(q["pageSize"]) > 500:
            return 400, {"Message": "The request is invalid.", "ModelState": {"pageSize": ["at most 500"]}}, rate
        if method == "POST" and path == "/orders/createorder":
            status, answer = self._createorder(body)
        elif method == "GET" and path == "/orders":
            status, answer = 200, self._page(self._orders(q), q, "orders")
        elif method == "GET" and path == "/shipments":
            status, answer = 200, self._page(self._shipments(q), q, "shipments")
        else:
            status, answer = 404, {"Message": f"No HTTP resource was found that matches the request URI {path}"}
        return status, answer, rate

    # -- orders ------------------------------------------------------------------------------------------------

    def _invalid(self, order: Any) -> dict[str, list[str]]:
        if not isinstance(order, dict):
            return {"apiOrder": ["The request body is not an order."]}
        problems = {f"apiOrder.{f}": [f"The {f} field is required."] for f in REQUIRED if not order.get(f)}
        if order.get("orderStatus") and order["orderStatus"] not in STATUSES:
            problems["apiOrder.orderStatus"] = [f"The value '{order['orderStatus']}' is not valid."]
        for name in NUMBERS:
            if isinstance(order.get(name), str):
                problems[f"apiOrder.{name}"] = ["Could not convert string to decimal."]
        for i, item in enumerate(order.get("items") or []):
            if not item.get("name"):
                problems[f"apiOrder.items[{i}].name"] = ["The name field is required."]
            if isinstance(item.get("unitPrice"), str) or isinstance(item.get("quantity"), str):
                problems[f"apiOrder.items[{i}]"] = ["Could not convert string to number."]
        return problems

    def _createorder(self, body: bytes) -> tuple[int, Any]:
        try:
            order = json.loads(body, parse_float=Decimal)
        except ValueError:
            return 400, {"Message": "The request is invalid.", "ModelState": {"apiOrder": ["Not JSON."]}}
        problems = self._invalid(order)
        if problems:
            self.refused += 1
            return 400, {"Message": "The request is invalid.", "ModelState": problems}
        key = order.get("orderKey") or f"ss-{self._next()}"
        existing = self.orders.get(key)
        if existing is not None and existing["orderStatus"] in ("shipped", "cancelled"):
            self.refused += 1
            return 400, {
                "Message": "An error has occurred.",
                "ExceptionMessage": f"Order {existing['orderNumber']} is {existing['orderStatus']}: not updated.",
            }
        stamp = ss_time(self.now())
        stored = {**order, "orderKey": key, "modifyDate": stamp}
        stored["orderId"] = existing["orderId"] if existing else self._next()
        stored["createDate"] = existing["createDate"] if existing else stamp
        for item in stored.get("items") or []:
            item.setdefault("orderItemId", self._next())
        self.orders[key] = stored
        if existing:
            self.updates += 1
        else:
            self.creates += 1
        return 200, stored

    def _orders(self, q: dict[str, str]) -> list[dict[str, Any]]:
        found = list(self.orders.values())
        if "orderNumber" in q:
            found = [o for o in found if o["orderNumber"] == q["orderNumber"]]
        if "orderStatus" in q:
            found = [o for o in found if o["orderStatus"] == q["orderStatus"]]
        if "modifyDateStart" in q:
            found = [o for o in found if o["modifyDate"][:19] >= q["modifyDateStart"][:19]]
        if "importBatch" in q:
            keys = self.import_batches.get(q["importBatch"], [])
            found = [o for o in found if o["orderKey"] in keys]
        return found

    def _shipments(self, q: dict[str, str]) -> list[dict[str, Any]]:
        found = self.shipments
        if "batchId" in q:
            found = [s for s in found if s["shipmentId"] in self.batches.get(q["batchId"], [])]
        if "shipDateStart" in q:
            found = [s for s in found if s["shipDate"] >= q["shipDateStart"]]
        if "voidDateStart" in q:
            found = [s for s in found if s["voidDate"] and s["voidDate"][:10] >= q["voidDateStart"]]
        with_items = q.get("includeShipmentItems", "false").lower() == "true"
        return [s if with_items else {**s, "shipmentItems": None} for s in found]

    @staticmethod
    def _page(items: list[Any], q: dict[str, str], key: str) -> dict[str, Any]:
        size, page = int(q.get("pageSize") or 100), int(q.get("page") or 1)
        pages = max(math.ceil(len(items) / size), 1)
        return {key: items[(page - 1) * size : page * size], "total": len(items), "page": page, "pages": pages}

    # -- what happens at ShipStation, for tests ------------------------------------------------------------------

    def _next(self) -> int:
        self._ids += 1
        return self._ids

    def ship(
        self,
        order_key: str,
        *,
        tracking: str,
        ship_date: str,
        create_date: datetime,
        items: list[tuple[str, int]] | None = None,
        carrier: str = "usps",
        service: str = "usps_priority_mail",
    ) -> dict[str, Any]:
        """A label made for the order (all its items unless `items` names (sku, quantity)); SHIP_NOTIFY batch."""
        order = self.orders[order_key]
        lines = items or [(i["sku"], i["quantity"]) for i in order.get("items") or []]
        keys = {i["sku"]: i.get("lineItemKey") for i in order.get("items") or []}
        shipment = {
            "shipmentId": self._next(), "orderId": order["orderId"], "orderKey": order_key,
            "orderNumber": order["orderNumber"], "createDate": ss_time(create_date), "shipDate": ship_date,
            "shipmentCost": Decimal("7.35"), "insuranceCost": Decimal(0), "trackingNumber": tracking,
            "isReturnLabel": False, "carrierCode": carrier, "serviceCode": service, "voided": False,
            "voidDate": None, "shipmentItems": [
                {"orderItemId": None, "lineItemKey": keys.get(sku), "sku": sku, "name": sku, "quantity": qty}
                for sku, qty in lines
            ],
        }  # fmt: skip
        self.shipments.append(shipment)
        order["orderStatus"] = "shipped"
        batch = str(self._next())
        self.batches[batch] = [shipment["shipmentId"]]
        return shipment

    def batch_of(self, shipment_id: int) -> str:
        """The SHIP_NOTIFY batch a label was made in."""
        return next(batch for batch, ids in self.batches.items() if shipment_id in ids)

    def void(self, shipment_id: int, when: datetime) -> None:
        shipment = next(s for s in self.shipments if s["shipmentId"] == shipment_id)
        shipment.update(voided=True, voidDate=ss_time(when))

    def cancel(self, order_key: str) -> str:
        """The order cancelled by someone at ShipStation; returns its ORDER_NOTIFY import batch."""
        self.orders[order_key].update(orderStatus="cancelled", modifyDate=ss_time(self.now()))
        batch = f"imp-{self._next()}"
        self.import_batches[batch] = [order_key]
        return batch

    def webhook(self, resource_type: str, batch: str) -> bytes:
        """The body ShipStation posts: only {resource_url, resource_type}."""
        if resource_type == "SHIP_NOTIFY":
            url = f"https://{self.host}/shipments?batchId={batch}&includeShipmentItems=False"
        else:
            url = f"https://{self.host}/orders?importBatch={batch}"
        return json.dumps({"resource_url": url, "resource_type": resource_type}).encode()
