"""Applying canonical orders to the store: an idempotent, set-based upsert and the lifecycle moves it implies.

Contract of `apply_orders` (called inside the caller's transaction, once per page):

- The upsert is keyed by the unique (channel, external_id). An update applies only if `order.updated_at` is newer
  than the stored `channel_updated_at`; equal or older versions change nothing (counted as `unchanged`).
- A new order is recorded as placed, then: the mapper's `hold_reason` -> on_hold (channel); payment not settled ->
  on_hold "awaiting payment"; otherwise every line is reserved in the ledger -> confirmed, or on_hold with the
  ledger's reason (unknown SKU, short stock). A new order the channel already cancelled is cancelled at once.
- An update that cancels releases the reservations; a settled payment on an order held for payment reserves and
  confirms; the channel's FULFILLED/DELIVERED ships (commits the reserved stock) or delivers, where forward.
- Every move writes an OrderEventRow; the lifecycle never moves back (stale moves are ignored, forbidden ones are
  reported in `conflicts` and change nothing).
- The SKUs whose sellable quantity changed are published once, at the end.

New orders take the fast path (bulk inserts, one batched reservation); updates are fewer and go one by one.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, NamedTuple

from sqlalchemy import JSON, Dialect, Table, TypeDecorator, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session

from channelhub.errors import InvalidTransition
from channelhub.model.lifecycle import RANK, OrderState, is_forward
from channelhub.model.orders import ChannelFulfillment, Order
from channelhub.stock import ledger
from channelhub.stock import publish as stock_publish
from channelhub.stock.policy import ChannelStockPolicy
from channelhub.store.tables import OutboxRow
from channelhub.sync.bulk import allocate_ids, insert_rows
from channelhub.sync.transitions import (
    AWAITING_PAYMENT,
    HOLD_CHANNEL,
    HOLD_PAYMENT,
    HOLD_STOCK,
    LINES,
    ORDERS,
    EventLog,
    locations_for,
    move,
    rehold,
    unshipped_by_sku,
)

CHUNK = 500  # keys per IN (...) list: well under SQLite's bound-parameter limit


@dataclass
class ApplyReport:
    created: int = 0
    updated: int = 0
    unchanged: int = 0  # an equal or older version of a stored order: ignored
    confirmed: int = 0
    held: int = 0
    cancelled: int = 0
    conflicts: list[str] = field(default_factory=list)
    touched_skus: set[str] = field(default_factory=set)

    def merge(self, other: ApplyReport) -> None:
        self.created += other.created
        self.updated += other.updated
        self.unchanged += other.unchanged
        self.confirmed += other.confirmed
        self.held += other.held
        self.cancelled += other.cancelled
        self.conflicts.extend(other.conflicts)
        self.touched_skus |= other.touched_skus


@dataclass
class _Stored:
    id: int
    updated_at: datetime
    state: OrderState
    hold_kind: str
    hold_reason: str


def chunks(items: Sequence[Any], size: int = CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def now_or_utcnow(now: datetime | None) -> datetime:
    return now if now is not None else datetime.now(UTC)


def _load_existing(session: Session, channel: str, external_ids: Sequence[str]) -> dict[str, _Stored]:
    found: dict[str, _Stored] = {}
    columns = (
        ORDERS.c.external_id,
        ORDERS.c.id,
        ORDERS.c.channel_updated_at,
        ORDERS.c.state,
        ORDERS.c.hold_kind,
        ORDERS.c.hold_reason,
    )
    for chunk in chunks(external_ids):
        stmt = select(*columns).where(ORDERS.c.channel == channel, ORDERS.c.external_id.in_(chunk))
        for ext, oid, updated_at, state, kind, reason in session.execute(stmt):
            found[ext] = _Stored(oid, updated_at, OrderState(state), kind, reason)
    return found


class SerializedJSON(TypeDecorator[str]):
    """A JSON column bound from text that is already JSON (pydantic's `model_dump_json`, six times faster than
    `model_dump` + `json.dumps`). Reads come back through the column's own JSON type."""

    impl = JSON
    cache_ok = True

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        if dialect.name == "postgresql":
            from psycopg.types.json import Json

            return lambda value: None if value is None else Json(value, dumps=_as_is)
        return None  # SQLite keeps JSON as text


def _as_is(value: Any) -> Any:
    return value


# Order inserts and updates bind `document` as JSON text.
DOCUMENT = bindparam("document", type_=SerializedJSON())


def document(order: Order) -> str:
    """The order as stored in `orders.document`: its JSON with the fields still at their defaults left out
    (`Order.model_validate_json` restores them, so the document is still the whole order). About two thirds of
    the full dump, which fits two orders to a SQLite page instead of one."""
    return order.model_dump_json(exclude_defaults=True)


