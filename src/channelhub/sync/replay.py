"""Replays: records mapped again after a fix, through the same ingest path (`channelhub.sync.ingest`).

- `replay_quarantined`: inbox rows that did not map (a connector or layout fixed since) are mapped again; those
  that map now are applied as any new record would be.
- `replay_unmapped`: orders held because a line has no SKU are mapped again from their stored version once the
  SKU map has an entry for the line, and applied as a re-mapping of that same version.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.orm import Session

from channelhub.logs import get_logger
from channelhub.model.lifecycle import OrderState
from channelhub.model.orders import Order
from channelhub.ports import Connector, RawRecord
from channelhub.stock.policy import ChannelStockPolicy
from channelhub.store.tables import INBOX, ORDERS
from channelhub.sync.holds import settle
from channelhub.sync.ingest import IngestReport, IngestRules, Verdict, apply_guarded, map_record
from channelhub.sync.transitions import HOLD_MAPPING

log = get_logger("channelhub.replay")


def replay_quarantined(
    session: Session,
    connector: Connector,
    inbox_ids: Sequence[int] | None,
    *,
    rules: IngestRules,
    policies: Sequence[ChannelStockPolicy],
    now: datetime,
) -> IngestReport:
    """Map the channel's quarantined inbox rows again (after a fix) in the caller's transaction and apply those
    that map now. Rows that still fail stay quarantined with the new reason; nothing is deleted."""
    channel = connector.channel
    report = IngestReport(channel=channel)
    stmt = (
        select(INBOX.c.id, INBOX.c.stream, INBOX.c.source, INBOX.c.body, INBOX.c.external_id, INBOX.c.delivery_id)
        .where(INBOX.c.channel == channel, INBOX.c.status == "quarantined")
        .order_by(INBOX.c.id)
    )
    if inbox_ids is not None:
        stmt = stmt.where(INBOX.c.id.in_(list(inbox_ids)))
    changes: list[dict[str, Any]] = []
    mapped: list[tuple[Order, Verdict]] = []
    ids: list[int] = []
    for row in session.execute(stmt):
        record = RawRecord(row.stream, row.source, row.body, row.external_id, None, row.delivery_id)
        report.records += 1
        order, reason = map_record(connector, record, rules)
        if order is None:
            changes.append({"_id": row.id, "status": "quarantined", "reason": reason})
            report.quarantined += 1
        else:
            mapped.append((order, Verdict(row.source, reason=f"replayed {now.isoformat()}")))
            ids.append(row.id)
    _apply(session, mapped, channel, rules=rules, policies=policies, now=now, report=report)
    for inbox_id, (_order, verdict) in zip(ids, mapped, strict=True):
        changes.append({"_id": inbox_id, "status": verdict.status, "reason": verdict.reason})
    if changes:
        session.execute(
            update(INBOX)
            .where(INBOX.c.id == bindparam("_id"))
            .values(status=bindparam("status"), reason=bindparam("reason")),
            changes,
        )
    return report


def replay_unmapped(
    session: Session,
    connector: Connector,
    *,
    rules: IngestRules,
    policies: Sequence[ChannelStockPolicy],
    now: datetime,
) -> IngestReport:
    """Map again, in the caller's transaction, the stored version of every order of the channel held because a
    line has no SKU (after an entry was added to the SKU map), and apply it as a re-mapping of that same version
    (`apply_orders(remap=True)`): an order whose lines all map now is reserved; one still unmapped stays held
    with the reason as it is now."""
    channel = connector.channel
    report = IngestReport(channel=channel)
    held = select(ORDERS.c.external_id).where(
        ORDERS.c.channel == channel, ORDERS.c.state == OrderState.ON_HOLD.value, ORDERS.c.hold_kind == HOLD_MAPPING
    )
    latest = (
        select(func.max(INBOX.c.id))
        .where(INBOX.c.channel == channel, INBOX.c.status == "applied", INBOX.c.external_id.in_(held))
        .group_by(INBOX.c.external_id)
    )
    stmt = select(INBOX.c.stream, INBOX.c.source, INBOX.c.body, INBOX.c.external_id, INBOX.c.delivery_id).where(
        INBOX.c.id.in_(latest)
    )
    mapped: list[tuple[Order, Verdict]] = []
    for row in session.execute(stmt.order_by(INBOX.c.id)):
        record = RawRecord(row.stream, row.source, row.body, row.external_id, None, row.delivery_id)
        report.records += 1
        order, reason = map_record(connector, record, rules)
        if order is None:  # the record mapped before: a connector or layout changed since
            log.warning("a held order's record no longer maps", channel=channel, reason=reason)
            report.quarantined += 1
            continue
        mapped.append((order, Verdict(row.source)))
    _apply(session, mapped, channel, rules=rules, policies=policies, now=now, report=report, remap=True)
    return report


def _apply(
    session: Session,
    mapped: list[tuple[Order, Verdict]],
    channel: str,
    *,
    rules: IngestRules,
    policies: Sequence[ChannelStockPolicy],
    now: datetime,
    report: IngestReport,
    remap: bool = False,
) -> None:
    """Apply replayed orders (`apply_guarded`) and settle their stock effects, counted in `report`."""
    applied = apply_guarded(session, mapped, source=f"{channel}:replay", policies=policies, now=now, report=report,
                            rules=rules, remap=remap)  # fmt: skip
    report.orders.merge(applied)
    if applied.touched_skus or applied.freed_skus:
        cause = f"orders:{channel}:replay"
        report.orders.merge(
            settle(session, policies, touched=applied.touched_skus, freed=applied.freed_skus, cause=cause, at=now)
        )
