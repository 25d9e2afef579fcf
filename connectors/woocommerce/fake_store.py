"""A fake WooCommerce store for tests and recordings: an in-memory catalogue and order book answering the
documented REST v3 shapes (and the Shipment Tracking extension's), with nothing real behind it.

Two ways in: `FakeStoreAdapter`, a requests transport adapter (in process, every request counted in
`store.log`), and `serve(store)`, an HTTP server on 127.0.0.1 that vcrpy records through. The connector never
imports this module.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

Reply = tuple[int, dict[str, str], Any]
# The order statuses of WooCommerce core (REST v3 `status`); plugins may register more (`FakeStore.extra_statuses`).
ORDER_STATUSES = frozenset(
    {"pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed", "checkout-draft"}
)
STOCK_REDUCED = frozenset({"processing", "on-hold", "completed"})  # where core has reduced an order's stock
WC = "/wp-json/wc/v3/"
TRACKING = "/wp-json/wc-shipment-tracking/v3/"


def _error(status: int, code: str, message: str, **data: Any) -> Reply:
    return status, {}, {"code": code, "message": message, "data": {"status": status, **data}}


@dataclass
class FakeStore:
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
    restocked: set[int] = field(default_factory=set)  # orders whose reduced stock a cancellation put back
    log: list[tuple[str, str, dict[str, list[str]]]] = field(default_factory=list)
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
                return self._tracking(method, path[len(TRACKING) :], data)
            if not path.startswith(WC):
                return _error(404, "rest_no_route", "No route was found matching the URL and request method.")
            return self._wc(method, path[len(WC) :].strip("/").split("/"), query, data)

    def _authorised(self, headers: dict[str, str], query: dict[str, list[str]]) -> bool:
        given = {k.lower(): v for k, v in headers.items()}.get("authorization", "")
        if given.startswith("Basic "):
            key, _, secret = base64.b64decode(given[6:]).decode().partition(":")
        else:
            key, secret = query.get("consumer_key", [""])[0], query.get("consumer_secret", [""])[0]
        return (key, secret) == (self.consumer_key, self.consumer_secret)

    def _wc(self, method: str, parts: list[str], query: dict[str, list[str]], data: Any) -> Reply:
        one = {k: v[0] for k, v in query.items()}
        per_page = int(one.get("per_page", "10") or 10)
        if not 1 <= per_page <= 100:
            return _error(
                400,
                "rest_invalid_param",
                "Invalid parameter(s): per_page",
                params={"per_page": "per_page must be between 1 (inclusive) and 100 (inclusive)"},
            )
        if parts == ["orders"] and method == "GET":
            return self._page(self._orders(one), one, per_page)
        if parts[0] == "orders" and len(parts) >= 2:
            return self._order(method, int(parts[1]), parts[2:], data)
        if parts == ["products"] and method == "GET":
            return self._page(self._products(one), one, per_page)
        if parts == ["products", "batch"] and method == "POST":
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
            return self._update_order(order, data)
        if rest == ["notes"]:
            notes = self.notes.setdefault(oid, [])
            if method == "GET":
                return 200, {}, list(reversed(notes))
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
        item = {
            "tracking_id": f"trk{oid}x{len(items) + 1}",
            "tracking_number": data["tracking_number"],
            "tracking_provider": data.get("tracking_provider") or data.get("custom_tracking_provider"),
            "tracking_link": data.get("custom_tracking_link", ""),
            "date_shipped": data.get("date_shipped"),
        }
        items.append(item)
        return 201, {}, item


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


def make_order(
    oid: int,
    *,
    status: str = "processing",
    modified: str = "2024-05-01T10:00:00",
    created: str | None = None,
    lines: list[dict[str, Any]] | None = None,
    currency: str = "EUR",
    total: str | None = None,
    refunds: list[dict[str, Any]] | None = None,
    coupons: bool = False,
    fees: bool = False,
) -> dict[str, Any]:
    """An order in the documented REST v3 shape. `lines`: dicts with sku, product_id, variation_id, quantity,
    price (a decimal string); the figures are made consistent (one 20% "VAT" rate, flat shipping 4.90)."""
    from decimal import Decimal

    lines = lines or [{"sku": f"SKU-{oid}", "product_id": 10, "quantity": 1, "price": "10.00"}]
    items, subtotal, tax = [], Decimal(0), Decimal(0)
    for n, line in enumerate(lines, start=1):
        qty = int(line.get("quantity", 1))
        line_total = Decimal(str(line.get("price", "10.00"))) * qty
        line_tax = (line_total * Decimal("0.2")).quantize(Decimal("0.01"))
        subtotal, tax = subtotal + line_total, tax + line_tax
        items.append({
            "id": oid * 100 + n, "name": line.get("name", f"Item {n}"), "product_id": line.get("product_id", 10),
            "variation_id": line.get("variation_id", 0), "quantity": qty, "tax_class": "",
            "subtotal": f"{line_total:.2f}", "subtotal_tax": f"{line_tax:.2f}", "total": f"{line_total:.2f}",
            "total_tax": f"{line_tax:.2f}",
            "taxes": [{"id": 1, "total": f"{line_tax:.2f}", "subtotal": f"{line_tax:.2f}"}],
            "meta_data": [], "sku": line.get("sku", ""), "price": float(line.get("price", "10.00")),
        })  # fmt: skip
    shipping = Decimal("4.90")
    discount = Decimal("2.00") if coupons else Decimal(0)
    fee = Decimal("1.50") if fees else Decimal(0)
    grand = subtotal + tax + shipping - discount + fee
    address = {"first_name": "Ada", "last_name": "Lovelace", "company": "", "address_1": "1 Analytical Row",
               "address_2": "", "city": "Lyon", "state": "", "postcode": "69001", "country": "FR"}  # fmt: skip
    return {
        "id": oid, "parent_id": 0, "number": str(oid), "order_key": f"wc_order_fake{oid}", "created_via": "checkout",
        "status": status, "currency": currency,
        "date_created": created or modified, "date_created_gmt": created or modified,
        "date_modified": modified, "date_modified_gmt": modified,
        "discount_total": f"{discount:.2f}", "discount_tax": "0.00", "shipping_total": f"{shipping:.2f}",
        "shipping_tax": "0.00", "cart_tax": f"{tax:.2f}", "total": total if total is not None else f"{grand:.2f}",
        "total_tax": f"{tax:.2f}", "prices_include_tax": False, "customer_id": 7, "customer_note": "",
        "billing": {**address, "email": "ada@example.test", "phone": "+33 1 00 00 00 00"}, "shipping": address,
        "payment_method": "stripe", "payment_method_title": "Card", "transaction_id": f"ch_{oid}",
        "date_paid": modified if status in ("processing", "completed") else None,
        "date_paid_gmt": modified if status in ("processing", "completed") else None,
        "date_completed": None, "date_completed_gmt": None, "meta_data": [], "line_items": items,
        "tax_lines": [{"id": 900 + oid, "rate_code": "FR-VAT-1", "rate_id": 1, "label": "VAT", "compound": False,
                       "tax_total": f"{tax:.2f}", "shipping_tax_total": "0.00", "rate_percent": 20, "meta_data": []}],
        "shipping_lines": [{"id": 800 + oid, "method_title": "Flat rate", "method_id": "flat_rate",
                            "total": f"{shipping:.2f}", "total_tax": "0.00", "taxes": [], "meta_data": []}],
        "fee_lines": [{"id": 700 + oid, "name": "Gift wrap", "tax_class": "", "tax_status": "none",
                       "total": f"{fee:.2f}", "total_tax": "0.00", "taxes": [], "meta_data": []}] if fees else [],
        "coupon_lines": [{"id": 600 + oid, "code": "spring", "discount": f"{discount:.2f}", "discount_tax": "0.00",
                          "meta_data": []}] if coupons else [],
        "refunds": refunds or [],
    }  # fmt: skip
