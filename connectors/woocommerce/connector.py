"""The WooCommerce connector: orders in over REST v3 (polling and signed webhooks); stock, tracking and the hub's
own cancellations out (cancellation.py); its webhooks registered at the store (subscriptions.py).

Transport: `ConnectorContext.transport` may be a `requests.Session` (tests inject one, or a session with a test
adapter); otherwise the connector opens its own. The `woocommerce` package builds URLs and auth (see `client`).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from channelhub_connectors.woocommerce import mapper, subscriptions, webhooks
from channelhub_connectors.woocommerce.cancellation import CancellationPusher
from channelhub_connectors.woocommerce.client import WooClient
from channelhub_connectors.woocommerce.config import WooCommerceSettings
from channelhub_connectors.woocommerce.fulfilments import carrier_names
from channelhub_connectors.woocommerce.orders import STREAM, LineSkuResolver, pull_orders
from channelhub_connectors.woocommerce.stock import Catalogue, StockPusher
from channelhub_connectors.woocommerce.tracking import TrackingPusher
from pydantic import BaseModel

from channelhub.errors import ConfigError, Fatal
from channelhub.model.orders import Order
from channelhub.ports import (
    BatchLimits,
    CancellationRequest,
    Capability,
    Connector,
    ConnectorContext,
    FulfillmentRequest,
    PulledPage,
    PullRequest,
    RawRecord,
    StockUpdate,
    WebhookDelivery,
    WebhookSubscription,
    WriteResult,
    settings_as,
)

INSPECT_SETTINGS = {"store_url": "https://inspect.invalid", "consumer_key": "-", "consumer_secret": "-"}


class WooCommerceConnector(Connector):
    """A WooCommerce store over the REST API v3 (`/wp-json/wc/v3`)."""

    kind = "woocommerce"
    capabilities = frozenset(
        {
            Capability.PULL_ORDERS,
            Capability.WEBHOOKS,
            Capability.PUSH_STOCK,
            Capability.PUSH_FULFILLMENT,
            Capability.PUSH_CANCELLATION,
            Capability.WEBHOOK_SUBSCRIPTIONS,
        }
    )
    config_model = WooCommerceSettings
    limits = BatchLimits(stock_per_call=100, fulfillments_per_call=1)

    def __init__(self, config: BaseModel | Mapping[str, Any], context: ConnectorContext) -> None:
        settings = settings_as(WooCommerceSettings, config, context.channel)
        super().__init__(settings, context)
        self.settings = settings
        session = context.transport if isinstance(context.transport, requests.Session) else None
        if context.transport is not None and session is None:
            raise ConfigError("the transport must be a requests.Session", where=f"channel {context.channel}")
        self.client = WooClient.build(settings, context.channel, session)
        self.store = urlsplit(settings.store_url).netloc
        self.resolver = LineSkuResolver(self.client)
        self.catalogue = Catalogue(self.client)
        self.stock = StockPusher(self.client, self.catalogue, context.sku_map)
        self.tracking = TrackingPusher(self.client, settings)
        # What the tracking pusher writes as a provider slug reads back as the hub's carrier (fulfilments.py).
        self.carriers = carrier_names(settings.tracking_providers)
        self.cancellations = CancellationPusher(self.client)

    @classmethod
    def for_inspection(cls, layout: str | None = None, mapping_dirs: Sequence[Path] = ()) -> WooCommerceConnector:
        """An offline instance for `channelhub inspect woocommerce FILE`: never opens a connection."""
        context = ConnectorContext(channel="inspect", mapping_dirs=mapping_dirs)
        return cls(WooCommerceSettings.model_validate(INSPECT_SETTINGS), context)

    # -- orders -----------------------------------------------------------------------------------------------

    def pull_orders(self, request: PullRequest) -> Iterator[PulledPage]:
        return pull_orders(self.client, self.resolver, request, self.settings.per_page, self.store)

    def map_order(self, record: RawRecord) -> Order:
        return mapper.map_record(record, channel=self.channel, sku_map=self.context.sku_map, carriers=self.carriers)

    def inspect(self, filename: str, data: bytes, options: Mapping[str, str]) -> Iterator[RawRecord]:
        """A saved order payload, a list of them, or an envelope; no network (line SKUs are not looked up)."""
        try:
            payload = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            yield RawRecord(STREAM, filename, data.decode("utf-8", "replace"), problem=f"not JSON: {exc}")
            return
        orders = payload if isinstance(payload, list) else [payload]
        for position, order in enumerate(orders, start=1):
            order_id = mapper.unwrap(order)[0].get("id") if isinstance(order, dict) else None
            source = f"{filename} #{position}" + (f" (order {order_id})" if order_id else "")
            body = json.dumps(order, ensure_ascii=False)
            if not isinstance(order, dict):
                yield RawRecord(STREAM, source, body, problem="not a WooCommerce order object")
                continue
            yield RawRecord(STREAM, source, body, external_id=str(order_id) if order_id else None)

    # -- webhooks ---------------------------------------------------------------------------------------------

    def verify_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> bool:
        secret = self.settings.webhook_secret
        return webhooks.verify(secret.get_secret_value() if secret else None, headers, raw_body)

    def read_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> WebhookDelivery:
        return webhooks.read(headers, raw_body)

    def parse_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> list[RawRecord]:
        return webhooks.parse(headers, raw_body, self.resolver, self.channel)

    def list_webhooks(self) -> list[WebhookSubscription]:
        return subscriptions.list_all(self.client)

    def register_webhooks(self, url: str) -> list[WebhookSubscription]:
        """order.created and order.updated at `url`, signed with settings.webhook_secret; see subscriptions.py."""
        secret = self.settings.webhook_secret
        where = f"channel {self.channel}"
        return subscriptions.register(self.client, url, secret.get_secret_value() if secret else None, where)

    def remove_webhooks(self, url: str) -> list[WebhookSubscription]:
        return subscriptions.remove(self.client, url)

    # -- outbound ---------------------------------------------------------------------------------------------

    def push_stock(self, updates: Sequence[StockUpdate]) -> list[WriteResult]:
        if len(updates) > self.limits.stock_per_call:
            raise Fatal(
                f"stock batch of {len(updates)} exceeds the limit of {self.limits.stock_per_call}",
                where=f"channel {self.channel}",
            )
        return self.stock.push(updates) if updates else []

    def push_fulfillment(self, request: FulfillmentRequest) -> None:
        self.tracking.push(request)

    def push_cancellation(self, request: CancellationRequest) -> None:
        """Set the order cancelled after a look at it; see cancellation.py (the store restocks on its own)."""
        self.cancellations.push(request)

    def close(self) -> None:
        self.client.close()
