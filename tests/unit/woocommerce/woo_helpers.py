"""Helpers for the WooCommerce connector's tests (imported by name: this folder is on sys.path under pytest)."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import requests
from channelhub_connectors.woocommerce.connector import WooCommerceConnector

from channelhub.ports import ConnectorContext
from doubles.woocommerce.fake_store import FakeStore, session_for

TESTS = Path(__file__).resolve().parents[2]
CASSETTES = TESTS / "cassettes" / "woocommerce"
sys.path.insert(0, str(CASSETTES))  # woo_scenarios: what record.py records and the replay tests send
FIXTURES = TESTS / "fixtures" / "woocommerce"
STORE_URL = "https://shop.example.test"
KEY, SECRET = "ck_recording_key_0123456789", "cs_recording_secret_0123456789"
WEBHOOK_SECRET = "whsec-test-0123"


def settings(**extra: Any) -> dict[str, Any]:
    return {
        "store_url": STORE_URL,
        "consumer_key": KEY,
        "consumer_secret": SECRET,
        "webhook_secret": WEBHOOK_SECRET,
        **extra,
    }


def connector(
    transport: requests.Session | None = None, channel: str = "woo", sku_map: dict[str, str] | None = None, **extra: Any
) -> WooCommerceConnector:
    context = ConnectorContext(channel=channel, transport=transport or requests.Session(), sku_map=sku_map or {})
    return WooCommerceConnector(settings(**extra), context)


def fake(**extra: Any) -> tuple[FakeStore, WooCommerceConnector]:
    """A fake store and a connector wired to it in process (every request lands in store.log)."""
    store = FakeStore(consumer_key=KEY, consumer_secret=SECRET)
    return store, connector(session_for(store), **extra)
