"""Cancelling an order in the hub (an operator's decision, not the channel's): release its stock, record the
event, and tell the order's channel.

`cancel_order` runs in the caller's transaction and settles its stock effects there (the released units first go
to the orders held for them, then the new figures are published). The cancellation reaches the channel as an outbox row
of kind "cancellation" (cause "cancel:<order id>", so a repeat queues nothing new), only when the caller says the
channel's connector can take it. A cancellation the channel itself reported comes in through the apply path and
is never pushed back.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from channelhub.errors import InvalidTransition
from channelhub.model.lifecycle import CANCELLABLE, OrderState
from channelhub.stock import ledger
from channelhub.stock.ledger import NO_CHANGE, StockChange
from channelhub.stock.policy import ChannelStockPolicy
from channelhub.sync.fulfil import OrderRef, resolve_order
from channelhub.sync.holds import settle
from channelhub.sync.outbox import enqueue
from channelhub.sync.transitions import EventLog, move

CANCELLATION_KIND = "cancellation"


@dataclass(frozen=True)
class CancelResult:
    order_id: int
    channel: str
    external_id: str
    cancelled: bool  # False: the order was cancelled already; nothing changed
    outbox_key: str | None = None
    change: StockChange = field(default=NO_CHANGE)


def cancel_order(
    session: Session,
    order: OrderRef,
    reason: str,
    source: str,
    policies: Sequence[ChannelStockPolicy] = (),
    *,
    at: datetime,
    notify_channel: bool,
) -> CancelResult:
    """Cancel `order` (an id, or (channel, external_id)) with `reason`; see the module contract.

    Raises InvalidTransition, naming the order and its state, for an order past packing (something has shipped)
    and ValueError for an empty reason.
    """
    if not reason.strip():
        raise ValueError("a cancellation needs a reason")
    order_id, channel, external_id, number, state = resolve_order(session, order)
    where = f"order {channel}/{external_id}"
    if state == OrderState.CANCELLED:
        return CancelResult(order_id, channel, external_id, cancelled=False)
    if state not in CANCELLABLE:
        raise InvalidTransition(f"{where} is {state.value}; only an order none of which has shipped can be cancelled")
    log = EventLog()
    move(session, log, order_id, state, OrderState.CANCELLED, at=at, source=source, reason=reason)
    log.flush(session)
    change = ledger.release_order(session, order_id, f"cancelled in the hub: {reason}")
    key = None
    if notify_channel:
        key = enqueue(
            session,
            channel=channel,
            kind=CANCELLATION_KIND,
            subject=external_id,
            payload={"order_external_id": external_id, "order_number": number, "reason": reason},
            cause=f"cancel:{order_id}",
        )
    settle(session, policies, touched=change.skus, freed=change.freed, cause=f"cancel:{order_id}", at=at, source=source)
    return CancelResult(order_id, channel, external_id, cancelled=True, outbox_key=key, change=change)