def _order_columns(order: Order, at: datetime) -> dict[str, Any]:
    return {
        "number": order.number,
        "financial_status": order.financial_status.value,
        "currency": order.currency,
        "total": str(order.total_amount),
        "placed_at": order.placed_at,
        "channel_updated_at": order.updated_at,
        "document": document(order),
        "updated_at": at,
    }


def _initial(order: Order) -> tuple[OrderState, str, str]:
    """(state, hold_kind, reason) a new order is inserted with; CONFIRMED still needs its reservation."""
    if order.cancelled_at is not None:
        return OrderState.CANCELLED, "", "cancelled on the channel"
    if order.hold_reason:
        return OrderState.ON_HOLD, HOLD_CHANNEL, order.hold_reason
    if not order.financial_status.settled:
        return OrderState.ON_HOLD, HOLD_PAYMENT, AWAITING_PAYMENT
    return OrderState.CONFIRMED, "", ""


class _Pass(NamedTuple):
    """What every step of one apply_orders call shares: its transaction, where the orders came from, the stock
    policies, the time, the event log flushed at the end, and the report being filled."""

    session: Session
    source: str
    policies: Sequence[ChannelStockPolicy]
    at: datetime
    log: EventLog
    report: ApplyReport


def apply_orders(
    session: Session,
    orders: Sequence[Order],
    *,
    source: str,
    policies: Sequence[ChannelStockPolicy],
    now: datetime | None = None,
    publish: bool = True,
) -> ApplyReport:
    """Upsert `orders` and apply their lifecycle moves in the caller's transaction (see the module contract)."""
    at = now_or_utcnow(now)
    report = ApplyReport()
    log = EventLog()
    run = _Pass(session, source, policies, at, log, report)
    # Within one batch the newest version of each order wins; the rest are stale by definition.
    latest: dict[tuple[str, str], Order] = {}
    for order in orders:
        key = (order.channel, order.external_id)
        kept = latest.get(key)
        if kept is None or order.updated_at > kept.updated_at:
            if kept is not None:
                report.unchanged += 1
            latest[key] = order
        else:
            report.unchanged += 1
    by_channel: dict[str, list[Order]] = {}
    for order in latest.values():
        by_channel.setdefault(order.channel, []).append(order)
    for channel, channel_orders in by_channel.items():
        existing = _load_existing(session, channel, [o.external_id for o in channel_orders])
        fresh = [o for o in channel_orders if o.external_id not in existing]
        newer = []
        for order in channel_orders:
            stored = existing.get(order.external_id)
            if stored is None:
                continue
            if order.updated_at > stored.updated_at:
                newer.append((order, stored))
            else:
                report.unchanged += 1
        if fresh:
            _insert_new(run, fresh)
        for order, stored in newer:
            _apply_update(run, order, stored)
    log.flush(session)
    if publish and report.touched_skus:
        publish_skus(session, report.touched_skus, policies, cause=f"orders:{source}")
    return report


def publish_skus(session: Session, skus: Iterable[str], policies: Sequence[ChannelStockPolicy], cause: str) -> int:
    """Publish sellable quantities of `skus`; each change enqueues its own rows.

    The cause is made unique with the outbox's highest id, which every publish raises: keys stay reproducible
    (a test replaying recorded channel answers sees the same keys in a fresh database), and two changes never
    share a key unless they publish the same quantity, when one row is all that is needed.
    """
    skus = set(skus)
    if not skus or not policies:
        return 0
    high_water = session.scalar(select(func.max(OutboxRow.id))) or 0
    return stock_publish.publish(session, sorted(skus), policies, f"{cause[:120]}@{high_water}")


def insert_with_ids(session: Session, table: Table, columns: Sequence[str], rows: list[tuple[Any, ...]]) -> list[int]:
    """Insert `rows` (values in `columns` order, without the id) with one driver executemany; return their new
    ids, in order. The ids come from `channelhub.sync.bulk.allocate_ids` (the sequence on PostgreSQL, max(id) + 1
    under SQLite's write lock)."""
    ids = allocate_ids(session, table, len(rows))
    insert_rows(session, table, ("id", *columns), [(new_id, *row) for new_id, row in zip(ids, rows, strict=True)])
    return ids


_NEW_ORDER_COLUMNS = (
    "channel", "external_id", "number", "state", "hold_kind", "hold_reason", "financial_status", "currency",
    "total", "placed_at", "channel_updated_at", "document", "created_at", "updated_at",
)  # fmt: skip
_NEW_LINE_COLUMNS = ("order_id", "external_id", "sku", "quantity", "shipped_quantity", "returned_quantity")


