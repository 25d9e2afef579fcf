"""The fake store refuses what WooCommerce refuses (and, loudly, what WooCommerce would silently ignore); the
connector's own flows never trip a refusal."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import requests
from woo_helpers import KEY, SECRET, STORE_URL, fake
from woo_scenarios import NOW, STOCK_UPDATES, cancellation, fulfilment

from channelhub.errors import Fatal
from channelhub.ports import PullRequest
from doubles.woocommerce.fake_store import FakeStore, make_order, session_for


def _store() -> tuple[FakeStore, requests.Session]:
    store = FakeStore(consumer_key=KEY, consumer_secret=SECRET)
    store.add_product(10, "TEE", stock=3)
    store.orders[1] = make_order(1)
    return store, session_for(store)


def _get(path: str, **params: Any) -> requests.Response:
    _, session = _store()
    return session.get(f"{STORE_URL}/wp-json/wc/v3/{path}", params=params, auth=(KEY, SECRET))


@pytest.mark.parametrize(
    ("path", "params", "name", "reason"),
    [
        ("orders", {"per_page": 101}, "per_page", "between 1 (inclusive) and 100 (inclusive)"),
        ("orders", {"per_page": 0}, "per_page", "between 1 (inclusive) and 100 (inclusive)"),
        ("orders", {"per_page": "lots"}, "per_page", "not of type integer"),
        ("orders", {"page": "two"}, "page", "not of type integer"),
        ("orders", {"dates_are_gmt": "maybe"}, "dates_are_gmt", "not of type boolean"),
        ("orders", {"modified_after": "yesterday"}, "modified_after", "Invalid date"),
        ("orders", {"orderby": "modified_gmt"}, "orderby", "is not one of date, id, include, title, slug"),
        ("orders", {"status": "shipped"}, "status", "status[0] is not one of any, pending"),
        ("orders", {"order": "up"}, "order", "is not one of asc, desc"),
        ("products", {"type": "bundle"}, "type", "is not one of simple, grouped, external, variable"),
    ],
)
def test_a_bad_parameter_is_a_400_rest_invalid_param_naming_it(path, params, name, reason) -> None:  # type: ignore[no-untyped-def]
    answer = _get(path, **params)
    body = answer.json()
    assert answer.status_code == 400 and body["code"] == "rest_invalid_param"
    assert body["message"] == f"Invalid parameter(s): {name}" and reason in body["data"]["params"][name]


@pytest.mark.parametrize(
    ("path", "params"), [("orders", {"updated_after": "2024-01-01T00:00:00"}), ("orders/1/notes", {"per_page": 100})]
)
def test_a_parameter_woocommerce_would_ignore_is_a_loud_400_of_the_fakes_own(path, params) -> None:  # type: ignore[no-untyped-def]
    answer = _get(path, **params)
    body = answer.json()
    assert answer.status_code == 400 and body["code"] == "fake_unknown_parameter"
    assert "silently ignore" in body["message"] and set(body["data"]["params"]) == set(params)


def test_good_parameters_pass() -> None:
    params = {"per_page": 100, "page": 1, "orderby": "id", "order": "asc", "dates_are_gmt": "true",
              "modified_after": "2024-01-01T00:00:00", "status": "processing,completed"}  # fmt: skip
    assert _get("orders", **params).status_code == 200


def test_a_batch_over_100_objects_is_a_413() -> None:
    store, session = _store()
    body = {"update": [{"id": 10, "stock_quantity": n} for n in range(101)]}
    answer = session.post(f"{STORE_URL}/wp-json/wc/v3/products/batch", json=body, auth=(KEY, SECRET))
    assert answer.status_code == 413
    assert answer.json()["code"] == "woocommerce_rest_request_entity_too_large"
    assert answer.json()["message"] == "Unable to accept more than 100 items for this request."
    assert store.products[10]["stock_quantity"] == 3


@pytest.mark.parametrize(
    ("path", "method", "body", "code"),
    [
        ("products/batch", "POST", {"update": [{"id": 10, "stock_quantity": "7"}]}, "rest_invalid_param"),
        ("products/batch", "POST", {"update": [{"id": 10, "stock": 7}]}, "fake_unknown_parameter"),
        ("orders/1", "PUT", {"status": "shipped"}, "rest_invalid_param"),
        ("orders/1", "PUT", {"status": "completed", "paid": True}, "fake_unknown_parameter"),
        ("orders/1/notes", "POST", {"note": "hi", "customer_note": "yes"}, "rest_invalid_param"),
    ],
)
def test_a_write_with_a_wrong_type_or_an_unknown_field_is_refused(path, method, body, code) -> None:  # type: ignore[no-untyped-def]
    store, session = _store()
    answer = session.request(method, f"{STORE_URL}/wp-json/wc/v3/{path}", json=body, auth=(KEY, SECRET))
    assert answer.status_code == 400 and answer.json()["code"] == code
    assert store.products[10]["stock_quantity"] == 3 and store.orders[1]["status"] == "processing"


def test_the_connector_classifies_a_refusal_as_a_fatal_bad_parameter() -> None:
    _, woo = fake()
    with pytest.raises(Fatal, match="per_page must be between 1"):
        woo.client.call("GET", "orders", params={"per_page": 500})


@pytest.mark.parametrize("tracking", [False, True])
def test_the_connectors_flows_never_trip_a_refusal(tracking: bool) -> None:
    store, woo = fake(shipment_tracking=tracking)
    for pid, sku in ((10, "TEE-PLAIN"), (11, "MUG"), (12, "POSTER")):
        store.add_product(pid, sku, stock=1)
    store.add_product(20, "", type_="variable")
    store.add_variation(20, 22, "HOODIE-S", stock=1)
    store.add_variation(20, 23, "HOODIE-M", stock=1)
    for oid in (301, 302, 303):
        store.orders[oid] = make_order(oid, lines=[{"sku": "", "product_id": 20, "variation_id": 22, "quantity": 2}])
    pages = list(woo.pull_orders(PullRequest("2024-04-30T00:00:00Z", timedelta(minutes=5), NOW)))
    assert sum(len(p.records) for p in pages) == 3
    woo.push_stock(STOCK_UPDATES)
    woo.push_fulfillment(fulfilment(301))
    woo.push_fulfillment(fulfilment(301))  # the retry reads first and writes nothing
    woo.push_cancellation(cancellation(302))
    assert len(store.log) > 10, "the flows reached the store"
    assert store.refusals == []
    assert store.calls("POST", "/wp-json/wc/v3/products") and store.orders[302]["status"] == "cancelled"
