"""Releasing stock holds: orders on hold for short stock or an unknown SKU are retried when stock arrives.

Call `release_holds` after stock is set, adjusted or restocked (or `release_holds_in` inside that same
transaction). Orders are retried oldest first, so the earliest order gets the units that arrived.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from channelhub.model.lifecycle import OrderState
from channelhub.stock import ledger
from channelhub.stock.policy import ChannelStockPolicy
from channelhub.store import Database
from channelhub.sync.apply import ApplyReport, chunks, now_or_utcnow, publish_skus
from channelhub.sync.transitions import HOLD_STOCK, LINES, ORDERS, EventLog, locations_for, move


def release_holds_in(
    session: Session,
    policies: Sequence[ChannelStockPolicy],
    skus: Iterable[str] | None = None,
    *,
    now: datetime | None = None,
    source: str = "stock arrival",
    publish: bool = True,
) -> ApplyReport:
    """Retry orders on hold for stock (oldest first) in the caller's transaction; those now reservable confirm.

    `skus` limits the retry to orders with a line of one of those SKUs (None: every stock hold).
    """
    at = now_or_utcnow(now)
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
    for chunk in chunks([row.id for row in held]):
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
            # Still short, for a different reason now: keep the visible reason current without an event per retry.
            session.execute(
                update(ORDERS).where(ORDERS.c.id == outcome.order_id).values(hold_reason=outcome.reason, updated_at=at)
            )
    log.flush(session)
    if publish and report.touched_skus:
        publish_skus(session, report.touched_skus, policies, cause="release_holds")
    return report


def release_holds(
    db: Database,
    policies: Sequence[ChannelStockPolicy],
    skus: Iterable[str] | None = None,
    *,
    now: datetime | None = None,
) -> ApplyReport:
    """`release_holds_in` in its own transaction: call after stock is set, adjusted or restocked."""
    with db.transaction() as session:
        return release_holds_in(session, policies, skus, now=now)
