"""Bulk inserts on the hot path: the driver's own executemany, values stored exactly as SQLAlchemy would.

SQLAlchemy Core spends about ten times the driver's time per row on an executemany (building each row's
parameters, running the type processors). The ingest writes a dozen rows per order, so its bulk inserts go
straight to the DBAPI cursor of the session's connection (same transaction) with the values converted here:

- `UtcDateTime` columns: an aware datetime is required (a naive one raises ValueError, as the column type
  does); SQLite gets the text SQLAlchemy's SQLite DateTime stores ('YYYY-MM-DD HH:MM:SS.ffffff', UTC),
  PostgreSQL the aware UTC datetime.
- JSON columns: the caller passes JSON TEXT (already serialised); SQLite keeps it as is, PostgreSQL casts it.

SQLite gets the driver's executemany; PostgreSQL multi-row INSERT ... VALUES statements.

Rows written here read back identically through the ORM and Core on both backends (tests/unit/test_store_bulk.py).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import JSON, Table, text
from sqlalchemy.orm import Session

from channelhub.store.sql import dialect_name
from channelhub.store.tables import UtcDateTime

_TIME_MEMO_LIMIT = 4096
_PG_PARAMETERS = 16_000  # per PostgreSQL statement (the protocol allows 65,535)


def sqlite_time(value: datetime) -> str:
    """The text SQLAlchemy's SQLite DateTime stores for `value` (aware; stored as UTC without the offset)."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime given to the store; the hub keeps aware UTC times")
    return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


def _pg_time(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime given to the store; the hub keeps aware UTC times")
    return value.astimezone(UTC)


@lru_cache(maxsize=64)
def _plan(table: Table, columns: tuple[str, ...], dialect: str) -> tuple[str, tuple[int, ...]]:
    """(the INSERT: whole for SQLite, up to VALUES for PostgreSQL; indexes of the datetime columns)."""
    times = tuple(i for i, name in enumerate(columns) if isinstance(table.c[name].type, UtcDateTime))
    head = f"INSERT INTO {table.name} ({', '.join(columns)}) VALUES "
    if dialect == "sqlite":
        return head + "(" + ", ".join("?" for _ in columns) + ")", times
    return head, times


@lru_cache(maxsize=256)
def _pg_values(table: Table, columns: tuple[str, ...], count: int) -> str:
    """`count` rows of numbered server-side placeholders ($1, $2, ...), JSON columns cast from text."""
    json = [isinstance(table.c[name].type, JSON) for name in columns]
    width = len(columns)
    return ", ".join(
        "(" + ", ".join(f"CAST(${r * width + i + 1} AS JSON)" if json[i] else f"${r * width + i + 1}"
                        for i in range(width)) + ")"
        for r in range(count)
    )  # fmt: skip


def insert_rows(
    session: Session, table: Table, columns: Sequence[str], rows: Sequence[Sequence[Any]], *, suffix: str = ""
) -> None:
    """INSERT `rows` (one value per column, in `columns` order) with ONE driver executemany, in the session's
    transaction. `suffix` is appended to the statement (e.g. " ON CONFLICT (idempotency_key) DO NOTHING").

    Datetimes must be aware; JSON columns take JSON text. Nothing is returned (see `allocate_ids` for ids).
    """
    if not rows:
        return
    session.flush()  # the driver does not autoflush: pending ORM rows (which these may refer to) go first
    dialect = dialect_name(session)
    sql, times = _plan(table, tuple(columns), dialect)
    if times:
        convert: Callable[[datetime], Any] = sqlite_time if dialect == "sqlite" else _pg_time
        # A batch shares a handful of times (`now`), so each converts once. Equal aware datetimes are the same
        # instant, so they convert to the same stored value; a naive one raises on its first conversion.
        memo: dict[datetime, Any] = {}
        converted = []
        for row in rows:
            row = list(row)
            for i in times:
                value = row[i]
                if value is not None:
                    done = memo.get(value)
                    if done is None:
                        if len(memo) > _TIME_MEMO_LIMIT:
                            memo.clear()
                        done = memo[value] = convert(value)
                    row[i] = done
            converted.append(row)
        rows = converted
    driver = session.connection().connection.driver_connection
    if dialect == "postgresql":
        import psycopg  # only here: SQLite installs (the default) do not have the postgres extra

        cursor = psycopg.RawCursor(driver)  # type: ignore[arg-type]
    else:
        cursor = driver.cursor()  # type: ignore[union-attr]
    try:
        if dialect == "postgresql":
            # Multi-row VALUES with server-side placeholders (a RawCursor: psycopg does not re-parse the long
            # statement on the client): psycopg's executemany costs ~15 us a row in its Python pipeline.
            size = max(1, _PG_PARAMETERS // len(columns))
            for start in range(0, len(rows), size):
                batch = rows[start : start + size]
                values = _pg_values(table, tuple(columns), len(batch))
                cursor.execute(sql + values + suffix, [value for row in batch for value in row])
        else:
            cursor.executemany(sql + suffix, rows)
    finally:
        cursor.close()


def allocate_ids(session: Session, table: Table, count: int) -> list[int]:
    """`count` new primary key values for `table`, ascending, for rows this transaction is about to insert.

    PostgreSQL: taken from the column's sequence (never handed out twice, whoever else inserts). SQLite: max(id)
    + 1 onwards, safe because the hub's SQLite transactions begin IMMEDIATE and hold the only write lock.
    """
    if count <= 0:
        return []
    if dialect_name(session) == "postgresql":
        got = session.execute(
            text(f"SELECT nextval(pg_get_serial_sequence('{table.name}', 'id')) FROM generate_series(1, :n)"),
            {"n": count},
        ).scalars()
        return sorted(int(v) for v in got)
    start = int(session.execute(text(f"SELECT coalesce(max(id), 0) FROM {table.name}")).scalar() or 0) + 1
    return list(range(start, start + count))


def insert_with_ids(session: Session, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> list[int]:
    """Insert `rows` (values in `columns` order, without the id) with one driver executemany; return their new
    ids, in order (from `allocate_ids`)."""
    ids = allocate_ids(session, table, len(rows))
    insert_rows(session, table, ("id", *columns), [(new_id, *row) for new_id, row in zip(ids, rows, strict=True)])
    return ids
