"""Applying a newer version of a stored order: the lifecycle moves and the stock changes it implies.

Contract of `apply_update` (in the caller's transaction; the caller settles the stock effects it reports):

- cancelled at the channel -> cancelled, its reservations released (`freed`);
- fulfilled or delivered at the channel -> shipped or delivered, the reserved stock committed (an order not yet
  reserved is reserved first; when that fails nothing is committed and the event says so);
- a hold reason from the channel on a confirmed order -> its reservations released, on hold (channel);
- otherwise an order not yet reserved (placed, on hold) is held for the channel or payment, or reserved.

Lines the channel changed (a quantity, a SKU, a line added or removed, matched by the line's external id) are
applied first: an order holding no stock takes them as they are; a reserved order re-plans its reservation in the
same transaction (the changed lines' units are released and the new quantities reserved) and records an event
naming the changes, or, when the new quantities cannot be reserved, releases everything and goes on hold for
stock with the reason. A removed line is kept with quantity 0, so its reservations and movements stay linked.
An order whose shipping has begun (partially shipped and later) keeps its lines: the lifecycle cannot take it
back on hold, so the change is reported as a conflict and recorded as an event for a person to resolve.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from channelhub.errors import InvalidTransition
from channelhub.model.lifecycle import RANK, OrderState, is_forward
from channelhub.model.orders import ChannelFulfillment, Order
from channelhub.stock import ledger
from channelhub.stock.ledger import StockChange
from channelhub.stock.policy import ChannelStockPolicy
from channelhub.store.sql import chunked
from channelhub.store.tables import LINES, ORDERS, SerializedJSON
from channelhub.sync.report import ApplyReport
from channelhub.sync.transitions import (
    AWAITING_PAYMENT,
    HOLD_CHANNEL,
    HOLD_PAYMENT,
    HOLD_STOCK,
    EventLog,
    locations_for,
    move,
    rehold,
    unshipped_by_sku,
)

RESERVED_STATES = frozenset({OrderState.CONFIRMED, OrderState.PICKING, OrderState.PACKED})
UNRESERVED_STATES = frozenset({OrderState.PLACED, OrderState.ON_HOLD})


@dataclass
class StoredOrder:
    id: int
    updated_at: datetime
    state: OrderState
    hold_kind: str
    hold_reason: str


class ApplyPass(NamedTuple):
    """What every step of one apply_orders call shares: its transaction, where the orders came from, the stock
    policies, the time, the event log flushed at the end, and the report being filled."""

    session: Session
    source: str
    policies: Sequence[ChannelStockPolicy]
    at: datetime
    log: EventLog
    report: ApplyReport
    ship_before_payment: frozenset[str] = frozenset()

    def note(self, change: StockChange) -> None:
        """Remember a ledger change for the settle at the end of the unit of work."""
        self.report.touched_skus |= change.skus
        self.report.freed_skus |= change.freed


def document(order: Order) -> str:
    """The order as stored in `orders.document`: its JSON with the fields still at their defaults left out
    (`Order.model_validate_json` restores them, so the document is still the whole order). About two thirds of
    the full dump, which fits two orders to a SQLite page instead of one."""
    return order.model_dump_json(exclude_defaults=True)


def order_columns(order: Order, at: datetime) -> dict[str, Any]:
    return {
        "number": order.number,
        "financial_status": order.financial_status.value,
        "currency": order.currency,
        "total": str(order.total_amount),
        "placed_at": order.placed_at,
        "channel_updated_at": order.updated_at,
        "document": bindparam("document", document(order), type_=SerializedJSON()),
        "updated_at": at,
    }


def apply_update(run: ApplyPass, order: Order, stored: StoredOrder) -> None:
    """Apply a version of `stored` that is newer than it (see the module contract)."""
    session, source, at, log, report = run.session, run.source, run.at, run.log, run.report
    session.execute(update(ORDERS).where(ORDERS.c.id == stored.id).values(**order_columns(order, at)))
    report.updated += 1
    where = f"{order.channel}/{order.external_id}"
    try:
        if order.cancelled_at is not None and stored.state != OrderState.CANCELLED:
            if move(session, log, stored.id, stored.state, OrderState.CANCELLED, at=at, source=source,
                    reason="cancelled on the channel"):  # fmt: skip
                run.note(ledger.release_order(session, stored.id, "cancelled on the channel"))
                report.cancelled += 1
            return
        _apply_lines(run, order, stored)
        if order.fulfillment in (ChannelFulfillment.FULFILLED, ChannelFulfillment.DELIVERED):
            channel_fulfilment(run, order, stored)
            return
        if stored.state in RESERVED_STATES and order.hold_reason:
            run.note(ledger.release_order(session, stored.id, f"held by the channel: {order.hold_reason}"))
            move(session, log, stored.id, stored.state, OrderState.ON_HOLD, at=at, source=source,
                 reason=order.hold_reason, hold_kind=HOLD_CHANNEL)  # fmt: skip
            report.held += 1
            return
        if stored.state in UNRESERVED_STATES:
            _decide_unreserved(run, order, stored)
    except InvalidTransition as exc:
        report.conflicts.append(f"{where}: {exc} (update from {source} ignored)")


def _decide_unreserved(run: ApplyPass, order: Order, stored: StoredOrder) -> None:
    """An order without reservations (placed or on hold): hold it for the channel or payment, or reserve it."""
    if order.hold_reason:
        kind, reason = HOLD_CHANNEL, order.hold_reason
    elif not order.financial_status.settled:
        kind, reason = HOLD_PAYMENT, AWAITING_PAYMENT
    else:
        _reserve_one(run, order, stored)
        return
    _hold(run, stored, reason, kind)


def _reserve_one(run: ApplyPass, order: Order, stored: StoredOrder) -> bool:
    """Reserve every line of a stored, unreserved order: confirmed, or on hold for stock with the reason."""
    session, source, policies, at, log, report = run[:6]
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
        stored.state = OrderState.CONFIRMED
        return True
    _hold(run, stored, outcome.reason or "stock could not be reserved")
    return False


def _hold(run: ApplyPass, stored: StoredOrder, reason: str, kind: str = HOLD_STOCK) -> None:
    """Put the order on hold (or keep it there) for `kind` with `reason`; an event only when something changed."""
    session, source, at, log, report = run.session, run.source, run.at, run.log, run.report
    if stored.state == OrderState.ON_HOLD:
        rehold(session, log, stored.id, at=at, source=source, reason=reason, hold_kind=kind,
               previous_reason=stored.hold_reason)  # fmt: skip
    else:
        move(session, log, stored.id, stored.state, OrderState.ON_HOLD, at=at, source=source, reason=reason,
             hold_kind=kind)  # fmt: skip
        report.held += 1
    stored.state, stored.hold_kind, stored.hold_reason = OrderState.ON_HOLD, kind, reason


def channel_fulfilment(run: ApplyPass, order: Order, stored: StoredOrder) -> OrderState | None:
    """The channel shipped (or delivered) the order itself: commit what is reserved and move forward.

    Returns the state the order moved to, or None when the move was stale (already there or beyond).
    """
    session, source, at, log, report = run.session, run.source, run.at, run.log, run.report
    target = OrderState.DELIVERED if order.fulfillment == ChannelFulfillment.DELIVERED else OrderState.SHIPPED
    state = stored.state
    try:
        if not is_forward(state, target):
            return None
    except InvalidTransition as exc:
        report.conflicts.append(f"{order.channel}/{order.external_id}: {exc} (update from {source} ignored)")
        return None
    note = "shipped by the channel"
    if state in UNRESERVED_STATES:
        if _reserve_one(run, order, stored):
            state = OrderState.CONFIRMED
        else:
            state = OrderState.ON_HOLD
            note = "shipped by the channel; stock was not reserved, so none was committed"
    if state != OrderState.ON_HOLD:
        remaining = unshipped_by_sku(session, stored.id)
        if remaining:
            run.note(ledger.commit_lines(session, stored.id, remaining, note))
    session.execute(update(LINES).where(LINES.c.order_id == stored.id).values(shipped_quantity=LINES.c.quantity))
    if target == OrderState.DELIVERED and RANK[state] < RANK[OrderState.SHIPPED]:
        move(session, log, stored.id, state, OrderState.SHIPPED, at=at, source=source, reason=note)
        state = OrderState.SHIPPED
    move(session, log, stored.id, state, target, at=at, source=source, reason=note)
    stored.state = target
    return target


# --- lines ----------------------------------------------------------------------------------------------------


class _LineDiff(NamedTuple):
    changed: list[int]  # stored line ids whose SKU or quantity changed (removed lines: quantity 0 now)
    added: list[int]  # ids of lines inserted now
    words: list[str]  # "A: 2 -> 7", "B removed", "C added (1)"


def _apply_lines(run: ApplyPass, order: Order, stored: StoredOrder) -> None:
    """Bring the stored lines to the channel's, re-planning the reservation of a reserved order."""
    session, source, at, log, report = run.session, run.source, run.at, run.log, run.report
    current = {
        ext: (lid, sku, qty, shipped)
        for lid, ext, sku, qty, shipped in session.execute(
            select(LINES.c.id, LINES.c.external_id, LINES.c.sku, LINES.c.quantity, LINES.c.shipped_quantity).where(
                LINES.c.order_id == stored.id
            )
        )
    }
    if stored.state == OrderState.CANCELLED:
        return  # nothing is reserved or will ship: the stored document has the channel's lines
    wanted = {line.external_id: (line.sku, line.quantity) for line in order.lines}
    if all(current.get(ext, (0, None, None, 0))[1:3] == value for ext, value in wanted.items()) and all(
        ext in wanted or qty == 0 for ext, (_lid, _sku, qty, _shipped) in current.items()
    ):
        return
    if RANK.get(stored.state, 0) >= RANK[OrderState.PARTIALLY_SHIPPED]:
        words = _describe_changes(current, wanted)
        reason = f"the channel changed lines after shipping began ({'; '.join(words)}); kept as stored"
        report.conflicts.append(f"{order.channel}/{order.external_id}: {reason}")
        log.add(stored.id, at, stored.state.value, stored.state.value, source, f"conflict: {reason}"[:2000])
        return
    diff = _write_lines(session, stored.id, current, wanted)
    summary = "lines changed at the channel: " + "; ".join(diff.words)
    if stored.state not in RESERVED_STATES:
        log.add(stored.id, at, stored.state.value, stored.state.value, source, summary)
        return
    run.note(ledger.release_lines(session, stored.id, diff.changed, "lines changed at the channel"))
    requests = [
        ledger.LineRequest(stored.id, lid, sku, qty, locations_for(order.channel, run.policies))
        for lid, sku, qty in session.execute(
            select(LINES.c.id, LINES.c.sku, LINES.c.quantity)
            .where(LINES.c.id.in_(diff.changed + diff.added), LINES.c.quantity > 0)
            .order_by(LINES.c.id)
        )
    ]
    outcomes = ledger.reserve_lines(session, requests) if requests else []
    if all(outcome.ok for outcome in outcomes):
        for outcome in outcomes:
            report.touched_skus |= set(outcome.skus)
        log.add(stored.id, at, stored.state.value, stored.state.value, source, f"{summary}; stock re-reserved")
        return
    reason = next(o.reason for o in outcomes if not o.ok) or "stock could not be reserved"
    run.note(ledger.release_order(session, stored.id, "lines changed at the channel; held for stock"))
    log.add(stored.id, at, stored.state.value, stored.state.value, source, summary)
    _hold(run, stored, reason)


