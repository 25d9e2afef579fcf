"""Ingest: raw records -> inbox -> map -> apply, in the caller's transaction; the one path for pulls, webhooks and
replays.

For a batch of records (a pulled page, a webhook delivery, the rows chosen for a replay):

1. a record already stored for the channel is not stored or applied again: the same webhook delivery id, or the
   same body (sha256 of stream and body, `inbox.body_hash`): a re-read after a crash, an overlap re-poll of an
   unchanged order or a re-delivered webhook stores no second copy (counted as `duplicates`);
2. each new record is mapped; it is quarantined with a reason naming `record.source` when the connector marked a
   problem, when map_order fails in any way (a connector bug never blocks a channel), or when the order breaks
   the channel's rules (`IngestRules`: a line quantity above `max_line_quantity`). A mapped order then takes the
   channel's `unmapped_lines` rule (lines without a SKU kept as non-stock lines, or left to hold the order) and
   the totals check (`channelhub.model.totals`), whose findings are kept as the order's `warnings`;
3. the mapped orders are applied a slice at a time (`apply_orders`). Should the database refuse a slice (a value
   it cannot hold that mapping let through), the slice is applied again one order at a time, each in a
   savepoint, and only the refused order is quarantined with the database's reason;
4. the inbox rows are written with their final status; the stock effects of the whole batch are settled once.

Transient database errors (a lock, a lost connection) are not the record's fault: they roll back the caller's
transaction, so nothing of the batch is kept and it is read again.
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pydantic import ValidationError
from sqlalchemy import exc as sa_exc
from sqlalchemy import select
from sqlalchemy.orm import Session

from channelhub.errors import Fatal, MappingError, Retryable
from channelhub.logs import get_logger
from channelhub.model.limits import DEFAULT_MAX_LINE_QUANTITY, order_problems
from channelhub.model.orders import Order
from channelhub.model.totals import totals_warnings
from channelhub.ports import Connector, RawRecord
from channelhub.redact import scrub
from channelhub.stock.policy import ChannelStockPolicy
from channelhub.store.bulk import insert_rows
from channelhub.store.sql import chunked
from channelhub.store.tables import INBOX, ORDER_KEY_CONSTRAINT
from channelhub.sync.apply import ApplyReport, apply_orders
from channelhub.sync.holds import settle

log = get_logger("channelhub.ingest")

# Inbox rows are written through the driver (channelhub.store.bulk) as lists of these columns.
INBOX_COLUMNS = (
    "channel", "stream", "source", "external_id", "delivery_id", "body_hash", "body", "status", "reason",
    "received_at",
)  # fmt: skip
_EXTERNAL_ID, _STATUS, _REASON = 3, 7, 8

MAP_SLICE = 2500  # records mapped and applied together within a batch's transaction
MAX_LOGGED_CONFLICTS = 20


@dataclass(frozen=True)
class IngestRules:
    """A channel's rules for what may be applied (`[[channels]]` keys)."""

    max_line_quantity: int = DEFAULT_MAX_LINE_QUANTITY
    unmapped_lines: str = "hold"  # "hold" | "no_stock": what a line without a SKU is
    ship_before_payment: frozenset[str] = frozenset()  # payment methods whose orders ship unpaid


def prepare(order: Order, rules: IngestRules) -> Order:
    """The mapped order under the channel's rules: lines without a SKU made non-stock when `unmapped_lines` is
    "no_stock", and the totals check's findings as `warnings`."""
    update: dict[str, Any] = {}
    if rules.unmapped_lines == "no_stock" and any(line.unmapped for line in order.lines):
        update["lines"] = tuple(
            line.model_copy(update={"requires_stock": False}) if line.unmapped else line for line in order.lines
        )
    warnings = totals_warnings(order)
    if warnings != order.warnings:
        update["warnings"] = warnings
    return order.model_copy(update=update) if update else order


@dataclass
class IngestReport:
    """What one pull, one batch of webhook records or one replay did."""

    channel: str
    stream: str = "orders"
    pages: int = 0
    duplicate_files: int = 0
    records: int = 0
    applied: int = 0
    quarantined: int = 0
    duplicates: int = 0  # records stored before (same delivery id or same body): not stored or applied again
    orders: ApplyReport = field(default_factory=ApplyReport)
    error: str = ""
    stopped: bool = False  # a Fatal error stopped the channel
    interrupted: bool = False  # the daemon is stopping: the pull ended between two pages

    @property
    def ok(self) -> bool:
        return not self.error


