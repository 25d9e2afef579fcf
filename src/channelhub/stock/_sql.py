"""Small SQL helpers the ledger modules share: dialect checks, insert-if-missing, chunked IN lists."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, TypeVar

from sqlalchemy import Table
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from channelhub.store.tables import (
    LocationRow,
    OutboxRow,
    ReservationRow,
    SkuRow,
    StockLevelRow,
    StockMovementRow,
)

T = TypeVar("T")

# Core tables: the ledger writes with Core statements so the ORM identity map never second-guesses a
# conditional UPDATE, and bulk inserts go through executemany.
SKUS: Table = SkuRow.__table__  # type: ignore[assignment]
LOCATIONS: Table = LocationRow.__table__  # type: ignore[assignment]
LEVELS: Table = StockLevelRow.__table__  # type: ignore[assignment]
RESERVATIONS: Table = ReservationRow.__table__  # type: ignore[assignment]
MOVEMENTS: Table = StockMovementRow.__table__  # type: ignore[assignment]
OUTBOX: Table = OutboxRow.__table__  # type: ignore[assignment]

# Well below SQLite's and PostgreSQL's bound-parameter limits.
IN_CHUNK = 900


def dialect_name(session: Session) -> str:
    return session.get_bind().dialect.name


def is_postgres(session: Session) -> bool:
    return dialect_name(session) == "postgresql"


def chunked(values: Iterable[T], size: int = IN_CHUNK) -> Iterator[list[T]]:
    batch: list[T] = []
    for value in values:
        batch.append(value)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def insert_missing(session: Session, table: Table, values: dict[str, Any], keys: Sequence[str]) -> None:
    """INSERT the row unless one with the same key exists; safe against a concurrent writer inserting it too."""
    if is_postgres(session):
        stmt: Any = pg_insert(table).values(**values).on_conflict_do_nothing(index_elements=list(keys))
    elif dialect_name(session) == "sqlite":
        stmt = sqlite_insert(table).values(**values).on_conflict_do_nothing(index_elements=list(keys))
    else:  # pragma: no cover - the hub runs on SQLite and PostgreSQL only
        raise NotImplementedError(f"unsupported database dialect {dialect_name(session)!r}")
    session.execute(stmt)
