"""Small SQL helpers every package shares: the dialect, chunked IN lists, insert-or-ignore.

One definition each, so a bound or a dialect rule is changed in one place.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import Table
from sqlalchemy.orm import Session

T = TypeVar("T")

# Keys per IN (...) list: well below SQLite's and PostgreSQL's bound-parameter limits.
IN_CHUNK = 500


def dialect_name(session: Session) -> str:
    return session.get_bind().dialect.name


def is_postgres(session: Session) -> bool:
    return dialect_name(session) == "postgresql"


def chunked(values: Iterable[T], size: int = IN_CHUNK) -> Iterator[list[T]]:
    """`values` in lists of at most `size`, in order (for IN lists and batched statements)."""
    batch: list[T] = []
    for value in values:
        batch.append(value)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _insert_on_conflict_nothing(session: Session, table: Table, keys: Sequence[str] | None) -> Any:
    """INSERT ... ON CONFLICT (keys) DO NOTHING; without `keys`, on a conflict with any unique constraint."""
    elements = list(keys) if keys else None
    if is_postgres(session):
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing(index_elements=elements)
    if dialect_name(session) == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as sqlite_insert

        return sqlite_insert(table).on_conflict_do_nothing(index_elements=elements)
    raise NotImplementedError(f"unsupported database dialect {dialect_name(session)!r}")  # pragma: no cover


def insert_one_ignoring(session: Session, table: Table, row: Mapping[str, Any]) -> int | None:
    """INSERT one row unless it conflicts with any unique constraint; the new row's id, or None when a row with
    the same unique values exists (inserted by this or a concurrent writer: the database decides)."""
    stmt = _insert_on_conflict_nothing(session, table, None).values(**row).returning(table.c.id)
    inserted = session.execute(stmt).scalar()
    return None if inserted is None else int(inserted)


def insert_ignoring(session: Session, table: Table, rows: Sequence[Mapping[str, Any]], keys: Sequence[str]) -> None:
    """INSERT `rows`, skipping any whose `keys` already exist: INSERT ... ON CONFLICT (keys) DO NOTHING.

    Safe against a concurrent writer inserting the same row: the database decides, not a read before the write.
    """
    if not rows:
        return
    session.execute(_insert_on_conflict_nothing(session, table, keys), [dict(row) for row in rows])
