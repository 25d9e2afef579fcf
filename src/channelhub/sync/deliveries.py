"""Webhook deliveries: stored raw before they are answered, applied after through the same ingest path as polling.

`store_delivery` (the receiver's own short transaction) keeps the raw body and the headers the connector needs,
once: a delivery whose id or body was stored before is a duplicate. `apply_deliveries` (later, a batch in one
transaction, as a pulled page: one ingest for many deliveries costs a tenth of one ingest each) asks the
connector for each delivery's records (`parse_webhook`, which may do I/O) and ingests them exactly as a pull
would (inbox, map, apply, deduplicated by delivery id and body, a bad record quarantined without blocking the
others). What became of each delivery is written on its row:

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
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from channelhub.errors import Fatal, MappingError, RateLimited, Retryable, Skippable
from channelhub.logs import get_logger
from channelhub.ports import Connector, RawRecord, WebhookDelivery
from channelhub.redact import scrub
from channelhub.stock.policy import ChannelStockPolicy
from channelhub.store.db import Database
from channelhub.store.sql import insert_one_ignoring, is_postgres
from channelhub.store.tables import DELIVERIES
from channelhub.sync.ingest import IngestReport, IngestRules, ingest_records

log = get_logger("channelhub.deliveries")

RECEIVED, APPLIED, QUARANTINED = "received", "applied", "quarantined"


def encode_body(body: bytes) -> tuple[str, str]:
    """(text, encoding) to store: the body as UTF-8 text, or base64 when it is not valid UTF-8 or holds a NUL
    (PostgreSQL text cannot)."""
    text: str | None
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        text = None
    if text is None or "\x00" in text:
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
    report: DeliveryReport | None = None,
) -> DeliveryReport:
    """Apply the received deliveries `ids` of the connector's channel in one transaction (see the module
    contract): each is parsed on its own (a delivery the connector refuses is quarantined, one it cannot read
    now waits), then the records of all of them go through ONE ingest, as a pulled page's do, which keeps a bad
    record from blocking the others. Deliveries another worker holds (PostgreSQL) or applied meanwhile are left
    to it. Fatal propagates: the channel is wrong, not the delivery. Counts are added to `report` when given
    (one report for several batches), else to a new one."""
    channel = connector.channel
    if report is None:
        report = DeliveryReport(channel=channel, ingest=IngestReport(channel=channel))
    if not ids:
        return report
    with db.transaction() as session:
        stmt = select(DELIVERIES).where(DELIVERIES.c.id.in_(list(ids)), DELIVERIES.c.status == RECEIVED)
        if is_postgres(session):
            stmt = stmt.with_for_update(skip_locked=True)
        records: list[RawRecord] = []
        outcomes: list[dict[str, object]] = []
        for row in session.execute(stmt.order_by(DELIVERIES.c.id)):
            status, reason, found = _parse(connector, row)
            if status == RECEIVED:
                report.waiting += 1
                continue
            records += found
            outcomes.append({"_id": row.id, "status": status, "reason": reason})
            report.applied += status == APPLIED
            report.quarantined += status == QUARANTINED
        if records:
            ingest_records(session, connector, records, rules=rules, policies=policies, source=f"{channel}:webhook",
                           now=now, report=report.ingest)  # fmt: skip
        if outcomes:
            session.execute(
                update(DELIVERIES)
                .where(DELIVERIES.c.id == bindparam("_id"))
                .values(status=bindparam("status"), reason=bindparam("reason"), applied_at=now),
                outcomes,
            )
    return report


def _parse(connector: Connector, row: Any) -> tuple[str, str, list[RawRecord]]:
    """(status, reason, records) for one stored delivery: applied with its records, quarantined with the
    reason, or still received when the channel could not be asked now."""
    channel = connector.channel
    body = decode_body(row.body, row.body_encoding)
    where = f"webhook {row.topic} {row.delivery_id or row.id}"
    try:
        return APPLIED, "", connector.parse_webhook(dict(row.headers), body)
    except Fatal:
        raise
    except (Retryable, RateLimited) as exc:
        log.warning("a webhook delivery could not be parsed now; tried again later", channel=channel,
                    delivery=where, error=scrub(str(exc)))  # fmt: skip
        return RECEIVED, "", []
    except (Skippable, MappingError, ValueError) as exc:
        return QUARANTINED, scrub(f"{where}: {exc}")[:2000], []
    except Exception as exc:  # a connector bug: the delivery waits in quarantine for a fixed connector
        log.error("parse_webhook raised; delivery quarantined", channel=channel, delivery=where, exc_info=True)
        return QUARANTINED, scrub(f"{where}: {type(exc).__name__}: {exc}")[:2000], []