@dataclass
class Verdict:
    """What became of one mapped record: applied, or quarantined when the database refused its order."""

    source: str
    status: str = "applied"
    reason: str = ""


def body_hash(record: RawRecord) -> str:
    return hashlib.sha256(f"{record.stream}\x1f{record.body}".encode("utf-8", "surrogatepass")).hexdigest()


def describe(exc: BaseException) -> str:
    """An exception in words for a quarantine reason: pydantic's errors one by one, the hub's as they are."""
    if isinstance(exc, ValidationError):
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(order)'}: {err['msg']}" for err in exc.errors()[:5]
        )
        more = f" (+{exc.error_count() - 5} more)" if exc.error_count() > 5 else ""
        return f"invalid order: {problems}{more}"
    if isinstance(exc, MappingError):
        return exc.message
    return f"{type(exc).__name__}: {exc}"


def map_record(connector: Connector, record: RawRecord, rules: IngestRules) -> tuple[Order | None, str]:
    """Map one record; any failure becomes a quarantine reason naming where the record came from.

    Only Fatal and Retryable propagate (the channel, not the record, is wrong). Anything else map_order raises,
    a bug included, quarantines the record: it can be replayed once the connector is fixed.
    """
    if record.problem:
        return None, scrub(f"{record.source}: {record.problem}")
    try:
        order = connector.map_order(record)
    except (Fatal, Retryable):
        raise
    except Exception as exc:
        if not isinstance(exc, ValueError | LookupError | TypeError | MappingError):
            log.error("map_order raised; record quarantined", channel=connector.channel, source=record.source,
                      exc_info=True)  # fmt: skip
        return None, scrub(f"{record.source}: {describe(exc)}")
    if order.channel != connector.channel:
        return None, f"{record.source}: mapped order names channel {order.channel!r}, expected {connector.channel!r}"
    problems = order_problems(order, max_line_quantity=rules.max_line_quantity)
    if problems:
        return None, f"{record.source}: " + "; ".join(problems)
    return prepare(order, rules), ""


def _seen(session: Session, channel: str, column: Any, values: list[str]) -> set[str]:
    found: set[str] = set()
    for chunk in chunked(sorted(set(values))):
        found.update(session.scalars(select(column).where(INBOX.c.channel == channel, column.in_(chunk))))
    return found


def _new_records(
    session: Session, channel: str, records: Sequence[RawRecord], report: IngestReport
) -> list[tuple[RawRecord, str]]:
    """The records not stored before (by delivery id or body), each with its body hash, in order."""
    hashes = [body_hash(r) for r in records]
    deliveries = _seen(session, channel, INBOX.c.delivery_id, [r.delivery_id for r in records if r.delivery_id])
    bodies = _seen(session, channel, INBOX.c.body_hash, hashes)
    fresh = []
    for record, digest in zip(records, hashes, strict=True):
        if digest in bodies or (record.delivery_id and record.delivery_id in deliveries):
            report.duplicates += 1
            continue
        bodies.add(digest)
        if record.delivery_id:
            deliveries.add(record.delivery_id)
        fresh.append((record, digest))
    return fresh


