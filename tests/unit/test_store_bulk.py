"""Rows written through the driver (channelhub.store.bulk) read back exactly as rows written through SQLAlchemy."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Table, delete, insert, select

from channelhub.store import Database
from channelhub.store.bulk import allocate_ids, insert_rows, sqlite_time
from channelhub.store.tables import InboxRow, OrderEventRow, OrderRow, OutboxRow

AT = datetime(2026, 11, 20, 8, 15, 30, 123456, tzinfo=UTC)
BERLIN = datetime(2026, 11, 20, 9, 0, 0, tzinfo=timezone(timedelta(hours=1)))  # 08:00 UTC
WHOLE = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)  # no microseconds: still stored with six digits


def _columns(row: Any, table: Table) -> dict[str, Any]:
    return {c.name: getattr(row, c.key) for c in table.columns if c.name != "id"}


def _write_both(db: Database, orm: Any, values: dict[str, Any], raw: dict[str, Any], unique: str) -> None:
    """Write `values` once through Core and once through the driver (`raw` overrides: JSON as text, a different
    `unique` key); both must read back equal through the ORM, but for `unique`."""
    table: Table = orm.__table__
    with db.transaction() as s:
        s.execute(insert(table), [values])
        both = {**values, **raw}
        insert_rows(s, table, list(both), [tuple(both.values())])
    with db.transaction() as s:
        core, driver = s.scalars(select(orm).order_by(orm.id)).all()
        assert {**_columns(driver, table), unique: None} == {**_columns(core, table), unique: None}
        for value in _columns(driver, table).values():
            if isinstance(value, datetime):
                assert value.tzinfo is not None and value.utcoffset() == timedelta(0)
        s.execute(delete(table))


def test_round_trip_matches_sqlalchemy(database: Database) -> None:
    document = {"a": "Café", "n": [1, 2], "price": "12.30"}
    order = {
        "channel": "c", "external_id": "E-1", "number": "1", "state": "confirmed", "hold_reason": "", "hold_kind": "",
        "financial_status": "paid", "currency": "EUR", "total": "12.30", "placed_at": BERLIN,
        "channel_updated_at": WHOLE, "document": document, "created_at": AT, "updated_at": AT,
    }  # fmt: skip
    _write_both(database, OrderRow, order, {"document": json.dumps(document), "external_id": "E-2"}, "external_id")
    inbox = {
        "channel": "c", "stream": "orders", "source": "f.csv line 2", "external_id": None, "delivery_id": None,
        "body": '{"x":"é"}', "status": "applied", "reason": "", "received_at": AT,
    }  # fmt: skip
    _write_both(database, InboxRow, inbox, {}, "id")
    outbox = {
        "channel": "c", "kind": "stock", "subject": "SKU-1", "payload": {"sku": "SKU-1", "quantity": 3},
        "idempotency_key": "k", "status": "pending", "attempts": 0, "due_at": AT, "last_error": "", "created_at": AT,
        "lease_until": None,
    }  # fmt: skip
    raw = {"idempotency_key": "k2", "payload": json.dumps(outbox["payload"])}
    _write_both(database, OutboxRow, outbox, raw, "idempotency_key")


def test_allocated_ids_ascend_and_rows_keep_them(database: Database) -> None:
    table: Table = OrderEventRow.__table__  # type: ignore[assignment]
    with database.transaction() as s:
        s.execute(insert(OrderRow.__table__), [{  # type: ignore[arg-type]
            "channel": "c", "external_id": "E", "number": "", "state": "placed", "hold_reason": "", "hold_kind": "",
            "financial_status": "paid", "currency": "EUR", "total": "1", "placed_at": AT, "channel_updated_at": AT,
            "document": {}, "created_at": AT, "updated_at": AT}])  # fmt: skip
        order_id = s.scalar(select(OrderRow.id))
        ids = allocate_ids(s, table, 3)
        assert ids == sorted(ids) and len(set(ids)) == 3
        rows = [(i, order_id, AT + timedelta(seconds=n), None, "placed", "src", "") for n, i in enumerate(ids)]
        insert_rows(s, table, ("id", "order_id", "at", "from_state", "to_state", "source", "reason"), rows)
        assert allocate_ids(s, table, 1)[0] > ids[-1]
    with database.transaction() as s:
        got = s.execute(select(OrderEventRow.id, OrderEventRow.at).order_by(OrderEventRow.id)).all()
    assert [tuple(r) for r in got] == [(i, AT + timedelta(seconds=n)) for n, i in enumerate(ids)]


def test_naive_datetime_is_refused(database: Database) -> None:
    columns = ("channel", "stream", "source", "body", "status", "reason", "received_at")
    row = ("c", "orders", "s", "{}", "applied", "", datetime(2026, 1, 1))
    with pytest.raises(ValueError, match="naive datetime"), database.transaction() as s:
        insert_rows(s, InboxRow.__table__, columns, [row])  # type: ignore[arg-type]


def test_sqlite_time_is_what_sqlalchemy_stores() -> None:
    assert sqlite_time(BERLIN) == "2026-11-20 08:00:00.000000"
    assert sqlite_time(AT) == "2026-11-20 08:15:30.123456"
