"""reserve_lines: one conditional statement per hold, orders all-or-nothing, reasons a merchant can act on."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import event, func, insert, select
from sqlalchemy.orm import Session

from channelhub.stock import ledger
from channelhub.stock.ledger import LineRequest, ReserveOutcome
from channelhub.store import Database
from channelhub.store.tables import OrderLineRow, OrderRow, ReservationRow, StockMovementRow

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def add_orders(session: Session, orders: dict[int, list[tuple[int, str, int]]]) -> None:
    """Minimal order and line rows, which reservations reference."""
    session.execute(
        insert(OrderRow),
        [
            {
                "id": order_id,
                "channel": "shop",
                "external_id": str(order_id),
                "state": "placed",
                "financial_status": "paid",
                "currency": "EUR",
                "total": "0",
                "placed_at": NOW,
                "channel_updated_at": NOW,
                "document": {},
            }
            for order_id in orders
        ],
    )
    session.execute(
        insert(OrderLineRow),
        [
            {"id": line_id, "order_id": order_id, "external_id": str(line_id), "sku": sku, "quantity": qty}
            for order_id, lines in orders.items()
            for line_id, sku, qty in lines
        ],
    )


def requests_for(orders: dict[int, list[tuple[int, str, int]]], **kw: object) -> list[LineRequest]:
    return [
        LineRequest(order_id=o, order_line_id=line_id, sku=sku, quantity=qty, **kw)  # type: ignore[arg-type]
        for o, lines in orders.items()
        for line_id, sku, qty in lines
    ]


def stock(session: Session, sku: str, location: str, on_hand: int, priority: int = 0) -> None:
    ledger.ensure_location(session, location, priority=priority)
    ledger.set_on_hand(session, sku, location, on_hand, reason="count")


def level(session: Session, sku: str, location: str) -> tuple[int, int]:
    found = [lv for lv in ledger.levels(session, sku) if lv.location == location]
    return (found[0].on_hand, found[0].reserved)


def reserve(database: Database, orders: dict[int, list[tuple[int, str, int]]], **kw: object) -> list[ReserveOutcome]:
    with database.transaction() as s:
        add_orders(s, orders)
        return ledger.reserve_lines(s, requests_for(orders, **kw))


def test_reserves_every_line_and_records_reservations_and_movements(database: Database) -> None:
    with database.transaction() as s:
        stock(s, "A", "main", 10)
        stock(s, "B", "main", 5)
    outcomes = reserve(database, {1: [(11, "A", 3), (12, "B", 2)], 2: [(21, "A", 4)]})
    assert outcomes == [
        ReserveOutcome(1, ok=True, skus=frozenset({"A", "B"})),
        ReserveOutcome(2, ok=True, skus=frozenset({"A"})),
    ]
    with database.transaction() as s:
        assert level(s, "A", "main") == (10, 7)
        assert level(s, "B", "main") == (5, 2)
        rows = s.execute(select(ReservationRow.order_line_id, ReservationRow.quantity, ReservationRow.state)).all()
        assert sorted(rows) == [(11, 3, "reserved"), (12, 2, "reserved"), (21, 4, "reserved")]
        moves = ledger.movements_for(s, order_id=1)
        assert sorted((m.sku, m.kind, m.delta_reserved, m.delta_on_hand) for m in moves) == [
            ("A", "reserve", 3, 0),
            ("B", "reserve", 2, 0),
        ]


def test_order_is_all_or_nothing_and_says_what_is_short(database: Database) -> None:
    with database.transaction() as s:
        stock(s, "A", "main", 10)
        stock(s, "B", "main", 1)
    [outcome] = reserve(database, {1: [(11, "A", 3), (12, "B", 3)]})
    assert outcome == ReserveOutcome(1, ok=False, reason="short stock for 'B': need 3, available 1")
    with database.transaction() as s:
        assert level(s, "A", "main") == (10, 0)  # line 11 was undone
        assert level(s, "B", "main") == (1, 0)
        assert s.scalar(select(func.count()).select_from(ReservationRow)) == 0
        assert ledger.movements_for(s, order_id=1) == []


def test_unknown_sku_holds_the_order_naming_it(database: Database) -> None:
    with database.transaction() as s:
        stock(s, "A", "main", 10)
    [outcome] = reserve(database, {1: [(11, "A", 1), (12, "NOPE", 1)]})
    assert not outcome.ok
    assert outcome.reason == "unknown SKU 'NOPE'"
    with database.transaction() as s:
        assert level(s, "A", "main") == (10, 0)


def test_a_held_order_does_not_stop_the_others_in_the_call(database: Database) -> None:
    with database.transaction() as s:
        stock(s, "A", "main", 5)
    outcomes = reserve(database, {1: [(11, "A", 3)], 2: [(21, "A", 3)], 3: [(31, "A", 2)]})
    # First come, first served in request order: 3 + 2 fit, the 3 in between does not.
    assert [(o.order_id, o.ok) for o in outcomes] == [(1, True), (2, False), (3, True)]
    assert outcomes[1].reason == "short stock for 'A': need 3, available 2"
    with database.transaction() as s:
        assert level(s, "A", "main") == (5, 5)


def test_locations_by_priority_then_code_and_a_line_is_never_split(database: Database) -> None:
    with database.transaction() as s:
        stock(s, "A", "zeta", 2, priority=0)
        stock(s, "A", "alpha", 2, priority=1)
        stock(s, "A", "beta", 5, priority=1)
    outcomes = reserve(database, {1: [(11, "A", 2)], 2: [(21, "A", 3)], 3: [(31, "A", 2)], 4: [(41, "A", 3)]})
    assert [o.ok for o in outcomes] == [True, True, True, False]
    assert outcomes[3].reason == "short stock for 'A': need 3, available 2"
    with database.transaction() as s:
        placed = dict(s.execute(select(ReservationRow.order_line_id, ReservationRow.location)).all())
        assert placed == {11: "zeta", 21: "beta", 31: "alpha"}


def test_split_stock_reason_says_lines_are_not_split(database: Database) -> None:
    with database.transaction() as s:
        stock(s, "A", "one", 2)
        stock(s, "A", "two", 2)
    [outcome] = reserve(database, {1: [(11, "A", 3)]})
    assert outcome.reason == (
        "short stock for 'A': need 3, available 4 across locations (a line is reserved whole at one location)"
    )


def test_allowed_locations_restrict_where_a_line_is_served(database: Database) -> None:
    with database.transaction() as s:
        stock(s, "A", "main", 10, priority=0)
        stock(s, "A", "store", 1, priority=1)
    outcomes = reserve(database, {1: [(11, "A", 1)], 2: [(21, "A", 1)]}, locations=("store",))
    assert [o.ok for o in outcomes] == [True, False]
    assert outcomes[1].reason == "short stock for 'A': need 1, available 0"
    with database.transaction() as s:
        assert level(s, "A", "store") == (1, 1)
        assert level(s, "A", "main") == (10, 0)


def test_reserving_the_same_lines_twice_holds_stock_once(database: Database) -> None:
    with database.transaction() as s:
        stock(s, "A", "main", 10)
    reserve(database, {1: [(11, "A", 3)]})
    with database.transaction() as s:
        [again] = ledger.reserve_lines(s, [LineRequest(1, 11, "A", 3)])
        assert again == ReserveOutcome(1, ok=True, skus=frozenset())
        assert level(s, "A", "main") == (10, 3)


def test_released_lines_can_reserve_again(database: Database) -> None:
    with database.transaction() as s:
        stock(s, "A", "main", 10)
    reserve(database, {1: [(11, "A", 3)]})
    with database.transaction() as s:
        ledger.release_order(s, 1, reason="hold")
        [again] = ledger.reserve_lines(s, [LineRequest(1, 11, "A", 3)])
        assert again.ok and again.skus == {"A"}
        assert level(s, "A", "main") == (10, 3)


def test_fast_and_per_order_paths_mix_without_changing_the_result(database: Database) -> None:
    # A is plentiful (fast path), B is short (per-order path); order 2 touches both.
    with database.transaction() as s:
        stock(s, "A", "main", 100)
        stock(s, "B", "main", 2)
    orders = {
        1: [(11, "A", 5)],
        2: [(21, "A", 5), (22, "B", 2)],
        3: [(31, "B", 1)],
        4: [(41, "A", 1), (42, "A", 1)],
    }
    outcomes = reserve(database, orders)
    assert [o.ok for o in outcomes] == [True, True, False, True]
    assert outcomes[2].reason == "short stock for 'B': need 1, available 0"
    with database.transaction() as s:
        assert level(s, "A", "main") == (100, 12)
        assert level(s, "B", "main") == (2, 2)
        moves = s.execute(select(func.sum(StockMovementRow.delta_reserved))).scalar()
        assert moves == 14


def test_zero_quantity_lines_hold_nothing_and_negative_ones_are_refused(database: Database) -> None:
    with database.transaction() as s:
        stock(s, "A", "main", 1)
    [outcome] = reserve(database, {1: [(11, "A", 0)]})
    assert outcome == ReserveOutcome(1, ok=True)
    with database.transaction() as s, pytest.raises(ValueError, match="order 2 line 21: negative quantity -1"):
        ledger.reserve_lines(s, [LineRequest(2, 21, "A", -1)])


def test_the_conditional_statement_stops_oversell_not_the_check_constraint(database: Database) -> None:
    """A short order is a clean outcome: no statement failed (PostgreSQL would abort the transaction)."""
    with database.transaction() as s:
        stock(s, "A", "main", 2)
    errors: list[BaseException] = []
    event.listen(database.engine, "handle_error", lambda ctx: errors.append(ctx.original_exception))
    with database.transaction() as s:
        add_orders(s, {1: [(11, "A", 3)], 2: [(21, "A", 2)]})
        [short] = ledger.reserve_lines(s, [LineRequest(1, 11, "A", 3)])
        assert short.reason == "short stock for 'A': need 3, available 2"
        # The same transaction goes on working, so nothing hit the CHECK and nothing was rolled back.
        [ok] = ledger.reserve_lines(s, [LineRequest(2, 21, "A", 2)])
        assert ok.ok
    assert errors == []
    with database.transaction() as s:
        assert level(s, "A", "main") == (2, 2)


def test_covered_demand_takes_one_update_per_sku_and_location(database: Database) -> None:
    with database.transaction() as s:
        stock(s, "A", "main", 1000)
        stock(s, "B", "main", 1000)
        stock(s, "B", "other", 1000, priority=5)
    orders = {n: [(10 * n + 1, "A", 2), (10 * n + 2, "B", 1)] for n in range(1, 201)}
    updates: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("UPDATE STOCK_LEVELS"):
            # One conditional statement per (sku, location) total: an executemany counts once per parameter set.
            updates.extend([statement] * (len(parameters) if executemany else 1))

    event.listen(database.engine, "before_cursor_execute", count)
    outcomes = reserve(database, orders)
    event.remove(database.engine, "before_cursor_execute", count)
    assert all(o.ok for o in outcomes) and len(outcomes) == 200
    assert len(updates) == 2
    with database.transaction() as s:
        assert level(s, "A", "main") == (1000, 400)
        assert level(s, "B", "main") == (1000, 200)
        assert s.scalar(select(func.count()).select_from(ReservationRow)) == 400


def test_a_stale_plan_never_oversells(database: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    """The call decides from the figures it read, but the guarded statement has the last word: when those figures
    are stale (as if a writer had slipped past the locks), nothing oversells and the per-line path decides."""
    from channelhub.stock import reserve as reserve_module

    with database.transaction() as s:
        stock(s, "A", "main", 5)
        stock(s, "B", "main", 100)
    real_read_plan = reserve_module._read_plan

    def inflated(session, skus):  # type: ignore[no-untyped-def]
        plan = real_read_plan(session, skus)
        plan.available = {key: avail + 1000 for key, avail in plan.available.items()}  # believes A has 1005
        return plan

    monkeypatch.setattr(reserve_module, "_read_plan", inflated)
    outcomes = reserve(database, {1: [(11, "A", 3), (12, "B", 1)], 2: [(21, "A", 3), (22, "B", 1)]})

    assert [o.ok for o in outcomes] == [True, False]
    assert outcomes[1].reason.startswith("short stock for 'A': need 3, available 2")
    with database.transaction() as s:
        assert level(s, "A", "main") == (5, 3)
        assert level(s, "B", "main") == (100, 1)  # order 2's B line was given back with the order
        assert s.scalar(select(func.count()).select_from(ReservationRow)) == 2
