"""What every change of stock implies, in one place: orders held for stock are retried when units are freed,
then the new sellable quantities are published.

`settle` is called at the end of every unit of work that changed stock (an apply of orders, a cancel, a stock
count or adjustment, a restock, a shipment), in that same transaction, so no other writer can take released
units between the release and the retry. Held orders are retried oldest first (by placed time, then id): each
order is all-or-nothing, so a younger order takes units only when an older one needs more than is free. The hold
reason of an order still short is rewritten to what is true now ("need 5, available 3").
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from channelhub.model.lifecycle import OrderState
from channelhub.stock import ledger
from channelhub.stock.policy import ChannelStockPolicy
from channelhub.store.sql import chunked
from channelhub.store.tables import LINES, ORDERS
from channelhub.sync.publish import publish
from channelhub.sync.report import ApplyReport
from channelhub.sync.transitions import HOLD_STOCK, EventLog, locations_for, move


def settle(
    session: Session,
    policies: Sequence[ChannelStockPolicy],
    *,
    touched: Iterable[str],
    freed: Iterable[str],
    cause: str,
    at: datetime,
    source: str = "stock released",
) -> ApplyReport:
    """Retry the orders held for `freed` SKUs (oldest first), then publish `touched` and whatever the retry
    reserved, once. Returns what the retry did, with `published` the stock writes queued."""
    freed = set(freed)
    retried = release_holds_in(session, policies, freed, at=at, source=source) if freed else ApplyReport()
    retried.published = publish(session, set(touched) | freed | retried.touched_skus, policies, cause=cause)
    return retried


def release_holds_in(
    session: Session,
    policies: Sequence[ChannelStockPolicy],
    skus: Iterable[str] | None = None,
    *,
    at: datetime,
    source: str = "stock released",
) -> ApplyReport:
    """Retry orders on hold for stock (oldest first) in the caller's transaction; those now reservable confirm.

    `skus` limits the retry to orders with a line of one of those SKUs (None: every stock hold). Publishes
    nothing: `settle` does, once for the whole unit of work.
    """
    report = ApplyReport()
    log = EventLog()
    stmt = (
        select(ORDERS.c.id, ORDERS.c.channel, ORDERS.c.hold_reason)
        .where(ORDERS.c.state == OrderState.ON_HOLD.value, ORDERS.c.hold_kind == HOLD_STOCK)
        .order_by(ORDERS.c.placed_at, ORDERS.c.id)
    )
    if skus is not None:
        wanted = sorted(set(skus))
        if not wanted:
            return report
        stmt = stmt.where(ORDERS.c.id.in_(select(LINES.c.order_id).where(LINES.c.sku.in_(wanted))))
    held = list(session.execute(stmt))
    if not held:
        return report
    lines: dict[int, list[tuple[int, str, int]]] = {}
    for chunk in chunked([row.id for row in held]):
        for oid, lid, sku, qty in session.execute(
            select(LINES.c.order_id, LINES.c.id, LINES.c.sku, LINES.c.quantity)
            .where(LINES.c.order_id.in_(chunk))
            .order_by(LINES.c.id)
        ):
            lines.setdefault(oid, []).append((lid, sku, qty))
    requests = [
        ledger.LineRequest(row.id, lid, sku, qty, locations_for(row.channel, policies))
        for row in held
        for lid, sku, qty in lines.get(row.id, [])
    ]
    reasons = {row.id: row.hold_reason for row in held}
    for outcome in ledger.reserve_lines(session, requests):
        report.touched_skus |= set(outcome.skus)
        if outcome.ok:
            move(session, log, outcome.order_id, OrderState.ON_HOLD, OrderState.CONFIRMED, at=at, source=source,
                 reason="stock arrived")  # fmt: skip
            report.confirmed += 1
        elif outcome.reason and outcome.reason != reasons.get(outcome.order_id):
            # Still short, for a different reason now: keep the visible reason true without an event per retry.
            session.execute(
                update(ORDERS).where(ORDERS.c.id == outcome.order_id).values(hold_reason=outcome.reason, updated_at=at)
            )
    log.flush(session)
    return report
