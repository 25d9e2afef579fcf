"""Reserving order lines: every unit held by one conditional statement, each order all-or-nothing.

The statement that stops oversell is `UPDATE stock_levels SET reserved = reserved + :q WHERE sku = :s AND
location = :l AND on_hand - reserved >= :q` with its row count checked. PostgreSQL re-evaluates that WHERE on the
newest row version after waiting for a concurrent writer, and SQLite runs one writer at a time (BEGIN IMMEDIATE),
so no interleaving of writers can take available stock below zero. The CHECK constraints on stock_levels are only
the last line of defence; a short order ends as a clean "held" outcome, never an IntegrityError.

The call reads the stock it may touch once (locked on PostgreSQL), decides every order in request order against
those figures exactly as line-by-line statements would (each line whole at its first location with enough, an
order's earlier lines given back when a later one is short), then takes the totals of the orders that fit with
ONE guarded UPDATE per (sku, location), run as a single executemany whose summed row count must match, and
bulk-inserts the reservations and movements. Should any guarded UPDATE not apply (a writer slipped past the
locks), a savepoint undoes them all and the call decides again with one guarded statement per line.

Each order refused (short stock: the oversell guard; or an unknown SKU) is counted for /metrics in
`channelhub.telemetry`, the one module outside store and model the ledger imports: it sits below everything.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from channelhub import telemetry
from channelhub.store.bulk import insert_rows
from channelhub.store.sql import chunked, is_postgres
from channelhub.store.tables import LEVELS, LOCATIONS, MOVEMENTS, RESERVATIONS, SKUS, utcnow

HOLDING_STATES = ("reserved", "committed")


class LineRequest(NamedTuple):
    """One order line to reserve. `locations`: where it may be served from (None: any location).

    A NamedTuple, not a frozen dataclass: an import builds one per order line, and this is three times cheaper.
    """

    order_id: int
    order_line_id: int
    sku: str
    quantity: int
    locations: tuple[str, ...] | None = None


@dataclass(frozen=True)
class ReserveOutcome:
    """The result for one order: `ok`, or held with a `reason` a merchant can act on.

    `skus`: the SKUs whose reserved count this call changed for the order (empty when held, or when every line
    already held its reservation) - the ones to publish.
    """

    order_id: int
    ok: bool
    reason: str = ""
    skus: frozenset[str] = field(default_factory=frozenset)


@dataclass
class _Plan:
    """What the call knows after its reads: known SKUs, locations in reservation order, available stock."""

    known_skus: set[str]
    location_order: list[str]
    available: dict[tuple[str, str], int]

    def candidates(self, line: LineRequest) -> list[str]:
        allowed = None if line.locations is None else set(line.locations)
        return [
            loc
            for loc in self.location_order
            if (line.sku, loc) in self.available and (allowed is None or loc in allowed)
        ]


def reserve_lines(
    session: Session, requests: Sequence[LineRequest], *, fresh_lines: bool = False
) -> list[ReserveOutcome]:
    """Reserve every requested line; return one outcome per order, in order of first appearance.

    Per order all-or-nothing: either all of its lines hold stock afterwards or none of them changed. A line is
    reserved whole at one location, trying locations by priority (lowest first) and then code. Held reasons:
    "unknown SKU 'X'" (no such SKU in the ledger) and "short stock for 'X': need 3, available 1".

    A line that already holds a reservation (reserved or committed) is not reserved again, so calling twice for
    the same order is harmless. Lines with quantity 0 hold nothing. Runs in the caller's transaction, never
    commits. Raises ValueError for a negative quantity, naming the order and line.

    `fresh_lines=True`: the caller inserted every requested line in this transaction, so none can hold a
    reservation yet and the lookup for them is skipped.
    """
    orders: dict[int, list[LineRequest]] = {}
    for line in requests:
        if line.quantity < 0:
            raise ValueError(
                f"order {line.order_id} line {line.order_line_id}: negative quantity {line.quantity} for '{line.sku}'"
            )
        orders.setdefault(line.order_id, []).append(line)
    if not orders:
        return []
    # Our statements are Core ones, which do not autoflush: the caller's pending order rows must exist first.
    session.flush()
    plan = _read_plan(session, {line.sku for line in requests})
    held: set[int] = set()
    if not fresh_lines:
        held = _lines_already_holding(session, [line.order_line_id for line in requests])
    pending: dict[int, list[LineRequest]] = {
        order_id: [line for line in lines if line.quantity > 0 and line.order_line_id not in held]
        for order_id, lines in orders.items()
    }

    outcomes: dict[int, ReserveOutcome] = {}
    for order_id, lines in pending.items():
        unknown = list(dict.fromkeys(line.sku for line in lines if line.sku not in plan.known_skus))
        if unknown:
            reason = "; ".join(f"unknown SKU '{sku}'" for sku in unknown)
            outcomes[order_id] = ReserveOutcome(order_id, ok=False, reason=reason)
        elif not lines:
            outcomes[order_id] = ReserveOutcome(order_id, ok=True)

    reservations: list[tuple[Any, ...]] = []
    movements: list[tuple[Any, ...]] = []
    open_orders = {order_id: lines for order_id, lines in pending.items() if order_id not in outcomes}
    placed, reasons = _decide(plan, open_orders)
    totals: dict[tuple[str, str], int] = defaultdict(int)
    for placements in placed.values():
        for line, location in placements:
            totals[(line.sku, location)] += line.quantity
    if _take_all(session, sorted(totals.items())):
        for order_id, lines in open_orders.items():  # request order, so reservation ids follow it
            if order_id in placed:
                for line, location in placed[order_id]:
                    _record(line, location, reservations, movements)
                outcomes[order_id] = ReserveOutcome(order_id, ok=True, skus=frozenset(line.sku for line in lines))
            else:
                outcomes[order_id] = ReserveOutcome(order_id, ok=False, reason=reasons[order_id])
    else:
        # Only reachable if a writer slipped past the plan's locks: decide again, statement by statement.
        for order_id, lines in open_orders.items():
            outcomes[order_id] = _reserve_order(session, plan, order_id, lines, reservations, movements)

    if reservations:
        now = utcnow()
        insert_rows(session, RESERVATIONS, _RESERVATION_COLUMNS, [(*row, now) for row in reservations])
        insert_rows(session, MOVEMENTS, _MOVEMENT_COLUMNS, [(*row, now) for row in movements])
    result = [outcomes[order_id] for order_id in orders]
    telemetry.reservations_refused(outcome.reason for outcome in result if not outcome.ok)
    return result


def _read_plan(session: Session, skus: set[str]) -> _Plan:
    known: set[str] = set()
    available: dict[tuple[str, str], int] = {}
    for chunk in chunked(sorted(skus)):
        known.update(session.scalars(select(SKUS.c.sku).where(SKUS.c.sku.in_(chunk))))
        query = (
            select(LEVELS.c.sku, LEVELS.c.location, LEVELS.c.on_hand - LEVELS.c.reserved)
            .where(LEVELS.c.sku.in_(chunk))
            .order_by(LEVELS.c.sku, LEVELS.c.location)
        )
        if is_postgres(session):
            # Lock every row this call may touch, in one global order, so two concurrent calls with orders in
            # different SKU sequences queue instead of deadlocking. SQLite already runs one writer at a time.
            query = query.with_for_update()
        for sku, location, avail in session.execute(query):
            available[(sku, location)] = avail
    order = list(session.scalars(select(LOCATIONS.c.code).order_by(LOCATIONS.c.priority, LOCATIONS.c.code)))
    return _Plan(known_skus=known, location_order=order, available=available)


def _lines_already_holding(session: Session, line_ids: list[int]) -> set[int]:
    found: set[int] = set()
    for chunk in chunked(sorted(set(line_ids))):
        found.update(
            session.scalars(
                select(RESERVATIONS.c.order_line_id).where(
                    RESERVATIONS.c.order_line_id.in_(chunk), RESERVATIONS.c.state.in_(HOLDING_STATES)
                )
            )
        )
    return found


def _take(session: Session, sku: str, location: str, quantity: int) -> bool:
    """The one conditional statement: hold `quantity` at (sku, location) if that much is available."""
    result = session.execute(
        update(LEVELS)
        .where(
            LEVELS.c.sku == sku,
            LEVELS.c.location == location,
            LEVELS.c.on_hand - LEVELS.c.reserved >= quantity,
        )
        .values(reserved=LEVELS.c.reserved + quantity)
    )
    return result.rowcount == 1  # type: ignore[attr-defined]


# The same conditional statement as `_take`, bound per row for one executemany over the (sku, location) totals.
_TAKE_MANY = (
    update(LEVELS)
    .where(
        LEVELS.c.sku == bindparam("_sku"),
        LEVELS.c.location == bindparam("_location"),
        LEVELS.c.on_hand - LEVELS.c.reserved >= bindparam("_quantity"),
    )
    .values(reserved=LEVELS.c.reserved + bindparam("_quantity"))
)


class _NotTaken(Exception):
    """Raised inside the fast path's savepoint to undo a partly applied executemany."""


