"""Shipments: partial then full, tracking numbers merged, quantities checked, the channel told once."""

from __future__ import annotations

import pytest
from sync_helpers import POLICIES, events, lines, on_hand, order_row, outbox, reserved, stock

from channelhub.errors import InvalidTransition
from channelhub.model.orders import FinancialStatus
from channelhub.model.shipments import Shipment, ShipmentLine
from channelhub.store import Database
from channelhub.sync.apply import apply_orders
from channelhub.sync.fulfil import ShipmentError
from channelhub.testing.engine import ship as record_shipment
from channelhub.testing.engine import take_return as record_return
from channelhub.testing.fakes import BASE_TIME, make_order


def shipment(tracking: str, *items: tuple[str, int]) -> Shipment:
    return Shipment(
        carrier="DHL",
        tracking_number=tracking,
        shipped_at=BASE_TIME,
        lines=tuple(ShipmentLine(sku=s, quantity=q) for s, q in items),
    )


def placed(db: Database, order) -> None:
    with db.transaction() as session:
        apply_orders(session, [order], source="test", policies=POLICIES, now=BASE_TIME)


def test_partial_then_full_shipment_with_tracking_merge(database: Database) -> None:
    stock(database, {"A": 10, "B": 10})
    placed(database, make_order("1", [("A", 2), ("B", 1)]))
    first = record_shipment(database, ("shop", "1"), shipment("T1", ("A", 1)), "cli", POLICIES)
    assert first.created and first.state == "partially_shipped"
    assert on_hand(database, "A") == 9 and reserved(database, "A") == 1

    again = record_shipment(database, ("shop", "1"), shipment("T1", ("A", 1)), "webhook", POLICIES)
    assert not again.created and again.shipment_id == first.shipment_id
    assert on_hand(database, "A") == 9  # the repeat added nothing

    rest = record_shipment(database, first.order_id, shipment("T2"), "cli", POLICIES)
    assert rest.state == "shipped"
    assert on_hand(database, "A") == 8 and on_hand(database, "B") == 9
    assert reserved(database, "A") == reserved(database, "B") == 0
    assert {ln.sku: ln.shipped_quantity for ln in lines(database, first.order_id)} == {"A": 2, "B": 1}
    assert [e[1] for e in events(database, first.order_id)][-2:] == ["partially_shipped", "shipped"]

    pushes = outbox(database, ["fulfillment"])
    assert len(pushes) == 2
    assert pushes[0].payload["shipment"]["tracking_number"] == "T1"
    assert pushes[1].payload["shipment"]["lines"] == [{"sku": "A", "quantity": 1}, {"sku": "B", "quantity": 1}]
    assert pushes[1].payload["line_external_ids"] == {"A": "1-L1", "B": "1-L2"}


def test_quantities_are_checked_against_what_is_unshipped(database: Database) -> None:
    stock(database, {"A": 10})
    placed(database, make_order("2", [("A", 2)]))
    with pytest.raises(ShipmentError, match=r"order shop/2: cannot ship 3 of 'A', only 2 unshipped"):
        record_shipment(database, ("shop", "2"), shipment("T1", ("A", 3)), "cli", POLICIES)
    with pytest.raises(ShipmentError, match="no line with SKU 'Z'"):
        record_shipment(database, ("shop", "2"), shipment("T1", ("Z", 1)), "cli", POLICIES)
    assert order_row(database, "2").state == "confirmed" and on_hand(database, "A") == 10


def test_an_order_on_hold_cannot_ship(database: Database) -> None:
    placed(database, make_order("3", financial_status=FinancialStatus.PENDING))
    with pytest.raises(InvalidTransition, match="on_hold"):
        record_shipment(database, ("shop", "3"), shipment("T1"), "cli", POLICIES)


def test_a_return_restocks_moves_to_returned_and_enqueues_the_refund(database: Database) -> None:
    from channelhub.model.money import MoneyBag
    from channelhub.model.returns import Return

    stock(database, {"A": 5})
    placed(database, make_order("4", [("A", 2)]))
    record_shipment(database, ("shop", "4"), shipment("T1"), "cli", POLICIES)
    ret = Return(
        lines=(ShipmentLine(sku="A", quantity=1),),
        restock_location="WH1",
        reason="too small",
        received_at=BASE_TIME,
        refund=MoneyBag.of("10.00", "EUR"),
    )
    result = record_return(database, ("shop", "4"), ret, "cli", POLICIES, cause="RMA-1")
    assert result.state == "returned" and on_hand(database, "A") == 4
    (refund,) = outbox(database, ["refund"])
    assert refund.payload == {
        "order_external_id": "4",
        "amount": "10.00",
        "currency": "EUR",
        "reason": "too small",
        "lines": [["4-L1", 1]],
    }
    with pytest.raises(ShipmentError, match="already recorded"):
        record_return(database, ("shop", "4"), ret, "cli", POLICIES, cause="RMA-1")
    with pytest.raises(ShipmentError, match="cannot return 2 of 'A', only 1"):
        record_return(database, ("shop", "4"), ret.model_copy(update={"lines": (ShipmentLine(sku="A", quantity=2),)}),
                      "cli", POLICIES, cause="RMA-2")  # fmt: skip
    assert on_hand(database, "A") == 4
