"""An order's reserved units come to an end here: released (a cancel, a hold, a line the channel changed) or
committed (they shipped: on_hand and reserved drop together). Each call records its movements and returns a
`StockChange`; released units are `freed`, for the caller to retry the orders held for them."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from channelhub.errors import InsufficientStock
from channelhub.stock.changes import NO_CHANGE, StockChange, record_movement
from channelhub.store.tables import LEVELS, RESERVATIONS, utcnow


def release_order(session: Session, order_id: int, reason: str) -> StockChange:
    """Release every still-reserved reservation of the order (cancelled, or put back on hold).

    Idempotent: a second call finds nothing reserved and changes nothing. Committed (shipped) units stay
    committed. The released SKUs are `freed`.
    """
    return _release(session, order_id, None, reason)


def release_lines(session: Session, order_id: int, line_ids: Iterable[int], reason: str) -> StockChange:
    """`release_order` for some of the order's lines only (the channel changed or removed them)."""
    wanted = sorted(set(line_ids))
    if not wanted:
        return NO_CHANGE
    return _release(session, order_id, wanted, reason)


def _release(session: Session, order_id: int, line_ids: list[int] | None, reason: str) -> StockChange:
    session.flush()
    # Flipping the state first, conditionally, is what makes two concurrent releases count each unit once.
    stmt = update(RESERVATIONS).where(RESERVATIONS.c.order_id == order_id, RESERVATIONS.c.state == "reserved")
    if line_ids is not None:
        stmt = stmt.where(RESERVATIONS.c.order_line_id.in_(line_ids))
    released = session.execute(
        stmt.values(state="released").returning(RESERVATIONS.c.sku, RESERVATIONS.c.location, RESERVATIONS.c.quantity)
    ).all()
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for sku, location, quantity in released:
        totals[(sku, location)] += quantity
    movements = []
    for (sku, location), quantity in sorted(totals.items()):
        session.execute(
            update(LEVELS)
            .where(LEVELS.c.sku == sku, LEVELS.c.location == location)
            .values(reserved=LEVELS.c.reserved - quantity)
        )
        movements.append(
            record_movement(
                session, sku, location, "release", delta_reserved=-quantity, reason=reason, order_id=order_id
            )
        )
    skus = frozenset(sku for sku, _ in totals)
    return StockChange(skus=skus, freed=skus, movements=tuple(movements))


def commit_lines(session: Session, order_id: int, shipped: Mapping[str, int], reason: str) -> StockChange:
    """Turn reserved units into shipped ones: per SKU, `shipped[sku]` units leave on_hand and reserved together.

    Reservations are consumed oldest first; a reservation shipped in part is split into a committed row and a
    still-reserved row for the rest. Raises InsufficientStock, naming the order and SKU, when more is shipped
    than the order has reserved (checked for every SKU before anything changes). Deduplicating shipments is the
    caller's job. Availability is unchanged (on_hand and reserved both drop), so nothing is freed.
    """
    wanted = {sku: quantity for sku, quantity in shipped.items() if quantity != 0}
    for sku, quantity in wanted.items():
        if quantity < 0:
            raise ValueError(f"order {order_id}: negative shipped quantity {quantity} for '{sku}'")
    if not wanted:
        return NO_CHANGE
    session.flush()
    rows = session.execute(
        select(
            RESERVATIONS.c.id,
            RESERVATIONS.c.order_line_id,
            RESERVATIONS.c.sku,
            RESERVATIONS.c.location,
            RESERVATIONS.c.quantity,
        )
        .where(
            RESERVATIONS.c.order_id == order_id,
            RESERVATIONS.c.state == "reserved",
            RESERVATIONS.c.sku.in_(sorted(wanted)),
        )
        .order_by(RESERVATIONS.c.id)
        .with_for_update()
    ).all()
    by_sku: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        by_sku[row.sku].append(row)
    for sku, quantity in sorted(wanted.items()):
        held = sum(row.quantity for row in by_sku[sku])
        if held < quantity:
            raise InsufficientStock(f"order {order_id}: cannot ship {quantity} of '{sku}': only {held} reserved")

    now = utcnow()
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for sku, quantity in sorted(wanted.items()):
        remaining = quantity
        for row in by_sku[sku]:
            if remaining == 0:
                break
            take = min(row.quantity, remaining)
            remaining -= take
            totals[(sku, row.location)] += take
            if take == row.quantity:
                session.execute(update(RESERVATIONS).where(RESERVATIONS.c.id == row.id).values(state="committed"))
                continue
            session.execute(
                update(RESERVATIONS).where(RESERVATIONS.c.id == row.id).values(quantity=row.quantity - take)
            )
            session.execute(
                insert(RESERVATIONS).values(
                    order_id=order_id,
                    order_line_id=row.order_line_id,
                    sku=sku,
                    location=row.location,
                    quantity=take,
                    state="committed",
                    created_at=now,
                )
            )
    movements = []
    for (sku, location), quantity in sorted(totals.items()):
        session.execute(
            update(LEVELS)
            .where(LEVELS.c.sku == sku, LEVELS.c.location == location)
            .values(on_hand=LEVELS.c.on_hand - quantity, reserved=LEVELS.c.reserved - quantity)
        )
        movements.append(
            record_movement(
                session,
                sku,
                location,
                "commit",
                delta_on_hand=-quantity,
                delta_reserved=-quantity,
                reason=reason,
                order_id=order_id,
            )
        )
    return StockChange(skus=frozenset(wanted), movements=tuple(movements))
