"""Read-only queries behind `status`, `orders`, `outbox`, `quarantine` and the demo's summary. No writes here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session

from channelhub.errors import ChannelhubError, ConfigError
from channelhub.model.lifecycle import OrderState
from channelhub.model.orders import Order
from channelhub.ports import Capability
from channelhub.runtime import Hub
from channelhub.store.tables import (
    DELIVERIES,
    ChannelStateRow,
    CursorRow,
    InboxRow,
    OrderEventRow,
    OrderLineRow,
    OrderRow,
    OutboxRow,
    ShipmentRow,
)
from channelhub.sync.apply_pass import read_document


class NotFound(ChannelhubError):
    """The thing a command names does not exist."""


@dataclass(frozen=True)
class ChannelStatus:
    name: str
    kind: str
    enabled: bool
    last_pull: datetime | None
    last_ok: datetime | None
    cursor: str
    pending: int
    dead: int
    held: int
    quarantined: int
    last_error: str
    stopped_reason: str
    webhooks: bool = False  # the channel's connector takes webhooks
    last_webhook: datetime | None = None
    # Orders the hub first learnt of by polling since the channel's first webhook: deliveries that never came.
    missed_webhooks: int = 0

    def lag_seconds(self, now: datetime | None = None) -> float | None:
        """Seconds since the last successful pull (None: never pulled)."""
        if self.last_ok is None:
            return None
        return ((now or datetime.now(UTC)) - self.last_ok).total_seconds()


def _count_by(session: Session, column: Any, *where: Any) -> dict[str, int]:
    rows = session.execute(select(column, func.count()).where(*where).group_by(column)).all()
    return {key: count for key, count in rows}


def channel_statuses(hub: Hub) -> list[ChannelStatus]:
    """One row per configured channel, from what the database says about it (a read-only snapshot: a status,
    a /readyz or a dashboard page never queues behind the writers, nor them behind it)."""
    with hub.db.read_only() as session:
        states = {row.channel: row for row in session.scalars(select(ChannelStateRow))}
        cursors: dict[str, list[str]] = {}
        for row in session.scalars(select(CursorRow).order_by(CursorRow.stream)):
            cursors.setdefault(row.channel, []).append(f"{row.stream}={row.value}" if row.value else "")
        pending = _count_by(session, OutboxRow.channel, OutboxRow.status.in_(("pending", "inflight")))
        dead = _count_by(session, OutboxRow.channel, OutboxRow.status == "dead")
        held = _count_by(session, OrderRow.channel, OrderRow.state == "on_hold")
        quarantined = _count_by(session, InboxRow.channel, InboxRow.status == "quarantined")
        webhooks = _webhook_figures(session)
    result = []
    for name, runtime in hub.channels.items():
        state = states.get(name)
        stopped = runtime.stopped_reason or (state.stopped_reason if state else "")
        if not runtime.enabled:
            stopped = stopped or "disabled in config"
        result.append(
            ChannelStatus(
                name=name,
                kind=runtime.kind,
                enabled=runtime.enabled,
                last_pull=state.last_pull_at if state else None,
                last_ok=state.last_pull_ok_at if state else None,
                cursor=", ".join(c for c in cursors.get(name, []) if c) or "-",
                pending=pending.get(name, 0),
                dead=dead.get(name, 0),
                held=held.get(name, 0),
                quarantined=quarantined.get(name, 0),
                last_error=state.last_error if state else "",
                stopped_reason=stopped,
                webhooks=Capability.WEBHOOKS in runtime.declares,
                last_webhook=webhooks.get(name, (None, 0))[0],
                missed_webhooks=webhooks.get(name, (None, 0))[1],
            )
        )
    return result


def _webhook_figures(session: Session) -> dict[str, tuple[datetime | None, int]]:
    """Per channel that received webhooks: (the last delivery's time, orders polling found first since the first
    delivery). An order is found by polling when its first event came from another source than the channel's
    webhook intake (`<channel>:webhook`)."""
    spans = session.execute(
        select(DELIVERIES.c.channel, func.min(DELIVERIES.c.received_at), func.max(DELIVERIES.c.received_at)).group_by(
            DELIVERIES.c.channel
        )
    ).all()
    out: dict[str, tuple[datetime | None, int]] = {}
    for channel, first, last in spans:
        missed = session.scalar(
            select(func.count())
            .select_from(OrderRow)
            .join(OrderEventRow, OrderEventRow.order_id == OrderRow.id)
            .where(
                OrderRow.channel == channel,
                OrderRow.created_at >= first,
                OrderEventRow.from_state.is_(None),
                OrderEventRow.source != f"{channel}:webhook",
            )
        )
        out[channel] = (last, int(missed or 0))
    return out


def list_orders(
    session: Session, *, state: str | None = None, channel: str | None = None, limit: int = 200
) -> list[OrderRow]:
    return find_orders(session, OrderFilter(state=state or "", channel=channel or "", limit=limit))


@dataclass(frozen=True)
class OrderFilter:
    """What /orders narrows by; empty strings mean "any". `hold` is a hold kind (stock, payment, mapping,
    channel) or "any" for every held order."""

    channel: str = ""
    state: str = ""
    hold: str = ""
    search: str = ""
    limit: int = 200


def like_escaped(text: str) -> str:
    """`text` for a LIKE pattern with its own % and _ taken literally (escape character: backslash)."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def find_orders(session: Session, wanted: OrderFilter) -> list[OrderRow]:
    """Orders, newest placed first, matching every filter given. `search` matches the hub id exactly, or the
    external id or order number as a substring (case-insensitively), or CHANNEL:EXTERNAL_ID exactly."""
    query = select(OrderRow).order_by(OrderRow.placed_at.desc(), OrderRow.id.desc()).limit(wanted.limit)
    if wanted.channel:
        query = query.where(OrderRow.channel == wanted.channel)
    if wanted.state:
        query = query.where(OrderRow.state == wanted.state)
    if wanted.hold:
        query = query.where(OrderRow.state == OrderState.ON_HOLD.value)
        if wanted.hold != "any":
            query = query.where(OrderRow.hold_kind == wanted.hold)
    text = wanted.search.strip()
    if text:
        pattern = f"%{like_escaped(text.lower())}%"
        matches: list[ColumnElement[bool]] = [
            func.lower(OrderRow.external_id).like(pattern, escape="\\"),
            func.lower(OrderRow.number).like(pattern, escape="\\"),
        ]
        if text.isdigit():
            matches.append(OrderRow.id == int(text))
        if ":" in text:
            channel, external_id = text.split(":", 1)
            matches.append((OrderRow.channel == channel) & (OrderRow.external_id == external_id))
        query = query.where(or_(*matches))
    return list(session.scalars(query))