def _take_all(session: Session, totals: Sequence[tuple[tuple[str, str], int]]) -> bool:
    """Run the conditional UPDATE once per (sku, location) total, as ONE executemany, all or nothing.

    Each row of the executemany is the same guarded statement as `_take`, so no total can take stock below zero;
    the summed row count says whether every one of them applied. If any did not (only possible if a writer
    slipped past the plan's locks), the savepoint rolls back the ones that did and the caller falls back to the
    per-order path.
    """
    rows = [{"_sku": sku, "_location": location, "_quantity": total} for (sku, location), total in totals]
    if not rows:
        return True
    try:
        with session.begin_nested():
            done = session.execute(_TAKE_MANY, rows)
            if done.rowcount != len(rows):  # type: ignore[attr-defined]
                raise _NotTaken
    except _NotTaken:
        return False
    return True


def _give_back(session: Session, sku: str, location: str, quantity: int) -> None:
    session.execute(
        update(LEVELS)
        .where(LEVELS.c.sku == sku, LEVELS.c.location == location)
        .values(reserved=LEVELS.c.reserved - quantity)
    )


# Reservations and their movements are written through the driver (channelhub.store.bulk), the time added last.
_RESERVATION_COLUMNS = ("order_id", "order_line_id", "sku", "location", "quantity", "state", "created_at")
_MOVEMENT_COLUMNS = ("sku", "location", "kind", "delta_on_hand", "delta_reserved", "reason", "order_id", "at")


