"""Recording lifecycle moves: one checked place that changes `orders.state` and writes the event.

The caller collects events in an `EventLog` and flushes them with one executemany at the end of its unit of work,
so a page of 10,000 new orders costs one insert for all their events.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from channelhub.model.lifecycle import OrderState, is_forward
from channelhub.model.orders import Order
from channelhub.stock.policy import ChannelStockPolicy
from channelhub.store.bulk import insert_rows
from channelhub.store.tables import EVENTS, LINES, ORDERS

EVENT_COLUMNS = ("order_id", "at", "from_state", "to_state", "source", "reason")

# hold_kind values (orders.hold_kind): what the hold waits for, so the engine knows what can lift it.
HOLD_CHANNEL = "channel"  # the channel itself says hold (a mapper's hold_reason)
HOLD_PAYMENT = "payment"  # payment not authorised or captured yet
HOLD_STOCK = "stock"  # short stock or an unknown SKU: lifted by release_holds when stock arrives
HOLD_MAPPING = "mapping"  # a line needs stock but has no SKU: lifted by a replay after a SKU map entry
HOLD_KINDS = (HOLD_STOCK, HOLD_PAYMENT, HOLD_MAPPING, HOLD_CHANNEL)  # every kind, in the order a person reads them
AWAITING_PAYMENT = "awaiting payment"


def gate(order: Order, ship_before_payment: frozenset[str] = frozenset()) -> tuple[str, str]:
    """(hold kind, reason) an order that holds no stock must wait for, or ("", "") when it may be reserved.

    In turn: the channel's own hold; a line that needs stock but has no SKU; payment not authorised or captured,
    unless the order's payment method is one the channel ships before payment (`ship_before_payment`: cash on
    delivery, bank transfer on account).
    """
    if order.hold_reason:
        return HOLD_CHANNEL, order.hold_reason
    unmapped = order.unmapped_reason()
    if unmapped:
        return HOLD_MAPPING, unmapped
    if not order.financial_status.settled and order.payment_method not in ship_before_payment:
        method = f" ({order.payment_method})" if order.payment_method else ""
        return HOLD_PAYMENT, AWAITING_PAYMENT + method
    return "", ""


@dataclass
class EventLog:
    """Lifecycle events of one unit of work, inserted together by `flush`."""

    rows: list[tuple[int, datetime, str | None, str, str, str]] = field(default_factory=list)

    def add(
        self, order_id: int, at: datetime, from_state: str | None, to_state: str, source: str, reason: str = ""
    ) -> None:
        self.rows.append((order_id, at, from_state, to_state, source[:200], reason))

    def flush(self, session: Session) -> None:
        if self.rows:
            insert_rows(session, EVENTS, EVENT_COLUMNS, self.rows)
            self.rows = []


def move(
    session: Session,
    log: EventLog,
    order_id: int,
    current: OrderState,
    target: OrderState,
    *,
    at: datetime,
    source: str,
    reason: str = "",
    hold_kind: str = "",
) -> bool:
    """Move an order to `target` if that is progress (see `is_forward`); return whether it moved.

    Raises InvalidTransition for a move the lifecycle forbids; a stale or repeated move changes nothing.
    """
    if not is_forward(current, target):
        return False
    held = target == OrderState.ON_HOLD
    session.execute(
        update(ORDERS)
        .where(ORDERS.c.id == order_id)
        .values(
            state=target.value,
            hold_reason=reason if held else "",
            hold_kind=hold_kind if held else "",
            updated_at=at,
        )
    )
    log.add(order_id, at, current.value, target.value, source, reason)
    return True


def rehold(
    session: Session,
    log: EventLog,
    order_id: int,
    *,
    at: datetime,
    source: str,
    reason: str,
    hold_kind: str,
    previous_reason: str,
) -> None:
    """Change why an order already on hold waits. An event is written only when the reason changes."""
    if reason == previous_reason:
        return
    session.execute(
        update(ORDERS).where(ORDERS.c.id == order_id).values(hold_reason=reason, hold_kind=hold_kind, updated_at=at)
    )
    log.add(order_id, at, OrderState.ON_HOLD.value, OrderState.ON_HOLD.value, source, reason)


def locations_for(channel: str, policies: Sequence[ChannelStockPolicy]) -> tuple[str, ...] | None:
    """The locations an order from `channel` may reserve from: the channel's policy, else all (None)."""
    for policy in policies:
        if policy.channel == channel:
            return policy.locations
    return None


def unshipped_by_sku(session: Session, order_id: int) -> dict[str, int]:
    """Units of the order not yet shipped, per SKU."""
    out: dict[str, int] = {}
    for sku, quantity, shipped in session.execute(
        select(LINES.c.sku, LINES.c.quantity, LINES.c.shipped_quantity).where(LINES.c.order_id == order_id)
    ):
        remaining = quantity - shipped
        if remaining > 0:
            out[sku] = out.get(sku, 0) + remaining
    return out
