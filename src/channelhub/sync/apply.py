"""Applying canonical orders to the store: an idempotent, set-based upsert and the lifecycle moves it implies.

Contract of `apply_orders` (called inside the caller's transaction, once per page or slice):

- The upsert is keyed by the unique (channel, external_id). An update applies only if `order.updated_at` is newer
  than the stored `channel_updated_at`; an older version changes nothing (counted as `unchanged`). A version with
  the SAME updated_at but different content (lines, total, payment, cancellation, fulfilment) is a conflict: the
  stored version is kept, the conflict is reported (`conflicts`) and recorded as an order event.
- A new order is recorded as placed, then: the mapper's `hold_reason` -> on_hold (channel); payment not settled ->
  on_hold "awaiting payment"; otherwise every line is reserved in the ledger -> confirmed, or on_hold with the
  ledger's reason (unknown SKU, short stock). A new order the channel already cancelled is cancelled at once.
- Updates: see `channelhub.sync.apply_update` (cancel releases, payment reserves, the channel's fulfilment ships,
  changed lines re-plan the reservation).
- Every move writes an OrderEventRow; the lifecycle never moves back (stale moves are ignored, forbidden ones are
  reported in `conflicts` and change nothing).
- With `settle=True` (the default) the unit's stock effects are settled at the end (`channelhub.sync.holds.settle`:
  orders held for released stock are retried, then sellable quantities published); callers that apply a page in
  slices pass False and settle once with the report's `touched_skus` and `freed_skus`.

New orders take the fast path (bulk inserts, one batched reservation); updates are fewer and go one by one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import bindparam, select, update
from sqlalchemy.orm import Session

from channelhub.model.lifecycle import OrderState
from channelhub.model.orders import Order
from channelhub.stock import ledger
from channelhub.stock.policy import ChannelStockPolicy
from channelhub.store.bulk import insert_with_ids
from channelhub.store.sql import chunked
from channelhub.store.tables import LINES, ORDERS
from channelhub.sync.apply_update import (
    ApplyPass,
    StoredOrder,
    apply_update,
    channel_fulfilment,
    content_conflict,
    document,
)
from channelhub.sync.channel_shipments import reports_shipping
from channelhub.sync.holds import settle
from channelhub.sync.report import ApplyReport
from channelhub.sync.transitions import HOLD_STOCK, EventLog, gate, locations_for

__all__ = ["ApplyReport", "apply_orders", "document"]


def _load_existing(session: Session, channel: str, external_ids: Sequence[str]) -> dict[str, StoredOrder]:
    found: dict[str, StoredOrder] = {}
    columns = (
        ORDERS.c.external_id,
        ORDERS.c.id,
        ORDERS.c.channel_updated_at,
        ORDERS.c.state,
        ORDERS.c.hold_kind,
        ORDERS.c.hold_reason,
    )
    for chunk in chunked(external_ids):
        stmt = select(*columns).where(ORDERS.c.channel == channel, ORDERS.c.external_id.in_(chunk))
        for ext, oid, updated_at, state, kind, reason in session.execute(stmt):
            found[ext] = StoredOrder(oid, updated_at, OrderState(state), kind, reason)
    return found


def _initial(order: Order, ship_before_payment: frozenset[str]) -> tuple[OrderState, str, str]:
    """(state, hold_kind, reason) a new order is inserted with; CONFIRMED still needs its reservation."""
    if order.cancelled_at is not None:
        return OrderState.CANCELLED, "", "cancelled on the channel"
    kind, reason = gate(order, ship_before_payment)
    if kind:
        return OrderState.ON_HOLD, kind, reason
    return OrderState.CONFIRMED, "", ""


def apply_orders(
    session: Session,
    orders: Sequence[Order],
    *,
    source: str,
    policies: Sequence[ChannelStockPolicy],
    now: datetime | None = None,
    settle_stock: bool = True,
    ship_before_payment: frozenset[str] = frozenset(),
    remap: bool = False,
) -> ApplyReport:
    """Upsert `orders` and apply their lifecycle moves in the caller's transaction (see the module contract).

    `ship_before_payment`: payment methods whose unpaid orders are reserved and confirmed (the payment gate,
    `channelhub.sync.transitions.gate`). `remap`: the orders are the stored versions mapped again (a replay
    after a SKU map entry), so a version with the stored updated_at is applied as an update, not a conflict."""
    at = now if now is not None else datetime.now(UTC)
    report = ApplyReport()
    log = EventLog()
    run = ApplyPass(session, source, policies, at, log, report, ship_before_payment)
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
        newer, same_time = [], []
        for order in channel_orders:
            stored = existing.get(order.external_id)
            if stored is None:
                continue
            if order.updated_at > stored.updated_at or (remap and order.updated_at == stored.updated_at):
                newer.append((order, stored))
            else:
                report.unchanged += 1
                if order.updated_at == stored.updated_at:
                    same_time.append((order, stored))
        if fresh:
            _insert_new(run, fresh)
        for order, stored in newer:
            apply_update(run, order, stored)
        if same_time:
            content_conflict(run, same_time)
    log.flush(session)
    if settle_stock and (report.touched_skus or report.freed_skus):
        settled = settle(
            session, policies, touched=report.touched_skus, freed=report.freed_skus, cause=f"orders:{source}", at=at
        )
        report.merge(settled)
    return report


_NEW_ORDER_COLUMNS = (
    "channel", "external_id", "number", "state", "hold_kind", "hold_reason", "financial_status", "currency",
    "total", "placed_at", "channel_updated_at", "document", "created_at", "updated_at",
)  # fmt: skip
_NEW_LINE_COLUMNS = ("order_id", "external_id", "sku", "quantity", "shipped_quantity", "returned_quantity")


def _insert_new(run: ApplyPass, orders: list[Order]) -> None:
    session, source, policies, at, log, report = run[:6]
    initial = [_initial(o, run.ship_before_payment) for o in orders]
    rows = [
        (order.channel, order.external_id, order.number, state.value, kind, reason, order.financial_status.value,
         order.currency, str(order.total_amount), order.placed_at, order.updated_at, document(order), at, at)
        for order, (state, kind, reason) in zip(orders, initial, strict=True)
    ]  # fmt: skip
    ids = insert_with_ids(session, ORDERS, _NEW_ORDER_COLUMNS, rows)
    del rows
    # Only stock lines become order_lines rows: the ledger, shipments and returns deal in them; the document
    # keeps every line (non-stock ones, and unmapped ones until a replay maps them).
    stock_lines = [order.stock_lines for order in orders]
    line_rows = [
        (oid, line.external_id, line.sku, line.quantity, 0, 0)
        for oid, lines in zip(ids, stock_lines, strict=True)
        for line in lines
    ]
    line_ids = iter(insert_with_ids(session, LINES, _NEW_LINE_COLUMNS, line_rows))
    report.created += len(orders)
    requests = []
    where: dict[str, tuple[str, ...] | None] = {}  # locations per channel
    for oid, order, lines, (state, _kind, reason) in zip(ids, orders, stock_lines, initial, strict=True):
        placed = OrderState.PLACED.value
        log.add(oid, at, None, placed, source, "")
        if state == OrderState.CONFIRMED and not lines:  # nothing to reserve: gift cards, services
            log.add(oid, at, placed, OrderState.CONFIRMED.value, source, "no line needs stock")
            report.confirmed += 1
        elif state == OrderState.CONFIRMED:
            if order.channel not in where:
                where[order.channel] = locations_for(order.channel, policies)
            requests += [ledger.LineRequest(oid, next(line_ids), line.sku or "", line.quantity, where[order.channel])
                         for line in lines]  # fmt: skip
        else:
            for _line in lines:
                next(line_ids)
            log.add(oid, at, placed, state.value, source, reason)
            if state == OrderState.CANCELLED:
                report.cancelled += 1
            else:
                report.held += 1
    failed = _reserve_new(run, requests)
    # A channel that reports an order (partly) shipped on first sight: rare, so one by one. Each is counted by
    # the state it ends in, so a page of completed orders never reads as "held".
    for oid, order, (state, kind, reason) in zip(ids, orders, initial, strict=True):
        if reports_shipping(order):
            if oid in failed:
                state, kind = OrderState.ON_HOLD, HOLD_STOCK
            counted = report.confirmed, report.held
            final = channel_fulfilment(run, order, StoredOrder(oid, order.updated_at, state, kind, reason))
            report.confirmed, report.held = counted  # the intermediate moves are not what this order ended as
            if final in (OrderState.SHIPPED, OrderState.DELIVERED, OrderState.PARTIALLY_SHIPPED):
                if state == OrderState.CONFIRMED:
                    report.confirmed -= 1
                else:
                    report.held -= 1
                report.shipped += 1


def _reserve_new(run: ApplyPass, requests: list[ledger.LineRequest]) -> set[int]:
    """Reserve the lines of the new confirmed orders in one batch; those short of stock go on hold. Returns the
    ids of the orders held."""
    session, source, _policies, at, log, report = run[:6]
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
    return {row["_id"] for row in failed}
