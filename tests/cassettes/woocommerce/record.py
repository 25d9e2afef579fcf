"""Regenerate the WooCommerce cassettes: `/work/venv/bin/python tests/cassettes/woocommerce/record.py`.

No real store is reachable from the test machines, so the cassettes are recorded with vcrpy against the fake
store (`doubles.woocommerce.fake_store`) served over HTTP on 127.0.0.1. The connector is built for
`https://shop.example.test` (HTTPS: basic auth, or `query_string_auth`; plain HTTP would sign with OAuth 1.0a and
a random nonce) and a session adapter redirects each request to the loopback server; afterwards the recorded
`http://127.0.0.1:<port>` is rewritten to `https://shop.example.test`, so replay sees the real URL shape.
Credentials are filtered at record time (Authorization header, consumer_key / consumer_secret parameters).

Each scenario here has a replay test in tests/unit/woocommerce/test_woocommerce_cassettes.py.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import requests
import vcr
from channelhub_connectors.woocommerce.connector import WooCommerceConnector
from requests.adapters import HTTPAdapter

from channelhub.errors import ChannelhubError
from channelhub.ports import ConnectorContext, PullRequest

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parents[1]))  # tests/: the fake store lives in tests/doubles

from woo_scenarios import NOW, OVERLAP, STOCK_UPDATES, cancellation, fulfilment  # noqa: E402

from doubles.woocommerce.fake_store import FakeStore, make_order, serve  # noqa: E402

HOST = "shop.example.test"
STORE_URL = f"https://{HOST}"
KEY, SECRET = "ck_recording_key_0123456789", "cs_recording_secret_0123456789"

VCR_OPTIONS: dict[str, Any] = {
    "match_on": ["method", "scheme", "host", "port", "path", "query", "body"],
    "filter_headers": ["authorization"],
    "filter_query_parameters": ["consumer_key", "consumer_secret"],
    "decode_compressed_response": True,
}


class ToLoopback(HTTPAdapter):
    def __init__(self, base: str) -> None:
        super().__init__()
        self.base = base

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        request.url = (request.url or "").replace(STORE_URL, self.base, 1)
        return super().send(request, **kwargs)


def settings(**extra: Any) -> dict[str, Any]:
    return {"store_url": STORE_URL, "consumer_key": KEY, "consumer_secret": SECRET, **extra}


def catalogue(store: FakeStore) -> None:
    store.add_product(10, "TEE-PLAIN", stock=5)
    store.add_product(11, "MUG", stock=3)
    store.add_product(12, "POSTER", manage_stock=False)
    store.add_product(20, "HOODIE", type_="variable", manage_stock=False)
    store.add_variation(20, 21, "HOODIE-S", stock=2)
    store.add_variation(20, 22, "HOODIE-M", stock=4)
    store.add_variation(20, 23, "")  # no SKU of its own: the parent's (HOODIE) stands in on orders


def paging(store: FakeStore, connector: WooCommerceConnector) -> None:
    for oid in range(101, 106):
        store.orders[oid] = make_order(
            oid,
            modified=f"2024-05-0{oid - 100}T09:00:00",
            lines=[{"sku": "TEE-PLAIN", "product_id": 10, "quantity": 1}],
        )
    list(connector.pull_orders(PullRequest(None, OVERLAP, NOW)))


def incremental(store: FakeStore, connector: WooCommerceConnector) -> None:
    store.orders[101] = make_order(101, modified="2024-05-01T09:00:00")
    store.orders[102] = make_order(102, modified="2024-05-03T09:00:00")
    store.orders[103] = make_order(103, modified="2024-05-03T09:20:00", status="completed")
    list(connector.pull_orders(PullRequest("2024-05-03T09:10:00Z", OVERLAP, NOW)))


def variations(store: FakeStore, connector: WooCommerceConnector) -> None:
    store.orders[201] = make_order(
        201,
        modified="2024-05-02T08:00:00",
        lines=[
            {"sku": "HOODIE-S", "product_id": 20, "variation_id": 21, "quantity": 1, "price": "35.00"},
            {"sku": "", "product_id": 20, "variation_id": 22, "quantity": 2, "price": "35.00"},
            {"sku": "", "product_id": 20, "variation_id": 23, "quantity": 1, "price": "35.00"},
        ],
    )
    list(connector.pull_orders(PullRequest(None, OVERLAP, NOW)))


def stock_batch(store: FakeStore, connector: WooCommerceConnector) -> None:
    store.refuse_items[11] = (400, "woocommerce_rest_invalid_product_stock", "Stock cannot be set for this product.")
    connector.push_stock(STOCK_UPDATES)


def tracking_extension(store: FakeStore, connector: WooCommerceConnector) -> None:
    store.orders[301] = make_order(301, lines=[{"sku": "TEE-PLAIN", "product_id": 10, "quantity": 2}])
    connector.push_fulfillment(fulfilment(301))
    connector.push_fulfillment(fulfilment(301))  # the retry: reads, finds the item and the status, writes nothing


def tracking_note(store: FakeStore, connector: WooCommerceConnector) -> None:
    store.orders[302] = make_order(302, lines=[{"sku": "TEE-PLAIN", "product_id": 10, "quantity": 2}])
    connector.push_fulfillment(fulfilment(302))
    connector.push_fulfillment(fulfilment(302))


def cancellations(store: FakeStore, connector: WooCommerceConnector) -> None:
    """401 processing (the store puts its 2 tees back), 402 completed (Skippable), 403 cancelled in the admin."""
    store.orders[401] = make_order(401, lines=[{"sku": "TEE-PLAIN", "product_id": 10, "quantity": 2}])
    store.orders[402] = make_order(402, status="completed")
    store.orders[403] = make_order(403, status="cancelled")
    for order_id in (401, 401, 403, 402):  # 401 twice: the retry after a lost answer reads, sends nothing
        try:
            connector.push_cancellation(cancellation(order_id))
        except ChannelhubError as exc:
            print(f"  (expected) {exc}")


def rate_limited(store: FakeStore, connector: WooCommerceConnector) -> None:
    store.orders[101] = make_order(101)
    throttled = {"code": "too_many_requests", "message": "Too many requests", "data": {"status": 429}}
    store.scripted.append(("GET", "/wc/v3/orders", (429, {"Retry-After": "7"}, throttled)))
    for _ in range(2):  # the engine's retry, after the wait
        try:
            list(connector.pull_orders(PullRequest(None, OVERLAP, NOW)))
        except ChannelhubError as exc:
            print(f"  (expected) {exc}")


def unauthorized(store: FakeStore, connector: WooCommerceConnector) -> None:
    store.consumer_secret = "cs_rotated_on_the_store"
    try:
        list(connector.pull_orders(PullRequest(None, OVERLAP, NOW)))
    except ChannelhubError as exc:
        print(f"  (expected) {exc}")


SCENARIOS: dict[str, tuple[Callable[[FakeStore, WooCommerceConnector], None], dict[str, Any]]] = {
    "paging": (paging, {"per_page": 2}),
    "incremental": (incremental, {}),
    "variation_orders": (variations, {}),
    "stock_batch": (stock_batch, {}),
    "tracking_extension": (tracking_extension, {"shipment_tracking": True}),
    "tracking_note": (tracking_note, {}),
    "rate_limited": (rate_limited, {}),
    "cancellation": (cancellations, {}),
    "unauthorized": (unauthorized, {"query_string_auth": True}),
}


def record(name: str) -> Path:
    scenario, extra = SCENARIOS[name]
    store = FakeStore(consumer_key=KEY, consumer_secret=SECRET, host=HOST)
    catalogue(store)
    server, base = serve(store)
    session = requests.Session()
    adapter = ToLoopback(base)
    session.mount("https://", adapter)
    path = HERE / f"{name}.yaml"
    path.unlink(missing_ok=True)
    try:
        connector = WooCommerceConnector(settings(**extra), ConnectorContext(channel="woo", transport=session))
        with vcr.VCR(record_mode="all", **VCR_OPTIONS).use_cassette(str(path)):
            scenario(store, connector)
    finally:
        server.shutdown()
        server.server_close()
    text = path.read_text().replace(base, STORE_URL)
    for secret in (KEY, SECRET):
        if secret in text:
            raise SystemExit(f"{path.name}: a credential survived the filters")
    path.write_text(text)
    return path


def main(names: list[str]) -> None:
    for name in names or list(SCENARIOS):
        print(f"recording {name}")
        print(f"  -> {record(name).relative_to(HERE.parents[2])}")


if __name__ == "__main__":
    main(sys.argv[1:])
