"""Order use cases: ship, cancel, record a return, replay quarantined records. Each owns its transaction and
settles its stock effects in it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select

from channelhub.model.lifecycle import OrderState
from channelhub.model.returns import Return
from channelhub.model.shipments import Shipment
from channelhub.ports import Capability, Connector
from channelhub.runtime import Hub
from channelhub.services.channels import running_connector
from channelhub.services.views import find_order
from channelhub.store.tables import INBOX, ORDERS
from channelhub.sync.cancel import CancelResult, cancel_order
from channelhub.sync.fulfil import ReturnResult, ShipmentResult, record_return, record_shipment
from channelhub.sync.ingest import IngestReport
from channelhub.sync.replay import replay_quarantined, replay_unmapped
from channelhub.sync.transitions import HOLD_MAPPING


def ship(hub: Hub, ref: str, shipment: Shipment, *, source: str = "cli", now: datetime | None = None) -> ShipmentResult:
    """Record a shipment of order `ref` (hub id or CHANNEL:EXTERNAL_ID): commit the reserved stock, move the order
    on and queue the tracking push to its channel, in one transaction."""
    at = now if now is not None else datetime.now(UTC)
    with hub.db.transaction() as session:
        order_id = find_order(session, ref).id
        return record_shipment(session, order_id, shipment, source, hub.policies, at=at)


def cancel(hub: Hub, ref: str, reason: str, *, source: str = "cli", now: datetime | None = None) -> CancelResult:
    """Cancel order `ref` in the hub: release its stock (the orders held for it are retried first), record the
    event, and queue the cancellation to its channel when the channel's connector can take it."""
    at = now if now is not None else datetime.now(UTC)
    with hub.db.transaction() as session:
        row = find_order(session, ref)
        runtime = hub.channels.get(row.channel)
        notify = runtime is not None and Capability.PUSH_CANCELLATION in runtime.declares
        return cancel_order(session, row.id, reason, source, hub.policies, at=at, notify_channel=notify)


def record_order_return(
    hub: Hub, ref: str, ret: Return, *, cause: str, source: str = "cli", now: datetime | None = None
) -> ReturnResult:
    """Units came back for order `ref`: restock them, move the order to returned, queue the refund when asked;
    the restock releases the orders held for those SKUs."""
    at = now if now is not None else datetime.now(UTC)
    with hub.db.transaction() as session:
        order_id = find_order(session, ref).id
        return record_return(session, order_id, ret, source, hub.policies, cause=cause, at=at)


@dataclass
class ReplayResult:
    reports: dict[str, IngestReport] = field(default_factory=dict)  # by channel
    missing: list[int] = field(default_factory=list)  # ids asked for that are not in quarantine
    remapped: dict[str, IngestReport] = field(default_factory=dict)  # orders held for a line without a SKU
    not_running: dict[str, str] = field(default_factory=dict)  # channel -> why its rows could not be replayed


def replay(hub: Hub, ids: Sequence[int] | None = None, *, now: datetime | None = None) -> ReplayResult:
    """Map quarantined rows (all, or `ids`) again with each channel's connector and apply those that map now,
    one transaction per channel. Without `ids`, the orders held for a line without a SKU are mapped again too
    (after a SKU map entry was added), and released when every line maps."""
    at = now if now is not None else datetime.now(UTC)
    result = ReplayResult()
    with hub.db.transaction() as session:
        query = select(INBOX.c.id, INBOX.c.channel).where(INBOX.c.status == "quarantined")
        if ids:
            query = query.where(INBOX.c.id.in_(list(ids)))
        by_channel: dict[str, list[int]] = defaultdict(list)
        for row_id, channel in session.execute(query):
            by_channel[channel].append(row_id)
    if ids:
        found = {i for group in by_channel.values() for i in group}
        result.missing = sorted(set(ids) - found)
    for channel, row_ids in sorted(by_channel.items()):
        connector = _replaying_connector(hub, channel, result)
        if connector is None:
            continue
        with hub.db.transaction() as session:
            result.reports[channel] = replay_quarantined(
                session, connector, row_ids, rules=hub.rules(channel), policies=hub.policies, now=at
            )
    if not ids:
        _replay_unmapped(hub, result, at)
    return result


def _replaying_connector(hub: Hub, channel: str, result: ReplayResult) -> Connector | None:
    """The channel's running connector, or None with the reason noted in `result.not_running`."""
    if channel not in hub.channels:
        result.not_running[channel] = "not in the config"
        return None
    try:
        return running_connector(hub, channel)
    except Exception as exc:
        result.not_running[channel] = str(exc)
        return None


def _replay_unmapped(hub: Hub, result: ReplayResult, at: datetime) -> None:
    with hub.db.transaction() as session:
        channels = set(
            session.scalars(
                select(ORDERS.c.channel)
                .where(ORDERS.c.state == OrderState.ON_HOLD.value, ORDERS.c.hold_kind == HOLD_MAPPING)
                .distinct()
            )
        )
    for channel in sorted(channels):
        connector = _replaying_connector(hub, channel, result)
        if connector is None:
            continue
        with hub.db.transaction() as session:
            result.remapped[channel] = replay_unmapped(
                session, connector, rules=hub.rules(channel), policies=hub.policies, now=at
            )
