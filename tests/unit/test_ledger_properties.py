"""Any interleaving of ledger operations keeps the books straight, on SQLite and PostgreSQL.

A plain-Python model predicts every outcome (which orders reserve, where each line goes, which changes are
refused); after every step the database must match it, available and reserved must be >= 0, and on_hand and
reserved must equal the sums of the recorded movements for every (sku, location).
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from datetime import UTC, datetime

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule, run_state_machine_as_test
from sqlalchemy import delete, func, insert, select

from channelhub.errors import InsufficientStock
from channelhub.stock import ledger
from channelhub.stock.ledger import LineRequest
from channelhub.store import Database
from channelhub.store.tables import (
    LocationRow,
    OrderLineRow,
    OrderRow,
    OutboxRow,
    ReservationRow,
    SkuRow,
    StockLevelRow,
    StockMovementRow,
)

NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)
KNOWN = ("A", "B")
LOCATIONS = (("near", 0), ("far", 1))  # reservation order
PLACES = tuple(code for code, _ in LOCATIONS)

# Mostly known SKUs: an unknown one holds the whole order, which says little after the first time.
sku_strategy = st.sampled_from(KNOWN * 5 + ("UNKNOWN",))
order_strategy = st.lists(st.tuples(sku_strategy, st.integers(1, 4)), min_size=1, max_size=3)


def _reset(database: Database) -> None:
    with database.transaction() as s:
        for table in (OutboxRow, StockMovementRow, ReservationRow, StockLevelRow, OrderLineRow, OrderRow):
            s.execute(delete(table))
        s.execute(delete(SkuRow))
        s.execute(delete(LocationRow))
        for code, priority in LOCATIONS:
            ledger.ensure_location(s, code, priority=priority)
        for sku in KNOWN:
            ledger.ensure_sku(s, sku)


def test_ledger_keeps_its_invariants_under_any_interleaving(database: Database) -> None:
    order_ids = itertools.count(1)

    class LedgerMachine(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            _reset(database)
            # (sku, location) -> [on_hand, reserved]; a key exists once the level row does.
            self.levels: dict[tuple[str, str], list[int]] = {}
            # order -> reservation rows in id order: [sku, location, quantity, state]
            self.reservations: dict[int, list[list[object]]] = defaultdict(list)

        # --- model helpers ---------------------------------------------------------------------------------

        def _available(self, sku: str, location: str) -> int:
            on_hand, reserved = self.levels[(sku, location)]
            return on_hand - reserved

        def _expect_order(self, lines: list[tuple[str, int]]) -> list[str] | None:
            """Locations the model puts each line at, or None when the order is held."""
            if any(sku not in KNOWN for sku, _ in lines):
                return None
            taken: dict[tuple[str, str], int] = defaultdict(int)
            placed = []
            for sku, qty in lines:
                spot = next(
                    (
                        loc
                        for loc in PLACES
                        if (sku, loc) in self.levels and self._available(sku, loc) - taken[(sku, loc)] >= qty
                    ),
                    None,
                )
                if spot is None:
                    return None
                taken[(sku, spot)] += qty
                placed.append(spot)
            return placed

        # --- rules -----------------------------------------------------------------------------------------

        @rule(batch=st.lists(order_strategy, min_size=1, max_size=4))
        def reserve(self, batch: list[list[tuple[str, int]]]) -> None:
            ids = [next(order_ids) for _ in batch]
            requests = [
                LineRequest(order_id, order_id * 10 + n, sku, qty)
                for order_id, lines in zip(ids, batch, strict=True)
                for n, (sku, qty) in enumerate(lines)
            ]
            with database.transaction() as s:
                s.execute(
                    insert(OrderRow),
                    [
                        {
                            "id": order_id,
                            "channel": "prop",
                            "external_id": str(order_id),
                            "state": "placed",
                            "financial_status": "paid",
                            "currency": "EUR",
                            "total": "0",
                            "placed_at": NOW,
                            "channel_updated_at": NOW,
                            "document": {},
                        }
                        for order_id in ids
                    ],
                )
                s.execute(
                    insert(OrderLineRow),
                    [
                        {
                            "id": r.order_line_id,
                            "order_id": r.order_id,
                            "external_id": str(r.order_line_id),
                            "sku": r.sku,
                            "quantity": 1,
                        }
                        for r in requests
                    ],
                )
                outcomes = ledger.reserve_lines(s, requests)
            assert [o.order_id for o in outcomes] == ids
            for order_id, lines, outcome in zip(ids, batch, outcomes, strict=True):
                placed = self._expect_order(lines)
                assert outcome.ok == (placed is not None), (lines, outcome)
                if placed is None:
                    assert outcome.reason.startswith(("unknown SKU", "short stock for"))
                    continue
                for (sku, qty), loc in zip(lines, placed, strict=True):
                    self.levels[(sku, loc)][1] += qty
                    self.reservations[order_id].append([sku, loc, qty, "reserved"])

        @precondition(lambda self: bool(self.reservations))
        @rule(data=st.data())
        def release(self, data: st.DataObject) -> None:
            order_id = data.draw(st.sampled_from(sorted(self.reservations)))
            with database.transaction() as s:
                changed = ledger.release_order(s, order_id, reason="cancelled").skus
            expected = set()
            for row in self.reservations[order_id]:
                if row[3] == "reserved":
                    self.levels[(row[0], row[1])][1] -= row[2]  # type: ignore[index,operator]
                    row[3] = "released"
                    expected.add(row[0])
            assert changed == expected

        @precondition(lambda self: bool(self.reservations))
        @rule(data=st.data(), sku=st.sampled_from(KNOWN), qty=st.integers(1, 5))
        def commit(self, data: st.DataObject, sku: str, qty: int) -> None:
            order_id = data.draw(st.sampled_from(sorted(self.reservations)))
            rows = self.reservations[order_id]
            held = sum(r[2] for r in rows if r[0] == sku and r[3] == "reserved")  # type: ignore[misc]
            try:
                with database.transaction() as s:
                    ledger.commit_lines(s, order_id, {sku: qty}, reason="shipped")
            except InsufficientStock:
                assert held < qty
                return
            assert held >= qty
            remaining = qty
            for row in list(rows):
                if remaining == 0 or row[0] != sku or row[3] != "reserved":
                    continue
                take = min(row[2], remaining)  # type: ignore[type-var]
                remaining -= take
                level = self.levels[(sku, row[1])]  # type: ignore[index]
                level[0] -= take
                level[1] -= take
                if take == row[2]:
                    row[3] = "committed"
                else:
                    row[2] -= take  # type: ignore[operator]
                    rows.append([sku, row[1], take, "committed"])

        @rule(sku=st.sampled_from(KNOWN), loc=st.sampled_from(PLACES), qty=st.integers(1, 5))
        def restock(self, sku: str, loc: str, qty: int) -> None:
            with database.transaction() as s:
                ledger.restock(s, sku, loc, qty, reason="return")
            self.levels.setdefault((sku, loc), [0, 0])[0] += qty

        @rule(sku=st.sampled_from(KNOWN), loc=st.sampled_from(PLACES), qty=st.integers(0, 8))
        def set_on_hand(self, sku: str, loc: str, qty: int) -> None:
            reserved = self.levels.get((sku, loc), [0, 0])[1]
            try:
                with database.transaction() as s:
                    ledger.set_on_hand(s, sku, loc, qty, reason="count")
            except InsufficientStock:
                assert qty < reserved
                return
            assert qty >= reserved
            self.levels[(sku, loc)] = [qty, reserved]

        @rule(sku=st.sampled_from(KNOWN), loc=st.sampled_from(PLACES), delta=st.integers(-4, 4))
        def adjust(self, sku: str, loc: str, delta: int) -> None:
            on_hand, reserved = self.levels.get((sku, loc), [0, 0])
            try:
                with database.transaction() as s:
                    ledger.adjust_on_hand(s, sku, loc, delta, reason="adjust")
            except InsufficientStock:
                assert on_hand + delta < reserved
                return
            assert on_hand + delta >= reserved
            if delta:
                self.levels[(sku, loc)] = [on_hand + delta, reserved]

        # --- invariants ------------------------------------------------------------------------------------

        @invariant()
        def books_balance(self) -> None:
            with database.transaction() as s:
                stored = {(lv.sku, lv.location): [lv.on_hand, lv.reserved] for lv in ledger.levels(s)}
                sums = {
                    (sku, loc): [on_hand, reserved]
                    for sku, loc, on_hand, reserved in s.execute(
                        select(
                            StockMovementRow.sku,
                            StockMovementRow.location,
                            func.sum(StockMovementRow.delta_on_hand),
                            func.sum(StockMovementRow.delta_reserved),
                        ).group_by(StockMovementRow.sku, StockMovementRow.location)
                    )
                }
                held = dict(
                    s.execute(
                        select(ReservationRow.sku + "@" + ReservationRow.location, func.sum(ReservationRow.quantity))
                        .where(ReservationRow.state == "reserved")
                        .group_by(ReservationRow.sku, ReservationRow.location)
                    ).all()
                )
            assert stored == self.levels
            for key, (on_hand, reserved) in stored.items():
                assert reserved >= 0 and on_hand - reserved >= 0, key
                assert sums.get(key, [0, 0]) == [on_hand, reserved], key
                assert held.get(f"{key[0]}@{key[1]}", 0) == reserved, key

    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=40,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
        ),
    )
