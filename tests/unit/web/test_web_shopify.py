"""A Shopify orders/create webhook end to end through the real app on a real server: the signature Shopify
computes (base64 HMAC-SHA256 of the raw body with the app's client secret), refused when forged, stored once
when repeated, and its order applied by the applier through the same path as polling."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from channelhub_connectors.shopify.webhooks import signature
from sqlalchemy import select

from channelhub.runtime import Hub
from channelhub.store.tables import DELIVERIES, OrderRow
from channelhub.web.app import create_app
from channelhub.web.server import WebServer
from doubles.shopify import samples
from waiting import wait_until

SECRET = "shopify-client-secret-test"

CONFIG = f"""
database = "sqlite:///hub.db"

[http]
listen = "127.0.0.1:0"

[[locations]]
code = "main"

[[channels]]
name = "shop"
kind = "shopify"
[channels.settings]
shop = "acme"
access_token = "shpat_web_test"
client_secret = "{SECRET}"
location_id = "1"
"""


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[Hub, str]]:
    (tmp_path / "channelhub.toml").write_text(CONFIG)
    with Hub.open(tmp_path / "channelhub.toml", connect=True) as hub:
        server = WebServer(create_app(hub), "127.0.0.1", 0)
        server.start()
        try:
            yield hub, f"http://127.0.0.1:{server.port}"
        finally:
            server.stop()


def test_a_signed_shopify_order_is_stored_once_and_applied(served: tuple[Hub, str]) -> None:
    hub, base = served
    body = json.dumps(samples.rest_order(7)).encode()
    headers = {
        "Content-Type": "application/json",
        "X-Shopify-Topic": "orders/create",
        "X-Shopify-Webhook-Id": "b54557e4-bdd9-4b37-8a5f-bf7d70bcd043",
        "X-Shopify-Shop-Domain": "acme.myshopify.com",
        "X-Shopify-Hmac-Sha256": signature(SECRET, body),
    }
    forged = {**headers, "X-Shopify-Hmac-Sha256": signature("not-the-secret", body)}
    with httpx.Client(base_url=base, timeout=30) as client:
        refused = client.post("/webhooks/shop", headers=forged, content=body)
        assert refused.status_code == 401
        first = client.post("/webhooks/shop", headers=headers, content=body)
        again = client.post("/webhooks/shop", headers=headers, content=body)  # Shopify redelivers
    assert (first.status_code, first.json()) == (200, {"outcome": "stored"})
    assert (again.status_code, again.json()) == (200, {"outcome": "duplicate"})

    def applied() -> bool:
        with hub.db.transaction() as session:
            return session.scalar(select(OrderRow.external_id)) == "820007"

    assert wait_until(applied), "the applier did not apply the stored delivery"
    with hub.db.transaction() as session:
        rows = session.execute(select(DELIVERIES.c.status, DELIVERIES.c.headers)).all()
    assert [row.status for row in rows] == ["applied"]
    assert "X-Shopify-Hmac-Sha256" not in rows[0].headers
