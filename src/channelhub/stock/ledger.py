"""The central stock ledger: on-hand and reserved units per (SKU, location), and every change as a movement.

Every function takes the caller's Session and never commits: the caller's unit of work decides. Every change to
`on_hand` or `reserved` writes a StockMovementRow in the same transaction, so for each (sku, location) on_hand
and reserved always equal the sums of their movements. Functions that change stock return a `StockChange`: the
SKUs whose sellable quantity may have changed (for the caller to publish), the SKUs whose available units grew
(for the caller to retry the orders held for them) and the movements recorded. The ledger publishes nothing and
imports nothing above `store`.

Locations are declared (the config's `[[locations]]`, written to the locations table when the hub opens): a stock
change at a location that is not there is refused with `UnknownLocation`, so a typo never creates stock. SKUs are
created by their first stock count.

Reserving lives in `channelhub.stock.reserve`, releasing and committing in `channelhub.stock.order_units`, the
change and movement types in `channelhub.stock.changes`; all are re-exported here.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from channelhub.errors import InsufficientStock, UnknownLocation, UnknownSku
from channelhub.model.stock import StockLevel
from channelhub.stock.changes import NO_CHANGE, StockChange, StockMovement, check_quantity, record_movement
from channelhub.stock.order_units import commit_lines, release_lines, release_order
from channelhub.stock.reserve import LineRequest, ReserveOutcome, reserve_lines
from channelhub.store.sql import insert_ignoring
from channelhub.store.tables import LEVELS, LOCATIONS, MOVEMENTS, SKUS, LocationRow, SkuRow

__all__ = [
    "NO_CHANGE",
    "LineRequest",
    "ReserveOutcome",
    "StockChange",
    "StockMovement",
    "adjust_on_hand",
    "commit_lines",
    "ensure_location",
    "ensure_sku",
    "levels",
    "movements_for",
    "release_lines",
    "release_order",
    "reserve_lines",
    "restock",
    "set_on_hand",
    "set_safety_stock",
]


# --- catalogue ----------------------------------------------------------------------------------------------


def ensure_sku(session: Session, sku: str, title: str = "", safety_stock: int = 0) -> SkuRow:
    """Return the SKU, creating it with `title` and `safety_stock` if missing; an existing SKU is left as is."""
    if not sku:
        raise ValueError("a SKU must not be empty")
    if safety_stock < 0:
        raise ValueError(f"safety stock for '{sku}' must not be negative (got {safety_stock})")
    insert_ignoring(session, SKUS, [{"sku": sku, "title": title, "safety_stock": safety_stock}], ["sku"])
    row = session.get(SkuRow, sku, populate_existing=True)
    assert row is not None
    return row


def ensure_location(session: Session, code: str, name: str = "", priority: int = 0) -> LocationRow:
    """Return the location, creating it if missing (lower `priority` reserves first); an existing one is kept."""
    if not code:
        raise ValueError("a location code must not be empty")
    insert_ignoring(session, LOCATIONS, [{"code": code, "name": name, "priority": priority}], ["code"])
    row = session.get(LocationRow, code, populate_existing=True)
    assert row is not None
    return row


def declare_locations(session: Session, declared: Iterable[tuple[str, str, int]]) -> None:
    """Make the locations table hold every declared (code, name, priority), updating names and priorities.

    Locations no longer declared are kept (their stock and movements stay readable) but nothing new can be
    counted into them through the service layer.
    """
    for code, name, priority in declared:
        ensure_location(session, code, name, priority)
        session.execute(update(LOCATIONS).where(LOCATIONS.c.code == code).values(name=name, priority=priority))


def location_codes(session: Session) -> list[str]:
    """Codes of the locations the ledger knows, in reservation order (priority, then code)."""
    return list(session.scalars(select(LOCATIONS.c.code).order_by(LOCATIONS.c.priority, LOCATIONS.c.code)))


def set_safety_stock(session: Session, sku: str, safety_stock: int) -> StockChange:
    """Set the units of `sku` never offered to any channel. Reservations ignore safety stock, so nothing is
    freed; the SKU's sellable quantity may have changed."""
    check_quantity(safety_stock, f"safety stock for '{sku}'")
    result = session.execute(update(SKUS).where(SKUS.c.sku == sku).values(safety_stock=safety_stock))
    if result.rowcount == 0:  # type: ignore[attr-defined]
        raise UnknownSku(f"unknown SKU '{sku}'")
    return StockChange(skus=frozenset({sku}))


# --- manual changes -----------------------------------------------------------------------------------------


