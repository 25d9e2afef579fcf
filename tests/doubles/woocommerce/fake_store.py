"""A fake WooCommerce store for tests and recordings: an in-memory catalogue and order book answering the
documented REST v3 shapes (and the Shipment Tracking extension's), with nothing real behind it.

Two ways in: `FakeStoreAdapter`, a requests transport adapter (in process, every request counted in
`store.log`), and `serve(store)`, an HTTP server on 127.0.0.1 that vcrpy records through. It lives under
tests/ (DESIGN.md, "Test doubles"): nothing under connectors/ or src/ imports it.

It refuses what WooCommerce refuses (`rules`, each rule with its source): `per_page` outside 1..100, a batch of
more than 100 objects, a parameter or field of the wrong type or outside its options, and, louder than
WooCommerce (which ignores them), a parameter or field the route does not take; and webhooks as WooCommerce
manages them (`fake_webhooks`). Orders come from
`orders.make_order`, figured the way WooCommerce figures them.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from doubles.woocommerce.fake_webhooks import WebhookRoutes
from doubles.woocommerce.orders import make_order
from doubles.woocommerce.rules import GLOBAL, check_batch, check_body, check_query, unknown
from doubles.woocommerce.rules import error as _error

Reply = tuple[int, dict[str, str], Any]
# The order statuses of WooCommerce core (REST v3 `status`); plugins may register more (`FakeStore.extra_statuses`).
ORDER_STATUSES = frozenset(
    {"pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed", "checkout-draft"}
)
STOCK_REDUCED = frozenset({"processing", "on-hold", "completed"})  # where core has reduced an order's stock
WC = "/wp-json/wc/v3/"
TRACKING = "/wp-json/wc-shipment-tracking/v3/"
__all__ = ["FakeStore", "FakeStoreAdapter", "make_order", "serve", "session_for"]
# Body fields the hub's writes may carry, with their types in WooCommerce's item schemas (REST v3 docs:
# "Product properties", "Order notes properties"; the Shipment Tracking extension's create route).
STOCK_FIELDS = {"id": "integer", "stock_quantity": "integer", "manage_stock": "boolean"}
ORDER_FIELDS = {"status": "string", "customer_note": "string", "transaction_id": "string"}
NOTE_FIELDS = {"note": "string", "customer_note": "boolean", "added_by_user": "boolean"}
TRACKING_FIELDS = dict.fromkeys(
    ("tracking_provider", "custom_tracking_provider", "custom_tracking_link", "tracking_number", "date_shipped"),
    "string",
)
TRACKING_META_KEY = "_wc_shipment_tracking_items"
RULE_CODES = frozenset(
    {"rest_invalid_param", "woocommerce_rest_request_entity_too_large", "fake_unknown_parameter",
     "rest_missing_callback_param"}
)  # fmt: skip


@dataclass
class FakeStore(WebhookRoutes):
    """State of one store. `scripted` answers are served first, in order, for (method, path) pairs they match; an
    answer may be a function of the request's URL as it arrived (query string included), for echoing proxies."""

    consumer_key: str = "ck_fake"
    consumer_secret: str = "cs_fake"
    host: str = "shop.example.test"
    orders: dict[int, dict[str, Any]] = field(default_factory=dict)
    products: dict[int, dict[str, Any]] = field(default_factory=dict)
    variations: dict[int, dict[int, dict[str, Any]]] = field(default_factory=dict)  # product id -> id -> variation
    notes: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    trackings: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    refuse_items: dict[int, tuple[int, str, str]] = field(default_factory=dict)  # id -> (status, code, message)
    scripted: list[tuple[str, str, Reply | Callable[[str], Reply]]] = field(default_factory=list)
    extra_statuses: set[str] = field(default_factory=set)  # order statuses a plugin registered
    webhooks: dict[int, dict[str, Any]] = field(default_factory=dict)  # id -> webhook, secret kept (fake_webhooks)
    restocked: set[int] = field(default_factory=set)  # orders whose reduced stock a cancellation put back
    log: list[tuple[str, str, dict[str, list[str]]]] = field(default_factory=list)
    refusals: list[tuple[str, str, str]] = field(default_factory=list)  # (method, path, code) a rule refused
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # -- catalogue helpers -----------------------------------------------------------------------------------

    def add_product(
        self, pid: int, sku: str, *, manage_stock: bool = True, stock: int | None = 0, type_: str = "simple"
    ) -> dict[str, Any]:
        product = {
            "id": pid,
            "name": f"Product {pid}",
            "type": type_,
            "sku": sku,
            "manage_stock": manage_stock,
            "stock_quantity": stock if manage_stock else None,
            "stock_status": "instock",
            "parent_id": 0,
        }
        self.products[pid] = product
        return product

    def add_variation(
        self, pid: int, vid: int, sku: str, *, manage_stock: bool | str = True, stock: int | None = 0
    ) -> dict[str, Any]:
        variation = {
            "id": vid,
            "sku": sku,
            "manage_stock": manage_stock,
            "stock_status": "instock",
            "stock_quantity": stock if manage_stock is True else None,
        }
        self.variations.setdefault(pid, {})[vid] = variation
        return variation

    def calls(self, method: str | None = None, prefix: str = "") -> list[tuple[str, str, dict[str, list[str]]]]:
        return [c for c in self.log if (method is None or c[0] == method) and c[1].startswith(prefix)]

    # -- dispatch --------------------------------------------------------------------------------------------

    def handle(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> Reply:
        reply = self._dispatch(method, url, headers, body)
        status, _, payload = reply
        if status >= 400 and isinstance(payload, dict) and payload.get("code") in RULE_CODES:
            self.refusals.append((method, urlsplit(url).path, str(payload["code"])))
        return reply

    def _dispatch(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> Reply:
        parts = urlsplit(url)
        query = parse_qs(parts.query, keep_blank_values=True)
        path = parts.path
        with self._lock:
            self.log.append((method, path, query))
            for index, (m, p, reply) in enumerate(self.scripted):
                if m == method and path.endswith(p):
                    del self.scripted[index]
                    return reply(url) if callable(reply) else reply
            if not self._authorised(headers, query):
                return _error(401, "woocommerce_rest_authentication_error", "Consumer key is invalid.")
            data = json.loads(body) if body else None
            if path.startswith(TRACKING):
                extra = sorted(n for n in query if n not in GLOBAL)
                if extra:  # the extension's routes register no query arguments
                    return unknown(extra, f"{method} {path}")
                return self._tracking(method, path[len(TRACKING) :], data)
            if not path.startswith(WC):
                return _error(404, "rest_no_route", "No route was found matching the URL and request method.")
            route = path[len(WC) :].strip("/")
            refusal = check_query(route, query) if method == "GET" else None
            return refusal or self._wc(method, route.split("/"), query, data)

    def _authorised(self, headers: dict[str, str], query: dict[str, list[str]]) -> bool:
        given = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        if given.startswith("Basic "):
            key, _, secret = base64.b64decode(given[6:]).decode().partition(":")
        else:
            key, secret = query.get("consumer_key", [""])[0], query.get("consumer_secret", [""])[0]
        return (key, secret) == (self.consumer_key, self.consumer_secret)

    def _wc(self, method: str, parts: list[str], query: dict[str, list[str]], data: Any) -> Reply:
        one = {k: v[-1] for k, v in query.items()}
        per_page = int(one.get("per_page", "10") or 10)  # checked by rules.check_query: 1..100
        if parts[0] == "webhooks":
            return self._webhooks_route(method, parts[1:], one, data)
        if parts == ["orders"] and method == "GET":
            return self._page(self._orders(one), one, per_page)
        if parts[0] == "orders" and len(parts) >= 2:
            return self._order(method, int(parts[1]), parts[2:], data)
        if parts == ["products"] and method == "GET":
            return self._page(self._products(one), one, per_page)
        if parts == ["products", "batch"] and method == "POST":
            refusal = check_batch(data, STOCK_FIELDS)
            if refusal:
                return refusal
            return 200, {}, {"update": [self._update_stock(self.products.get(i["id"]), i) for i in data["update"]]}
        if parts[0] == "products" and len(parts) >= 2:
            pid = int(parts[1])
            if pid not in self.products:
                return _error(404, "woocommerce_rest_product_invalid_id", "Invalid ID.")
            if len(parts) == 2 and method == "GET":
                return 200, {}, self.products[pid]
            found = self.variations.get(pid, {})
            if parts[2:] == ["variations"] and method == "GET":
                return self._page(sorted(found.values(), key=lambda v: v["id"]), one, per_page)
            if parts[2:] == ["variations", "batch"] and method == "POST":
                refusal = check_batch(data, STOCK_FIELDS)
                if refusal:
                    return refusal
                return 200, {}, {"update": [self._update_stock(found.get(i["id"]), i) for i in data["update"]]}
            if len(parts) == 4 and parts[2] == "variations" and int(parts[3]) in found:
                return 200, {}, found[int(parts[3])]
        return _error(404, "rest_no_route", "No route was found matching the URL and request method.")

    def _orders(self, one: dict[str, str]) -> list[dict[str, Any]]:
        after = one.get("modified_after")
        rows = sorted(self.orders.values(), key=lambda o: o["id"])
        return [o for o in rows if after is None or o["date_modified_gmt"] > after]

    def _products(self, one: dict[str, str]) -> list[dict[str, Any]]:
        rows = sorted(self.products.values(), key=lambda p: p["id"])
        if "sku" in one:
            wanted = set(one["sku"].split(","))
            rows = [p for p in rows if p["sku"] in wanted]
        if "type" in one:
            rows = [p for p in rows if p["type"] == one["type"]]
        return rows

    @staticmethod
    def _page(rows: list[dict[str, Any]], one: dict[str, str], per_page: int) -> Reply:
        page = int(one.get("page", "1") or 1)
        pages = max((len(rows) + per_page - 1) // per_page, 1) if rows else 0
        chunk = rows[(page - 1) * per_page : page * per_page]
        return 200, {"X-WP-Total": str(len(rows)), "X-WP-TotalPages": str(pages)}, chunk

    def _update_stock(self, item: dict[str, Any] | None, update: dict[str, Any]) -> dict[str, Any]:
        item_id = update["id"]
        if item_id in self.refuse_items:
            status, code, message = self.refuse_items[item_id]
            return {"id": item_id, "error": {"code": code, "message": message, "data": {"status": status}}}
        if item is None:
            return {
                "id": item_id,
                "error": {
                    "code": "woocommerce_rest_product_invalid_id",
                    "message": "Invalid ID.",
                    "data": {"status": 400},
                },
            }
        item["stock_quantity"] = update["stock_quantity"]
        return item

    def _order(self, method: str, oid: int, rest: list[str], data: Any) -> Reply:
        order = self.orders.get(oid)
        if order is None:
            return _error(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
        if not rest and method == "GET":
            return 200, {}, order
        if not rest and method == "PUT":
            return check_body(data, ORDER_FIELDS) or self._update_order(order, data)
        if rest == ["notes"]:
            notes = self.notes.setdefault(oid, [])
            if method == "GET":
                return 200, {}, list(reversed(notes))
            refusal = check_body(data, NOTE_FIELDS)
            if refusal:
                return refusal
            note = {
                "id": 9000 + sum(len(n) for n in self.notes.values()),
                "note": data["note"],
                "customer_note": bool(data.get("customer_note")),
                "author": "system",
            }
            notes.append(note)
            return 201, {}, note
        return _error(404, "rest_no_route", "No route was found matching the URL and request method.")

    def _update_order(self, order: dict[str, Any], data: dict[str, Any]) -> Reply:
        """PUT orders/<id>, status only (what the hub sends). An unknown status is refused as WooCommerce refuses
        it; becoming cancelled puts back the stock WooCommerce had reduced, once (wc_maybe_increase_stock_levels)."""
        status = data.get("status", order["status"])
        if status not in ORDER_STATUSES | self.extra_statuses:
            return _error(
                400,
                "rest_invalid_param",
                "Invalid parameter(s): status",
                params={"status": f"status is not one of {', '.join(sorted(ORDER_STATUSES))}."},
            )
        if status == "cancelled" and order["status"] in STOCK_REDUCED and order["id"] not in self.restocked:
            self.restocked.add(order["id"])
            for line in order["line_items"]:
                self._increase_stock(line)
        order["status"] = status
        return 200, {}, order

    def _increase_stock(self, line: dict[str, Any]) -> None:
        item = (
            self.variations.get(line["product_id"], {}).get(line["variation_id"])
            if line.get("variation_id")
            else self.products.get(line["product_id"])
        )
        if item is not None and item.get("manage_stock") is True and item.get("stock_quantity") is not None:
            item["stock_quantity"] += int(line["quantity"])

    def _tracking(self, method: str, path: str, data: Any) -> Reply:
        parts = path.strip("/").split("/")
        if len(parts) != 3 or parts[0] != "orders" or parts[2] != "shipment-trackings":
            return _error(404, "rest_no_route", "No route was found matching the URL and request method.")
        oid = int(parts[1])
        if oid not in self.orders:
            return _error(404, "woocommerce_rest_shop_order_invalid_id", "Invalid ID.")
        items = self.trackings.setdefault(oid, [])
        if method == "GET":
            return 200, {}, items
        refusal = check_body(data, TRACKING_FIELDS)
        if refusal or not data.get("tracking_number"):
            return refusal or _error(
                400, "rest_missing_callback_param", "Missing parameter(s): tracking_number",
                params=["tracking_number"],
            )  # fmt: skip
        stored = self._store_tracking(oid, data, len(items) + 1)
        # The extension's REST answer: the provider's display name, the link it builds, the date as Y-m-d.
        item = {
            "tracking_id": stored["tracking_id"],
            "tracking_number": stored["tracking_number"],
            "tracking_provider": stored["custom_tracking_provider"] or stored["tracking_provider"],
            "tracking_link": stored["custom_tracking_link"],
            "date_shipped": data.get("date_shipped") or "",
        }
        items.append(item)
        return 201, {}, item

    def _store_tracking(self, oid: int, data: dict[str, Any], n: int) -> dict[str, Any]:
        """The item as the extension keeps it in the order's meta (`add_tracking_item`): a unix timestamp as a
        string for the date (strtotime of the date given, midnight UTC here), an id it makes up once."""
        day = str(data.get("date_shipped") or "1970-01-01")[:10]
        stamp = int(datetime.fromisoformat(day).replace(tzinfo=UTC).timestamp())
        stored = {
            "tracking_provider": data.get("tracking_provider") or "",
            "custom_tracking_provider": data.get("custom_tracking_provider") or "",
            "custom_tracking_link": data.get("custom_tracking_link") or "",
            "tracking_number": data["tracking_number"],
            "date_shipped": str(stamp),
            "tracking_id": f"trk{oid}x{n}",
        }
        meta = self.orders[oid].setdefault("meta_data", [])
        entry = next((m for m in meta if m.get("key") == TRACKING_META_KEY), None)
        if entry is None:
            entry = {"id": 5000 + oid, "key": TRACKING_META_KEY, "value": []}
            meta.append(entry)
        entry["value"].append(stored)
        return stored


def _encode(reply: Reply) -> tuple[int, dict[str, str], bytes]:
    """JSON, except a `bytes` payload, sent as it is (a proxy's HTML error page)."""
    status, headers, payload = reply
    if isinstance(payload, bytes):
        return status, {"Content-Type": "text/html; charset=UTF-8", **headers}, payload
    body = json.dumps(payload).encode()
    return status, {"Content-Type": "application/json; charset=UTF-8", **headers}, body


class FakeStoreAdapter(BaseAdapter):  # type: ignore[misc]
    """A requests adapter answering from a FakeStore, in process: `session.mount("https://", adapter)`."""

    def __init__(self, store: FakeStore) -> None:
        super().__init__()
        self.store = store

    def send(self, request: requests.PreparedRequest, *args: Any, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        raw = request.body
        body = raw.encode() if isinstance(raw, str) else raw if isinstance(raw, bytes) else None
        headers_in = {str(k): v if isinstance(v, str) else v.decode() for k, v in request.headers.items()}
        status, headers, content = _encode(
            self.store.handle(request.method or "GET", request.url or "", headers_in, body)
        )
        response = requests.Response()
        response.status_code, response._content, response.url = status, content, request.url or ""
        response.headers = CaseInsensitiveDict(headers)
        response.request, response.encoding = request, "utf-8"
        return response

    def close(self) -> None:
        return None


def session_for(store: FakeStore) -> requests.Session:
    session = requests.Session()
    adapter = FakeStoreAdapter(store)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def serve(store: FakeStore) -> tuple[ThreadingHTTPServer, str]:
    """Serve `store` over HTTP on 127.0.0.1 (a free port), in a daemon thread; returns (server, base URL)."""

    class Handler(BaseHTTPRequestHandler):
        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else None
            status, headers, content = _encode(store.handle(self.command, self.path, dict(self.headers), body))
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(content)))
            self.end_headers()
            self.wfile.write(content)

        do_GET = do_POST = do_PUT = do_DELETE = _any

        def log_message(self, format: str, *args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


Factory = Callable[[], FakeStore]
