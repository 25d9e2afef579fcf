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
3. RECORD the outcome per batch in its own transaction, by the decision table in `channelhub.sync.retry`.

Fulfillment and refund rows go one per call.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import Table, and_, bindparam, insert, or_, select, update
from sqlalchemy.orm import Session

from channelhub.errors import Fatal, RateLimited
from channelhub.model.shipments import Shipment
from channelhub.ports import Connector, FulfillmentRequest, RefundRequest, StockUpdate, WriteResult
from channelhub.store import Database
from channelhub.store.tables import ChannelListingRow, OutboxRow
from channelhub.sync.retry import Next, RetryPolicy

OUTBOX = cast(Table, OutboxRow.__table__)
LISTINGS = cast(Table, ChannelListingRow.__table__)
CHUNK = 500
T = TypeVar("T")


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


@dataclass
class _Batch:
    kind: str
    key: str
    rows: list[Any]  # OUTBOX rows (id, kind, subject, payload, idempotency_key, attempts, ...)


def batch_key(keys: Sequence[str]) -> str:
    return hashlib.sha256("\n".join(sorted(keys)).encode()).hexdigest()


def _ids_in(ids: Sequence[T]) -> list[Sequence[T]]:
    return [ids[i : i + CHUNK] for i in range(0, len(ids), CHUNK)]


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

    def run_once(self, now: datetime | None = None, *, max_rounds: int = 10_000) -> DispatchReport:
        """Send everything due at `now` for every channel; return what happened."""
        now = now if now is not None else datetime.now(UTC)
        report = DispatchReport()
        for channel, connector in self.connectors.items():
            for _ in range(max_rounds):
                batches = self._claim(channel, connector, now, report)
                if not batches:
                    break
                if not self._send(channel, connector, batches, now, report):
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
            to_send = self._drop_unchanged(session, channel, list(pending_stock.values()), now, report)
            size = max(connector.limits.stock_per_call, 1)
            for start in range(0, len(to_send), size):
                chunk = to_send[start : start + size]
                batches.append(_Batch("stock", batch_key([r.idempotency_key for r in chunk]), chunk))
            for row in others:
                batches.append(_Batch(row.kind, batch_key([row.idempotency_key]), [row]))
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
        for chunk in _ids_in(subjects):
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
        for chunk in _ids_in(list(ids)):
            session.execute(
                update(OUTBOX)
                .where(OUTBOX.c.id.in_(chunk))
                .values(status=status, done_at=now, batch_key=None, claimed_by=None, lease_until=None)
            )

    # --- call and record ----------------------------------------------------------------------------------

    def _send(
        self, channel: str, connector: Connector, batches: list[_Batch], now: datetime, report: DispatchReport
    ) -> bool:
        """Send claimed batches in order; False when the channel stopped (the rest went back to pending)."""
        for index, batch in enumerate(batches):
            report.calls += 1
            try:
                results = self._call(connector, batch, channel)
            except Fatal as exc:
                report.stopped[channel] = str(exc)
                report.errors.append(f"{channel}: {exc}")
                with self.db.transaction() as session:
                    for rest in batches[index:]:
                        self._unclaim(session, rest, str(exc))
                return False
            except Exception as exc:  # Retryable, RateLimited, or a connector bug: retried, then dead
                retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
                error = f"{type(exc).__name__}: {exc}"
                with self.db.transaction() as session:
                    for row in batch.rows:
                        self._failed(session, row, error, True, retry_after, now, report)
                continue
            with self.db.transaction() as session:
                self._record(session, channel, batch, results, now, report)
        return True

    def _call(self, connector: Connector, batch: _Batch, channel: str) -> dict[str, WriteResult]:
        if batch.kind == "stock":
            with self.db.transaction() as session:
                previous = dict(
                    session.execute(
                        select(LISTINGS.c.sku, LISTINGS.c.last_confirmed).where(
                            LISTINGS.c.channel == channel, LISTINGS.c.sku.in_([r.subject for r in batch.rows])
                        )
                    ).all()
                )
            updates = [
                StockUpdate(
                    sku=r.subject,
                    quantity=int(r.payload["quantity"]),
                    idempotency_key=r.idempotency_key,
                    previous=previous.get(r.subject),
                )
                for r in batch.rows
            ]
            return {result.idempotency_key: result for result in connector.push_stock(updates)}
        (row,) = batch.rows
        payload = row.payload
        if batch.kind == "fulfillment":
            connector.push_fulfillment(
                FulfillmentRequest(
                    order_external_id=payload["order_external_id"],
                    order_number=payload.get("order_number", ""),
                    shipment=Shipment.model_validate(payload["shipment"]),
                    line_external_ids=payload.get("line_external_ids", {}),
                    idempotency_key=row.idempotency_key,
                    completes_order=payload.get("completes_order"),
                )
            )
        elif batch.kind == "refund":
            connector.push_refund(
                RefundRequest(
                    order_external_id=payload["order_external_id"],
                    amount=str(payload["amount"]),
                    currency=payload["currency"],
                    reason=payload.get("reason", ""),
                    lines=tuple((str(a), int(b)) for a, b in payload.get("lines", [])),
                    idempotency_key=row.idempotency_key,
                )
            )
        else:
            return {row.idempotency_key: WriteResult(row.idempotency_key, error=f"no dispatcher for {batch.kind!r}")}
        return {row.idempotency_key: WriteResult(row.idempotency_key)}

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
                self._failed(session, row, result.error or "failed", result.retryable, None, now, report)
        self._finish(session, [row.id for row, _ in done], "done", now)
        report.done += len(done)
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
    for chunk in _ids_in(skus):
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