def _insert_new(run: _Pass, orders: list[Order]) -> None:
    session, source, policies, at, log, report = run
    initial = [_initial(o) for o in orders]
    rows = [
        (order.channel, order.external_id, order.number, state.value, kind, reason, order.financial_status.value,
         order.currency, str(order.total_amount), order.placed_at, order.updated_at, document(order), at, at)
        for order, (state, kind, reason) in zip(orders, initial, strict=True)
    ]  # fmt: skip
    ids = insert_with_ids(session, ORDERS, _NEW_ORDER_COLUMNS, rows)
    del rows
    line_rows = [
        (oid, line.external_id, line.sku, line.quantity, 0, 0)
        for oid, order in zip(ids, orders, strict=True)
        for line in order.lines
    ]
    line_ids = insert_with_ids(session, LINES, _NEW_LINE_COLUMNS, line_rows)
    report.created += len(orders)
    requests = []
    position = 0
    where: dict[str, tuple[str, ...] | None] = {}  # locations per channel
    for oid, order, (state, _kind, _reason) in zip(ids, orders, initial, strict=True):
        placed = OrderState.PLACED.value
        log.add(oid, at, None, placed, source, "")
        if state == OrderState.CONFIRMED:
            if order.channel not in where:
                where[order.channel] = locations_for(order.channel, policies)
            locations = where[order.channel]
            for line in order.lines:
                requests.append(ledger.LineRequest(oid, line_ids[position], line.sku, line.quantity, locations))
                position += 1
        else:
            position += len(order.lines)
            log.add(oid, at, placed, state.value, source, _reason)
            if state == OrderState.CANCELLED:
                report.cancelled += 1
            else:
                report.held += 1
    failed: list[dict[str, Any]] = []
    if requests:
        for outcome in ledger.reserve_lines(session, requests, fresh_lines=True):  # lines inserted just above
            report.touched_skus |= set(outcome.skus)
            if outcome.ok:
                log.add(outcome.order_id, at, OrderState.PLACED.value, OrderState.CONFIRMED.value, source, "")
                report.confirmed += 1
            else:
                reason = outcome.reason or "stock could not be reserved"
                failed.append({"_id": outcome.order_id, "hold_reason": reason})
                log.add(outcome.order_id, at, OrderState.PLACED.value, OrderState.ON_HOLD.value, source, reason)
                report.held += 1
    if failed:
        session.execute(
            update(ORDERS)
            .where(ORDERS.c.id == bindparam("_id"))
            .values(state=OrderState.ON_HOLD.value, hold_kind=HOLD_STOCK, hold_reason=bindparam("hold_reason")),
            failed,
        )
    # A channel that reports an order already shipped or delivered on first sight: rare, so one by one.
    held_ids = {row["_id"] for row in failed}
    for oid, order, (state, kind, reason) in zip(ids, orders, initial, strict=True):
        if order.fulfillment in (ChannelFulfillment.FULFILLED, ChannelFulfillment.DELIVERED):
            if oid in held_ids:
                state, kind = OrderState.ON_HOLD, HOLD_STOCK
            stored = _Stored(oid, order.updated_at, state, kind, reason)
            _channel_fulfilment(run, order, stored)


def _apply_update(run: _Pass, order: Order, stored: _Stored) -> None:
    session, source, at, log, report = run.session, run.source, run.at, run.log, run.report
    columns = _order_columns(order, at)
    columns["document"] = bindparam("document", columns.pop("document"), type_=SerializedJSON())
    session.execute(update(ORDERS).where(ORDERS.c.id == stored.id).values(**columns))
    report.updated += 1
    state = stored.state
    where = f"{order.channel}/{order.external_id}"
    if state in (OrderState.PLACED, OrderState.ON_HOLD):
        _replace_lines_if_changed(session, stored.id, order)
    try:
        if order.cancelled_at is not None and state != OrderState.CANCELLED:
            if move(session, log, stored.id, state, OrderState.CANCELLED, at=at, source=source, reason="cancelled"):
                report.touched_skus |= ledger.release_order(session, stored.id, "cancelled on the channel")
                report.cancelled += 1
            return
        if order.fulfillment in (ChannelFulfillment.FULFILLED, ChannelFulfillment.DELIVERED):
            _channel_fulfilment(run, order, stored)
            return
        if state == OrderState.CONFIRMED and order.hold_reason:
            report.touched_skus |= ledger.release_order(session, stored.id, f"held by the channel: {order.hold_reason}")
            move(session, log, stored.id, state, OrderState.ON_HOLD, at=at, source=source,
                 reason=order.hold_reason, hold_kind=HOLD_CHANNEL)  # fmt: skip
            report.held += 1
            return
        if state in (OrderState.PLACED, OrderState.ON_HOLD):
            _decide_unreserved(run, order, stored)
    except InvalidTransition as exc:
        report.conflicts.append(f"{where}: {exc} (update from {source} ignored)")


