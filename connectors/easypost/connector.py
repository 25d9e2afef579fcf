"""The EasyPost connector: a tracker at the carrier for every shipment the hub records, and its reports back.

- create_tracker: POST /trackers (client.py). The engine sends it through the outbox under a deterministic key;
  EasyPost itself answers a repeated code and carrier with the first tracker, so a retry makes no second one.
- pull_tracking: the polling safety net (polling.py), raw Tracker records of stream "trackers".
- webhooks: tracker.created / tracker.updated Events, signed with X-Hmac-Signature (webhooks.py), giving the
  same records as polling.
- map_tracking: a Tracker -> TrackingUpdate (mapper.py).

`context.transport` may be an `httpx.Client` (tests pass one over a MockTransport, or a plain one under vcrpy);
otherwise the connector opens its own. It never opens a database session.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import httpx
from channelhub_connectors.easypost import mapper, polling, webhooks
from channelhub_connectors.easypost.client import EasyPostClient
from channelhub_connectors.easypost.config import EasyPostSettings
from pydantic import BaseModel

from channelhub.errors import ConfigError, MappingError, Skippable
from channelhub.model.tracking import TrackingUpdate
from channelhub.ports import (
    Capability,
    Connector,
    ConnectorContext,
    PulledPage,
    PullRequest,
    RawRecord,
    TrackerRequest,
    WebhookDelivery,
    settings_as,
)


class EasyPostConnector(Connector):
    """EasyPost's tracking API (v2): trackers created, polled and received by webhook."""

    kind = "easypost"
    capabilities = frozenset({Capability.CREATE_TRACKERS, Capability.PULL_TRACKING, Capability.WEBHOOKS})
    config_model = EasyPostSettings

    def __init__(self, config: BaseModel | Mapping[str, Any], context: ConnectorContext) -> None:
        settings = settings_as(EasyPostSettings, config, context.channel)
        super().__init__(settings, context)
        self.settings = settings
        self.where = f"channel {context.channel}"
        if context.transport is not None and not isinstance(context.transport, httpx.Client):
            raise ConfigError("the transport must be an httpx.Client", where=self.where)
        self.client = EasyPostClient(
            api_base=settings.api_base,
            api_key=settings.api_key.get_secret_value(),
            http=context.transport,
            timeout=settings.timeout,
            connect_timeout=settings.connect_timeout,
            where=self.where,
        )

    # -- trackers ---------------------------------------------------------------------------------------------

    def create_tracker(self, request: TrackerRequest) -> TrackingUpdate:
        """Follow `request.tracking_number` at EasyPost and return the tracker's first report. A number EasyPost
        refuses (unknown, invalid for the carrier) raises Skippable with EasyPost's reason: the outbox row goes
        dead with it and nothing else stops. Safe to repeat: EasyPost answers a repeat with the first tracker."""
        code = request.tracking_number.strip()
        where = f"{self.where}, tracker {request.idempotency_key}"
        if not code:
            raise Skippable("a tracker needs a tracking number; the shipment has none", where=where)
        carrier = self.settings.easypost_carrier(request.carrier) or None
        try:
            tracker = self.client.create_tracker(code, carrier)
        except Skippable as exc:  # name the parcel and the outbox row: the client's error knows only the call
            at = f" ({carrier})" if carrier else ""
            raise Skippable(f"EasyPost refused a tracker for {code!r}{at}: {exc.message}", where=where) from None
        return self._map(tracker, f"{where} (POST /trackers {code})")

    def get_tracker(self, tracker_id: str) -> TrackingUpdate:
        """The tracker's report as EasyPost holds it now (GET /trackers/<id>)."""
        return self._map(self.client.get_tracker(tracker_id), f"{self.where}: GET /trackers/{tracker_id}")

    def pull_tracking(self, request: PullRequest) -> Iterator[PulledPage]:
        return polling.pull_trackers(
            self.client,
            request,
            page_size=self.settings.page_size,
            window_days=self.settings.poll_window_days,
            where=self.where,
        )

    def map_tracking(self, record: RawRecord) -> TrackingUpdate:
        if record.problem:
            raise MappingError(record.problem, where=record.source)
        return self._map(record.body, record.source)

    # -- webhooks ---------------------------------------------------------------------------------------------

    def verify_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> bool:
        secret = self.settings.webhook_secret
        return webhooks.verify(secret.get_secret_value() if secret else None, headers, raw_body)

    def read_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> WebhookDelivery:
        return webhooks.read(raw_body)

    def parse_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> list[RawRecord]:
        return webhooks.parse(raw_body)

    def close(self) -> None:
        self.client.close()

    def _map(self, tracker: Any, where: str) -> TrackingUpdate:
        return mapper.map_tracker(tracker, where=where, hub_carrier=self.settings.hub_carrier)
