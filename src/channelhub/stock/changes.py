"""What a ledger call changed (`StockChange`), one recorded movement (`StockMovement`), and the two rules every
change of stock keeps: a movement row for it, and a figure the store can hold."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.orm import Session

from channelhub.errors import InsufficientStock, StockError
from channelhub.model.limits import MAX_QUANTITY
from channelhub.store.tables import MOVEMENTS, utcnow


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


def check_quantity(quantity: int, what: str, *, floor: int | None = 0) -> None:
    """Refuse a figure the store cannot hold (its integer columns), or below `floor`, with a clear message."""
    if floor is not None and quantity < floor:
        raise InsufficientStock(f"{what}: must not be negative (got {quantity})")
    if quantity > MAX_QUANTITY:
        raise StockError(f"{what}: {quantity} is more than the store can hold (at most {MAX_QUANTITY})")


def record_movement(
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
