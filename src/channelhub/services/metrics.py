"""The hub's health as the database tells it, for /metrics: one read-only snapshot per scrape.

These figures are shared by every daemon on one database (each one's /metrics says the same), unlike the
process' own counters in `channelhub.telemetry`. `snapshot(hub)` reads them in ONE read-only transaction
(`Database.read_only`: on SQLite it neither waits for a writer nor makes one wait), with a handful of GROUP BY
counts chosen to stay cheap on a large database:

- orders by (state, hold kind): answered from the index on exactly those columns, never the order documents;
- the outbox rows not finished (pending, inflight, dead) by channel, kind and status, with the oldest
  enqueue time of those waiting: the status index finds them, and done / superseded / skipped rows (the history,
  which grows without bound) are never counted;
- quarantined inbox records and webhook deliveries received but not applied, per channel;
- each channel's last pull and whether it is stopped (channel_state).

Channels appear by the names the config and the database give them; no SKU or order id is ever a key here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from channelhub.model.lifecycle import OrderState
from channelhub.runtime import Hub
from channelhub.services.views import _count_by
from channelhub.store.tables import DELIVERIES, INBOX, ORDERS, OUTBOX, STATE
from channelhub.sync.deliveries import RECEIVED
from channelhub.sync.transitions import HOLD_KINDS

# The outbox statuses still to be acted on; the others are history. Dead rows wait for an operator.
OPEN_STATUSES = ("pending", "inflight", "dead")
WAITING_STATUSES = ("pending", "inflight")
OTHER_HOLD = "other"  # a hold kind this version does not know (an older hub's rows: hold_kind "")


@dataclass(frozen=True)
class ChannelFigures:
    """One configured channel: its last successful pull (None: never) and whether it is stopped."""

    name: str
    last_ok: datetime | None
    stopped: bool


@dataclass(frozen=True)
class MetricsSnapshot:
    """What the database said at `taken_at`. Every mapping is complete for its keys: a key that is absent has
    no rows (orders and holds list every known state and kind, 0 included)."""

    taken_at: datetime
    channels: list[ChannelFigures] = field(default_factory=list)
    outbox: dict[tuple[str, str, str], int] = field(default_factory=dict)  # (channel, kind, status) -> rows
    oldest_waiting: dict[tuple[str, str], datetime] = field(default_factory=dict)  # (channel, kind) -> created_at
    orders: dict[str, int] = field(default_factory=dict)  # state -> orders
    holds: dict[str, int] = field(default_factory=dict)  # hold kind -> orders on hold
    quarantined: dict[str, int] = field(default_factory=dict)  # channel -> inbox records quarantined
    webhooks_waiting: dict[str, int] = field(default_factory=dict)  # channel -> deliveries not yet applied

    def lag_seconds(self, channel: ChannelFigures) -> float | None:
        """Seconds from `channel`'s last successful pull to the snapshot (None: it never pulled)."""
        if channel.last_ok is None:
            return None
        return max(0.0, (self.taken_at - channel.last_ok).total_seconds())

    def dead_letters(self) -> dict[tuple[str, str], int]:
        """(channel, kind) -> dead rows: the writes that gave up and wait for `channelhub outbox retry`."""
        return {(channel, kind): n for (channel, kind, status), n in self.outbox.items() if status == "dead"}

    def oldest_waiting_seconds(self) -> dict[tuple[str, str], float]:
        """(channel, kind) -> age in seconds of the oldest write not yet delivered (pending or inflight)."""
        return {key: max(0.0, (self.taken_at - at).total_seconds()) for key, at in self.oldest_waiting.items()}


def snapshot(hub: Hub, *, now: datetime | None = None) -> MetricsSnapshot:
    """Read the figures in one read-only transaction. Raises what the database raises when it does not answer
    (the caller reports the database as down)."""
    with hub.db.read_only() as session:
        taken_at = now if now is not None else datetime.now(UTC)
        orders, holds = _orders(session)
        outbox, oldest = _outbox(session)
        return MetricsSnapshot(
            taken_at=taken_at,
            channels=_channels(hub, session),
            outbox=outbox,
            oldest_waiting=oldest,
            orders=orders,
            holds=holds,
            quarantined=_count_by(session, INBOX.c.channel, INBOX.c.status == "quarantined"),
            webhooks_waiting=_count_by(session, DELIVERIES.c.channel, DELIVERIES.c.status == RECEIVED),
        )


def _channels(hub: Hub, session: Session) -> list[ChannelFigures]:
    """Configured channels only: a channel removed from the config would otherwise show a lag growing forever."""
    states = {row.channel: row for row in session.execute(select(STATE))}
    out = []
    for name, runtime in hub.channels.items():
        state = states.get(name)
        stopped = bool(runtime.stopped_reason or (state is not None and state.stopped_reason))
        out.append(ChannelFigures(name, state.last_pull_ok_at if state is not None else None, stopped))
    return out


def _orders(session: Session) -> tuple[dict[str, int], dict[str, int]]:
    orders = {state.value: 0 for state in OrderState}
    holds = dict.fromkeys(HOLD_KINDS, 0)
    rows = session.execute(
        select(ORDERS.c.state, ORDERS.c.hold_kind, func.count()).group_by(ORDERS.c.state, ORDERS.c.hold_kind)
    )
    for state, hold_kind, count in rows:
        orders[state] = orders.get(state, 0) + count
        if state == OrderState.ON_HOLD.value:
            kind = hold_kind if hold_kind in holds else OTHER_HOLD
            holds[kind] = holds.get(kind, 0) + count
    return orders, holds


def _outbox(session: Session) -> tuple[dict[tuple[str, str, str], int], dict[tuple[str, str], datetime]]:
    rows = session.execute(
        select(OUTBOX.c.channel, OUTBOX.c.kind, OUTBOX.c.status, func.count(), func.min(OUTBOX.c.created_at))
        .where(OUTBOX.c.status.in_(OPEN_STATUSES))
        .group_by(OUTBOX.c.channel, OUTBOX.c.kind, OUTBOX.c.status)
    )
    depth: dict[tuple[str, str, str], int] = {}
    oldest: dict[tuple[str, str], datetime] = {}
    for channel, kind, status, count, first in rows:
        depth[(channel, kind, status)] = count
        if status in WAITING_STATUSES and first is not None:
            key = (channel, kind)
            oldest[key] = min(first, oldest.get(key, first))
    return depth, oldest
