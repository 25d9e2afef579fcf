"""push_cancellation: orderCancel with no restock and no refund, safe to repeat, refusals Skippable."""

from __future__ import annotations

import json

import pytest
from channelhub_connectors.shopify.cancellation import cancel_reason
from scenarios import CANCEL_REASON, _cancellable, cancellation

from channelhub.errors import Fatal, Retryable, Skippable
from conftest import replay
from doubles.shopify import samples
from doubles.shopify.fake_shop import FakeShop


def _operations(cassette) -> list[str]:
    return [json.loads(r.body)["query"].split("(")[0].split()[-1] for r in cassette.requests]


def test_the_cassette_cancels_once_and_a_retry_or_an_order_cancelled_in_shopify_sends_nothing() -> None:
    outcomes, _, _, cassette = replay("cancellation")
    assert outcomes[:3] == ["done", "done", "done"]
    assert outcomes[3].startswith("skipped: ") and "fulfillments" in outcomes[3]  # Shopify's own message
    assert _operations(cassette) == [
        "OrderCancelState", "OrderCancel",  # order 1: looked at, cancelled
        "OrderCancelState",  # order 1 again (the retry): cancelled already, nothing sent
        "OrderCancelState",  # order 3: cancelled in Shopify's admin, nothing sent
        "OrderCancelState", "OrderCancel", "OrderCancelState",  # order 2: refused, looked at again, Skippable
    ]  # fmt: skip
    sent = json.loads(cassette.requests[1].body)["variables"]
    assert sent == {
        "orderId": "gid://shopify/Order/820001",
        "reason": "CUSTOMER",
        "restock": False,
        "notifyCustomer": True,
        "staffNote": CANCEL_REASON,
        "refundMethod": {"originalPaymentMethodsRefund": False},
    }


def test_shopify_keeps_its_stock_and_records_the_cancellation(fake_connector) -> None:
    connector, shop, _ = fake_connector()
    _cancellable(shop)
    connector.push_cancellation(cancellation(1, "k1"))
    (order,) = [o for o in shop.orders if o["id"] == "gid://shopify/Order/820001"]
    assert order["cancelledAt"] and order["cancelReason"] == "CUSTOMER"
    assert (shop.available("SKU-A1"), shop.available("SKU-B")) == (10, 4)  # restock false: the hub publishes
    assert [c["restock"] for c in shop.cancellations] == [False]


def test_the_fake_restocks_when_asked_as_shopify_does() -> None:
    shop = FakeShop()
    _cancellable(shop)
    shop.op_OrderCancel({"orderId": "gid://shopify/Order/820001", "reason": "OTHER", "restock": True})
    assert (shop.available("SKU-A1"), shop.available("SKU-B")) == (12, 5)


def test_cancelled_between_the_look_and_the_mutation_counts_as_done(fake_connector) -> None:
    class Racing(FakeShop):
        """Shows the order open on the first look, as if cancelled in the admin just after it."""

        looks = 0

        def op_OrderCancelState(self, v):
            self.looks += 1
            answer = super().op_OrderCancelState(v)
            if self.looks == 1:
                answer["order"]["cancelledAt"] = None
            return answer

    shop = Racing(orders=[samples.graphql_order(3, cancelled_at="2026-03-04T08:00:00Z")])
    connector, shop, _ = fake_connector(shop)
    connector.push_cancellation(cancellation(3, "k3"))  # Shopify: already cancelled -> looked at again -> done
    assert shop.looks == 2 and shop.cancellations == []


def test_a_pending_authorization_is_skippable_with_shopifys_message(fake_connector) -> None:
    connector, shop, _ = fake_connector(FakeShop(orders=[samples.graphql_order(1)]))
    shop.pending_authorization.add("gid://shopify/Order/820001")
    with pytest.raises(Skippable, match="pending payment authorization") as caught:
        connector.push_cancellation(cancellation(1, "k1"))
    assert "#1001" in str(caught.value)


def test_a_failed_job_is_skippable_and_an_unknown_order_too(fake_connector) -> None:
    connector, shop, _ = fake_connector(FakeShop(orders=[samples.graphql_order(1)]))
    shop.cancel_job_failures["gid://shopify/Order/820001"] = "Order has an active return"
    with pytest.raises(Skippable, match="active return"):
        connector.push_cancellation(cancellation(1, "k1"))
    with pytest.raises(Skippable, match="no order"):
        connector.push_cancellation(cancellation(9, "k9"))


@pytest.mark.parametrize(("code", "error"), [("INTERNAL_ERROR", Retryable), ("NO_REFUND_PERMISSION", Fatal)])
def test_user_error_codes_that_are_not_the_orders_fault(fake_connector, code: str, error: type) -> None:
    class Refusing(FakeShop):
        def _cancel_refusal(self, gid, order):
            return {"code": code, "field": None, "message": f"scripted {code}"}

    connector, _, _ = fake_connector(Refusing(orders=[samples.graphql_order(1)]))
    with pytest.raises(error, match=f"scripted {code}"):
        connector.push_cancellation(cancellation(1, "k1"))


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("Customer asked to cancel", "CUSTOMER"),
        ("suspected fraud reported by the customer", "FRAUD"),
        ("payment declined", "DECLINED"),
        ("out of stock at the warehouse", "INVENTORY"),
        ("duplicate order entered by mistake", "STAFF"),
        ("staff", "STAFF"),
        ("the moon was in the wrong phase", "OTHER"),
        ("", "OTHER"),
    ],
)
def test_free_text_reasons_map_to_the_nearest_order_cancel_reason(text: str, reason: str) -> None:
    assert cancel_reason(text) == reason


def test_an_empty_reason_sends_no_staff_note_and_a_long_one_is_cut_to_255(fake_connector) -> None:
    connector, shop, _ = fake_connector(FakeShop(orders=[samples.graphql_order(1), samples.graphql_order(2)]))
    connector.push_cancellation(cancellation(1, "k1", reason=""))
    connector.push_cancellation(cancellation(2, "k2", reason="x" * 300))
    assert [c.get("staffNote") for c in shop.cancellations] == [None, "x" * 255]
