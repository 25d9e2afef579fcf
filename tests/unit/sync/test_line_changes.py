"""An order update that changes lines re-plans the reservation in the same transaction (defect 5).

Before: a confirmed order re-sent with quantity 2 -> 7 and a new price changed the stored document and total,
but order_lines and the reservation stayed at 2, with no event. The same updated_at with other content changed
nothing, silently.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sync_helpers import POLICIES, lines, order_row, reserved, stock

from channelhub.model.money import MoneyBag
from channelhub.model.orders import OrderLine, Totals
from channelhub.model.shipments import Shipment, ShipmentLine
from channelhub.store import Database
from channelhub.store.tables import OrderEventRow
from channelhub.sync.apply import apply_orders
from channelhub.testing.engine import ship
from channelhub.testing.fakes import BASE_TIME, make_order


def apply(db: Database, *orders):
    with db.transaction() as session:
        return apply_orders(session, list(orders), source="test", policies=POLICIES, now=BASE_TIME)


def version(order, hours: int, lines_: list[tuple[str, str, int]], price: str = "10.00"):
    """`order` as the channel re-sends it `hours` later with these (line id, sku, quantity) lines."""
    new_lines = tuple(
        OrderLine(external_id=ext, sku=sku, quantity=qty, unit_price=MoneyBag.of(price, "EUR"))
        for ext, sku, qty in lines_
    )
    total = sum(qty for _, _, qty in lines_) * MoneyBag.of(price, "EUR").shop.amount
    return order.model_copy(
        update={
            "updated_at": order.updated_at + timedelta(hours=hours),
            "lines": new_lines,
            "totals": Totals(total=MoneyBag.of(total, "EUR")),
        }
    )


def reasons(db: Database, order_id: int) -> list[str]:
    with db.transaction() as session:
        return list(
            session.scalars(
                select(OrderEventRow.reason).where(OrderEventRow.order_id == order_id).order_by(OrderEventRow.id)
            )
        )


def test_a_larger_quantity_is_reserved_and_recorded(database: Database) -> None:
    stock(database, {"A": 10})
    order = make_order("1", [("A", 2)])
    apply(database, order)
    apply(database, version(order, 1, [("1-L1", "A", 7)], price="12.00"))
    row = order_row(database, "1")
    assert row.state == "confirmed" and row.total == "84.00"
    assert [(ln.sku, ln.quantity) for ln in lines(database, row.id)] == [("A", 7)]
    assert reserved(database, "A") == 7
    assert "lines changed at the channel: line 1-L1 (A): 2 -> 7; stock re-reserved" in reasons(database, row.id)


def test_a_smaller_quantity_a_removed_line_and_a_new_line_re_plan_together(database: Database) -> None:
    stock(database, {"A": 10, "B": 5, "C": 5})
    order = make_order("2", [("A", 4), ("B", 2)])
    apply(database, order)
    apply(database, version(order, 1, [("2-L1", "A", 1), ("2-L3", "C", 3)]))
    row = order_row(database, "2")
    assert row.state == "confirmed"
    assert sorted((ln.external_id, ln.sku, ln.quantity) for ln in lines(database, row.id)) == [
        ("2-L1", "A", 1),
        ("2-L2", "B", 0),  # kept with quantity 0, so its reservation and movements stay linked
        ("2-L3", "C", 3),
    ]
    assert (reserved(database, "A"), reserved(database, "B"), reserved(database, "C")) == (1, 0, 3)
    summary = next(r for r in reasons(database, row.id) if r.startswith("lines changed"))
    assert "line 2-L1 (A): 4 -> 1" in summary and "line 2-L2 (B x2) removed" in summary
    assert "line 2-L3 (C x3) added" in summary


def test_a_changed_sku_moves_the_reservation(database: Database) -> None:
    stock(database, {"A": 5, "B": 5})
    order = make_order("3", [("A", 2)])
    apply(database, order)
    apply(database, version(order, 1, [("3-L1", "B", 2)]))
    assert (reserved(database, "A"), reserved(database, "B")) == (0, 2)
    assert order_row(database, "3").state == "confirmed"


def test_more_than_is_free_holds_the_order_with_the_reason_and_releases_everything(database: Database) -> None:
    stock(database, {"A": 5, "B": 5})
    order = make_order("4", [("A", 2), ("B", 1)])
    apply(database, order)
    apply(database, version(order, 1, [("4-L1", "A", 9), ("4-L2", "B", 1)]))
    row = order_row(database, "4")
    assert (row.state, row.hold_kind) == ("on_hold", "stock")
    assert row.hold_reason == "short stock for 'A': need 9, available 5"
    assert reserved(database, "A") == reserved(database, "B") == 0  # a held order holds nothing
    # When the stock arrives, the order is reserved at its new quantities.
    from channelhub.testing.engine import release_holds

    stock(database, {"A": 9})
    release_holds(database, POLICIES, ["A"])
    assert order_row(database, "4").state == "confirmed"
    assert (reserved(database, "A"), reserved(database, "B")) == (9, 1)


def test_lines_of_an_order_on_hold_are_taken_as_they_are(database: Database) -> None:
    stock(database, {"A": 1})
    order = make_order("5", [("A", 3)])
    apply(database, order)
    assert order_row(database, "5").state == "on_hold"
    apply(database, version(order, 1, [("5-L1", "A", 1)]))
    assert order_row(database, "5").state == "confirmed" and reserved(database, "A") == 1


def test_a_change_after_shipping_began_is_a_conflict_and_changes_no_stock(database: Database) -> None:
    stock(database, {"A": 10})
    order = make_order("6", [("A", 3)])
    apply(database, order)
    first = Shipment(
        carrier="DHL", tracking_number="T1", shipped_at=BASE_TIME, lines=(ShipmentLine(sku="A", quantity=1),)
    )
    ship(database, ("shop", "6"), first, "test", POLICIES)
    report = apply(database, version(order, 1, [("6-L1", "A", 7)]))
    row = order_row(database, "6")
    assert row.state == "partially_shipped" and reserved(database, "A") == 2
    assert [(ln.quantity, ln.shipped_quantity) for ln in lines(database, row.id)] == [(3, 1)]
    assert report.conflicts and "changed lines after shipping began" in report.conflicts[0]
    assert any(
        r.startswith("conflict: the channel changed lines after shipping began") for r in reasons(database, row.id)
    )


def test_the_same_updated_at_with_other_content_is_a_recorded_conflict(database: Database) -> None:
    stock(database, {"A": 10})
    order = make_order("7", [("A", 2)])
    apply(database, order)
    same_time = version(order, 0, [("7-L1", "A", 5)])
    report = apply(database, same_time)
    assert report.conflicts and "same updated_at" in report.conflicts[0]
    assert reserved(database, "A") == 2  # the stored version was kept
    assert any(
        "conflict: a version with the same updated_at" in r for r in reasons(database, order_row(database, "7").id)
    )
    # The very same content again is no conflict.
    assert apply(database, order).conflicts == []