def known_channel(hub: Hub, session: Session, name: str) -> str:
    """`name`, when the config names such a channel or the database holds orders of it (a channel since
    removed from the config); ConfigError (exit 2) naming the configured channels otherwise."""
    if name in hub.channels or session.scalar(select(OrderRow.id).where(OrderRow.channel == name).limit(1)):
        return name
    known = ", ".join(sorted(hub.channels)) or "none"
    raise ConfigError(f"no channel named {name!r} (configured: {known})", where=str(hub.config_path))


def find_order(session: Session, ref: str) -> OrderRow:
    """An order by hub id ("42") or by "CHANNEL:EXTERNAL_ID" (the external id may itself contain colons)."""
    row: OrderRow | None = None
    if ref.isdigit():
        row = session.get(OrderRow, int(ref))
    if row is None and ":" in ref:
        channel, external_id = ref.split(":", 1)
        row = session.scalar(select(OrderRow).where(OrderRow.channel == channel, OrderRow.external_id == external_id))
    if row is None:
        raise NotFound(f"no order {ref!r} (give the hub id or CHANNEL:EXTERNAL_ID)")
    return row


@dataclass(frozen=True)
class OrderDetail:
    order: OrderRow
    lines: list[OrderLineRow]  # the stock lines, as the ledger holds them
    events: list[OrderEventRow]
    shipments: list[ShipmentRow]
    canonical: Order | None = None  # the stored document (None: one an older hub wrote differently)


def order_detail(session: Session, ref: str) -> OrderDetail:
    order = find_order(session, ref)
    lines = list(
        session.scalars(select(OrderLineRow).where(OrderLineRow.order_id == order.id).order_by(OrderLineRow.id))
    )
    events = list(
        session.scalars(select(OrderEventRow).where(OrderEventRow.order_id == order.id).order_by(OrderEventRow.id))
    )
    shipments = list(
        session.scalars(select(ShipmentRow).where(ShipmentRow.order_id == order.id).order_by(ShipmentRow.id))
    )
    try:
        canonical = read_document(order.document)
    except ValueError:
        canonical = None
    return OrderDetail(order=order, lines=lines, events=events, shipments=shipments, canonical=canonical)


def quarantine_reason(source: str, reason: str) -> str:
    """The reason without the leading "<source>: " (the source is shown beside it, sometimes prefixed twice)."""
    prefix = f"{source}: "
    while source and reason.startswith(prefix):
        reason = reason[len(prefix) :]
    return reason


def quarantined(session: Session, *, channel: str | None = None, limit: int = 500) -> list[InboxRow]:
    query = select(InboxRow).where(InboxRow.status == "quarantined").order_by(InboxRow.id).limit(limit)
    if channel:
        query = query.where(InboxRow.channel == channel)
    return list(session.scalars(query))


def outbox_rows(
    session: Session, *, status: str | None = None, channel: str | None = None, limit: int = 200
) -> list[OutboxRow]:
    """Outbound writes, newest first, optionally of one status and/or channel."""
    query = select(OutboxRow).order_by(OutboxRow.id.desc()).limit(limit)
    if status:
        query = query.where(OutboxRow.status == status)
    if channel:
        query = query.where(OutboxRow.channel == channel)
    return list(session.scalars(query))
