"""The central stock ledger: on-hand and reserved units per (SKU, location), and every change as a movement.

Every function takes the caller's Session and never commits: the caller's unit of work decides. Every change to
`on_hand` or `reserved` writes a StockMovementRow in the same transaction, so for each (sku, location) on_hand
and reserved always equal the sums of their movements. Functions that change stock return the SKUs touched, for
the caller to hand to `channelhub.stock.publish.publish`.

Reserving lives in `channelhub.stock.reserve` and is re-exported here: `reserve_lines`, `LineRequest`,
`ReserveOutcome`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from channelhub.errors import InsufficientStock, StockError, UnknownSku
from channelhub.model.stock import StockLevel
from channelhub.stock._sql import LEVELS, LOCATIONS, MOVEMENTS, RESERVATIONS, SKUS, insert_missing
from channelhub.stock.reserve import LineRequest, ReserveOutcome, reserve_lines
from channelhub.store.tables import LocationRow, SkuRow, utcnow

__all__ = [
    "LineRequest",
    "ReserveOutcome",
    "StockMovement",
    "adjust_on_hand",
    "commit_lines",
    "ensure_location",
    "ensure_sku",
    "levels",
    "movements_for",
    "release_order",
    "reserve_lines",
    "restock",
    "set_on_hand",
    "set_safety_stock",
]


@dataclass(frozen=True)
class StockMovement:
    """One recorded change. kind: set | adjust | reserve | release | commit | restock."""

    id: int
    sku: str
    location: str
    kind: str
    delta_on_hand: int
    delta_reserved: int
    reason: str
    order_id: int | None
    at: datetime


# --- catalogue ----------------------------------------------------------------------------------------------


def ensure_sku(session: Session, sku: str, title: str = "", safety_stock: int = 0) -> SkuRow:
    """Return the SKU, creating it with `title` and `safety_stock` if missing; an existing SKU is left as is."""
    if not sku:
        raise ValueError("a SKU must not be empty")
    if safety_stock < 0:
        raise ValueError(f"safety stock for '{sku}' must not be negative (got {safety_stock})")
    insert_missing(session, SKUS, {"sku": sku, "title": title, "safety_stock": safety_stock}, ["sku"])
    row = session.get(SkuRow, sku, populate_existing=True)
    assert row is not None
    return row


def ensure_location(session: Session, code: str, name: str = "", priority: int = 0) -> LocationRow:
    """Return the location, creating it if missing (lower `priority` reserves first); an existing one is kept."""
    if not code:
        raise ValueError("a location code must not be empty")
    insert_missing(session, LOCATIONS, {"code": code, "name": name, "priority": priority}, ["code"])
    row = session.get(LocationRow, code, populate_existing=True)
    assert row is not None
    return row


def set_safety_stock(session: Session, sku: str, safety_stock: int) -> set[str]:
    """Set the units of `sku` never offered to any channel; returns {sku} when sellable may have changed."""
    if safety_stock < 0:
        raise ValueError(f"safety stock for '{sku}' must not be negative (got {safety_stock})")
    result = session.execute(update(SKUS).where(SKUS.c.sku == sku).values(safety_stock=safety_stock))
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise UnknownSku(f"unknown SKU '{sku}'")
    return {sku}


# --- manual changes -----------------------------------------------------------------------------------------


def set_on_hand(session: Session, sku: str, location: str, quantity: int, reason: str) -> set[str]:
    """Set on-hand units of `sku` at `location` (a stock count); record the difference as a "set" movement.

    An unknown SKU or location is created (a merchant's first stock load). Raises InsufficientStock when
    `quantity` is negative or below the units reserved there (the message names the SKU, location and the
    reserved count). Returns {sku} when availability changed, else an empty set.
    """
    _require_reason(reason, sku, location)
    if quantity < 0:
        raise InsufficientStock(f"cannot set on hand of '{sku}' at '{location}' to {quantity}: must not be negative")
    _ensure_level(session, sku, location)
    on_hand, reserved = _lock_level(session, sku, location)
    if quantity < reserved:
        raise InsufficientStock(
            f"cannot set on hand of '{sku}' at '{location}' to {quantity}: {reserved} units are reserved there"
        )
    result = session.execute(
        update(LEVELS)
        .where(LEVELS.c.sku == sku, LEVELS.c.location == location, LEVELS.c.reserved <= quantity)
        .values(on_hand=quantity)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise InsufficientStock(f"cannot set on hand of '{sku}' at '{location}' to {quantity}: reserved meanwhile")
    delta = quantity - on_hand
    # A count that confirms the books is still worth an audit line.
    _movement(session, sku, location, "set", delta_on_hand=delta, reason=reason)
    return {sku} if delta else set()


def adjust_on_hand(session: Session, sku: str, location: str, delta: int, reason: str) -> set[str]:
    """Add `delta` (may be negative) to on-hand units; record an "adjust" movement.

    An unknown SKU or location is created. Raises InsufficientStock when the result would fall below the units
    reserved there (or below zero). Returns {sku} when availability changed (delta != 0).
    """
    _require_reason(reason, sku, location)
    if delta == 0:
        return set()
    _ensure_level(session, sku, location)
    result = session.execute(
        update(LEVELS)
        .where(
            LEVELS.c.sku == sku,
            LEVELS.c.location == location,
            # reserved >= 0 is a CHECK, so this also keeps on_hand >= 0.
            LEVELS.c.on_hand + delta >= LEVELS.c.reserved,
        )
        .values(on_hand=LEVELS.c.on_hand + delta)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        on_hand, reserved = _lock_level(session, sku, location)
        raise InsufficientStock(
            f"cannot adjust on hand of '{sku}' at '{location}' by {delta}: "
            f"{on_hand} on hand, {reserved} units reserved there"
        )
    _movement(session, sku, location, "adjust", delta_on_hand=delta, reason=reason)
    return {sku}


def restock(
    session: Session, sku: str, location: str, quantity: int, reason: str, order_id: int | None = None
) -> set[str]:
    """Put `quantity` returned units back on hand at `location`; record a "restock" movement.

    The SKU and the location must exist (a return goes to a chosen, known location): UnknownSku or StockError
    otherwise. `order_id` ties the movement to the returned order. Returns {sku}.
    """
    _require_reason(reason, sku, location)
    if quantity <= 0:
        raise ValueError(f"restock of '{sku}' at '{location}': quantity must be positive (got {quantity})")
    session.flush()
    if session.scalar(select(SKUS.c.sku).where(SKUS.c.sku == sku)) is None:
        raise UnknownSku(f"cannot restock unknown SKU '{sku}'")
    if session.scalar(select(LOCATIONS.c.code).where(LOCATIONS.c.code == location)) is None:
        raise StockError(f"cannot restock '{sku}' to unknown location '{location}'")
    insert_missing(
        session, LEVELS, {"sku": sku, "location": location, "on_hand": 0, "reserved": 0}, ["sku", "location"]
    )
    session.execute(
        update(LEVELS)
        .where(LEVELS.c.sku == sku, LEVELS.c.location == location)
        .values(on_hand=LEVELS.c.on_hand + quantity)
    )
    _movement(session, sku, location, "restock", delta_on_hand=quantity, reason=reason, order_id=order_id)
    return {sku}


# --- order lifecycle ----------------------------------------------------------------------------------------


def release_order(session: Session, order_id: int, reason: str) -> set[str]:
    """Release every still-reserved reservation of the order (cancelled, or put back on hold).

    Idempotent: a second call finds nothing reserved and changes nothing. Committed (shipped) units stay
    committed. Returns the SKUs whose availability grew.
    """
    session.flush()
    # Flipping the state first, conditionally, is what makes two concurrent releases count each unit once.
    released = session.execute(
        update(RESERVATIONS)
        .where(RESERVATIONS.c.order_id == order_id, RESERVATIONS.c.state == "reserved")
        .values(state="released")
        .returning(RESERVATIONS.c.sku, RESERVATIONS.c.location, RESERVATIONS.c.quantity)
    ).all()
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for sku, location, quantity in released:
        totals[(sku, location)] += quantity
    for (sku, location), quantity in sorted(totals.items()):
        session.execute(
            update(LEVELS)
            .where(LEVELS.c.sku == sku, LEVELS.c.location == location)
            .values(reserved=LEVELS.c.reserved - quantity)
        )
        _movement(session, sku, location, "release", delta_reserved=-quantity, reason=reason, order_id=order_id)
    return {sku for sku, _ in totals}


def commit_lines(session: Session, order_id: int, shipped: Mapping[str, int], reason: str) -> set[str]:
    """Turn reserved units into shipped ones: per SKU, `shipped[sku]` units leave on_hand and reserved together.

    Reservations are consumed oldest first; a reservation shipped in part is split into a committed row and a
    still-reserved row for the rest. Raises InsufficientStock, naming the order and SKU, when more is shipped
    than the order has reserved (checked for every SKU before anything changes). Deduplicating shipments is the
    caller's job. Returns the SKUs committed; their availability is unchanged (on_hand and reserved both drop).
    """
    wanted = {sku: quantity for sku, quantity in shipped.items() if quantity != 0}
    for sku, quantity in wanted.items():
        if quantity < 0:
            raise ValueError(f"order {order_id}: negative shipped quantity {quantity} for '{sku}'")
    if not wanted:
        return set()
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
    for (sku, location), quantity in sorted(totals.items()):
        session.execute(
            update(LEVELS)
            .where(LEVELS.c.sku == sku, LEVELS.c.location == location)
            .values(on_hand=LEVELS.c.on_hand - quantity, reserved=LEVELS.c.reserved - quantity)
        )
        _movement(
            session,
            sku,
            location,
            "commit",
            delta_on_hand=-quantity,
            delta_reserved=-quantity,
            reason=reason,
            order_id=order_id,
        )
    return set(wanted)


# --- reading ------------------------------------------------------------------------------------------------


def levels(session: Session, sku: str | None = None) -> list[StockLevel]:
    """Stock levels ordered by SKU and location; only `sku`'s when given."""
    query = select(LEVELS.c.sku, LEVELS.c.location, LEVELS.c.on_hand, LEVELS.c.reserved).order_by(
        LEVELS.c.sku, LEVELS.c.location
    )
    if sku is not None:
        query = query.where(LEVELS.c.sku == sku)
    return [
        StockLevel(sku=row.sku, location=row.location, on_hand=row.on_hand, reserved=row.reserved)
        for row in session.execute(query)
    ]


def movements_for(
    session: Session,
    sku: str | None = None,
    *,
    location: str | None = None,
    order_id: int | None = None,
    limit: int | None = None,
) -> list[StockMovement]:
    """Recorded movements, oldest first, filtered by any of sku, location and order; at most `limit`."""
    query = select(MOVEMENTS).order_by(MOVEMENTS.c.id)
    if sku is not None:
        query = query.where(MOVEMENTS.c.sku == sku)
    if location is not None:
        query = query.where(MOVEMENTS.c.location == location)
    if order_id is not None:
        query = query.where(MOVEMENTS.c.order_id == order_id)
    if limit is not None:
        query = query.limit(limit)
    return [StockMovement(**row._mapping) for row in session.execute(query)]


# --- internals ----------------------------------------------------------------------------------------------


def _require_reason(reason: str, sku: str, location: str) -> None:
    if not reason.strip():
        raise ValueError(f"a stock change of '{sku}' at '{location}' needs a reason")


def _ensure_level(session: Session, sku: str, location: str) -> None:
    session.flush()  # Core statements do not autoflush; a SkuRow the caller just added must be seen
    insert_missing(session, SKUS, {"sku": sku, "title": "", "safety_stock": 0}, ["sku"])
    insert_missing(session, LOCATIONS, {"code": location, "name": "", "priority": 0}, ["code"])
    insert_missing(
        session, LEVELS, {"sku": sku, "location": location, "on_hand": 0, "reserved": 0}, ["sku", "location"]
    )


def _lock_level(session: Session, sku: str, location: str) -> tuple[int, int]:
    row = session.execute(
        select(LEVELS.c.on_hand, LEVELS.c.reserved)
        .where(LEVELS.c.sku == sku, LEVELS.c.location == location)
        .with_for_update()
    ).one()
    return row.on_hand, row.reserved


def _movement(
    session: Session,
    sku: str,
    location: str,
    kind: str,
    *,
    delta_on_hand: int = 0,
    delta_reserved: int = 0,
    reason: str,
    order_id: int | None = None,
) -> None:
    session.execute(
        insert(MOVEMENTS).values(
            sku=sku,
            location=location,
            kind=kind,
            delta_on_hand=delta_on_hand,
            delta_reserved=delta_reserved,
            reason=reason,
            order_id=order_id,
            at=utcnow(),
        )
    )
