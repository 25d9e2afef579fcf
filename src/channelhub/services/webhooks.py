"""Webhook use cases: take a delivery (check, store, answer) and apply the stored ones.

`receive` is what the HTTP receiver calls for `POST /webhooks/<channel>`, and the whole of what happens before
the answer: the signature is checked first, in constant time, by the channel's connector (401 and nothing stored
when it is bad or missing); the delivery is read without I/O (its topic and id); a topic the hub does not take
is answered 200 and not stored; otherwise the raw body is stored in its own transaction and the answer is 200,
for a duplicate too (a redelivery is recognised by its delivery id or its body). Mapping and applying follow in
`apply_received`, through the same path as polling: a payload that fails to map is still answered 200 and
quarantined, since a channel disables (WooCommerce, after 5 non-2xx answers) or removes (Shopify) a webhook that
keeps failing. A database that cannot be reached is a 503: the channel delivers again later.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy.exc import OperationalError

from channelhub.errors import ChannelhubError, Fatal
from channelhub.logs import get_logger
from channelhub.ports import Capability, Connector
from channelhub.redact import scrub
from channelhub.runtime import Hub
from channelhub.services.channels import running_connector, stop_channel
from channelhub.store.db import DatabaseUnavailable
from channelhub.sync.deliveries import DeliveryReport, apply_deliveries, pending, store_delivery
from channelhub.sync.ingest import IngestReport

log = get_logger("channelhub.webhooks")

# Deliveries applied in one transaction: one ingest for many is far cheaper than one each, and a SQLite writer
# holds the database for about as long as its batch takes, which a receiver storing a delivery waits behind.
APPLY_BATCH = 10


@dataclass(frozen=True)
class Receipt:
    """What to answer a delivery: the HTTP status and the outcome in a word."""

    status: int  # 200 stored, duplicate or ignored; 401 bad or missing signature; 404 no such receiver; 503
    outcome: str  # stored | duplicate | ignored | bad_signature | unknown_channel | no_webhooks | unavailable
    delivery_id: str | None = None


def _receiver(hub: Hub, channel: str) -> Connector | Receipt:
    runtime = hub.channels.get(channel)
    if runtime is None or not runtime.enabled:
        return Receipt(404, "unknown_channel")
    if Capability.WEBHOOKS not in runtime.declares or runtime.connector is None:
        return Receipt(404, "no_webhooks")
    return runtime.connector


def receive(hub: Hub, channel: str, headers: Mapping[str, str], body: bytes, *, now: datetime | None = None) -> Receipt:
    """Check, store and answer one delivery to `channel` (see the module contract). A stopped channel still
    stores its deliveries: they are applied when it is resumed."""
    found = _receiver(hub, channel)
    if isinstance(found, Receipt):
        return found
    connector = found
    if not connector.verify_webhook(headers, body):
        log.warning("webhook refused: bad or missing signature", channel=channel, bytes=len(body))
        return Receipt(401, "bad_signature")
    delivery = connector.read_webhook(headers, body)
    if not delivery.accepted:
        return Receipt(200, "ignored", delivery.delivery_id)
    at = now if now is not None else datetime.now(UTC)
    try:
        with hub.db.transaction(urgent=True) as session:
            stored = store_delivery(session, channel, delivery, body, at)
    except (OperationalError, DatabaseUnavailable) as exc:
        log.error("webhook not stored: the database is unavailable", channel=channel, error=scrub(str(exc)))
        return Receipt(503, "unavailable", delivery.delivery_id)
    return Receipt(200, "stored" if stored is not None else "duplicate", delivery.delivery_id)


def apply_received(
    hub: Hub, channel: str | None = None, *, now: datetime | None = None, limit: int = 500
) -> dict[str, DeliveryReport]:
    """Apply the stored deliveries of every running channel (or of `channel`), oldest first, at most `limit`
    each, a batch of APPLY_BATCH per transaction. A Fatal error stops that channel (recorded for `channelhub status`);
    its deliveries wait, received, until it is resumed."""
    at = now if now is not None else datetime.now(UTC)
    reports: dict[str, DeliveryReport] = {}
    names = [channel] if channel is not None else sorted(hub.channels)
    for name in names:
        runtime = hub.channels.get(name)
        if runtime is None or Capability.WEBHOOKS not in runtime.declares:
            continue
        try:
            connector = running_connector(hub, name)
        except ChannelhubError:
            continue  # stopped or not connected: its deliveries wait
        with hub.db.transaction() as session:
            ids = pending(session, name, limit)
        if not ids:
            continue
        try:
            report = reports[name] = DeliveryReport(channel=name, ingest=IngestReport(channel=name))
            for start in range(0, len(ids), APPLY_BATCH):
                apply_deliveries(hub.db, connector, ids[start : start + APPLY_BATCH], rules=hub.rules(name),
                                 policies=hub.policies, now=at, report=report)  # fmt: skip
        except Fatal as exc:
            stop_channel(hub, name, str(exc))
    return reports
