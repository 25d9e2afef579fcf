"""No oversell under concurrent writers: 4 processes race 4000 single-unit orders for 500 units.

Workers 0 and 1 reserve one order per transaction; workers 2 and 3 reserve a few orders per call, which takes the
set-based path (one aggregated conditional UPDATE) while stock lasts and the per-order path once it runs short.
Every unit must be sold exactly once, on SQLite (one file, BEGIN IMMEDIATE + busy_timeout) and on PostgreSQL.
"""

from __future__ import annotations

import multiprocessing
from datetime import UTC, datetime
from typing import Any

import pytest
from sqlalchemy import func, insert, select

from channelhub.stock import ledger
from channelhub.stock.ledger import LineRequest
from channelhub.store import open_database
from channelhub.store.tables import OrderLineRow, OrderRow, ReservationRow, StockLevelRow, StockMovementRow

pytestmark = pytest.mark.slow

WORKERS = 4
ORDERS_PER_WORKER = 1000
SKUS = [f"RACE-{n}" for n in range(5)]
STOCK = {"near": 60, "far": 40}  # per SKU: 100 units over two locations, 500 in all
UNITS = len(SKUS) * sum(STOCK.values())
BATCH = {0: 1, 1: 1, 2: 7, 3: 7}
NOW = datetime(2026, 1, 5, 12, 0, tzinfo=UTC)


def _sku_for(order_id: int) -> str:
    return SKUS[order_id % len(SKUS)]


def _worker(url: str, index: int, start: Any, results: Any) -> None:
    """Reserve this worker's orders; report successes, errors and the lowest availability it ever saw."""
    db = open_database(url, migrate=False)
    ok, errors, lowest = 0, [], None
    order_ids = list(range(index * ORDERS_PER_WORKER + 1, (index + 1) * ORDERS_PER_WORKER + 1))
    start.wait()
    try:
        for at in range(0, len(order_ids), BATCH[index]):
            chunk = order_ids[at : at + BATCH[index]]
            try:
                with db.transaction() as s:
                    outcomes = ledger.reserve_lines(s, [LineRequest(o, o, _sku_for(o), 1) for o in chunk])
                    seen = s.scalar(select(func.min(StockLevelRow.on_hand - StockLevelRow.reserved)))
                ok += sum(outcome.ok for outcome in outcomes)
                lowest = seen if lowest is None else min(lowest, seen)
            except Exception as exc:  # reported, not raised: the parent asserts there were none
                errors.append(repr(exc))
    finally:
        db.dispose()
        results.put({"index": index, "ok": ok, "errors": errors, "lowest": lowest})


def _seed(url: str) -> None:
    db = open_database(url, migrate=False)
    with db.transaction() as s:
        for priority, location in enumerate(STOCK):
            ledger.ensure_location(s, location, priority=priority)
        for sku in SKUS:
            for location, units in STOCK.items():
                ledger.set_on_hand(s, sku, location, units, reason="race seed")
        total = WORKERS * ORDERS_PER_WORKER
        s.execute(
            insert(OrderRow),
            [
                {
                    "id": o,
                    "channel": "race",
                    "external_id": str(o),
                    "state": "placed",
                    "financial_status": "paid",
                    "currency": "EUR",
                    "total": "0",
                    "placed_at": NOW,
                    "channel_updated_at": NOW,
                    "document": {},
                }
                for o in range(1, total + 1)
            ],
        )
        s.execute(
            insert(OrderLineRow),
            [
                {"id": o, "order_id": o, "external_id": "1", "sku": _sku_for(o), "quantity": 1}
                for o in range(1, total + 1)
            ],
        )
    db.dispose()


@pytest.mark.timeout(300)
def test_concurrent_reservations_sell_every_unit_exactly_once(db_url: str) -> None:
    _seed(db_url)
    ctx = multiprocessing.get_context("spawn")
    start = ctx.Barrier(WORKERS)
    results = ctx.Queue()
    procs = [ctx.Process(target=_worker, args=(db_url, i, start, results)) for i in range(WORKERS)]
    for proc in procs:
        proc.start()
    reports = [results.get(timeout=240) for _ in procs]
    for proc in procs:
        proc.join(timeout=30)
        assert proc.exitcode == 0

    assert [r["errors"] for r in reports] == [[]] * WORKERS
    assert sum(r["ok"] for r in reports) == UNITS
    assert all(r["lowest"] is not None and r["lowest"] >= 0 for r in reports)
    print("successes per worker:", sorted((r["index"], r["ok"]) for r in reports))

    db = open_database(db_url, migrate=False)
    try:
        with db.transaction() as s:
            levels = ledger.levels(s)
            assert len(levels) == len(SKUS) * len(STOCK)
            assert all(lv.reserved == lv.on_hand == STOCK[lv.location] for lv in levels)
            assert s.scalar(select(func.count()).where(ReservationRow.state == "reserved")) == UNITS
            assert s.scalar(select(func.sum(StockMovementRow.delta_reserved))) == UNITS
    finally:
        db.dispose()
