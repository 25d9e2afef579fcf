"""The outbox dispatcher: claim due rows, coalesce, batch, call the connector, record the outcome.

One round for a channel:

1. CLAIM (one transaction): due rows are pending rows with due_at <= now, and inflight rows whose lease expired
   (a worker died mid-call). PostgreSQL takes them `FOR UPDATE SKIP LOCKED`, so concurrent dispatchers claim
   disjoint rows; SQLite's BEGIN IMMEDIATE already runs one writer at a time. Stock rows coalesce by subject
   (the SKU): the newest row wins, older pending ones become `superseded`; a value equal to the channel's
   ChannelListingRow.last_confirmed becomes `skipped` (unless another write of that SKU is in flight). The rest are
   cut into batches of `limits.stock_per_call`; each batch gets a batch_key (sha256 of its sorted idempotency
   keys) and its rows go inflight with claimed_by / lease_until and one more attempt, then COMMIT.
   An expired inflight batch is re-sent as the SAME batch (same rows, same keys), so the channel sees a repeat.
2. CALL the connector outside any transaction.
3. RECORD the outcome per batch in its own transaction, by the decision table in `channelhub.sync.retry`: a
   write the channel refused (Skippable) goes dead at once with its reason; an exception that is not a
   connector error (a bug) is logged with its traceback and retried like a transient failure. Retries live here
   only: connectors classify, they never retry themselves.

Fulfillment, refund and cancellation rows go one per call. `should_stop` (the daemon stopping) is asked between
calls: the run ends there; what was claimed and not sent goes back to pending, its attempt not counted. Every
error text kept in the outbox passes `channelhub.redact.scrub`. Each connector call is timed, and each row
confirmed has its enqueue-to-delivery time observed, for /metrics (`channelhub.telemetry`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import and_, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from channelhub import telemetry
from channelhub.errors import ConnectorError, Fatal, RateLimited, Skippable
from channelhub.logs import get_logger
from channelhub.ports import Connector, WriteResult
from channelhub.redact import scrub
from channelhub.store import Database
from channelhub.store.sql import chunked
from channelhub.store.tables import LISTINGS, OUTBOX
from channelhub.sync.calls import call_connector
from channelhub.sync.retry import Next, RetryPolicy

log = get_logger("channelhub.dispatch")


@dataclass
class DispatchReport:
    calls: int = 0
    done: int = 0
    superseded: int = 0
    skipped: int = 0
    retried: int = 0
    dead: int = 0
    stopped: dict[str, str] = field(default_factory=dict)  # channel -> the Fatal error
    errors: list[str] = field(default_factory=list)
    interrupted: bool = False  # should_stop ended the run between two calls


@dataclass
class _Batch:
    kind: str
    key: str
    rows: list[Any]  # OUTBOX rows (id, kind, subject, payload, idempotency_key, attempts, ...)


def batch_key(keys: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()


class Dispatcher:
    """Sends due outbox rows to the channels' connectors. Safe to run in several processes at once."""

    def __init__(
        self,
        db: Database,
        connectors: Mapping[str, Connector],
        *,
        worker_id: str,
        retry: RetryPolicy | None = None,
        lease: timedelta = timedelta(minutes=5),
        batches_per_claim: int = 10,
    ) -> None:
        self.db = db
        self.connectors = dict(connectors)
        self.worker_id = worker_id
        self.retry = retry or RetryPolicy()
        self.lease = lease
        self.batches_per_claim = max(batches_per_claim, 1)

    def run_once(
        self,
        now: datetime | None = None,
        *,
        max_rounds: int = 10_000,
        should_stop: Callable[[], bool] | None = None,
    ) -> DispatchReport:
        """Send everything due at `now` for every channel; return what happened. Ends early, between two calls,
        when `should_stop()` says so (`report.interrupted`)."""
        now = now if now is not None else datetime.now(UTC)
        report = DispatchReport()
        stop = should_stop or (lambda: False)
        for channel, connector in self.connectors.items():
            for _ in range(max_rounds):
                if stop():
                    report.interrupted = True
                    return report
                batches = self._claim(channel, connector, now, report)
                if not batches:
                    break
                if not self._send(channel, connector, batches, now, report, stop):
                    break
        return report

    # --- claim --------------------------------------------------------------------------------------------

    def _claim(self, channel: str, connector: Connector, now: datetime, report: DispatchReport) -> list[_Batch]:
        with self.db.transaction() as session:
            due = or_(
                and_(OUTBOX.c.status == "pending", OUTBOX.c.due_at <= now),
                and_(OUTBOX.c.status == "inflight", OUTBOX.c.lease_until <= now),
            )
            stmt = select(OUTBOX).where(OUTBOX.c.channel == channel, due).order_by(OUTBOX.c.id)
            if self.db.is_postgres:
                stmt = stmt.with_for_update(skip_locked=True)
            rows = list(session.execute(stmt))
            if not rows:
                return []
            batches: list[_Batch] = []
            recovered: dict[str, list[Any]] = {}
            pending_stock: dict[str, Any] = {}
            superseded: list[int] = []
            others: list[Any] = []
            for row in rows:
                if row.status == "inflight" and row.batch_key:
                    recovered.setdefault(row.batch_key, []).append(row)
                elif row.kind == "stock":
                    older = pending_stock.get(row.subject)
                    if older is not None:
                        superseded.append(older.id)
                    pending_stock[row.subject] = row
                else:
                    others.append(row)
            for key, batch_rows in recovered.items():
                batches.append(_Batch(batch_rows[0].kind, key, batch_rows))
            self._finish(session, superseded, "superseded", now)
            report.superseded += len(superseded)
            # Order writes (fulfilments, cancellations, refunds) go before stock: a channel that moves its own
            # stock when an order changes (WooCommerce restocks a cancelled order) is then set to the hub's figure,
            # not the other way round.
            for row in others:
                batches.append(_Batch(row.kind, batch_key([row.idempotency_key]), [row]))
            to_send = self._drop_unchanged(session, channel, list(pending_stock.values()), now, report)
            size = max(connector.limits.stock_per_call, 1)
            for start in range(0, len(to_send), size):
                chunk = to_send[start : start + size]
                batches.append(_Batch("stock", batch_key([r.idempotency_key for r in chunk]), chunk))
            batches = batches[: self.batches_per_claim]
            lease_until = now + self.lease
            for batch in batches:
                session.execute(
                    update(OUTBOX)
                    .where(OUTBOX.c.id.in_([r.id for r in batch.rows]))
                    .values(
                        status="inflight",
                        batch_key=batch.key,
                        claimed_by=self.worker_id,
                        lease_until=lease_until,
                        attempts=OUTBOX.c.attempts + 1,
                    )
                )
            return batches

    def _drop_unchanged(
        self, session: Session, channel: str, rows: list[Any], now: datetime, report: DispatchReport
    ) -> list[Any]:
        """Mark `skipped` the stock rows whose quantity the channel already confirmed; return the rest by SKU.

        A SKU with a write in flight elsewhere (another worker's live lease) is left pending for a later round:
        two values of one SKU are never on their way at once, so an older one cannot land after a newer one.
        """
        if not rows:
            return []
        subjects = sorted(r.subject for r in rows)
        confirmed: dict[str, int | None] = {}
        busy: set[str] = set()
        for chunk in chunked(subjects):
            confirmed.update(
                session.execute(
                    select(LISTINGS.c.sku, LISTINGS.c.last_confirmed).where(
                        LISTINGS.c.channel == channel, LISTINGS.c.sku.in_(chunk)
                    )
                ).all()
            )
            busy.update(
                session.scalars(
                    select(OUTBOX.c.subject).where(
                        OUTBOX.c.channel == channel,
                        OUTBOX.c.kind == "stock",
                        OUTBOX.c.status == "inflight",
                        OUTBOX.c.lease_until > now,
                        OUTBOX.c.subject.in_(chunk),
                    )
                )
            )
        skipped, keep = [], []
        for row in sorted(rows, key=lambda r: r.subject):
            last = confirmed.get(row.subject)
            if row.subject in busy:
                continue
            if last is not None and last == row.payload.get("quantity"):
                skipped.append(row.id)
            else:
                keep.append(row)
        self._finish(session, skipped, "skipped", now)
        report.skipped += len(skipped)
        return keep

    @staticmethod
    def _finish(session: Session, ids: Sequence[int], status: str, now: datetime) -> None:
        for chunk in chunked(list(ids)):
            session.execute(
                update(OUTBOX)
                .where(OUTBOX.c.id.in_(chunk))
                .values(status=status, done_at=now, batch_key=None, claimed_by=None, lease_until=None)
            )

    # --- call and record ----------------------------------------------------------------------------------

    def _send(
        self,
        channel: str,
        connector: Connector,
        batches: list[_Batch],
        now: datetime,
        report: DispatchReport,
        stop: Callable[[], bool],
    ) -> bool:
        """Send claimed batches in order; False when the channel stopped or the run must end (the rest went
        back to pending, attempts not counted)."""
        for index, batch in enumerate(batches):
            if index and stop():
                report.interrupted = True
                self._give_back(batches[index:], "not sent: the daemon stopped")
                return False
            report.calls += 1
            try:
                results = self._call(connector, batch, channel)
            except Fatal as exc:
                error = scrub(str(exc))
                report.stopped[channel] = error
                report.errors.append(f"{channel}: {error}")
                self._give_back(batches[index:], error)
                return False
            except Skippable as exc:  # the channel refused this write: retrying cannot change its answer
                self._record_failure(batch, scrub(f"refused: {exc}"), False, None, now, report)
                continue
            except Exception as exc:  # Retryable, RateLimited, or a bug in the connector: retried, then dead
                retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
                if not isinstance(exc, ConnectorError):
                    log.error("connector raised an error that is not a hub error; retried", channel=channel,
                              kind=batch.kind, exc_info=True)  # fmt: skip
                self._record_failure(batch, scrub(f"{type(exc).__name__}: {exc}"), True, retry_after, now, report)
                continue
            with self.db.transaction() as session:
                self._record(session, channel, batch, results, now, report)
        return True

    def _record_failure(
        self, batch: _Batch, error: str, retryable: bool, retry_after: float | None, now: datetime,
        report: DispatchReport,
    ) -> None:  # fmt: skip
        with self.db.transaction() as session:
            for row in batch.rows:
                self._failed(session, row, error, retryable, retry_after, now, report)

    def _give_back(self, batches: list[_Batch], error: str) -> None:
        with self.db.transaction() as session:
            for rest in batches:
                self._unclaim(session, rest, error)

    def _call(self, connector: Connector, batch: _Batch, channel: str) -> dict[str, WriteResult]:
        previous: dict[str, int | None] = {}
        if batch.kind == "stock":
            with self.db.transaction() as session:
                previous = dict(
                    session.execute(
                        select(LISTINGS.c.sku, LISTINGS.c.last_confirmed).where(
                            LISTINGS.c.channel == channel, LISTINGS.c.sku.in_([r.subject for r in batch.rows])
                        )
                    ).all()
                )
        with telemetry.DISPATCH_SECONDS.labels(channel, batch.kind).time():  # observed when it raises too
            return call_connector(connector, batch.kind, batch.rows, previous)

    def _record(
        self,
        session: Session,
        channel: str,
        batch: _Batch,
        results: dict[str, WriteResult],
        now: datetime,
        report: DispatchReport,
    ) -> None:
        done: list[Any] = []
        for row in batch.rows:
            result = results.get(row.idempotency_key)
            if result is None:
                self._failed(session, row, "the connector returned no result for this item", True, None, now, report)
            elif result.ok:
                done.append((row, result))
            else:
                self._failed(session, row, scrub(result.error or "failed"), result.retryable, None, now, report)
        self._finish(session, [row.id for row, _ in done], "done", now)
        report.done += len(done)
        telemetry.delivered(channel, batch.kind, (row.created_at for row, _ in done))
        if batch.kind == "stock" and done:
            confirmed = {
                row.subject: result.confirmed_quantity
                if result.confirmed_quantity is not None
                else int(row.payload["quantity"])
                for row, result in done
            }
            _confirm_listings(session, channel, confirmed, now)

    def _failed(
        self,
        session: Session,
        row: Any,
        error: str,
        retryable: bool,
        retry_after: float | None,
        now: datetime,
        report: DispatchReport,
    ) -> None:
        attempts = row.attempts + 1  # the claim counted this attempt in the database
        outcome, due_at = self.retry.after_failure(attempts, now, retryable=retryable, retry_after=retry_after)
        values: dict[str, Any] = {
            "last_error": error[:2000],
            "batch_key": None,
            "claimed_by": None,
            "lease_until": None,
        }
        if outcome == Next.DEAD:
            values.update(status="dead", done_at=now)
            report.dead += 1
        else:
            values.update(status="pending", due_at=due_at)
            report.retried += 1
        session.execute(update(OUTBOX).where(OUTBOX.c.id == row.id).values(**values))

    @staticmethod
    def _unclaim(session: Session, batch: _Batch, error: str) -> None:
        """Back to pending, the attempt not counted: a stopped channel is not the write's fault."""
        session.execute(
            update(OUTBOX)
            .where(OUTBOX.c.id.in_([r.id for r in batch.rows]))
            .values(
                status="pending",
                batch_key=None,
                claimed_by=None,
                lease_until=None,
                attempts=OUTBOX.c.attempts - 1,
                last_error=error[:2000],
            )
        )


def _confirm_listings(session: Session, channel: str, confirmed: Mapping[str, int], now: datetime) -> None:
    skus = sorted(confirmed)
    existing: set[str] = set()
    for chunk in chunked(skus):
        existing.update(
            session.scalars(select(LISTINGS.c.sku).where(LISTINGS.c.channel == channel, LISTINGS.c.sku.in_(chunk)))
        )
    updates = [{"_sku": sku, "q": confirmed[sku]} for sku in skus if sku in existing]
    inserts = [
        {"channel": channel, "sku": sku, "last_confirmed": confirmed[sku], "confirmed_at": now}
        for sku in skus
        if sku not in existing
    ]
    if updates:
        session.execute(
            update(LISTINGS)
            .where(LISTINGS.c.channel == channel, LISTINGS.c.sku == bindparam("_sku"))
            .values(last_confirmed=bindparam("q"), confirmed_at=now),
            updates,
        )
    if inserts:
        session.execute(insert(LISTINGS), inserts)
