"""Pulling orders: inbox first, then map, quarantine or apply; the cursor moves in the same transaction.

For each page a connector yields, ONE transaction:

1. a page whose `content_hash` was already imported for the channel is skipped whole (a re-dropped file);
2. every record is stored in the inbox: `quarantined` (the connector's `problem`, or a mapping failure, with a
   reason naming `record.source`), `duplicate` (a webhook delivery id seen before; stored, not applied again) or
   `applied`;
3. the mapped orders are applied (`channelhub.sync.apply.apply_orders`, set-based);
4. the page's cursor and its ImportedFileRow are written; commit; THEN `page.on_committed()` runs.

A failure while applying a page rolls back the page whole: neither its rows nor its cursor are kept, and the
source still has it. A `Retryable` from the connector ends this pull (committed pages stay); a `Fatal` also sets
the channel's `stopped_reason`, which makes later pulls return at once until `resume_channel` clears it.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from pydantic import ValidationError
from sqlalchemy import Table, insert, select, text, update
from sqlalchemy.orm import Session

from channelhub.errors import ConnectorError, Fatal, MappingError, Retryable
from channelhub.model.orders import Order
from channelhub.ports import Connector, PulledPage, PullRequest, RawRecord
from channelhub.stock.policy import ChannelStockPolicy
from channelhub.store import Database
from channelhub.store.tables import ChannelStateRow, CursorRow, ImportedFileRow, InboxRow
from channelhub.sync.apply import CHUNK, ApplyReport, apply_orders, publish_skus
from channelhub.sync.bulk import insert_rows

INBOX = cast(Table, InboxRow.__table__)
CURSORS = cast(Table, CursorRow.__table__)
FILES = cast(Table, ImportedFileRow.__table__)
STATE = cast(Table, ChannelStateRow.__table__)

# Inbox rows are written through the driver (channelhub.sync.bulk) as lists of these columns.
INBOX_COLUMNS = ("channel", "stream", "source", "external_id", "delivery_id", "body", "status", "reason", "received_at")
_EXTERNAL_ID, _DELIVERY, _STATUS, _REASON = 3, 4, 6, 7

ORDERS_STREAM = "orders"
MAP_SLICE = 2500  # records mapped and applied together within a page's transaction


@dataclass
class PullReport:
    """What one pull (or one batch of webhook records, or a replay) did."""

    channel: str
    stream: str = ORDERS_STREAM
    pages: int = 0
    duplicate_files: int = 0
    records: int = 0
    applied: int = 0
    quarantined: int = 0
    duplicates: int = 0  # webhook deliveries seen before
    orders: ApplyReport = field(default_factory=ApplyReport)
    error: str = ""
    stopped: bool = False  # a Fatal error stopped the channel

    @property
    def ok(self) -> bool:
        return not self.error


def _describe(exc: BaseException) -> str:
    if isinstance(exc, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(order)'}: {err['msg']}" for err in exc.errors()[:5]
        )
        more = f" (+{exc.error_count() - 5} more)" if exc.error_count() > 5 else ""
        return f"invalid order: {problems}{more}"
    if isinstance(exc, MappingError):
        return str(exc)
    return f"{type(exc).__name__}: {exc}"


def _map(connector: Connector, record: RawRecord) -> tuple[Order | None, str]:
    """Map one record; a failure becomes a quarantine reason naming where the record came from."""
    if record.problem:
        return None, f"{record.source}: {record.problem}"
    try:
        order = connector.map_order(record)
    except (ConnectorError, ValidationError, ValueError, KeyError, TypeError, LookupError) as exc:
        if isinstance(exc, Fatal | Retryable):
            raise
        return None, f"{record.source}: {_describe(exc)}"
    if order.channel != connector.channel:
        return None, f"{record.source}: mapped order names channel {order.channel!r}, expected {connector.channel!r}"
    return order, ""


def _seen_deliveries(session: Session, channel: str, delivery_ids: list[str]) -> set[str]:
    seen: set[str] = set()
    for start in range(0, len(delivery_ids), CHUNK):
        chunk = delivery_ids[start : start + CHUNK]
        seen.update(
            session.scalars(
                select(INBOX.c.delivery_id).where(INBOX.c.channel == channel, INBOX.c.delivery_id.in_(chunk))
            )
        )
    return seen


def ingest_records(
    session: Session,
    connector: Connector,
    records: Sequence[RawRecord],
    *,
    policies: Sequence[ChannelStockPolicy],
    source: str,
    now: datetime,
    report: PullReport,
) -> None:
    """Store `records` in the inbox, map them and apply the orders, in the caller's transaction."""
    channel = connector.channel
    wanted = [r.delivery_id for r in records if r.delivery_id]
    seen = _seen_deliveries(session, channel, wanted) if wanted else set()
    rows: list[list[Any]] = []  # inbox rows, values in INBOX_COLUMNS order
    pending: list[tuple[RawRecord, list[Any], int]] = []  # (record, its inbox row, that row's index)
    for record in records:
        row = [channel, record.stream, record.source, record.external_id, record.delivery_id, record.body,
               "applied", "", now]  # fmt: skip
        rows.append(row)
        if record.delivery_id and record.delivery_id in seen:
            # Stored for the record, without the id: (channel, delivery_id) is unique to the first delivery.
            row[_DELIVERY], row[_STATUS] = None, "duplicate"
            row[_REASON] = f"duplicate of delivery {record.delivery_id}"
            report.duplicates += 1
            continue
        if record.delivery_id:
            seen.add(record.delivery_id)
        pending.append((record, row, len(rows) - 1))
    # Mapped and applied a slice at a time, all in the caller's transaction: a page's canonical orders are far
    # larger than its records, and holding them all at once set the import's peak memory. Stock is published
    # once for the whole page.
    touched: set[str] = set()
    stored = 0
    for start in range(0, len(pending), MAP_SLICE):
        orders: list[Order] = []
        chunk = pending[start : start + MAP_SLICE]
        for record, row, _index in chunk:
            order, reason = _map(connector, record)
            if order is None:
                row[_STATUS], row[_REASON] = "quarantined", reason
                report.quarantined += 1
                continue
            if row[_EXTERNAL_ID] is None:
                row[_EXTERNAL_ID] = order.external_id
            orders.append(order)
            report.applied += 1
        # The inbox rows up to this slice's last record are stored before its orders are applied.
        upto = chunk[-1][2] + 1
        insert_rows(session, INBOX, INBOX_COLUMNS, rows[stored:upto])
        stored = upto
        if orders:
            applied = apply_orders(session, orders, source=source, policies=policies, now=now, publish=False)
            touched |= applied.touched_skus
            report.orders.merge(applied)
        del orders
    report.records += len(records)
    if stored < len(rows):  # duplicates after the last mapped record, or a page of duplicates only
        insert_rows(session, INBOX, INBOX_COLUMNS, rows[stored:])
    if touched:
        publish_skus(session, touched, policies, cause=f"orders:{source}")