def _record(
    line: LineRequest, location: str, reservations: list[tuple[Any, ...]], movements: list[tuple[Any, ...]]
) -> None:
    reservations.append((line.order_id, line.order_line_id, line.sku, location, line.quantity, "reserved"))
    movements.append(
        (line.sku, location, "reserve", 0, line.quantity, f"reserved for order line {line.order_line_id}",
         line.order_id)
    )  # fmt: skip


def _decide(
    plan: _Plan, orders: dict[int, list[LineRequest]]
) -> tuple[dict[int, list[tuple[LineRequest, str]]], dict[int, str]]:
    """Decide every order in request order against the plan's figures: (placements of the orders that fit, the
    held reason of those that do not).

    The plan's figures are exact for the whole call (its rows are locked on PostgreSQL; SQLite has one writer),
    so this is what the per-order statements would do, line by line: each line whole at its first location
    that still has the quantity, an order's earlier lines given back when a later one is short. The caller
    then takes the totals with the guarded statement, which still refuses anything the database cannot cover.
    """
    available = dict(plan.available)
    placed: dict[int, list[tuple[LineRequest, str]]] = {}
    reasons: dict[int, str] = {}
    for order_id, lines in orders.items():
        placements: list[tuple[LineRequest, str]] = []
        short: list[str] = []
        for line in lines:
            for location in plan.candidates(line):
                if available[(line.sku, location)] >= line.quantity:
                    available[(line.sku, location)] -= line.quantity
                    placements.append((line, location))
                    break
            else:
                if line.sku not in short:
                    short.append(line.sku)
        if short:
            for line, location in placements:
                available[(line.sku, location)] += line.quantity

            def left(sku: str, locations: list[str]) -> int:
                return sum(available[(sku, location)] for location in locations)

            reasons[order_id] = _short_reason(plan, lines, short, left)
        else:
            placed[order_id] = placements
    return placed, reasons


def _reserve_order(
    session: Session,
    plan: _Plan,
    order_id: int,
    lines: list[LineRequest],
    reservations: list[tuple[Any, ...]],
    movements: list[tuple[Any, ...]],
) -> ReserveOutcome:
    placed: list[tuple[LineRequest, str]] = []
    short: list[str] = []  # SKUs in first-failure order
    for line in lines:
        location = next((loc for loc in plan.candidates(line) if _take(session, line.sku, loc, line.quantity)), None)
        if location is None:
            if line.sku not in short:
                short.append(line.sku)
        else:
            placed.append((line, location))
    if short:
        for line, location in placed:
            _give_back(session, line.sku, location, line.quantity)

        def left(sku: str, locations: list[str]) -> int:
            return int(
                session.scalar(
                    select(func.coalesce(func.sum(LEVELS.c.on_hand - LEVELS.c.reserved), 0)).where(
                        LEVELS.c.sku == sku, LEVELS.c.location.in_(locations)
                    )
                )
                or 0
            )

        return ReserveOutcome(order_id, ok=False, reason=_short_reason(plan, lines, short, left))
    for line, location in placed:
        _record(line, location, reservations, movements)
    return ReserveOutcome(order_id, ok=True, skus=frozenset(line.sku for line in lines))


def _short_reason(
    plan: _Plan, lines: list[LineRequest], short: list[str], available_at: Callable[[str, list[str]], int]
) -> str:
    """ "short stock for 'X': need 3, available 1" per short SKU; `available_at(sku, locations)` gives the units
    still available there at the moment the order was refused."""
    parts = []
    for sku in short:
        sku_lines = [line for line in lines if line.sku == sku]
        need = sum(line.quantity for line in sku_lines)
        locations = sorted({loc for line in sku_lines for loc in plan.candidates(line)})
        available = available_at(sku, locations) if locations else 0
        text = f"short stock for '{sku}': need {need}, available {available}"
        if available >= need:
            text += " across locations (a line is reserved whole at one location)"
        parts.append(text)
    return "; ".join(parts)