def _write_lines(
    session: Session, order_id: int, current: dict[str, tuple[int, str, int, int]], wanted: dict[str, tuple[str, int]]
) -> _LineDiff:
    changed: list[int] = []
    words = _describe_changes(current, wanted)
    updates = []
    for ext, (lid, sku, qty, _shipped) in current.items():
        new_sku, new_qty = wanted.get(ext, (sku, 0))
        if (new_sku, new_qty) != (sku, qty):
            changed.append(lid)
            updates.append({"_id": lid, "sku": new_sku, "quantity": new_qty})
    if updates:
        session.execute(
            update(LINES)
            .where(LINES.c.id == bindparam("_id"))
            .values(sku=bindparam("sku"), quantity=bindparam("quantity")),
            updates,
        )
    added = []
    for ext, (sku, qty) in wanted.items():
        if ext not in current:
            values = {"order_id": order_id, "external_id": ext, "sku": sku, "quantity": qty}
            inserted = session.execute(
                insert(LINES).values(**values, shipped_quantity=0, returned_quantity=0).returning(LINES.c.id)
            )
            added.append(int(inserted.scalar_one()))
    return _LineDiff(changed, added, words)


def _describe_changes(current: dict[str, tuple[int, str, int, int]], wanted: dict[str, tuple[str, int]]) -> list[str]:
    words = []
    for ext, (_lid, sku, qty, _shipped) in sorted(current.items()):
        if ext not in wanted:
            if qty:
                words.append(f"line {ext} ({sku} x{qty}) removed")
            continue
        new_sku, new_qty = wanted[ext]
        if new_sku != sku:
            words.append(f"line {ext}: {sku} x{qty} -> {new_sku} x{new_qty}")
        elif new_qty != qty:
            words.append(f"line {ext} ({sku}): {qty} -> {new_qty}")
    for ext, (sku, qty) in sorted(wanted.items()):
        if ext not in current:
            words.append(f"line {ext} ({sku} x{qty}) added")
    return words