def _write_cursor(session: Session, channel: str, stream: str, value: str, now: datetime) -> None:
    done = session.execute(
        update(CURSORS)
        .where(CURSORS.c.channel == channel, CURSORS.c.stream == stream)
        .values(value=value, updated_at=now)
    )
    if done.rowcount == 0:  # type: ignore[attr-defined]
        session.execute(insert(CURSORS).values(channel=channel, stream=stream, value=value, updated_at=now))


def read_cursor(db: Database, channel: str, stream: str = ORDERS_STREAM) -> str | None:
    with db.transaction() as session:
        return session.scalar(select(CURSORS.c.value).where(CURSORS.c.channel == channel, CURSORS.c.stream == stream))


def _apply_page(
    db: Database,
    connector: Connector,
    page: PulledPage,
    *,
    policies: Sequence[ChannelStockPolicy],
    now: datetime,
    report: PullReport,
) -> None:
    channel = connector.channel
    label = page.label or f"{channel} page {report.pages + report.duplicate_files + 1}"
    with db.transaction() as session:
        if page.content_hash is not None and session.scalar(
            select(FILES.c.id).where(FILES.c.channel == channel, FILES.c.content_hash == page.content_hash)
        ):
            report.duplicate_files += 1
        else:
            ingest_records(
                session, connector, page.records, policies=policies, source=f"{channel}:{label}", now=now, report=report
            )
            if page.cursor is not None:
                _write_cursor(session, channel, ORDERS_STREAM, page.cursor, now)
            if page.content_hash is not None:
                session.execute(
                    insert(FILES).values(channel=channel, content_hash=page.content_hash, label=label, imported_at=now)
                )
            report.pages += 1
    if page.on_committed is not None:
        page.on_committed()


