"""The dashboard's queries on both backends: hours bucketed by the database (SQLite text, PostgreSQL
timestamptz) land in the right slot, and a search takes LIKE's wildcards literally."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from channelhub.services.dashboard import OrderFilter, find_orders, movements_per_hour, orders_per_hour
from channelhub.stock import ledger
from channelhub.store import Database
from channelhub.sync.apply import apply_orders
from channelhub.testing.fakes import make_order

NOW = datetime(2026, 12, 4, 18, 30, tzinfo=UTC)


def test_orders_per_hour_puts_each_order_in_its_hour_and_leaves_out_what_is_older(database: Database) -> None:
    placed = {
        "A-1": NOW - timedelta(minutes=10),  # this hour
        "A-2": NOW - timedelta(hours=1, minutes=29),  # 17:01: the hour before
        "A-3": NOW - timedelta(hours=1, minutes=31),  # 16:59: two hours before
        "A-4": NOW - timedelta(hours=48),  # 18:30 two days ago: just outside the 48 slots (19:00 .. 18:00)
    }
    orders = [make_order(ref, [("MUG-1", 1)], channel="web", placed_at=at) for ref, at in placed.items()]
    orders.append(make_order("B-1", [("MUG-1", 1)], channel="market", placed_at=NOW - timedelta(hours=47)))
    with database.transaction() as session:
        apply_orders(session, orders, source="test", policies=[])
    with database.transaction() as session:
        series = orders_per_hour(session, now=NOW)
    assert series.hours[0] == datetime(2026, 12, 2, 19, tzinfo=UTC)
    assert series.hours[-1] == datetime(2026, 12, 4, 18, tzinfo=UTC)
    assert series.series["web"][-3:] == [1, 1, 1]
    assert sum(series.series["web"]) == 3
    assert series.series["market"][0] == 1 and sum(series.series["market"]) == 1


def test_movements_per_hour_by_kind(database: Database) -> None:
    with database.transaction() as session:
        ledger.ensure_location(session, "main")
        ledger.set_on_hand(session, "MUG-1", "main", 5, "count")
        ledger.adjust_on_hand(session, "MUG-1", "main", -1, "broken")
    with database.transaction() as session:
        series = movements_per_hour(session)
    assert series.series["set"][-1] == 1 and series.series["adjust"][-1] == 1


def test_a_search_takes_like_wildcards_literally(database: Database) -> None:
    with database.transaction() as session:
        apply_orders(
            session, [make_order("A_1", [("MUG-1", 1)]), make_order("AB1", [("MUG-1", 1)])], source="t", policies=[]
        )
    with database.transaction() as session:
        assert [o.external_id for o in find_orders(session, OrderFilter(search="a_1"))] == ["A_1"]
        assert find_orders(session, OrderFilter(search="%")) == []
        assert len(find_orders(session, OrderFilter(search="1"))) == 2