def ingest_records(
    session: Session,
    connector: Connector,
    records: Sequence[RawRecord],
    *,
    rules: IngestRules,
    policies: Sequence[ChannelStockPolicy],
    source: str,
    now: datetime,
    report: IngestReport,
) -> None:
    """Store `records` in the inbox, map them and apply the orders, in the caller's transaction (see the module
    contract)."""
    channel = connector.channel
    report.records += len(records)
    fresh = _new_records(session, channel, records, report)
    touched: set[str] = set()
    freed: set[str] = set()
    for start in range(0, len(fresh), MAP_SLICE):
        rows: list[list[Any]] = []
        mapped: list[tuple[Order, Verdict]] = []
        applied_rows: list[list[Any]] = []
        for record, digest in fresh[start : start + MAP_SLICE]:
            order, reason = map_record(connector, record, rules)
            row = [channel, record.stream, record.source, record.external_id, record.delivery_id, digest,
                   record.body, "applied", "", now]  # fmt: skip
            rows.append(row)
            if order is None:
                row[_STATUS], row[_REASON] = "quarantined", reason
                report.quarantined += 1
                continue
            if row[_EXTERNAL_ID] is None:
                row[_EXTERNAL_ID] = order.external_id
            mapped.append((order, Verdict(record.source)))
            applied_rows.append(row)
        applied = apply_guarded(session, mapped, source=source, policies=policies, now=now, report=report,
                                rules=rules)  # fmt: skip
        for (_order, verdict), row in zip(mapped, applied_rows, strict=True):
            row[_STATUS], row[_REASON] = verdict.status, verdict.reason
        touched |= applied.touched_skus
        freed |= applied.freed_skus
        report.orders.merge(applied)
        insert_rows(session, INBOX, INBOX_COLUMNS, rows)
        del rows, mapped, applied_rows
    if touched or freed:
        report.orders.merge(settle(session, policies, touched=touched, freed=freed, cause=f"orders:{source}", at=now))
    _log_conflicts(channel, report.orders.conflicts)


def apply_guarded(
    session: Session,
    mapped: Sequence[tuple[Order, Verdict]],
    *,
    source: str,
    policies: Sequence[ChannelStockPolicy],
    now: datetime,
    report: IngestReport,
    rules: IngestRules,
    remap: bool = False,
) -> ApplyReport:
    """Apply the mapped orders in a savepoint; when the database refuses the slice, apply them one by one and
    quarantine only the refused ones (their verdicts say so). `remap`: see `apply_orders`."""
    orders = [order for order, _row in mapped]
    if not orders:
        return ApplyReport()
    options: dict[str, Any] = {
        "source": source, "policies": policies, "now": now, "settle_stock": False,
        "ship_before_payment": rules.ship_before_payment, "remap": remap,
    }  # fmt: skip
    try:
        with session.begin_nested():
            applied = apply_orders(session, orders, **options)
        report.applied += len(orders)
        return applied
    except REFUSALS as exc:
        if ORDER_KEY_CONSTRAINT in str(exc):  # another daemon (its pull, its applier) stored one first: a race
            log.info("another writer stored some of these orders first; applying them one by one")
        else:
            log.warning("the database refused a slice of orders; applying them one by one", error=scrub(str(exc)))
    applied = ApplyReport()
    for order, verdict in mapped:
        try:
            with session.begin_nested():
                applied.merge(apply_orders(session, [order], **options))
            report.applied += 1
        except REFUSALS as exc:
            verdict.status = "quarantined"
            verdict.reason = scrub(f"{verdict.source}: the database refused this order: {_refusal(exc)}")
            report.quarantined += 1
    return applied


def _refusal(exc: BaseException) -> str:
    orig = getattr(exc, "orig", None) or exc
    return f"{type(orig).__name__}: {str(orig).splitlines()[0] if str(orig) else ''}"[:500]


def _driver_refusals() -> tuple[type[BaseException], ...]:
    """Errors that mean "the database cannot hold this value", whether SQLAlchemy or the raw driver raised them."""
    found: list[type[BaseException]] = [
        sa_exc.DataError, sa_exc.IntegrityError, sqlite3.DataError, sqlite3.IntegrityError, OverflowError,
    ]  # fmt: skip
    try:
        import psycopg
    except ImportError:  # a SQLite-only install
        pass
    else:
        found += [psycopg.DataError, psycopg.IntegrityError]
    return tuple(found)


REFUSALS = _driver_refusals()
# ORDER_KEY_CONSTRAINT refuses a slice when two daemons insert the same new order at once (one's pull, the other's
# webhook applier): applied one by one, the later sees the earlier's row and updates it. PostgreSQL names it.


def _log_conflicts(channel: str, conflicts: list[str]) -> None:
    for conflict in conflicts[:MAX_LOGGED_CONFLICTS]:
        log.warning("order conflict", channel=channel, conflict=scrub(conflict))
    if len(conflicts) > MAX_LOGGED_CONFLICTS:
        log.warning("more order conflicts", channel=channel, count=len(conflicts) - MAX_LOGGED_CONFLICTS)
