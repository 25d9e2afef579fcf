"""The transactional outbox: every outbound write is a row, enqueued in the transaction that caused it.

Idempotency keys are deterministic: a hash of (channel, kind, subject, cause), where `cause` names what made the
write necessary (a stock movement id, a shipment id). Enqueueing the same cause twice is a no-op.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from channelhub.store.tables import OutboxRow, utcnow


def idempotency_key(channel: str, kind: str, subject: str, cause: str) -> str:
    digest = hashlib.sha256(f"{channel}\x1f{kind}\x1f{subject}\x1f{cause}".encode()).hexdigest()[:32]
    return f"ch-{kind}-{digest}"


def enqueue(session: Session, *, channel: str, kind: str, subject: str, payload: dict[str, Any], cause: str) -> str:
    """Add an outbound write in the caller's transaction; return its idempotency key.

    Repeating the same (channel, kind, subject, cause) adds nothing: the key is the same and already queued.
    """
    key = idempotency_key(channel, kind, subject, cause)
    if session.scalar(select(OutboxRow.id).where(OutboxRow.idempotency_key == key)) is None:
        session.add(
            OutboxRow(
                channel=channel,
                kind=kind,
                subject=subject,
                payload=payload,
                idempotency_key=key,
                status="pending",
                due_at=utcnow(),
            )
        )
    return key