def _update_state(db: Database, channel: str, **values: Any) -> None:
    with db.transaction() as session:
        done = session.execute(update(STATE).where(STATE.c.channel == channel).values(**values))
        if done.rowcount == 0:  # type: ignore[attr-defined]
            base = {"last_error": "", "stopped_reason": ""}
            base.update(values)
            session.execute(insert(STATE).values(channel=channel, **base))


def stopped_reason(db: Database, channel: str) -> str:
    with db.transaction() as session:
        return session.scalar(select(STATE.c.stopped_reason).where(STATE.c.channel == channel)) or ""


def resume_channel(db: Database, channel: str) -> None:
    """Clear a channel's `stopped_reason` (after the Fatal cause, say credentials, was fixed)."""
    _update_state(db, channel, stopped_reason="")


@contextmanager
def _collect_between_pages() -> Iterator[Callable[[], object]]:
    """Pause automatic cyclic garbage collection while pages are read and applied; yield the function that
    collects between pages.

    A page holds tens of thousands of live objects (records, rows, orders), and every automatic full collection
    walks all of them: that was half the import time. Nearly all of a page's garbage is freed by reference
    counting anyway; the few cycles are collected once per page, after its commit, when the page is gone and the
    heap is small again, so memory stays bounded by the page size. Restores the previous state on exit.
    """
    if not gc.isenabled():
        yield lambda: None
        return
    gc.disable()
    # Objects alive before the pull (modules, schemas, engines) cannot be this pull's garbage: frozen, the
    # per-page collection skips them instead of walking the whole heap every time.
    gc.freeze()
    try:
        yield gc.collect
    finally:
        gc.unfreeze()
        gc.enable()


# PostgreSQL plans the page's lookups (orders by (channel, external_id), lines, reservations) from table
# statistics. A large import into a young table outruns autovacuum's analyze (a minute's nap), and without
# statistics the planner takes the unique index on channel alone and filters every order of the channel on each
# lookup: 100,000 orders took 130 s instead of ~50. So a pull analyzes those tables itself after 10,000 records,
# then each time the records it imported have doubled (a handful of times even for millions of rows).
ANALYZE_FIRST = 10_000
ANALYZED_TABLES = ("orders", "order_lines", "reservations", "inbox", "outbox")


def _analyze(db: Database) -> None:
    with db.transaction() as session:
        session.execute(text(f"ANALYZE {', '.join(ANALYZED_TABLES)}"))