def set_on_hand(session: Session, sku: str, location: str, quantity: int, reason: str) -> StockChange:
    """Set on-hand units of `sku` at `location` (a stock count); record the difference as a "set" movement.

    An unknown SKU is created (a merchant's first stock load); an unknown location is refused (UnknownLocation,
    naming the known ones). Raises InsufficientStock when `quantity` is negative or below the units reserved
    there (naming the SKU, location and reserved count), StockError above what the store can hold.
    """
    _require_reason(reason, sku, location)
    check_quantity(quantity, f"on hand of '{sku}' at '{location}'")
    new_sku = _ensure_level(session, sku, location)
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
    movement = record_movement(session, sku, location, "set", delta_on_hand=delta, reason=reason)
    return _changed(sku, delta, movement, new_sku)


def adjust_on_hand(session: Session, sku: str, location: str, delta: int, reason: str) -> StockChange:
    """Add `delta` (may be negative) to on-hand units; record an "adjust" movement.

    An unknown SKU is created; an unknown location is refused (UnknownLocation). Raises InsufficientStock when
    the result would fall below the units reserved there (or below zero), StockError above what the store can
    hold. A delta of 0 changes and records nothing.
    """
    _require_reason(reason, sku, location)
    if delta == 0:
        return NO_CHANGE
    check_quantity(abs(delta), f"adjustment of '{sku}' at '{location}'")
    new_sku = _ensure_level(session, sku, location)
    on_hand, reserved = _lock_level(session, sku, location)
    check_quantity(on_hand + delta, f"on hand of '{sku}' at '{location}' after adding {delta}", floor=None)
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
        raise InsufficientStock(
            f"cannot adjust on hand of '{sku}' at '{location}' by {delta}: "
            f"{on_hand} on hand, {reserved} units reserved there"
        )
    movement = record_movement(session, sku, location, "adjust", delta_on_hand=delta, reason=reason)
    return _changed(sku, delta, movement, new_sku)


def restock(
    session: Session, sku: str, location: str, quantity: int, reason: str, order_id: int | None = None
) -> StockChange:
    """Put `quantity` returned units back on hand at `location`; record a "restock" movement.

    The SKU and the location must exist (a return goes to a chosen, known location): UnknownSku or
    UnknownLocation otherwise. `order_id` ties the movement to the returned order.
    """
    _require_reason(reason, sku, location)
    if quantity <= 0:
        raise ValueError(f"restock of '{sku}' at '{location}': quantity must be positive (got {quantity})")
    check_quantity(quantity, f"restock of '{sku}' at '{location}'")
    session.flush()
    if session.scalar(select(SKUS.c.sku).where(SKUS.c.sku == sku)) is None:
        raise UnknownSku(f"cannot restock unknown SKU '{sku}'")
    _require_location(session, location, f"cannot restock '{sku}'")
    insert_ignoring(
        session, LEVELS, [{"sku": sku, "location": location, "on_hand": 0, "reserved": 0}], ["sku", "location"]
    )
    session.execute(
        update(LEVELS)
        .where(LEVELS.c.sku == sku, LEVELS.c.location == location)
        .values(on_hand=LEVELS.c.on_hand + quantity)
    )
    movement = record_movement(
        session, sku, location, "restock", delta_on_hand=quantity, reason=reason, order_id=order_id
    )
    return _changed(sku, quantity, movement)


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


def _changed(sku: str, delta: int, movement: int, new_sku: bool = False) -> StockChange:
    """A SKU counted for the first time is also freed: orders held as "unknown SKU" must learn it exists."""
    return StockChange(
        skus=frozenset({sku}) if delta or new_sku else frozenset(),
        freed=frozenset({sku}) if delta > 0 or new_sku else frozenset(),
        movements=(movement,),
    )


def _require_reason(reason: str, sku: str, location: str) -> None:
    if not reason.strip():
        raise ValueError(f"a stock change of '{sku}' at '{location}' needs a reason")


def _require_location(session: Session, location: str, what: str) -> None:
    if session.scalar(select(LOCATIONS.c.code).where(LOCATIONS.c.code == location)) is None:
        known = ", ".join(location_codes(session)) or "none"
        raise UnknownLocation(f"{what}: unknown location '{location}' (declared: {known})")


def _ensure_level(session: Session, sku: str, location: str) -> bool:
    """Make the (sku, location) level exist; True when the SKU itself was new."""
    session.flush()  # Core statements do not autoflush; a SkuRow the caller just added must be seen
    _require_location(session, location, f"cannot change stock of '{sku}'")
    new_sku = session.scalar(select(SKUS.c.sku).where(SKUS.c.sku == sku)) is None
    if new_sku:
        insert_ignoring(session, SKUS, [{"sku": sku, "title": "", "safety_stock": 0}], ["sku"])
    insert_ignoring(
        session, LEVELS, [{"sku": sku, "location": location, "on_hand": 0, "reserved": 0}], ["sku", "location"]
    )
    return new_sku


def _lock_level(session: Session, sku: str, location: str) -> tuple[int, int]:
    row = session.execute(
        select(LEVELS.c.on_hand, LEVELS.c.reserved)
        .where(LEVELS.c.sku == sku, LEVELS.c.location == location)
        .with_for_update()
    ).one()
    return row.on_hand, row.reserved
