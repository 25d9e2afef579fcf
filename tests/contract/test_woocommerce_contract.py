"""The shared connector contract suite, run against the WooCommerce connector over the in-process fake store."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from channelhub_connectors.woocommerce.connector import WooCommerceConnector
from channelhub_connectors.woocommerce.webhooks import signature

from channelhub.ports import Connector, RawRecord, StockUpdate
from channelhub.testing.contract import ConnectorContract
from doubles.woocommerce.fake_store import FakeStore, make_order, session_for

KEY, SECRET, WEBHOOK_SECRET = "ck_contract", "cs_contract", "wh_contract"


class TestWooCommerceContract(ConnectorContract):
    connector_class = WooCommerceConnector

    def _store(self) -> FakeStore:
        # One store per test, shared by every connector instance the test builds (a restart reaches the same store).
        store: FakeStore | None = getattr(self, "_fake", None)
        if store is None:
            store = FakeStore(consumer_key=KEY, consumer_secret=SECRET)
            for i in range(3):
                store.add_product(10 + i, f"CONTRACT-{i}", stock=0)
            for oid in (1, 2):
                store.orders[oid] = make_order(oid, lines=[{"sku": "CONTRACT-0", "product_id": 10}])
            self._fake = store
        return store

    def settings(self) -> dict[str, Any]:
        return {
            "store_url": "https://shop.example.test",
            "consumer_key": KEY,
            "consumer_secret": SECRET,
            "webhook_secret": WEBHOOK_SECRET,
        }

    def make_connector(self) -> Connector:
        return WooCommerceConnector(self.config(), self.context(transport=session_for(self._store())))

    def sample_order_records(self) -> Iterable[RawRecord]:
        return [
            RawRecord("orders", "sample order 1", json.dumps(make_order(1)), external_id="1"),
            RawRecord("orders", "sample order 2", json.dumps(make_order(2, coupons=True, fees=True))),
        ]

    def bad_records(self) -> Iterable[RawRecord]:
        return [
            RawRecord("orders", "bad total", json.dumps(make_order(4, total="12,50"))),
            RawRecord("orders", "not json", "{"),
        ]

    def sample_stock_updates(self) -> list[StockUpdate]:
        return [
            StockUpdate(sku=f"CONTRACT-{i}", quantity=i + 1, idempotency_key=f"contract-stock-{i}") for i in range(3)
        ]

    def count_effects(self, connector: Any) -> Any:
        """What the store shows: stock levels, order notes and order statuses. Every write the kit makes changes
        one of them (a cancellation changes a status, and the store's own restock a level)."""
        store = self._store()
        stock = sorted((p["sku"], p["stock_quantity"]) for p in store.products.values())
        notes = sorted((oid, n["note"]) for oid, items in store.notes.items() for n in items)
        return stock, notes, sorted((oid, o["status"]) for oid, o in store.orders.items())

    def sample_webhook(self) -> tuple[Mapping[str, str], bytes]:
        body = json.dumps(make_order(1)).encode()
        return {
            "X-WC-Webhook-Topic": "order.updated",
            "X-WC-Webhook-Delivery-ID": "contract-delivery-1",
            "X-WC-Webhook-Signature": signature(WEBHOOK_SECRET, body),
        }, body
