"""Pull: inbox first, idempotent apply, quarantine and replay, cursor in the same transaction."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sync_helpers import POLICIES, count, inbox, order_row, stock

from channelhub.errors import Fatal, Retryable
from channelhub.ports import PulledPage, RawRecord
from channelhub.store import Database
from channelhub.store.tables import ChannelStateRow, CursorRow, InboxRow, OrderLineRow, OrderRow
from channelhub.sync import apply as apply_module
from channelhub.sync.pull import read_cursor, resume_channel, run_pull
from channelhub.testing.engine import apply_records
from channelhub.testing.engine import replay as replay_quarantined
from channelhub.testing.fakes import BASE_TIME, FakeOrderSource, make_order, order_record

OVERLAP = timedelta(minutes=5)


def pull(db: Database, source: FakeOrderSource):
    return run_pull(db, source, policies=POLICIES, overlap=OVERLAP, now=BASE_TIME + timedelta(days=1))


def test_same_page_twice_and_same_order_in_two_pages_yield_one_order(database: Database) -> None:
    stock(database, {"SKU-1": 10})
    order = make_order("1001")
    source = FakeOrderSource(pages=[[order], [order]])
    first = pull(database, source)
    second = pull(database, source)
    assert first.orders.created == 1 and first.duplicates == 1
    assert second.orders.created == 0 and second.duplicates == 2
    assert count(database, OrderRow) == 1
    assert count(database, OrderLineRow) == 1
    assert order_row(database, "1001").state == "confirmed"
    assert order_row(database, "1001").document["lines"][0]["sku"] == "SKU-1"
    assert count(database, InboxRow) == 1  # a payload read again is recognised, not stored a second time


def test_a_file_with_a_known_hash_is_skipped_but_moved_away(database: Database) -> None:
    moved: list[str] = []

    def page() -> PulledPage:
        return PulledPage(
            records=[order_record(make_order("2001"))],
            label="orders-1.tsv",
            content_hash="ab" * 32,
            on_committed=lambda: moved.append("orders-1.tsv"),
        )

    source = FakeOrderSource(pages=[page()])
    pull(database, source)
    source.pages = [page()]
    report = pull(database, source)
    assert report.duplicate_files == 1 and report.records == 0
    assert moved == ["orders-1.tsv", "orders-1.tsv"]
    assert count(database, InboxRow) == 1


def test_newer_wins_and_equal_or_older_is_ignored(database: Database) -> None:
    stock(database, {"SKU-1": 10})
    v1 = make_order("3001", updated_at=BASE_TIME + timedelta(hours=1))
    newer = v1.model_copy(update={"number": "#NEW", "updated_at": BASE_TIME + timedelta(hours=2)})
    older = v1.model_copy(update={"number": "#OLD", "updated_at": BASE_TIME})
    same = v1.model_copy(update={"number": "#SAME"})
    report = pull(database, FakeOrderSource(pages=[[v1], [newer], [older], [same]]))
    assert report.orders.updated == 1 and report.orders.unchanged == 2
    row = order_row(database, "3001")
    assert row.number == "#NEW"
    assert row.document["number"] == "#NEW"
    assert row.channel_updated_at == BASE_TIME + timedelta(hours=2)


def test_bad_records_are_quarantined_with_reasons_and_replayed_after_a_fix(database: Database) -> None:
    stock(database, {"SKU-1": 10, "SKU-X": 5})
    broken = RawRecord(stream="orders", source="orders-7.tsv line 4", body="id\t\t", problem="3 columns, expected 9")
    invalid = RawRecord(stream="orders", source="orders-7.tsv line 5", body='{"channel": "shop"}')
    unmapped = order_record(make_order("4002", [("SKU-X", 1)]), source="orders-7.tsv line 6")
    source = FakeOrderSource(pages=[[broken, invalid, unmapped, make_order("4001")]])
    source.broken_skus = {"SKU-X"}
    report = pull(database, source)
    assert report.quarantined == 3 and report.applied == 1
    reasons = {row.source: row.reason for row in inbox(database) if row.status == "quarantined"}
    assert reasons["orders-7.tsv line 4"] == "orders-7.tsv line 4: 3 columns, expected 9"
    assert reasons["orders-7.tsv line 5"].startswith("orders-7.tsv line 5: invalid order:")
    assert "external_id" in reasons["orders-7.tsv line 5"]
    assert "no SKU mapping for SKU-X" in reasons["orders-7.tsv line 6"]

    source.broken_skus = set()  # the fix
    replay = replay_quarantined(database, source, None, POLICIES)
    assert replay.applied == 1 and replay.quarantined == 2
    assert order_row(database, "4002").state == "confirmed"
    statuses = {row.source: row.status for row in inbox(database)}
    assert statuses["orders-7.tsv line 6"] == "applied"
    assert statuses["orders-7.tsv line 4"] == "quarantined"


def test_a_failure_while_applying_leaves_neither_rows_nor_cursor(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    stock(database, {"SKU-1": 10})
    source = FakeOrderSource(pages=[[make_order("5001")], [make_order("5002")]])
    real = apply_module.apply_orders
    calls = {"n": 0}

    def failing(session, orders, **kwargs):
        calls["n"] += 1
        result = real(session, orders, **kwargs)
        if calls["n"] == 2:
            raise RuntimeError("disk full")
        return result

    monkeypatch.setattr("channelhub.sync.ingest.apply_orders", failing)
    with pytest.raises(RuntimeError, match="disk full"):
        pull(database, source)
    assert read_cursor(database, "shop") == "cursor-0"
    assert count(database, OrderRow) == 1
    assert count(database, InboxRow) == 1
    assert source.committed == ["page-0"]
    with database.transaction() as session:
        assert "disk full" in session.scalar(select(ChannelStateRow.last_error))

    monkeypatch.setattr("channelhub.sync.ingest.apply_orders", real)
    pull(database, source)
    assert read_cursor(database, "shop") == "cursor-1"
    assert count(database, OrderRow) == 2


def test_retryable_ends_the_pull_keeping_committed_pages_and_fatal_stops_the_channel(database: Database) -> None:
    source = FakeOrderSource(pages=[[make_order("6001")], [make_order("6002")]])
    source.fail_after, source.error = 1, Retryable("503 from the channel")
    report = pull(database, source)
    assert report.error == "503 from the channel" and not report.stopped
    assert count(database, OrderRow) == 1 and read_cursor(database, "shop") == "cursor-0"

    source.error = Fatal("401 bad credentials")
    report = pull(database, source)
    assert report.stopped
    again = pull(database, source)
    assert again.stopped and len(source.requests) == 2  # a stopped channel is not asked again
    with database.transaction() as session:
        state = session.get(ChannelStateRow, "shop")
        assert state is not None and state.stopped_reason == "401 bad credentials"
    resume_channel(database, "shop")
    source.fail_after = None
    assert pull(database, source).ok
    with database.transaction() as session:
        state = session.get(ChannelStateRow, "shop")
        assert state is not None and state.last_pull_ok_at is not None and state.last_error == ""


def test_webhook_deliveries_are_deduplicated_by_delivery_id(database: Database) -> None:
    stock(database, {"SKU-1": 10})
    source = FakeOrderSource()
    record = order_record(make_order("7001"), delivery_id="d-1")
    first = apply_records(database, source, [record, record], POLICIES)
    second = apply_records(database, source, [record], POLICIES)
    assert first.applied == 1 and first.duplicates == 1 and second.duplicates == 1
    assert count(database, OrderRow) == 1
    assert [r.status for r in inbox(database)] == ["applied"]  # the repeats are counted, not stored
    # A polled copy of the same order (no delivery id) is recognised by the upsert.
    pull(database, FakeOrderSource(pages=[[make_order("7001")]]))
    assert count(database, OrderRow) == 1


def test_the_cursor_is_stored_per_channel(database: Database) -> None:
    pull(database, FakeOrderSource(pages=[[make_order("8001")]]))
    with database.transaction() as session:
        assert session.scalar(select(CursorRow.value).where(CursorRow.stream == "orders")) == "cursor-0"


def test_a_large_pull_on_postgresql_analyzes_the_tables_it_looks_up(
    database: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Without statistics PostgreSQL scans every order of the channel per lookup; a pull past the threshold
    (lowered here) leaves them analyzed. SQLite needs no statistics for these plans and is left alone."""
    from sqlalchemy import text

    from channelhub.sync import pull as pull_module

    monkeypatch.setattr(pull_module, "ANALYZE_FIRST", 2)
    stock(database, {"SKU-1": 10})
    pull(database, FakeOrderSource(pages=[[make_order("a1"), make_order("a2")], [make_order("a3")]]))
    if not database.is_postgres:
        return
    with database.transaction() as s:
        analyzed = s.execute(
            text("SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL AND relname = ANY(:t)"),
            {"t": list(pull_module.ANALYZED_TABLES)},
        ).scalars()
        assert set(analyzed) == set(pull_module.ANALYZED_TABLES)
