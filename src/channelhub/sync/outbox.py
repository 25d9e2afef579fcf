"""The transactional outbox: every outbound write is a row, enqueued in the transaction that caused it.

Idempotency keys are deterministic: a hash of (channel, kind, subject, cause), where `cause` names what made the
write necessary (a stock movement id, a shipment id). Enqueueing the same cause twice is a no-op.

Every enqueue marks its transaction (`channelhub.sync.wake.mark_enqueued`): its commit wakes the dispatcher at
once, in this process and, on PostgreSQL, in every daemon; a rollback wakes nobody.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from channelhub.store.bulk import insert_rows
from channelhub.store.sql import insert_ignoring
from channelhub.store.tables import OUTBOX, utcnow
from channelhub.sync.wake import mark_enqueued

# enqueue_many writes through the driver (channelhub.store.bulk): the payload goes in as JSON text.
_COLUMNS = ("channel", "kind", "subject", "payload", "idempotency_key", "status", "attempts", "due_at", "last_error",
            "created_at")  # fmt: skip
_encode_payload = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def idempotency_key(channel: str, kind: str, subject: str, cause: str) -> str:
    digest = hashlib.sha256(f"{channel}\x1f{kind}\x1f{subject}\x1f{cause}".encode()).hexdigest()[:32]
    return f"ch-{kind}-{digest}"


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
    insert_ignoring(session, OUTBOX, [row], ["idempotency_key"])
    mark_enqueued(session)
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
    mark_enqueued(session)
    return keys


def revive_dead(session: Session, ids: Sequence[int] | None = None) -> list[int]:
    """Give dead rows (all, or those of `ids`) a fresh start in the caller's transaction: pending, due now,
    attempts reset. The last error is kept until the next attempt replaces it. Returns the ids revived."""
    stmt = (
        update(OUTBOX)
        .where(OUTBOX.c.status == "dead")
        .values(status="pending", attempts=0, due_at=utcnow(), done_at=None, batch_key=None, claimed_by=None)
        .returning(OUTBOX.c.id)
    )
    if ids is not None:
        stmt = stmt.where(OUTBOX.c.id.in_(list(ids)))
    revived = sorted(int(i) for i in session.scalars(stmt))
    if revived:
        mark_enqueued(session)  # due now: as good as enqueued
    return revived
