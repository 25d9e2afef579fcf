"""Stock use cases: set and adjust on-hand units at a declared location. Each is one transaction: the ledger
change, the retry of the orders held for what arrived (oldest first), and the publish of the new figures."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from channelhub.errors import UnknownLocation
from channelhub.runtime import Hub
from channelhub.stock import ledger
from channelhub.stock.ledger import StockChange
from channelhub.sync.holds import settle
from channelhub.sync.report import ApplyReport


@dataclass(frozen=True)
class StockResult:
    change: StockChange
    released: ApplyReport  # what retrying the held orders did


def declared_location(hub: Hub, location: str | None) -> str:
    """The location a stock change is for: the one given, which must be declared in the config, or the only
    one the config declares. UnknownLocation (exit 2) names the declared ones."""
    codes = [loc.code for loc in hub.config.locations]
    if location is None:
        if len(codes) == 1:
            return codes[0]
        raise UnknownLocation(
            "give --location: the config declares "
            + (f"{len(codes)} locations ({', '.join(codes)})" if codes else "none")
        )
    if location not in codes:
        raise UnknownLocation(
            f"unknown location {location!r} (declared: {', '.join(codes) or 'none'}; add it to [[locations]])"
        )
    return location


def declare_locations(hub: Hub, session: Session) -> None:
    """Write the config's [[locations]] (code, name, priority) to the ledger, in the caller's transaction."""
    ledger.declare_locations(session, [(loc.code, loc.name, loc.priority) for loc in hub.config.locations])


def set_stock(
    hub: Hub, sku: str, quantity: int, *, location: str | None, reason: str, now: datetime | None = None
) -> StockResult:
    """Set on-hand units of `sku` (a stock count) at a declared location; publish and release holds."""
    where = declared_location(hub, location)
    return _change(hub, lambda s: ledger.set_on_hand(s, sku, where, quantity, reason), now)


def adjust_stock(
    hub: Hub, sku: str, delta: int, *, location: str | None, reason: str, now: datetime | None = None
) -> StockResult:
    """Add (or, negative, remove) on-hand units of `sku` at a declared location; publish and release holds."""
    where = declared_location(hub, location)
    return _change(hub, lambda s: ledger.adjust_on_hand(s, sku, where, delta, reason), now)


def _change(hub: Hub, apply: Callable[[Session], StockChange], now: datetime | None) -> StockResult:
    at = now if now is not None else datetime.now(UTC)
    with hub.db.transaction() as session:
        declare_locations(hub, session)
        change = apply(session)
        cause = f"movement:{change.movements[-1]}" if change.movements else "stock"
        released = settle(session, hub.policies, touched=change.skus, freed=change.freed, cause=cause, at=at)
    return StockResult(change, released)
