"""The shared connector contract suite, run against the Shopify connector over the fake shop."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

import httpx
from channelhub_connectors.shopify import webhooks
from channelhub_connectors.shopify.connector import ShopifyConnector

from channelhub.ports import Connector, RawRecord
from channelhub.testing.contract import ConnectorContract
from doubles.shopify import samples
from doubles.shopify.fake_shop import FakeShop

SETTINGS = {"shop": "acme", "access_token": "shpat_contract", "client_secret": "whsec_contract", "location_id": "1"}


class TestShopifyContract(ConnectorContract):
    connector_class = ShopifyConnector

    def _shop(self) -> FakeShop:
        shop = getattr(self, "_fake", None)
        if shop is None:
            shop = FakeShop(orders=[samples.graphql_order(n) for n in (1, 2)])
            for n in range(3):
                shop.add_sku(f"CONTRACT-{n}", 0, n)
            shop.fulfillment_orders["gid://shopify/Order/820001"] = [
                {
                    "id": "gid://shopify/FulfillmentOrder/1",
                    "status": "OPEN",
                    "lineItems": {
                        "nodes": [
                            {
                                "id": "gid://shopify/FulfillmentOrderLineItem/1",
                                "remainingQuantity": 2,
                                "lineItem": {"id": "gid://shopify/LineItem/8200011", "sku": "SKU-A1"},
                            },
                            {
                                "id": "gid://shopify/FulfillmentOrderLineItem/2",
                                "remainingQuantity": 1,
                                "lineItem": {"id": "gid://shopify/LineItem/8200012", "sku": "SKU-B"},
                            },
                        ]
                    },
                }
            ]
            self._fake = shop
        return shop

    def settings(self) -> dict[str, Any]:
        return dict(SETTINGS)

    def make_connector(self) -> Connector:
        transport = httpx.Client(transport=self._shop().mock_transport())
        return ShopifyConnector(self.config(), self.context(transport=transport), sleep=lambda s: None)

    def sample_order_records(self) -> Iterable[RawRecord]:
        return [
            RawRecord("orders", "sample graphql", json.dumps(samples.graphql_order(1))),
            RawRecord("orders", "sample rest", json.dumps(samples.rest_order(2))),
        ]

    def bad_records(self) -> Iterable[RawRecord]:
        no_time = {**samples.graphql_order(3), "createdAt": "yesterday"}  # a line without a SKU maps: not here
        bad_currency = {**samples.rest_order(4), "currency": "ZZZ"}
        return [
            RawRecord("orders", "no timestamp", json.dumps(no_time)),
            RawRecord("orders", "bad currency", json.dumps(bad_currency)),
            RawRecord("orders", "not json", "{"),
        ]

    def count_effects(self, connector: Connector) -> Any:
        """What the shop shows: listed levels (and set calls: a repeat with the same key must not send again),
        fulfilments, refunds and cancelled orders. Every write the kit makes changes one of these."""
        shop = self._shop()
        levels = sorted((sku, v["available"]) for sku, v in shop.variants.items())
        cancelled = sorted(o["id"] for o in shop.orders if o.get("cancelledAt"))
        fulfilled = sum(len(f) for f in shop.fulfillments.values())
        return (shop.set_calls, levels, fulfilled, len(shop.refunds), cancelled)

    def sample_webhook(self) -> tuple[Mapping[str, str], bytes]:
        body = json.dumps(samples.rest_order(1)).encode()
        return {
            "X-Shopify-Topic": "orders/create",
            "X-Shopify-Webhook-Id": "contract-1",
            "X-Shopify-Hmac-Sha256": webhooks.signature("whsec_contract", body),
        }, body