def run_pull(
    db: Database,
    connector: Connector,
    *,
    policies: Sequence[ChannelStockPolicy],
    overlap: timedelta,
    now: datetime | None = None,
    progress: Callable[[PullReport], None] | None = None,
) -> PullReport:
    """Pull the "orders" stream of `connector.channel` from its cursor (less `overlap`) and apply every page.

    Returns the report; `report.error` is set when a connector error ended the pull early and `report.stopped`
    when it was Fatal (the channel's stopped_reason is set; later pulls return at once). Errors that are not a
    ConnectorError (a bug, the database going away) are recorded as last_error and raised.
    """
    now = now if now is not None else datetime.now(UTC)
    channel = connector.channel
    report = PullReport(channel=channel)
    already = stopped_reason(db, channel)
    if already:
        report.error, report.stopped = f"channel stopped: {already}", True
        return report
    request = PullRequest(cursor=read_cursor(db, channel), overlap=overlap, now=now)
    analyze_at = ANALYZE_FIRST
    try:
        with _collect_between_pages() as collect:
            for page in connector.pull_orders(request):
                _apply_page(db, connector, page, policies=policies, now=now, report=report)
                del page
                collect()
                if db.is_postgres and report.records >= analyze_at:
                    _analyze(db)
                    analyze_at = 2 * report.records
                if progress is not None:
                    progress(report)
    except Fatal as exc:
        report.error, report.stopped = str(exc), True
        _update_state(db, channel, last_pull_at=now, last_error=str(exc), stopped_reason=str(exc))
        return report
    except Retryable as exc:
        report.error = str(exc)
        _update_state(db, channel, last_pull_at=now, last_error=str(exc))
        return report
    except Exception as exc:
        _update_state(db, channel, last_pull_at=now, last_error=f"{type(exc).__name__}: {exc}")
        raise
    _update_state(db, channel, last_pull_at=now, last_pull_ok_at=now, last_error="")
    return report


def apply_records(
    db: Database,
    connector: Connector,
    records: Sequence[RawRecord],
    policies: Sequence[ChannelStockPolicy],
    *,
    now: datetime | None = None,
    source: str = "webhook",
) -> PullReport:
    """Webhook-fed records: the same inbox, map and apply path as polling, in one transaction, deduplicated by
    (channel, delivery_id)."""
    now = now if now is not None else datetime.now(UTC)
    report = PullReport(channel=connector.channel)
    with db.transaction() as session:
        ingest_records(
            session, connector, records, policies=policies, source=f"{connector.channel}:{source}", now=now,
            report=report,
        )  # fmt: skip
    return report


def replay_quarantined(
    db: Database,
    connector: Connector,
    inbox_ids: Sequence[int] | None = None,
    *,
    policies: Sequence[ChannelStockPolicy] = (),
    now: datetime | None = None,
) -> PullReport:
    """Map the channel's quarantined inbox rows again (after a mapping fix) and apply those that now map.

    Rows that still fail stay quarantined with the new reason; nothing is deleted. Pass the channels' stock
    `policies` so reserved stock is published.
    """
    now = now if now is not None else datetime.now(UTC)
    channel = connector.channel
    report = PullReport(channel=channel)
    with db.transaction() as session:
        stmt = (
            select(INBOX.c.id, INBOX.c.stream, INBOX.c.source, INBOX.c.body, INBOX.c.external_id, INBOX.c.delivery_id)
            .where(INBOX.c.channel == channel, INBOX.c.status == "quarantined")
            .order_by(INBOX.c.id)
        )
        if inbox_ids is not None:
            stmt = stmt.where(INBOX.c.id.in_(list(inbox_ids)))
        orders: list[Order] = []
        changes: list[dict[str, Any]] = []
        for row in session.execute(stmt):
            record = RawRecord(row.stream, row.source, row.body, row.external_id, None, row.delivery_id)
            report.records += 1
            order, reason = _map(connector, record)
            if order is None:
                changes.append({"_id": row.id, "status": "quarantined", "reason": reason})
                report.quarantined += 1
            else:
                changes.append({"_id": row.id, "status": "applied", "reason": f"replayed {now.isoformat()}"})
                orders.append(order)
                report.applied += 1
        if changes:
            from sqlalchemy import bindparam

            session.execute(
                update(INBOX)
                .where(INBOX.c.id == bindparam("_id"))
                .values(status=bindparam("status"), reason=bindparam("reason")),
                changes,
            )
        if orders:
            report.orders.merge(apply_orders(session, orders, source=f"{channel}:replay", policies=policies, now=now))
    return report
