"""Every release of stock retries the orders held for it, oldest first, in the same transaction (defect 3).

Before: cancelling a confirmed order released and published its units, but the paid order held for them stayed
held, and the next order to arrive took the units. Each kind of release is tried: a cancel at the channel, a
cancel in the hub, a stock count, an adjustment, a restock from a return, and a reservation that shrinks.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

import pytest
from sync_helpers import POLICIES, order_row, reserved, stock

from channelhub.model.returns import Return
from channelhub.model.shipments import Shipment, ShipmentLine
from channelhub.stock import ledger
from channelhub.store import Database
from channelhub.sync.apply import apply_orders
from channelhub.sync.cancel import cancel_order
from channelhub.sync.holds import settle
from channelhub.testing.engine import ship, take_return
from channelhub.testing.fakes import BASE_TIME, make_order


def apply(db: Database, *orders) -> None:
    with db.transaction() as session:
        apply_orders(session, list(orders), source="test", policies=POLICIES, now=BASE_TIME)


def at(minutes: int):
    return BASE_TIME + timedelta(minutes=minutes)


def later(order, hours: int, **changes):
    return order.model_copy(update={"updated_at": order.updated_at + timedelta(hours=hours), **changes})


def change_stock(db: Database, change: Callable) -> None:
    """A stock change as the stock service makes it: the ledger call, then settle, in one transaction."""
    with db.transaction() as session:
        done = change(session)
        settle(session, POLICIES, touched=done.skus, freed=done.freed, cause="test", at=BASE_TIME)


def cancel_at_channel(db: Database, order) -> None:
    apply(db, later(order, 1, cancelled_at=order.updated_at + timedelta(hours=1)))


def cancel_in_hub(db: Database, order) -> None:
    with db.transaction() as session:
        cancel_order(session, ("shop", order.external_id), "customer asked", "cli", POLICIES, at=BASE_TIME,
                     notify_channel=False)  # fmt: skip


def count_more(db: Database, order) -> None:
    change_stock(db, lambda s: ledger.set_on_hand(s, "A", "WH1", 4, "recount"))


def adjust_up(db: Database, order) -> None:
    change_stock(db, lambda s: ledger.adjust_on_hand(s, "A", "WH1", 2, "delivery"))


def restock_a_return(db: Database, order) -> None:
    shipment = Shipment(carrier="DHL", tracking_number="T-1", shipped_at=BASE_TIME)
    ship(db, ("shop", order.external_id), shipment, "test", POLICIES)
    ret = Return(lines=(ShipmentLine(sku="A", quantity=2),), restock_location="WH1", received_at=BASE_TIME)
    take_return(db, ("shop", order.external_id), ret, "test", POLICIES, cause="RMA-1")


RELEASES = {
    "cancel at the channel": cancel_at_channel,
    "cancel in the hub": cancel_in_hub,
    "a stock count": count_more,
    "an adjustment": adjust_up,
    "a restock from a return": restock_a_return,
}


@pytest.mark.parametrize("release", RELEASES.values(), ids=list(RELEASES))
def test_the_older_held_order_gets_the_released_units_before_a_later_order(database: Database, release) -> None:
    stock(database, {"A": 2})
    first = make_order("first", [("A", 2)], placed_at=at(0))
    waiting = make_order("waiting", [("A", 2)], placed_at=at(1))
    apply(database, first, waiting)
    assert (order_row(database, "first").state, order_row(database, "waiting").state) == ("confirmed", "on_hold")

    release(database, first)
    assert order_row(database, "waiting").state == "confirmed", "the held order was not retried on the release"
    apply(database, make_order("latecomer", [("A", 2)], placed_at=at(2)))
    assert order_row(database, "latecomer").state == "on_hold"
    with database.transaction() as session:
        on_hand = sum(lv.on_hand for lv in ledger.levels(session, "A"))
    assert reserved(database, "A") <= on_hand  # nothing oversold


def test_a_shrinking_reservation_releases_the_difference_to_the_held_order(database: Database) -> None:
    stock(database, {"A": 4})
    big = make_order("big", [("A", 4)], placed_at=at(0))
    waiting = make_order("waiting", [("A", 2)], placed_at=at(1))
    apply(database, big, waiting)
    assert order_row(database, "waiting").state == "on_hold"
    smaller = later(big, 1).model_copy(update={"lines": (big.lines[0].model_copy(update={"quantity": 2}),)})
    apply(database, smaller)
    assert order_row(database, "big").state == "confirmed"
    assert order_row(database, "waiting").state == "confirmed"
    assert reserved(database, "A") == 4


def test_oldest_first_but_a_younger_order_may_take_what_the_older_cannot_use(database: Database) -> None:
    stock(database, {"A": 3})
    holder = make_order("holder", [("A", 2)], placed_at=at(0))
    greedy = make_order("greedy", [("A", 5)], placed_at=at(1))
    small = make_order("small", [("A", 1)], placed_at=at(2))
    apply(database, holder, greedy, small)
    # The greedy order needs more than is free, so the younger small one takes the last unit.
    assert [order_row(database, x).state for x in ("holder", "greedy", "small")] == [
        "confirmed",
        "on_hold",
        "confirmed",
    ]
    assert order_row(database, "greedy").hold_reason == "short stock for 'A': need 5, available 1"

    cancel_at_channel(database, holder)
    # Two units are free now: still not enough for the greedy order, whose reason is rewritten to say so.
    assert order_row(database, "greedy").state == "on_hold"
    assert order_row(database, "greedy").hold_reason == "short stock for 'A': need 5, available 2"

    change_stock(database, lambda s: ledger.adjust_on_hand(s, "A", "WH1", 3, "delivery"))
    assert order_row(database, "greedy").state == "confirmed"
    assert reserved(database, "A") == 6


def test_a_first_count_of_an_unknown_sku_rewrites_the_hold_even_at_zero(database: Database) -> None:
    stock(database, {"A": 1})
    apply(database, make_order("u1", [("NEW", 1)]))
    assert order_row(database, "u1").hold_reason == "unknown SKU 'NEW'"
    change_stock(database, lambda s: ledger.set_on_hand(s, "NEW", "WH1", 0, "first count"))
    assert order_row(database, "u1").hold_reason == "short stock for 'NEW': need 1, available 0"
