"""Reconcile: read what a channel lists, compare it with what the hub would list now, report or heal the drift.

A SKU with a stock write still pending or in flight for the channel is not compared: the difference is the
write on its way, not drift. Healing never writes to the channel directly: it records the channel's real
figure as the last confirmed one (so the dispatcher neither skips the write as unchanged nor compares against a
stale value) and enqueues the hub's figure through the outbox, where retries and batching already live.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select

from channelhub.errors import ConnectorError
from channelhub.ports import Capability, Connector
from channelhub.redact import scrub
from channelhub.stock.policy import ChannelStockPolicy
from channelhub.stock.sellable import sellable_by_channel
from channelhub.store import Database
from channelhub.store.tables import ChannelListingRow, OutboxRow, SkuRow
from channelhub.sync.outbox import Write, enqueue_many


@dataclass(frozen=True)
class Drift:
    sku: str
    listed: int | None  # what the channel lists (None: the channel does not know the SKU)
    expected: int  # what the hub would list now


@dataclass
class ReconcileReport:
    channel: str
    checked: int = 0
    in_flight: int = 0
    drifts: list[Drift] = field(default_factory=list)
    healed: int = 0
    error: str = ""


def reconcile(
    db: Database, connector: Connector, policy: ChannelStockPolicy, *, heal: bool = False, now: datetime | None = None
) -> ReconcileReport:
    """Compare the channel's listed quantities with the hub's sellable ones; with `heal`, queue the hub's."""
    channel = connector.channel
    report = ReconcileReport(channel=channel)
    if Capability.PULL_STOCK not in connector.capabilities:
        report.error = f"{connector.kind} cannot read stock back (no pull_stock capability)"
        return report
    at = now or datetime.now(UTC)
    with db.transaction() as session:
        skus = [sku for sku in session.scalars(select(SkuRow.sku).order_by(SkuRow.sku)) if policy.lists(sku)]
        expected = sellable_by_channel(session, skus, [policy]).get(channel, {})
        moving = set(
            session.scalars(
                select(OutboxRow.subject).where(
                    OutboxRow.channel == channel,
                    OutboxRow.kind == "stock",
                    OutboxRow.status.in_(["pending", "inflight"]),
                )
            )
        )
    compared = [sku for sku in expected if sku not in moving]
    report.in_flight = len(expected) - len(compared)
    try:
        listed = connector.pull_stock(compared)
    except ConnectorError as exc:
        report.error = scrub(str(exc))
        return report
    report.checked = len(compared)
    report.drifts = [
        Drift(sku=sku, listed=listed.get(sku), expected=expected[sku])
        for sku in compared
        if listed.get(sku) != expected[sku]
    ]
    if heal and report.drifts:
        report.healed = _heal(db, channel, report.drifts, at)
    return report


def _heal(db: Database, channel: str, drifts: Sequence[Drift], at: datetime) -> int:
    with db.transaction() as session:
        for drift in drifts:
            row = session.get(ChannelListingRow, (channel, drift.sku))
            if row is None:
                row = ChannelListingRow(channel=channel, sku=drift.sku)
                session.add(row)
            row.last_confirmed = drift.listed
            row.confirmed_at = at
        enqueue_many(
            session,
            [
                Write(
                    channel=channel,
                    kind="stock",
                    subject=drift.sku,
                    payload={"sku": drift.sku, "quantity": drift.expected},
                    cause=f"reconcile:{at.isoformat()}:{drift.listed}={drift.expected}",
                )
                for drift in drifts
            ],
        )
    return len(drifts)
