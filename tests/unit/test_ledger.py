"""Manual changes, release, commit and restock: every change recorded, never below what is reserved."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from channelhub.errors import InsufficientStock, StockError, UnknownLocation, UnknownSku
from channelhub.model.stock import StockLevel
from channelhub.stock import ledger
from channelhub.stock.ledger import LineRequest
from channelhub.store import Database
from channelhub.store.tables import LocationRow, OrderLineRow, OrderRow, ReservationRow, SkuRow

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def add_order(session: Session, order_id: int, lines: list[tuple[int, str, int]]) -> None:
    session.execute(
        insert(OrderRow).values(
            id=order_id,
            channel="shop",
            external_id=str(order_id),
            state="placed",
            financial_status="paid",
            currency="EUR",
            total="0",
            placed_at=NOW,
            channel_updated_at=NOW,
            document={},
        )
    )
    for line_id, sku, qty in lines:
        session.execute(
            insert(OrderLineRow).values(id=line_id, order_id=order_id, external_id=str(line_id), sku=sku, quantity=qty)
        )


def reserved_order(database: Database, order_id: int, lines: list[tuple[int, str, int]]) -> None:
    with database.transaction() as s:
        add_order(s, order_id, lines)
        [outcome] = ledger.reserve_lines(s, [LineRequest(order_id, lid, sku, q) for lid, sku, q in lines])
        assert outcome.ok, outcome.reason


def level(session: Session, sku: str, location: str = "main") -> tuple[int, int]:
    [found] = [lv for lv in ledger.levels(session, sku) if lv.location == location]
    return found.on_hand, found.reserved


def reservations(session: Session, order_id: int) -> list[tuple[int, str, int, str]]:
    rows = session.execute(
        select(ReservationRow.order_line_id, ReservationRow.location, ReservationRow.quantity, ReservationRow.state)
        .where(ReservationRow.order_id == order_id)
        .order_by(ReservationRow.id)
    )
    return [tuple(r) for r in rows]  # type: ignore[misc]


@pytest.fixture(autouse=True)
def declared_locations(database: Database) -> None:
    """The locations the config would declare (the hub writes them to the ledger when it opens)."""
    with database.transaction() as s:
        ledger.declare_locations(s, [("main", "Main", 0), ("a", "", 0), ("z", "", 0)])


# --- catalogue and manual changes -------------------------------------------------------------------------


def test_first_stock_load_creates_the_sku_and_an_undeclared_location_is_refused(database: Database) -> None:
    with database.transaction() as s:
        change = ledger.set_on_hand(s, "NEW", "main", 7, reason="initial load")
        assert (change.skus, change.freed, len(change.movements)) == ({"NEW"}, {"NEW"}, 1)
    with database.transaction() as s, pytest.raises(UnknownLocation, match=r"'nowhere' \(declared: a, main, z\)"):
        ledger.set_on_hand(s, "NEW", "nowhere", 5, reason="a typo")
    with database.transaction() as s, pytest.raises(UnknownLocation, match="'nowhere'"):
        ledger.adjust_on_hand(s, "NEW", "nowhere", 5, reason="a typo")
    with database.transaction() as s:
        assert s.get(SkuRow, "NEW") is not None
        assert s.get(LocationRow, "nowhere") is None
        assert ledger.levels(s) == [StockLevel(sku="NEW", location="main", on_hand=7, reserved=0)]
        [move] = ledger.movements_for(s, "NEW")
        assert (move.kind, move.delta_on_hand, move.reason) == ("set", 7, "initial load")


def test_ensure_keeps_existing_rows(database: Database) -> None:
    with database.transaction() as s:
        ledger.ensure_sku(s, "A", title="Mug", safety_stock=2)
        ledger.ensure_location(s, "far", name="Far", priority=3)
    with database.transaction() as s:
        sku = ledger.ensure_sku(s, "A", title="other", safety_stock=9)
        loc = ledger.ensure_location(s, "far", name="x", priority=0)
        assert (sku.title, sku.safety_stock) == ("Mug", 2)
        assert (loc.name, loc.priority) == ("Far", 3)
        assert ledger.set_safety_stock(s, "A", 4).skus == {"A"}
    with database.transaction() as s, pytest.raises(UnknownSku, match="'B'"):
        ledger.set_safety_stock(s, "B", 1)


def test_set_and_adjust_record_the_differences(database: Database) -> None:
    with database.transaction() as s:
        ledger.set_on_hand(s, "A", "main", 10, reason="count")
        assert ledger.adjust_on_hand(s, "A", "main", -3, reason="damaged").skus == {"A"}
        assert ledger.set_on_hand(s, "A", "main", 7, reason="recount").skus == set()  # unchanged: nothing to publish
        assert ledger.set_on_hand(s, "A", "main", 4, reason="recount").skus == {"A"}
        assert ledger.adjust_on_hand(s, "A", "main", 0, reason="noop").skus == set()
    with database.transaction() as s:
        assert level(s, "A") == (4, 0)
        moves = [(m.kind, m.delta_on_hand, m.reason) for m in ledger.movements_for(s, "A")]
        assert moves == [("set", 10, "count"), ("adjust", -3, "damaged"), ("set", 0, "recount"), ("set", -3, "recount")]


def test_setting_below_reserved_is_refused_naming_sku_location_and_reserved(database: Database) -> None:
    with database.transaction() as s:
        ledger.set_on_hand(s, "A", "main", 5, reason="count")
    reserved_order(database, 1, [(11, "A", 3)])
    with database.transaction() as s, pytest.raises(InsufficientStock) as refused:
        ledger.set_on_hand(s, "A", "main", 2, reason="count")
    assert (
        "'A'" in str(refused.value) and "'main'" in str(refused.value) and "3 units are reserved" in str(refused.value)
    )
    with database.transaction() as s, pytest.raises(InsufficientStock, match="5 on hand, 3 units reserved"):
        ledger.adjust_on_hand(s, "A", "main", -3, reason="theft")
    with database.transaction() as s:
        assert level(s, "A") == (5, 3)
        ledger.set_on_hand(s, "A", "main", 3, reason="count")  # exactly the reserved units is allowed
        assert level(s, "A") == (3, 3)


def test_on_hand_never_below_zero(database: Database) -> None:
    with database.transaction() as s:
        ledger.set_on_hand(s, "A", "main", 2, reason="count")
    with database.transaction() as s, pytest.raises(InsufficientStock, match="must not be negative"):
        ledger.set_on_hand(s, "A", "main", -1, reason="count")
    with database.transaction() as s, pytest.raises(InsufficientStock, match="'A' at 'main' by -3"):
        ledger.adjust_on_hand(s, "A", "main", -3, reason="count")
    with database.transaction() as s:
        assert level(s, "A") == (2, 0)


def test_changes_need_a_reason(database: Database) -> None:
    with database.transaction() as s, pytest.raises(ValueError, match="needs a reason"):
        ledger.set_on_hand(s, "A", "main", 2, reason=" ")


# --- release ------------------------------------------------------------------------------------------------


def test_release_returns_reserved_units_and_is_idempotent(database: Database) -> None:
    with database.transaction() as s:
        ledger.set_on_hand(s, "A", "main", 5, reason="count")
        ledger.set_on_hand(s, "B", "main", 5, reason="count")
    reserved_order(database, 1, [(11, "A", 2), (12, "B", 1), (13, "A", 1)])
    with database.transaction() as s:
        assert ledger.release_order(s, 1, reason="cancelled").skus == {"A", "B"}
    with database.transaction() as s:
        assert ledger.release_order(s, 1, reason="cancelled again").skus == set()
    with database.transaction() as s:
        assert level(s, "A") == (5, 0) and level(s, "B") == (5, 0)
        assert {state for *_, state in reservations(s, 1)} == {"released"}
        releases = [m for m in ledger.movements_for(s, order_id=1) if m.kind == "release"]
        assert sorted((m.sku, m.delta_reserved) for m in releases) == [("A", -3), ("B", -1)]


def test_release_leaves_committed_units_alone(database: Database) -> None:
    with database.transaction() as s:
        ledger.set_on_hand(s, "A", "main", 5, reason="count")
    reserved_order(database, 1, [(11, "A", 3)])
    with database.transaction() as s:
        ledger.commit_lines(s, 1, {"A": 2}, reason="shipped 1Z1")
        assert ledger.release_order(s, 1, reason="rest cancelled").skus == {"A"}
    with database.transaction() as s:
        assert level(s, "A") == (3, 0)
        assert sorted(state for *_, state in reservations(s, 1)) == ["committed", "released"]


# --- commit -------------------------------------------------------------------------------------------------


def test_partial_commit_splits_the_reservation(database: Database) -> None:
    with database.transaction() as s:
        ledger.set_on_hand(s, "A", "main", 10, reason="count")
    reserved_order(database, 1, [(11, "A", 5)])
    with database.transaction() as s:
        assert ledger.commit_lines(s, 1, {"A": 2}, reason="shipment 1Z1").skus == {"A"}
    with database.transaction() as s:
        assert level(s, "A") == (8, 3)
        assert reservations(s, 1) == [(11, "main", 3, "reserved"), (11, "main", 2, "committed")]
        ledger.commit_lines(s, 1, {"A": 3}, reason="shipment 1Z2")
    with database.transaction() as s:
        assert level(s, "A") == (5, 0)
        assert sorted(reservations(s, 1)) == [(11, "main", 2, "committed"), (11, "main", 3, "committed")]
        commits = [(m.delta_on_hand, m.delta_reserved) for m in ledger.movements_for(s, "A") if m.kind == "commit"]
        assert commits == [(-2, -2), (-3, -3)]


def test_commit_spans_reservations_oldest_first(database: Database) -> None:
    with database.transaction() as s:
        ledger.ensure_location(s, "near", priority=0)
        ledger.ensure_location(s, "far", priority=1)
        ledger.set_on_hand(s, "A", "near", 2, reason="count")
        ledger.set_on_hand(s, "A", "far", 5, reason="count")
    reserved_order(database, 1, [(11, "A", 2), (12, "A", 3)])
    with database.transaction() as s:
        ledger.commit_lines(s, 1, {"A": 4}, reason="shipment")
    with database.transaction() as s:
        assert level(s, "A", "near") == (0, 0)
        assert level(s, "A", "far") == (3, 1)


def test_shipping_more_than_reserved_is_refused_and_changes_nothing(database: Database) -> None:
    with database.transaction() as s:
        ledger.set_on_hand(s, "A", "main", 10, reason="count")
        ledger.set_on_hand(s, "B", "main", 10, reason="count")
    reserved_order(database, 1, [(11, "A", 2), (12, "B", 1)])
    with (
        database.transaction() as s,
        pytest.raises(InsufficientStock, match=r"order 1: cannot ship 2 of 'B': only 1 reserved"),
    ):
        ledger.commit_lines(s, 1, {"A": 2, "B": 2}, reason="shipment")
    with database.transaction() as s, pytest.raises(InsufficientStock, match="'C'"):
        ledger.commit_lines(s, 1, {"C": 1}, reason="shipment")
    with database.transaction() as s:
        assert level(s, "A") == (10, 2) and level(s, "B") == (10, 1)


# --- restock ------------------------------------------------------------------------------------------------


def test_restock_adds_on_hand_and_ties_the_movement_to_the_order(database: Database) -> None:
    with database.transaction() as s:
        ledger.set_on_hand(s, "A", "main", 1, reason="count")
        ledger.ensure_location(s, "returns")
    reserved_order(database, 1, [(11, "A", 1)])
    with database.transaction() as s:
        ledger.commit_lines(s, 1, {"A": 1}, reason="shipped")
        assert ledger.restock(s, "A", "returns", 1, reason="return RMA-7", order_id=1).skus == {"A"}
    with database.transaction() as s:
        assert level(s, "A", "returns") == (1, 0)
        [move] = [m for m in ledger.movements_for(s, "A", location="returns")]
        assert (move.kind, move.delta_on_hand, move.order_id) == ("restock", 1, 1)


def test_restock_refuses_unknown_sku_or_location(database: Database) -> None:
    with database.transaction() as s:
        ledger.set_on_hand(s, "A", "main", 1, reason="count")
    with database.transaction() as s, pytest.raises(UnknownSku, match="'X'"):
        ledger.restock(s, "X", "main", 1, reason="return")
    with database.transaction() as s, pytest.raises(StockError, match="unknown location 'nowhere'"):
        ledger.restock(s, "A", "nowhere", 1, reason="return")
    with database.transaction() as s, pytest.raises(ValueError, match="positive"):
        ledger.restock(s, "A", "main", 0, reason="return")


def test_levels_filter_and_order(database: Database) -> None:
    with database.transaction() as s:
        ledger.set_on_hand(s, "B", "main", 1, reason="count")
        ledger.set_on_hand(s, "A", "z", 2, reason="count")
        ledger.set_on_hand(s, "A", "a", 3, reason="count")
    with database.transaction() as s:
        assert [(lv.sku, lv.location, lv.available) for lv in ledger.levels(s)] == [
            ("A", "a", 3),
            ("A", "z", 2),
            ("B", "main", 1),
        ]
        assert [lv.location for lv in ledger.levels(s, "A")] == ["a", "z"]
        assert len(ledger.movements_for(s, limit=2)) == 2