def _decide_unreserved(run: _Pass, order: Order, stored: _Stored) -> None:
    """An order without reservations (placed or on hold): hold it for the channel or payment, or reserve it."""
    session, source, at, log, report = run.session, run.source, run.at, run.log, run.report
    if order.hold_reason:
        kind, reason = HOLD_CHANNEL, order.hold_reason
    elif not order.financial_status.settled:
        kind, reason = HOLD_PAYMENT, AWAITING_PAYMENT
    else:
        _reserve_one(run, order, stored)
        return
    if stored.state == OrderState.ON_HOLD:
        rehold(session, log, stored.id, at=at, source=source, reason=reason, hold_kind=kind,
               previous_reason=stored.hold_reason)  # fmt: skip
    else:
        move(session, log, stored.id, stored.state, OrderState.ON_HOLD, at=at, source=source, reason=reason,
             hold_kind=kind)  # fmt: skip
        report.held += 1


def _reserve_one(run: _Pass, order: Order, stored: _Stored) -> bool:
    """Reserve every line of a stored, unreserved order: confirmed, or on hold for stock with the reason."""
    session, source, policies, at, log, report = run
    locations = locations_for(order.channel, policies)
    requests = [
        ledger.LineRequest(stored.id, line_id, sku, quantity, locations)
        for line_id, sku, quantity in session.execute(
            select(LINES.c.id, LINES.c.sku, LINES.c.quantity).where(LINES.c.order_id == stored.id).order_by(LINES.c.id)
        )
    ]
    (outcome,) = ledger.reserve_lines(session, requests)
    report.touched_skus |= set(outcome.skus)
    if outcome.ok:
        move(session, log, stored.id, stored.state, OrderState.CONFIRMED, at=at, source=source, reason="stock reserved")
        report.confirmed += 1
        return True
    reason = outcome.reason or "stock could not be reserved"
    if stored.state == OrderState.ON_HOLD:
        rehold(session, log, stored.id, at=at, source=source, reason=reason, hold_kind=HOLD_STOCK,
               previous_reason=stored.hold_reason)  # fmt: skip
    else:
        move(session, log, stored.id, stored.state, OrderState.ON_HOLD, at=at, source=source, reason=reason,
             hold_kind=HOLD_STOCK)  # fmt: skip
        report.held += 1
    return False


def _channel_fulfilment(run: _Pass, order: Order, stored: _Stored) -> None:
    """The channel shipped (or delivered) the order itself: commit what is reserved and move forward."""
    session, source, at, log, report = run.session, run.source, run.at, run.log, run.report
    target = OrderState.DELIVERED if order.fulfillment == ChannelFulfillment.DELIVERED else OrderState.SHIPPED
    state = stored.state
    try:
        if not is_forward(state, target):
            return
    except InvalidTransition as exc:
        report.conflicts.append(f"{order.channel}/{order.external_id}: {exc} (update from {source} ignored)")
        return
    note = "shipped by the channel"
    if state in (OrderState.PLACED, OrderState.ON_HOLD):
        if _reserve_one(run, order, stored):
            state = OrderState.CONFIRMED
        else:
            state = OrderState.ON_HOLD
            note = "shipped by the channel; stock was not reserved, so none was committed"
    if state != OrderState.ON_HOLD:
        remaining = unshipped_by_sku(session, stored.id)
        if remaining:
            report.touched_skus |= ledger.commit_lines(session, stored.id, remaining, note)
    session.execute(update(LINES).where(LINES.c.order_id == stored.id).values(shipped_quantity=LINES.c.quantity))
    if target == OrderState.DELIVERED and RANK[state] < RANK[OrderState.SHIPPED]:
        move(session, log, stored.id, state, OrderState.SHIPPED, at=at, source=source, reason=note)
        state = OrderState.SHIPPED
    move(session, log, stored.id, state, target, at=at, source=source, reason=note)


def _replace_lines_if_changed(session: Session, order_id: int, order: Order) -> None:
    """An order still without reservations takes the channel's edited lines as they now are."""
    stored = {
        (ext, sku, qty)
        for ext, sku, qty in session.execute(
            select(LINES.c.external_id, LINES.c.sku, LINES.c.quantity).where(LINES.c.order_id == order_id)
        )
    }
    wanted = {(line.external_id, line.sku, line.quantity) for line in order.lines}
    if stored == wanted:
        return
    session.execute(delete(LINES).where(LINES.c.order_id == order_id))
    session.execute(
        insert(LINES),
        [
            {"order_id": order_id, "external_id": e, "sku": s, "quantity": q, "shipped_quantity": 0,
             "returned_quantity": 0}
            for e, s, q in sorted(wanted)
        ],
    )  # fmt: skip
