"""The ShipStation connector (API v1): a fulfilment provider. Confirmed orders go out as ShipStation orders
under the hub's order key; shipments, voided labels and orders cancelled at ShipStation come back.

Transport: `ConnectorContext.transport` may be an `httpx.Client` (tests inject one over the fake, or replay
cassettes through it); otherwise the connector opens its own. Every call of the channel (pushes, pulls, webhook
fetches) goes through one `RateLimiter`, made here: one per connector instance, thread-safe.

Sources: see client.py (auth, errors), limiter.py (rate limit), mapper.py (createorder), reading.py and pulls.py
(shipments, orders), webhooks.py (SHIP_NOTIFY / ORDER_NOTIFY) for what each relies on at docs.shipstation.com.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import httpx
from channelhub_connectors.shipstation import mapper, pulls, reading, webhooks
from channelhub_connectors.shipstation.client import ShipStationClient
from channelhub_connectors.shipstation.config import ShipStationSettings
from channelhub_connectors.shipstation.limiter import RateLimiter
from pydantic import BaseModel

from channelhub.errors import ConfigError, Skippable
from channelhub.ports import (
    BatchLimits,
    CancellationRequest,
    Capability,
    Connector,
    ConnectorContext,
    FulfillmentOrderRequest,
    FulfillmentOrderResult,
    ProviderShipment,
    PulledPage,
    PullRequest,
    RawRecord,
    WebhookDelivery,
    settings_as,
)

log = logging.getLogger(__name__)


class ShipStationConnector(Connector):
    """A ShipStation account over the v1 API (ssapi.shipstation.com)."""

    kind = "shipstation"
    capabilities = frozenset({Capability.FULFILL_ORDERS, Capability.WEBHOOKS})
    config_model = ShipStationSettings
    limits = BatchLimits(stock_per_call=1, fulfillments_per_call=1)
    backfill_days = 30  # how far back a first pull (no cursor) reads

    def __init__(
        self,
        config: BaseModel | Mapping[str, Any],
        context: ConnectorContext,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        settings = settings_as(ShipStationSettings, config, context.channel)
        super().__init__(settings, context)
        self.settings = settings
        if context.transport is not None and not isinstance(context.transport, httpx.Client):
            raise ConfigError("the transport must be an httpx.Client", where=f"channel {context.channel}")
        where = f"channel {context.channel}"
        self.limiter = RateLimiter(
            limit=settings.requests_per_minute, clock=clock, sleep=sleep, max_wait=settings.max_rate_wait, where=where
        )
        self.client = ShipStationClient(
            api_host=settings.api_host,
            api_key=settings.api_key.get_secret_value(),
            api_secret=settings.api_secret.get_secret_value(),
            limiter=self.limiter,
            http=context.transport,
            timeout=settings.timeout,
            where=where,
        )

    # -- orders out ------------------------------------------------------------------------------------------

    def push_fulfillment_order(self, request: FulfillmentOrderRequest) -> FulfillmentOrderResult:
        """createorder under `request.order_key`, after reading what ShipStation holds under that key: an order
        no longer open there (shipped, cancelled) is not overwritten (Skippable: the change is reported, not
        forced), and an order a person put on hold there stays on hold."""
        body = mapper.order_body(request, self.settings)
        existing = pulls.find_order(self.client, request.order_key, body["orderNumber"])
        if existing is not None:
            status = str(existing.get("orderStatus") or "")
            if status not in mapper.OPEN_STATUSES:
                raise Skippable(
                    f"{status} at ShipStation already; the change is not sent",
                    where=f"channel {self.channel}: order {request.order_key}",
                )
            if status == "on_hold":
                body["orderStatus"] = "on_hold"  # the warehouse's hold is theirs to release
        answer = self.client.request("POST", "orders/createorder", body=body)
        data = answer if isinstance(answer, dict) else {}
        status = str(data.get("orderStatus") or "")
        if data.get("orderKey") not in (None, request.order_key):
            raise Skippable(f"ShipStation answered for orderKey {data.get('orderKey')!r}, not {request.order_key!r}")
        return FulfillmentOrderResult(
            provider_order_id=str(data.get("orderId") or ""), status=status, updated=existing is not None
        )

    def cancel_fulfillment_order(self, request: CancellationRequest) -> None:
        """Cancel the ShipStation order under the key `request.order_external_id`: the whole order read back
        with orderStatus "cancelled" (createorder takes no partial update). Not there, or cancelled already:
        done. Shipped there: Skippable."""
        key = request.order_external_id
        number = request.order_number or key.split(":", 1)[-1]
        existing = pulls.find_order(self.client, key, number)
        where = f"channel {self.channel}: order {key}"
        if existing is None:
            log.info("%s: no ShipStation order under this key: nothing to cancel", where)
            return
        status = str(existing.get("orderStatus") or "")
        if status == "cancelled":
            return
        if status not in mapper.OPEN_STATUSES:
            raise Skippable(f"{status} at ShipStation already; it is not cancelled there", where=where)
        self.client.request("POST", "orders/createorder", body=mapper.cancelled_body(existing))

    # -- shipments and cancellations in ----------------------------------------------------------------------

    def pull_shipments(self, request: PullRequest) -> Iterator[PulledPage]:
        return pulls.pull_shipments(
            self.client,
            request,
            page_size=self.settings.page_size,
            store_id=self.settings.store_id,
            backfill_days=self.backfill_days,
        )

    def map_shipment(self, record: RawRecord) -> ProviderShipment:
        return reading.map_shipment(record, self.context.sku_map)

    def pull_provider_orders(self, request: PullRequest) -> Iterator[PulledPage]:
        """Orders cancelled at ShipStation since the cursor (stream "provider_orders"), for the engine to apply
        with `map_provider_order`: the polling twin of ORDER_NOTIFY (not in the ports contract yet)."""
        return pulls.pull_cancelled_orders(
            self.client,
            request,
            page_size=self.settings.page_size,
            store_id=self.settings.store_id,
            backfill_days=self.backfill_days,
        )

    def map_provider_order(self, record: RawRecord) -> reading.ProviderOrderStatus:
        return reading.map_provider_order(record)

    # -- webhooks --------------------------------------------------------------------------------------------

    def verify_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> bool:
        secret = self.settings.webhook_secret
        return webhooks.verify(secret.get_secret_value() if secret else None, headers)

    def read_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> WebhookDelivery:
        return webhooks.read(raw_body)

    def parse_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> list[RawRecord]:
        return webhooks.parse(self.client, raw_body, self.channel)

    def close(self) -> None:
        self.client.close()