# --- same version, other content ------------------------------------------------------------------------------


def _content(order: Order) -> tuple[Any, ...]:
    """What must agree between two versions of an order that carry the same updated_at."""
    return (
        sorted((line.external_id, line.sku, line.quantity) for line in order.lines),
        order.total_amount,
        order.financial_status,
        order.cancelled_at is not None,
        order.fulfillment,
    )


def content_conflict(run: ApplyPass, pairs: list[tuple[Order, StoredOrder]]) -> None:
    """Versions with the stored updated_at: a different content is a conflict, reported and recorded as an
    event; the stored version is kept (there is no telling which of the two the channel meant)."""
    session, source, at, log, report = run.session, run.source, run.at, run.log, run.report
    documents: dict[int, Any] = {}
    for chunk in chunked([stored.id for _order, stored in pairs]):
        documents.update(session.execute(select(ORDERS.c.id, ORDERS.c.document).where(ORDERS.c.id.in_(chunk))).all())
    for order, stored in pairs:
        raw = documents.get(stored.id)
        try:
            kept = Order.model_validate_json(raw) if isinstance(raw, str) else Order.model_validate(raw)
        except ValueError:
            continue  # a stored document an older hub wrote differently: nothing to compare with
        if _content(kept) == _content(order):
            continue
        reason = (
            f"a version with the same updated_at ({order.updated_at.isoformat()}) but different content "
            f"arrived from {source}; the stored version was kept"
        )
        report.conflicts.append(f"{order.channel}/{order.external_id}: {reason}")
        log.add(stored.id, at, stored.state.value, stored.state.value, source, f"conflict: {reason}")
