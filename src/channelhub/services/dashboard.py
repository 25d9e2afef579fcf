"""Read-only queries behind the operator dashboard (`channelhub.web.dashboard`) that `services.views` has no
twin for: the overview's counts, orders filtered by hold reason and searched by reference, an order's outbound
writes, stock per SKU beside what each channel lists, and hourly series for the charts. No writes here.

Every function takes the caller's session (one read transaction per page) and returns plain values; the web
layer renders them and nothing else.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from channelhub.model.lifecycle import OrderState
from channelhub.runtime import Hub
from channelhub.services.metrics import OPEN_STATUSES
from channelhub.services.views import OrderDetail, like_escaped
from channelhub.services.views import OrderFilter as OrderFilter  # re-exported: the pages build one
from channelhub.services.views import find_orders as find_orders  # re-exported: the /orders page
from channelhub.stock.sellable import sellable_by_channel
from channelhub.store.sql import dialect_name
from channelhub.store.tables import (
    INBOX,
    LEVELS,
    LISTINGS,
    MOVEMENTS,
    ORDERS,
    OUTBOX,
    SKUS,
    OrderRow,
    OutboxRow,
)
from channelhub.sync.transitions import HOLD_KINDS as HOLD_KINDS  # re-exported: the pages filter by it

ORDER_STATES = tuple(s.value for s in OrderState)
CHART_HOURS = 48
STOCK_ROWS = 500  # SKUs on one /stock page; a search narrows them


@dataclass(frozen=True)
class Counts:
    """The overview's headline figures."""

    orders: int
    held: int
    pending_writes: int
    dead_writes: int
    quarantined: int
    held_by_kind: dict[str, int] = field(default_factory=dict)


def counts(session: Session) -> Counts:
    held_by_kind = {
        kind or "other": n
        for kind, n in session.execute(
            select(ORDERS.c.hold_kind, func.count()).where(ORDERS.c.state == "on_hold").group_by(ORDERS.c.hold_kind)
        )
    }
    # Only the open rows: done, superseded and skipped are history that grows for ever.
    by_status: dict[str, int] = dict(
        session.execute(
            select(OUTBOX.c.status, func.count()).where(OUTBOX.c.status.in_(OPEN_STATUSES)).group_by(OUTBOX.c.status)
        ).all()
    )
    return Counts(
        orders=int(session.scalar(select(func.count()).select_from(ORDERS)) or 0),
        held=sum(held_by_kind.values()),
        pending_writes=int(by_status.get("pending", 0)) + int(by_status.get("inflight", 0)),
        dead_writes=int(by_status.get("dead", 0)),
        quarantined=int(
            session.scalar(select(func.count()).select_from(INBOX).where(INBOX.c.status == "quarantined")) or 0
        ),
        held_by_kind=held_by_kind,
    )


def dead_writes(session: Session) -> int:
    """Outbound writes that went dead (waiting for a retry)."""
    return int(session.scalar(select(func.count()).select_from(OUTBOX).where(OUTBOX.c.status == "dead")) or 0)


def order_writes(session: Session, order: OrderRow) -> list[OutboxRow]:
    """The outbound writes about one order (tracking, cancellation, refund: every kind but stock, which is
    about a SKU), oldest first. They are keyed by the order's external id on its own channel."""
    query = (
        select(OutboxRow)
        .where(OutboxRow.channel == order.channel, OutboxRow.subject == order.external_id, OutboxRow.kind != "stock")
        .order_by(OutboxRow.id)
    )
    return list(session.scalars(query))


@dataclass(frozen=True)
class LineView:
    """One line of an order as the order page shows it: `stock` says whether it holds stock and why not."""

    position: str
    sku: str
    title: str
    quantity: int
    shipped: int | None
    returned: int | None
    stock: str


def order_lines(detail: OrderDetail) -> list[LineView]:
    """Every line of the order: those of the stored document (stock and non-stock lines, with what shipped and
    came back), then stock lines the document no longer lists (removed at the channel), as `orders show`."""
    stored = {line.external_id: line for line in detail.lines}
    canonical = detail.canonical.lines if detail.canonical is not None else ()
    result = []
    for position, line in enumerate(canonical, 1):
        row = stored.pop(line.external_id, None)
        if line.unmapped:
            stock = "no SKU: order held"
        elif not line.requires_stock:
            stock = f"no stock ({line.kind.value})"
        else:
            stock = "yes"
        result.append(
            LineView(f"{position} ({line.external_id})", line.sku or "-", line.display_name, line.quantity,
                     row.shipped_quantity if row else None, row.returned_quantity if row else None, stock)
        )  # fmt: skip
    for gone in stored.values():
        result.append(LineView(gone.external_id, gone.sku, "", gone.quantity, gone.shipped_quantity,
                               gone.returned_quantity, "yes"))  # fmt: skip
    return result


@dataclass(frozen=True)
class Listing:
    """What one channel shows of one SKU: `sellable` is what the hub would list now (None: the channel does not
    list the SKU), `confirmed` the quantity the channel last confirmed (None: never confirmed), `pending` the
    quantity of a write still queued or in flight (None: nothing queued)."""

    sellable: int | None
    confirmed: int | None
    confirmed_at: datetime | None
    pending: int | None


