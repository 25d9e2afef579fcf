"""What every step of applying an order shares: the pass (its transaction, source, policies, time, event log and
report), the stored order's handle, the stored document, and the two moves every path ends in: reserve an
unreserved order, or hold it with the reason."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from channelhub.model.lifecycle import OrderState
from channelhub.model.orders import Order
from channelhub.stock import ledger
from channelhub.stock.ledger import StockChange
from channelhub.stock.policy import ChannelStockPolicy
from channelhub.store.tables import LINES, SerializedJSON
from channelhub.sync.report import ApplyReport
from channelhub.sync.transitions import HOLD_STOCK, EventLog, locations_for, move, rehold

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


def read_document(raw: Any) -> Order:
    """The Order in an `orders.document` column, as the backend returns it (text on SQLite, parsed JSON on
    PostgreSQL); ValueError when it does not validate (a document an older hub wrote differently)."""
    return Order.model_validate_json(raw) if isinstance(raw, str) else Order.model_validate(raw)


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


def reserve_one(run: ApplyPass, order: Order, stored: StoredOrder) -> bool:
    """Reserve every line of a stored, unreserved order: confirmed, or on hold for stock with the reason."""
    session, source, policies, at, log, report = run[:6]
    locations = locations_for(order.channel, policies)
    requests = [
        ledger.LineRequest(stored.id, line_id, sku, quantity, locations)
        for line_id, sku, quantity in session.execute(
            select(LINES.c.id, LINES.c.sku, LINES.c.quantity)
            .where(LINES.c.order_id == stored.id, LINES.c.quantity > 0)
            .order_by(LINES.c.id)
        )
    ]
    outcomes = ledger.reserve_lines(session, requests) if requests else []
    for outcome in outcomes:
        report.touched_skus |= set(outcome.skus)
    if all(outcome.ok for outcome in outcomes):  # no stock line at all: nothing to reserve
        move(session, log, stored.id, stored.state, OrderState.CONFIRMED, at=at, source=source, reason="stock reserved")
        report.confirmed += 1
        stored.state = OrderState.CONFIRMED
        return True
    hold(run, stored, outcomes[0].reason or "stock could not be reserved")
    return False


def hold(run: ApplyPass, stored: StoredOrder, reason: str, kind: str = HOLD_STOCK) -> None:
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
