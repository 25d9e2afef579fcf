"""Applying a newer version of a stored order: the lifecycle moves and the stock changes it implies.

Contract of `apply_update` (in the caller's transaction; the caller settles the stock effects it reports):

- cancelled at the channel -> cancelled, its reservations released (`freed`);
- fulfilments the channel reports, or the whole order fulfilled or delivered at the channel -> shipments
  recorded, stock committed, shipped or partially shipped (`channelhub.sync.channel_shipments`);
- a hold reason from the channel, or a line without a SKU, on a confirmed order -> its reservations released,
  on hold (channel or mapping);
- otherwise an order not yet reserved (placed, on hold) is held for what it waits for (the gate of
  `channelhub.sync.transitions`: the channel's hold, a line without a SKU, payment), or reserved.

Only stock lines (`Order.stock_lines`) are order_lines rows; a line without a SKU joins them when a replay maps it.

Lines the channel changed (a quantity, a SKU, a line added or removed, matched by the line's external id) are
applied first: an order holding no stock takes them as they are; a reserved order re-plans its reservation in the
same transaction (the changed lines' units are released and the new quantities reserved) and records an event
naming the changes, or, when the new quantities cannot be reserved, releases everything and goes on hold for
stock with the reason. A removed line is kept with quantity 0, so its reservations and movements stay linked.
An order whose shipping has begun (partially shipped and later) keeps its lines: the lifecycle cannot take it
back on hold, so the change is reported as a conflict and recorded as an event for a person to resolve.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import bindparam, insert, select, update
from sqlalchemy.orm import Session

from channelhub.errors import InvalidTransition
from channelhub.model.lifecycle import RANK, OrderState
from channelhub.model.orders import Order
from channelhub.stock import ledger
from channelhub.store.sql import chunked
from channelhub.store.tables import LINES, ORDERS
from channelhub.sync.apply_pass import (
    RESERVED_STATES,
    UNRESERVED_STATES,
    ApplyPass,
    StoredOrder,
    document,
    hold,
    order_columns,
    read_document,
    reserve_one,
)
from channelhub.sync.channel_shipments import channel_fulfilment, reports_shipping
from channelhub.sync.transitions import HOLD_CHANNEL, HOLD_MAPPING, gate, locations_for, move

__all__ = ["ApplyPass", "StoredOrder", "apply_update", "channel_fulfilment", "content_conflict", "document"]


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
        if reports_shipping(order):
            channel_fulfilment(run, order, stored)
            return
        if stored.state in RESERVED_STATES:
            _recheck_reserved(run, order, stored)
        elif stored.state in UNRESERVED_STATES:
            _decide_unreserved(run, order, stored)
    except InvalidTransition as exc:
        report.conflicts.append(f"{where}: {exc} (update from {source} ignored)")


def _recheck_reserved(run: ApplyPass, order: Order, stored: StoredOrder) -> None:
    """A reserved order the channel now holds, or whose new version has a line without a SKU: its reservations
    are released and it waits, with the reason."""
    if order.hold_reason:
        kind, reason = HOLD_CHANNEL, order.hold_reason
    elif order.unmapped_reason():
        kind, reason = HOLD_MAPPING, order.unmapped_reason()
    else:
        return
    run.note(ledger.release_order(run.session, stored.id, f"on hold: {reason}"))
    move(run.session, run.log, stored.id, stored.state, OrderState.ON_HOLD, at=run.at, source=run.source,
         reason=reason, hold_kind=kind)  # fmt: skip
    run.report.held += 1


def _decide_unreserved(run: ApplyPass, order: Order, stored: StoredOrder) -> None:
    """An order without reservations (placed or on hold): hold it for what it waits for, or reserve it."""
    kind, reason = gate(order, run.ship_before_payment)
    if kind:
        hold(run, stored, reason, kind)
    else:
        reserve_one(run, order, stored)


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
    wanted = {line.external_id: (line.sku or "", line.quantity) for line in order.stock_lines}
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
    hold(run, stored, reason)


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
            kept = read_document(raw)
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