@dataclass(frozen=True)
class SkuStock:
    sku: str
    title: str
    on_hand: int
    reserved: int
    safety_stock: int
    listings: dict[str, Listing]  # by channel, for every channel with a stock policy

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


def stock_rows(hub: Hub, session: Session, *, search: str = "", limit: int = STOCK_ROWS) -> list[SkuStock]:
    """Every SKU the ledger knows (those containing `search`, case-insensitively), with its totals over all
    locations and, per channel, what the hub would list, what the channel confirmed and what is queued."""
    query = select(SKUS.c.sku, SKUS.c.title, SKUS.c.safety_stock).order_by(SKUS.c.sku).limit(limit)
    if search.strip():
        query = query.where(func.lower(SKUS.c.sku).like(f"%{like_escaped(search.strip().lower())}%", escape="\\"))
    skus = list(session.execute(query))
    names = [row.sku for row in skus]
    if not names:
        return []
    totals = {
        sku: (int(on_hand or 0), int(reserved or 0))
        for sku, on_hand, reserved in session.execute(
            select(LEVELS.c.sku, func.sum(LEVELS.c.on_hand), func.sum(LEVELS.c.reserved))
            .where(LEVELS.c.sku.in_(names))
            .group_by(LEVELS.c.sku)
        )
    }
    sellable = sellable_by_channel(session, names, hub.policies)
    confirmed = {
        (row.channel, row.sku): (row.last_confirmed, row.confirmed_at)
        for row in session.execute(select(LISTINGS).where(LISTINGS.c.sku.in_(names)))
    }
    pending: dict[tuple[str, str], int] = {}
    for channel, sku, payload in session.execute(
        select(OUTBOX.c.channel, OUTBOX.c.subject, OUTBOX.c.payload)
        .where(OUTBOX.c.kind == "stock", OUTBOX.c.status.in_(("pending", "inflight")), OUTBOX.c.subject.in_(names))
        .order_by(OUTBOX.c.id)  # the newest queued value wins, as the dispatcher's coalescing does
    ):
        if isinstance(payload, dict) and isinstance(payload.get("quantity"), int):
            pending[(channel, sku)] = payload["quantity"]
    channels = [p.channel for p in hub.policies]
    result = []
    for row in skus:
        on_hand, reserved = totals.get(row.sku, (0, 0))
        listings = {}
        for channel in channels:
            last, at = confirmed.get((channel, row.sku), (None, None))
            listings[channel] = Listing(
                sellable=sellable.get(channel, {}).get(row.sku),
                confirmed=last,
                confirmed_at=at,
                pending=pending.get((channel, row.sku)),
            )
        result.append(SkuStock(row.sku, row.title, on_hand, reserved, row.safety_stock, listings))
    return result


@dataclass(frozen=True)
class HourlySeries:
    """Counts per hour: `hours` are the start of each hour (UTC, oldest first, one per hour with none
    missing), `series` one list of counts per name, aligned with `hours`."""

    hours: list[datetime]
    series: dict[str, list[int]]

    @property
    def total(self) -> int:
        return sum(sum(values) for values in self.series.values())


def _hour_floor(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _hour_bucket(session: Session, column: Any) -> Any:
    """An SQL expression for the hour `column` falls in; read back by `_bucket_time`."""
    if dialect_name(session) == "postgresql":
        return func.date_trunc("hour", func.timezone("UTC", column))
    # SQLite keeps UTC times as "YYYY-MM-DD HH:MM:SS.ffffff" text (channelhub.store.bulk.sqlite_time).
    return func.strftime("%Y-%m-%d %H:00:00", column)


def _bucket_time(value: Any) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)


def _hourly(session: Session, time_column: Any, name_column: Any, *, now: datetime | None, hours: int) -> HourlySeries:
    end = _hour_floor(now or datetime.now(UTC))
    slots = [end - timedelta(hours=hours - 1 - i) for i in range(hours)]
    index = {slot: i for i, slot in enumerate(slots)}
    bucket = _hour_bucket(session, time_column).label("bucket")
    rows = session.execute(
        select(bucket, name_column, func.count())
        .where(time_column >= slots[0], time_column < end + timedelta(hours=1))
        .group_by(bucket, name_column)
    )
    series: dict[str, list[int]] = defaultdict(lambda: [0] * hours)
    for at, name, count in rows:
        slot = index.get(_bucket_time(at))
        if slot is not None:
            series[str(name)][slot] += int(count)
    return HourlySeries(hours=slots, series=dict(sorted(series.items())))


def orders_per_hour(session: Session, *, now: datetime | None = None, hours: int = CHART_HOURS) -> HourlySeries:
    """Orders placed per hour over the last `hours` hours (the current one included), by channel."""
    return _hourly(session, ORDERS.c.placed_at, ORDERS.c.channel, now=now, hours=hours)


def movements_per_hour(session: Session, *, now: datetime | None = None, hours: int = CHART_HOURS) -> HourlySeries:
    """Stock movements recorded per hour over the last `hours` hours, by kind (set, adjust, reserve, release,
    commit, restock)."""
    return _hourly(session, MOVEMENTS.c.at, MOVEMENTS.c.kind, now=now, hours=hours)


def channel_names(hub: Hub, session: Session) -> Sequence[str]:
    """The configured channels and any the orders still name (a channel since removed from the config)."""
    stored = session.scalars(select(ORDERS.c.channel).distinct())
    return sorted(set(hub.channels) | set(stored))
