"""push_cancellation against the fake store: what the store does on cancel, and what the hub will not cancel."""

from __future__ import annotations

import pytest
from woo_helpers import fake
from woo_scenarios import cancellation

from channelhub.errors import Skippable
from channelhub.ports import CancellationRequest
from doubles.woocommerce.fake_store import make_order


def test_the_store_puts_managed_stock_back_once_and_the_order_is_cancelled() -> None:
    store, woo = fake()
    store.add_product(10, "TEE", stock=5)
    store.add_product(11, "POSTER", manage_stock=False)
    store.orders[7] = make_order(
        7, lines=[{"sku": "TEE", "product_id": 10, "quantity": 2}, {"sku": "POSTER", "product_id": 11}]
    )
    woo.push_cancellation(cancellation(7))
    woo.push_cancellation(cancellation(7))
    assert store.orders[7]["status"] == "cancelled"
    assert store.products[10]["stock_quantity"] == 7  # WooCommerce restocked it itself; the hub publishes after
    assert store.products[11]["stock_quantity"] is None  # unmanaged: untouched
    assert len(store.calls("PUT")) == 1


def test_a_pending_order_is_cancelled_without_a_restock() -> None:
    store, woo = fake()
    store.add_product(10, "TEE", stock=5)
    store.orders[8] = make_order(8, status="pending", lines=[{"sku": "TEE", "product_id": 10, "quantity": 2}])
    woo.push_cancellation(cancellation(8))
    assert store.orders[8]["status"] == "cancelled" and store.products[10]["stock_quantity"] == 5


@pytest.mark.parametrize("status", ["completed", "refunded", "trash"])
def test_statuses_the_hub_does_not_cancel_from_are_skippable_naming_the_status(status: str) -> None:
    store, woo = fake()
    store.orders[9] = make_order(9, status=status)
    with pytest.raises(Skippable, match=f"'{status}'"):
        woo.push_cancellation(cancellation(9))
    assert store.calls("PUT") == [] and store.orders[9]["status"] == status


def test_an_unknown_order_or_id_is_skippable() -> None:
    _, woo = fake()
    with pytest.raises(Skippable, match="404"):
        woo.push_cancellation(cancellation(404))
    with pytest.raises(Skippable, match="not a WooCommerce order id"):
        woo.push_cancellation(CancellationRequest("#12", "#12", "x", "k"))


def test_the_fake_refuses_a_status_woocommerce_does_not_know() -> None:
    store, _ = fake()
    store.orders[5] = make_order(5)
    status, _, body = store.handle(
        "PUT", "https://shop.example.test/wp-json/wc/v3/orders/5", _auth(), b'{"status": "gone"}'
    )
    assert status == 400 and body["code"] == "rest_invalid_param"
    store.extra_statuses.add("gone")  # a plugin registered it
    status, _, _ = store.handle(
        "PUT", "https://shop.example.test/wp-json/wc/v3/orders/5", _auth(), b'{"status": "gone"}'
    )
    assert status == 200


def _auth() -> dict[str, str]:
    import base64

    from woo_helpers import KEY, SECRET

    return {"Authorization": "Basic " + base64.b64encode(f"{KEY}:{SECRET}".encode()).decode()}
