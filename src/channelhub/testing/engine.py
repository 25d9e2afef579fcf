"""Running records through the real engine without a config: for tests of a connector (or of the engine) that
have a database and a connector but no hub. Each call is one transaction, as the services' are."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from channelhub.model.returns import Return
from channelhub.model.shipments import Shipment
from channelhub.ports import Connector, RawRecord
from channelhub.stock.policy import ChannelStockPolicy
from channelhub.store import Database
from channelhub.sync.fulfil import OrderRef, ReturnResult, ShipmentResult, record_return, record_shipment
from channelhub.sync.holds import settle
from channelhub.sync.ingest import IngestReport, IngestRules, ingest_records
from channelhub.sync.replay import replay_quarantined, replay_unmapped
from channelhub.sync.report import ApplyReport


def apply_records(
    db: Database,
    connector: Connector,
    records: Sequence[RawRecord],
    policies: Sequence[ChannelStockPolicy] = (),
    *,
    rules: IngestRules = IngestRules(),
    now: datetime | None = None,
    source: str = "webhook",
) -> IngestReport:
    """Records (webhook deliveries, say) through the inbox, map and apply path, in one transaction."""
    at = now if now is not None else datetime.now(UTC)
    report = IngestReport(channel=connector.channel)
    with db.transaction() as session:
        ingest_records(
            session, connector, records, rules=rules, policies=policies, source=f"{connector.channel}:{source}",
            now=at, report=report,
        )  # fmt: skip
    return report


def replay(
    db: Database,
    connector: Connector,
    inbox_ids: Sequence[int] | None = None,
    policies: Sequence[ChannelStockPolicy] = (),
    *,
    rules: IngestRules = IngestRules(),
    now: datetime | None = None,
) -> IngestReport:
    """The channel's quarantined rows (all, or `inbox_ids`) mapped and applied again, in one transaction."""
    at = now if now is not None else datetime.now(UTC)
    with db.transaction() as session:
        return replay_quarantined(session, connector, inbox_ids, rules=rules, policies=policies, now=at)


def replay_held(
    db: Database,
    connector: Connector,
    policies: Sequence[ChannelStockPolicy] = (),
    *,
    rules: IngestRules = IngestRules(),
    now: datetime | None = None,
) -> IngestReport:
    """The channel's orders held for a line without a SKU mapped again (after a SKU map entry), in one
    transaction, as `channelhub replay` does."""
    at = now if now is not None else datetime.now(UTC)
    with db.transaction() as session:
        return replay_unmapped(session, connector, rules=rules, policies=policies, now=at)


def release_holds(
    db: Database, policies: Sequence[ChannelStockPolicy], skus: Sequence[str], *, now: datetime | None = None
) -> ApplyReport:
    """Retry the orders held for `skus` and publish, as every release of stock does, in one transaction."""
    at = now if now is not None else datetime.now(UTC)
    with db.transaction() as session:
        return settle(session, policies, touched=skus, freed=skus, cause="test release", at=at)


def ship(
    db: Database,
    order: OrderRef,
    shipment: Shipment,
    source: str,
    policies: Sequence[ChannelStockPolicy] = (),
    *,
    now: datetime | None = None,
) -> ShipmentResult:
    """`record_shipment` in one transaction, as `services.orders.ship` does."""
    at = now if now is not None else datetime.now(UTC)
    with db.transaction() as session:
        return record_shipment(session, order, shipment, source, policies, at=at)


def take_return(
    db: Database,
    order: OrderRef,
    ret: Return,
    source: str,
    policies: Sequence[ChannelStockPolicy] = (),
    *,
    cause: str,
    now: datetime | None = None,
) -> ReturnResult:
    """`record_return` in one transaction, as `services.orders.record_order_return` does."""
    at = now if now is not None else datetime.now(UTC)
    with db.transaction() as session:
        return record_return(session, order, ret, source, policies, cause=cause, at=at)
