"""The transactional outbox: every outbound write is a row, enqueued in the transaction that caused it.

Idempotency keys are deterministic: a hash of (channel, kind, subject, cause), where `cause` names what made the
write necessary (a stock movement id, a shipment id). Enqueueing the same cause twice is a no-op.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import Table, select, update
from sqlalchemy.orm import Session

from channelhub.store.db import Database
from channelhub.store.tables import OutboxRow, utcnow
from channelhub.sync.bulk import insert_rows

OUTBOX = cast(Table, OutboxRow.__table__)


# enqueue_many writes through the driver (channelhub.sync.bulk): the payload goes in as JSON text.
_COLUMNS = ("channel", "kind", "subject", "payload", "idempotency_key", "status", "attempts", "due_at", "last_error",
            "created_at")  # fmt: skip
_encode_payload = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def idempotency_key(channel: str, kind: str, subject: str, cause: str) -> str:
    digest = hashlib.sha256(f"{channel}\x1f{kind}\x1f{subject}\x1f{cause}".encode()).hexdigest()[:32]
    return f"ch-{kind}-{digest}"


def _insert_ignoring_duplicates(session: Session) -> Any:
    """INSERT ... ON CONFLICT (idempotency_key) DO NOTHING, in the session's dialect (SQLite and PostgreSQL)."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(OUTBOX).on_conflict_do_nothing(index_elements=["idempotency_key"])
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(OUTBOX).on_conflict_do_nothing(index_elements=["idempotency_key"])


def _row(channel: str, kind: str, subject: str, payload: dict[str, Any], cause: str, now: datetime) -> dict[str, Any]:
    return {
        "channel": channel,
        "kind": kind,
        "subject": subject,
        "payload": payload,
        "idempotency_key": idempotency_key(channel, kind, subject, cause),
        "status": "pending",
        "attempts": 0,
        "due_at": now,
        "last_error": "",
        "created_at": now,
    }


def enqueue(session: Session, *, channel: str, kind: str, subject: str, payload: dict[str, Any], cause: str) -> str:
    """Add an outbound write in the caller's transaction; return its idempotency key.

    Repeating the same (channel, kind, subject, cause) adds nothing: the key is the same and already queued.
    One INSERT ... ON CONFLICT DO NOTHING, no read and no ORM object, so callers may enqueue in loops.
    """
    row = _row(channel, kind, subject, payload, cause, utcnow())
    session.execute(_insert_ignoring_duplicates(session), [row])
    return str(row["idempotency_key"])


@dataclass(frozen=True)
class Write:
    """One write for `enqueue_many`."""

    channel: str
    kind: str
    subject: str
    payload: dict[str, Any]
    cause: str


def enqueue_many(session: Session, writes: Sequence[Write]) -> list[str]:
    """`enqueue` for many writes with one executemany; returns the keys in order. Duplicates add nothing."""
    if not writes:
        return []
    now = utcnow()
    keys = [idempotency_key(w.channel, w.kind, w.subject, w.cause) for w in writes]
    rows = [
        (w.channel, w.kind, w.subject, _encode_payload(w.payload), key, "pending", 0, now, "", now)
        for w, key in zip(writes, keys, strict=True)
    ]
    insert_rows(session, OUTBOX, _COLUMNS, rows, suffix=" ON CONFLICT (idempotency_key) DO NOTHING")
    return keys


@dataclass(frozen=True)
class OutboxEntry:
    """One outbox row as the CLI shows it."""

    id: int
    channel: str
    kind: str
    subject: str
    status: str
    attempts: int
    due_at: datetime
    last_error: str
    idempotency_key: str
    payload: dict[str, Any]


def list_outbox(
    db: Database, status: str | None = None, channel: str | None = None, *, limit: int | None = None
) -> list[OutboxEntry]:
    """Outbox rows, oldest first, optionally of one status and/or channel."""
    stmt = select(OutboxRow).order_by(OutboxRow.id)
    if status is not None:
        stmt = stmt.where(OutboxRow.status == status)
    if channel is not None:
        stmt = stmt.where(OutboxRow.channel == channel)
    if limit is not None:
        stmt = stmt.limit(limit)
    with db.transaction() as session:
        return [
            OutboxEntry(
                r.id, r.channel, r.kind, r.subject, r.status, r.attempts, r.due_at, r.last_error, r.idempotency_key,
                r.payload,
            )
            for r in session.scalars(stmt)
        ]  # fmt: skip


def retry_dead(db: Database, ids: Sequence[int] | None = None) -> int:
    """Give dead rows (all, or those of `ids`) a fresh start: pending, due now, attempts reset. The last error is
    kept until the next attempt replaces it. Returns the number of rows revived."""
    stmt = (
        update(OutboxRow)
        .where(OutboxRow.status == "dead")
        .values(status="pending", attempts=0, due_at=utcnow(), done_at=None, batch_key=None, claimed_by=None)
    )
    if ids is not None:
        stmt = stmt.where(OutboxRow.id.in_(list(ids)))
    with db.transaction() as session:
        return int(session.execute(stmt).rowcount)  # type: ignore[attr-defined]
