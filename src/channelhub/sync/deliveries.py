"""Webhook deliveries: stored raw before they are answered, applied after through the same ingest path as polling.

`store_delivery` (the receiver's own short transaction) keeps the raw body and the headers the connector needs,
once: a delivery whose id or body was stored before is a duplicate. `apply_deliveries` (later, in its own
transaction per delivery, so one bad delivery never blocks the next) asks the connector for the delivery's
records (`parse_webhook`, which may do I/O) and ingests them exactly as a pull would (inbox, map, apply,
deduplicated by delivery id and body, quarantine on a mapping failure). What became of the delivery is written on
its row:

- applied: its records went through ingest (each of them applied, quarantined or recognised as seen before);
- quarantined: the connector refused the delivery itself (Skippable, a MappingError): the reason is kept;
- received, still: the channel could not be asked now (Retryable, RateLimited): it is tried again at the next run;
  a Fatal error propagates (the caller stops the channel); the delivery stays received for after the fix.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from channelhub.errors import Fatal, MappingError, RateLimited, Retryable, Skippable
from channelhub.logs import get_logger
from channelhub.ports import Connector, WebhookDelivery
from channelhub.redact import scrub
from channelhub.stock.policy import ChannelStockPolicy
from channelhub.store.db import Database
from channelhub.store.sql import insert_one_ignoring
from channelhub.store.tables import DELIVERIES
from channelhub.sync.ingest import IngestReport, IngestRules, ingest_records

log = get_logger("channelhub.deliveries")

RECEIVED, APPLIED, QUARANTINED = "received", "applied", "quarantined"


def encode_body(body: bytes) -> tuple[str, str]:
    """(text, encoding) to store: the body as UTF-8 text, or base64 when it is not valid UTF-8 or holds a NUL
    (PostgreSQL text cannot)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), "base64"
    if "\x00" in text:
        return base64.b64encode(body).decode("ascii"), "base64"
    return text, "utf-8"


def decode_body(text: str, encoding: str) -> bytes:
    return base64.b64decode(text) if encoding == "base64" else text.encode("utf-8")


def store_delivery(session: Session, channel: str, delivery: WebhookDelivery, body: bytes, now: datetime) -> int | None:
    """Store a verified delivery as received, in the caller's transaction; its id, or None for a duplicate (the
    same delivery id or the same body stored before, by this or another daemon)."""
    text, encoding = encode_body(body)
    row = {
        "channel": channel, "delivery_id": delivery.delivery_id, "topic": delivery.topic[:100],
        "headers": dict(delivery.headers), "body": text, "body_encoding": encoding,
        "body_hash": hashlib.sha256(body).hexdigest(), "status": RECEIVED, "reason": "", "received_at": now,
    }  # fmt: skip
    return insert_one_ignoring(session, DELIVERIES, row)


@dataclass
class DeliveryReport:
    """What one run of `apply_deliveries` did for a channel."""

    channel: str
    applied: int = 0
    quarantined: int = 0
    waiting: int = 0  # left received: the channel could not be asked now
    ingest: IngestReport = field(default_factory=lambda: IngestReport(channel=""))


def pending(session: Session, channel: str, limit: int) -> list[int]:
    """Ids of the channel's received deliveries, oldest first."""
    stmt = (
        select(DELIVERIES.c.id)
        .where(DELIVERIES.c.channel == channel, DELIVERIES.c.status == RECEIVED)
        .order_by(DELIVERIES.c.id)
        .limit(limit)
    )
    return list(session.scalars(stmt))


def apply_deliveries(
    db: Database,
    connector: Connector,
    ids: Sequence[int],
    *,
    rules: IngestRules,
    policies: Sequence[ChannelStockPolicy],
    now: datetime,
) -> DeliveryReport:
    """Apply the received deliveries `ids` of the connector's channel, one transaction each (see the module
    contract). Fatal propagates: the channel is wrong, not the delivery."""
    channel = connector.channel
    report = DeliveryReport(channel=channel, ingest=IngestReport(channel=channel))
    for delivery_id in ids:
        with db.transaction() as session:
            row = session.execute(
                select(DELIVERIES).where(DELIVERIES.c.id == delivery_id, DELIVERIES.c.status == RECEIVED)
            ).first()
            if row is None:  # applied meanwhile by another worker
                continue
            status, reason = _apply_one(session, connector, row, rules, policies, now, report)
            if status == RECEIVED:
                report.waiting += 1
                continue
            session.execute(
                update(DELIVERIES)
                .where(DELIVERIES.c.id == delivery_id)
                .values(status=status, reason=reason, applied_at=now)
            )
            if status == APPLIED:
                report.applied += 1
            else:
                report.quarantined += 1
    return report


def _apply_one(
    session: Session,
    connector: Connector,
    row: object,
    rules: IngestRules,
    policies: Sequence[ChannelStockPolicy],
    now: datetime,
    report: DeliveryReport,
) -> tuple[str, str]:
    channel = connector.channel
    body = decode_body(row.body, row.body_encoding)  # type: ignore[attr-defined]
    where = f"webhook {row.topic} {row.delivery_id or row.id}"  # type: ignore[attr-defined]
    try:
        records = connector.parse_webhook(dict(row.headers), body)  # type: ignore[attr-defined]
    except Fatal:
        raise
    except (Retryable, RateLimited) as exc:
        log.warning("a webhook delivery could not be parsed now; tried again later", channel=channel,
                    delivery=where, error=scrub(str(exc)))  # fmt: skip
        return RECEIVED, ""
    except (Skippable, MappingError, ValueError) as exc:
        return QUARANTINED, scrub(f"{where}: {exc}")[:2000]
    except Exception as exc:  # a connector bug: the delivery waits in quarantine for a fixed connector
        log.error("parse_webhook raised; delivery quarantined", channel=channel, delivery=where, exc_info=True)
        return QUARANTINED, scrub(f"{where}: {type(exc).__name__}: {exc}")[:2000]
    if records:
        ingest_records(session, connector, records, rules=rules, policies=policies, source=f"{channel}:webhook",
                       now=now, report=report.ingest)  # fmt: skip
    return APPLIED, ""
