"""Pulling orders: a page at a time, each page ONE transaction with the cursor it advances to.

For each page a connector yields:

1. a page whose `content_hash` was already imported for the channel is skipped whole (a re-dropped file);
2. its records go through `channelhub.sync.ingest.ingest_records` (inbox, map or quarantine, apply, settle);
3. the page's cursor and its ImportedFileRow are written; commit; THEN `page.on_committed()` runs. A failure
   there (a file that cannot be moved to processed/) is logged and left for the next pull, which lists the file
   again, recognises its hash and calls on_committed again: it never stops the channel.

A failure while applying a page rolls back the page whole: neither its rows nor its cursor are kept, and the
source still has it. A `Retryable` from the connector ends this pull (committed pages stay); a `Fatal` also sets
the channel's `stopped_reason`, which makes later pulls return at once until `resume_channel` clears it.
`should_stop` (the daemon stopping) is asked between pages: the pull ends there, every committed page kept.
Every error text stored in channel_state passes `channelhub.redact.scrub`.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import insert, select, text, update
from sqlalchemy.orm import Session

from channelhub.errors import Fatal, Retryable
from channelhub.logs import get_logger
from channelhub.ports import Connector, PulledPage, PullRequest
from channelhub.redact import scrub
from channelhub.stock.policy import ChannelStockPolicy
from channelhub.store import Database
from channelhub.store.tables import CURSORS, FILES, STATE
from channelhub.sync.ingest import IngestReport, IngestRules, ingest_records

log = get_logger("channelhub.pull")

ORDERS_STREAM = "orders"
# The report of a pull is the ingest report: the same counts for a pull, a webhook batch or a replay.
PullReport = IngestReport


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
    rules: IngestRules,
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
                session, connector, page.records, rules=rules, policies=policies, source=f"{channel}:{label}",
                now=now, report=report,
            )  # fmt: skip
            if page.cursor is not None:
                _write_cursor(session, channel, ORDERS_STREAM, page.cursor, now)
            if page.content_hash is not None:
                session.execute(
                    insert(FILES).values(channel=channel, content_hash=page.content_hash, label=label, imported_at=now)
                )
            report.pages += 1
    if page.on_committed is not None:
        try:
            page.on_committed()
        except Exception as exc:  # after the commit: nothing is lost, and the next pull calls it again
            log.warning(
                "after the import was committed, the follow-up step failed; it is tried again on the next pull",
                channel=channel, page=label, error=scrub(str(exc)),
            )  # fmt: skip


def set_channel_state(session: Session, channel: str, **values: Any) -> None:
    """Write the given channel_state columns of `channel` (the row is created when missing)."""
    done = session.execute(update(STATE).where(STATE.c.channel == channel).values(**values))
    if done.rowcount == 0:  # type: ignore[attr-defined]
        base = {"last_error": "", "stopped_reason": ""}
        base.update(values)
        session.execute(insert(STATE).values(channel=channel, **base))


def _update_state(db: Database, channel: str, **values: Any) -> None:
    with db.transaction() as session:
        set_channel_state(session, channel, **values)


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
    rules: IngestRules = IngestRules(),
    now: datetime | None = None,
    progress: Callable[[PullReport], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
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
    pages = connector.pull_orders(request)
    try:
        with _collect_between_pages() as collect:
            for page in pages:
                _apply_page(db, connector, page, rules=rules, policies=policies, now=now, report=report)
                del page
                collect()
                if db.is_postgres and report.records >= analyze_at:
                    _analyze(db)
                    analyze_at = 2 * report.records
                if progress is not None:
                    progress(report)
                if should_stop is not None and should_stop():
                    report.interrupted = True
                    break
    except Fatal as exc:
        report.error, report.stopped = scrub(str(exc)), True
        _update_state(db, channel, last_pull_at=now, last_error=report.error, stopped_reason=report.error)
        return report
    except Retryable as exc:
        report.error = scrub(str(exc))
        _update_state(db, channel, last_pull_at=now, last_error=report.error)
        return report
    except Exception as exc:
        _update_state(db, channel, last_pull_at=now, last_error=scrub(f"{type(exc).__name__}: {exc}"))
        raise
    finally:
        close = getattr(pages, "close", None)
        if close is not None:
            close()  # a generator left between pages releases its file or connection now
    _update_state(db, channel, last_pull_at=now, last_pull_ok_at=now, last_error="")
    return report
