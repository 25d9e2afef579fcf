"""The Shopify connector (GraphQL Admin API): orders in by polling, bulk backfill and webhooks; stock, tracking and
refunds and the hub's own cancellations out; its webhook subscriptions managed. See client.py (transport, rate
limit, errors), orders.py, inventory.py, fulfillment.py, cancellation.py, webhooks.py, subscriptions.py.

`context.transport` may be an `httpx.Client` (tests pass one over a MockTransport, or a plain one under vcrpy);
`clock` and `sleep` may be injected for the rate limiter. The connector never opens a database session.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import httpx
from channelhub_connectors.shopify import (
    cancellation,
    fulfillment,
    inventory,
    mapper,
    orders,
    queries,
    subscriptions,
    webhooks,
)
from channelhub_connectors.shopify.client import ShopifyClient
from channelhub_connectors.shopify.config import ShopifySettings
from channelhub_connectors.shopify.shapes import numeric_id
from pydantic import BaseModel

from channelhub.errors import Skippable
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
    RefundRequest,
    StockUpdate,
    WebhookDelivery,
    WebhookSubscription,
    WriteResult,
    settings_as,
)


class ShopifyConnector(Connector):
    kind = "shopify"
    capabilities = frozenset(
        {
            Capability.PULL_ORDERS,
            Capability.PUSH_STOCK,
            Capability.PUSH_FULFILLMENT,
            Capability.PUSH_REFUND,
            Capability.PUSH_CANCELLATION,
            Capability.PULL_STOCK,
            Capability.WEBHOOKS,
            Capability.WEBHOOK_SUBSCRIPTIONS,
        }
    )
    config_model = ShopifySettings
    limits = BatchLimits(stock_per_call=inventory.MAX_PER_CALL, fulfillments_per_call=1)

    def __init__(
        self,
        config: BaseModel | Mapping[str, Any],
        context: ConnectorContext,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        settings = settings_as(ShopifySettings, config, context.channel)
        super().__init__(settings, context)
        self.settings = settings
        self.where = f"channel {context.channel}"
        self.sleep = sleep
        http = context.transport if isinstance(context.transport, httpx.Client) else None
        self.client = ShopifyClient(
            endpoint=settings.endpoint,
            token=settings.access_token.get_secret_value(),
            http=http,
            timeout=settings.timeout,
            clock=clock,
            sleep=sleep,
            max_wait=settings.max_throttle_wait,
            where=self.where,
        )
        self.inventory = inventory.InventoryWriter(
            self.client, location_id=settings.location_id, reason=settings.inventory_reason, where=self.where
        )

    @classmethod
    def for_inspection(cls, layout: str | None = None, mapping_dirs: Sequence[Any] = ()) -> ShopifyConnector:
        """An instance for `channelhub inspect`: placeholder credentials, no network (inspect only maps bytes)."""
        settings = ShopifySettings(shop="inspect", access_token="inspect-offline")  # type: ignore[arg-type]
        transport = httpx.Client(transport=httpx.MockTransport(_refuse))
        return cls(settings, ConnectorContext(channel="inspect", mapping_dirs=tuple(mapping_dirs), transport=transport))

    # -- orders -----------------------------------------------------------------------------------------------

    def pull_orders(self, request: PullRequest) -> Iterator[PulledPage]:
        s = self.settings
        if request.cursor is None and s.backfill_threshold and orders.count_orders(self.client) > s.backfill_threshold:
            url = orders.run_bulk(
                self.client,
                poll_interval=s.bulk_poll_interval,
                timeout=s.bulk_timeout,
                sleep=self.sleep,
                where=self.where,
            )
            if url:
                records = orders.join_jsonl(self.client.stream_lines(url), f"{self.where} bulk result")
                yield from orders.pages_of(records, s.page_size, "bulk backfill")
            return
        yield from orders.poll(self.client, request, page_size=s.page_size, where=self.where)

    def map_order(self, record: RawRecord) -> Order:
        return mapper.map_order(record.body, channel=self.channel, source=record.source, sku_map=self.context.sku_map)

    def inspect(self, filename: str, data: bytes, options: Mapping[str, str]) -> Iterator[RawRecord]:
        """A saved GraphQL order node, a REST/webhook order (or `{"order": ...}`, or a list, or a GraphQL answer
        with data.orders.nodes), or a bulk JSONL file."""
        text = data.decode("utf-8", "replace")
        try:
            payload = json.loads(text)
        except ValueError:
            yield from orders.join_jsonl(data.splitlines(), filename)
            return
        if isinstance(payload, dict) and isinstance(payload.get("data"), dict):
            payload = ((payload["data"].get("orders") or {}).get("nodes")) or payload["data"].get("order")
        if isinstance(payload, dict) and isinstance(payload.get("orders"), list):
            payload = payload["orders"]
        items = payload if isinstance(payload, list) else [payload]
        for n, item in enumerate(items, 1):
            yield RawRecord("orders", f"{filename} item {n}", json.dumps(item), external_id=None)

    # -- outbound -----------------------------------------------------------------------------------------------

    def push_stock(self, updates: Sequence[StockUpdate]) -> list[WriteResult]:
        return self.inventory.push(updates) if updates else []

    def pull_stock(self, skus: Iterable[str]) -> dict[str, int]:
        known = self.inventory.resolve(skus)
        levels = self.inventory.current(list(known.values()))
        return {sku: levels[item] for sku, item in known.items() if item in levels}

    def push_fulfillment(self, request: FulfillmentRequest) -> None:
        fulfillment.push_fulfillment(self.client, request, notify=self.settings.notify_customer, where=self.where)

    def push_cancellation(self, request: CancellationRequest) -> None:
        """`orderCancel` with restock false and no refund, after a look (see cancellation.py)."""
        cancellation.push_cancellation(self.client, request, notify=self.settings.notify_customer, where=self.where)

    def push_refund(self, request: RefundRequest) -> None:
        """`refundCreate` with `@idempotent(key:)` = the outbox row's key: a retry returns the first refund."""
        gid = f"gid://shopify/Order/{numeric_id(request.order_external_id)}"
        refund_input: dict[str, Any] = {
            "orderId": gid,
            "note": request.reason,
            "notify": self.settings.notify_customer,
            "refundLineItems": [
                {
                    "lineItemId": f"gid://shopify/LineItem/{numeric_id(line)}",
                    "quantity": qty,
                    "restockType": "NO_RESTOCK",
                }
                for line, qty in request.lines
            ],
        }
        data = self.client.execute(queries.REFUND_CREATE, {"input": refund_input, "key": request.idempotency_key})
        errors = (data.get("refundCreate") or {}).get("userErrors") or []
        if errors:
            message = "; ".join(str(e.get("message")) for e in errors)
            raise Skippable(
                f"refundCreate refused: {message}", where=f"{self.where}, order {request.order_external_id}"
            )

    # -- webhooks -----------------------------------------------------------------------------------------------

    def verify_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> bool:
        secret = self.settings.client_secret
        return webhooks.verify(headers, raw_body, secret.get_secret_value() if secret else None)

    def read_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> WebhookDelivery:
        return webhooks.read(headers)

    def parse_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> list[RawRecord]:
        return webhooks.parse(headers, raw_body, fetch_order=self._fetch_order, where=self.where)

    def list_webhooks(self) -> list[WebhookSubscription]:
        return subscriptions.list_all(self.client)

    def register_webhooks(self, url: str) -> list[WebhookSubscription]:
        """One subscription per topic webhooks.py takes (subscriptions.TOPICS), JSON, at `url`; see subscriptions.py."""
        return subscriptions.register(self.client, url, self.where)

    def remove_webhooks(self, url: str) -> list[WebhookSubscription]:
        return subscriptions.remove(self.client, url, self.where)

    def _fetch_order(self, order_id: str) -> dict[str, Any] | None:
        return self.client.execute(queries.ORDER, {"id": f"gid://shopify/Order/{numeric_id(order_id)}"}).get("order")

    def close(self) -> None:
        self.client.close()


def _refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("channelhub inspect works offline", request=request)
