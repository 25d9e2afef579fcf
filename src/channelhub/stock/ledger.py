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

Reserving lives in `channelhub.stock.reserve` and is re-exported here: `reserve_lines`, `LineRequest`,
`ReserveOutcome`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from channelhub.errors import InsufficientStock, StockError, UnknownLocation, UnknownSku
from channelhub.model.limits import MAX_QUANTITY
from channelhub.model.stock import StockLevel
from channelhub.stock.reserve import LineRequest, ReserveOutcome, reserve_lines
from channelhub.store.sql import insert_ignoring
from channelhub.store.tables import LEVELS, LOCATIONS, MOVEMENTS, RESERVATIONS, SKUS, LocationRow, SkuRow, utcnow

__all__ = [
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


@dataclass(frozen=True)
class StockChange:
    """What one ledger call changed: `skus` whose sellable quantity may differ now (publish them), `freed` whose
    available units grew (retry the orders held for them), and the ids of the `movements` recorded."""

    skus: frozenset[str] = frozenset()
    freed: frozenset[str] = frozenset()
    movements: tuple[int, ...] = ()

    def __or__(self, other: StockChange) -> StockChange:
        return StockChange(self.skus | other.skus, self.freed | other.freed, self.movements + other.movements)

    def __bool__(self) -> bool:
        return bool(self.skus)


NO_CHANGE = StockChange()


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
    _check_quantity(safety_stock, f"safety stock for '{sku}'")
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
    _check_quantity(quantity, f"on hand of '{sku}' at '{location}'")
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
    movement = _movement(session, sku, location, "set", delta_on_hand=delta, reason=reason)
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
    _check_quantity(abs(delta), f"adjustment of '{sku}' at '{location}'")
    new_sku = _ensure_level(session, sku, location)
    on_hand, reserved = _lock_level(session, sku, location)
    _check_quantity(on_hand + delta, f"on hand of '{sku}' at '{location}' after adding {delta}", floor=None)
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
    movement = _movement(session, sku, location, "adjust", delta_on_hand=delta, reason=reason)
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
    _check_quantity(quantity, f"restock of '{sku}' at '{location}'")
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
    movement = _movement(session, sku, location, "restock", delta_on_hand=quantity, reason=reason, order_id=order_id)
    return _changed(sku, quantity, movement)


# --- order lifecycle ----------------------------------------------------------------------------------------


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
            _movement(session, sku, location, "release", delta_reserved=-quantity, reason=reason, order_id=order_id)
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
        )
    return StockChange(skus=frozenset(wanted), movements=tuple(movements))


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


def _check_quantity(quantity: int, what: str, *, floor: int | None = 0) -> None:
    """Refuse a figure the store cannot hold (its integer columns), or below `floor`, with a clear message."""
    if floor is not None and quantity < floor:
        raise InsufficientStock(f"{what}: must not be negative (got {quantity})")
    if quantity > MAX_QUANTITY:
        raise StockError(f"{what}: {quantity} is more than the store can hold (at most {MAX_QUANTITY})")


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
) -> int:
    """Record one movement; return its id."""
    return int(
        session.execute(
            insert(MOVEMENTS)
            .values(
                sku=sku,
                location=location,
                kind=kind,
                delta_on_hand=delta_on_hand,
                delta_reserved=delta_reserved,
                reason=reason,
                order_id=order_id,
                at=utcnow(),
            )
            .returning(MOVEMENTS.c.id)
        ).scalar_one()
    )
