"""SHIP_NOTIFY / ORDER_NOTIFY: the receiver URL's secret (right, wrong, missing), the delivery id, the fetch of
resource_url with the channel's credentials, and a resource_url on another host refused without sending them."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

import httpx
import pytest
from channelhub_connectors.shipstation.connector import ShipStationConnector
from channelhub_connectors.shipstation.webhooks import with_items
from ss_helpers import SETTINGS, URL_SECRET, Build

from channelhub.errors import Skippable
from channelhub.ports import ConnectorContext
from doubles.shipstation import samples

LABELLED = datetime(2024, 6, 1, 16, 0, tzinfo=UTC)
BODY = b'{"resource_url": "https://ssapi.shipstation.com/shipments?batchId=1", "resource_type": "SHIP_NOTIFY"}'


@pytest.mark.parametrize(
    ("headers", "ok"),
    [
        ({"X-Channelhub-Url-Secret": URL_SECRET}, True),
        ({"x-channelhub-url-secret": URL_SECRET}, True),  # header names are case-insensitive
        ({"X-Channelhub-Query": f"a=1&secret={URL_SECRET}"}, True),  # the raw query string handed through
        ({"X-Channelhub-Url-Secret": URL_SECRET[:-1] + "X"}, False),
        ({"X-Channelhub-Url-Secret": URL_SECRET + "X"}, False),
        ({"X-Channelhub-Query": "secret="}, False),
        ({}, False),
    ],
)
def test_the_receiver_urls_secret_is_checked(build: Build, headers: dict, ok: bool) -> None:
    connector, _, _ = build()
    assert connector.verify_webhook(headers, BODY) is ok


def test_without_a_configured_secret_nothing_is_accepted(build: Build) -> None:
    connector, _, _ = build(webhook_secret=None)
    assert connector.verify_webhook({"X-Channelhub-Url-Secret": ""}, BODY) is False
    assert connector.verify_webhook({"X-Channelhub-Url-Secret": URL_SECRET}, BODY) is False


def test_read_takes_ship_and_order_notify_keeps_no_header_and_names_the_delivery_by_its_body(build: Build) -> None:
    connector, _, _ = build()
    delivery = connector.read_webhook({"X-Channelhub-Url-Secret": URL_SECRET}, BODY)
    assert delivery.accepted and delivery.topic == "SHIP_NOTIFY"
    assert delivery.delivery_id == hashlib.sha256(BODY).hexdigest() and delivery.headers == {}
    other = json.dumps({"resource_url": "https://ssapi.shipstation.com/x", "resource_type": "ITEM_SHIP_NOTIFY"})
    assert not connector.read_webhook({}, other.encode()).accepted
    assert not connector.read_webhook({}, b"not json").accepted


def test_ship_notify_fetches_the_shipments_with_items_and_credentials(build: Build) -> None:
    connector, fake, _ = build()
    connector.push_fulfillment_order(samples.request(1001))
    shipped = fake.ship("shop:1001", tracking="9400", ship_date="2024-06-01", create_date=LABELLED)
    body = fake.webhook("SHIP_NOTIFY", fake.batch_of(shipped["shipmentId"]))
    assert b"includeShipmentItems=False" in body  # as ShipStation's resource URLs come
    records = connector.parse_webhook({}, body)
    assert [r.delivery_id for r in records] == [hashlib.sha256(body).hexdigest()]
    mapped = connector.map_shipment(records[0])
    assert mapped.order_key == "shop:1001" and [(x.sku, x.quantity) for x in mapped.shipment.lines] == [
        ("TEE-M", 2),
        ("MUG", 1),
    ]
    assert fake.log[-1][1:] == ("GET", "/shipments", 200)


def test_order_notify_yields_the_hubs_cancelled_orders(build: Build) -> None:
    connector, fake, _ = build()
    connector.push_fulfillment_order(samples.request(1001))
    records = connector.parse_webhook({}, fake.webhook("ORDER_NOTIFY", fake.cancel("shop:1001")))
    assert [r.stream for r in records] == ["provider_orders"]
    assert connector.map_provider_order(records[0]).cancelled


@pytest.mark.parametrize(
    "url",
    [
        "https://evil.example/shipments?batchId=1",
        "http://ssapi.shipstation.com/shipments?batchId=1",  # same host, plain http: the secret would travel bare
        "https://ssapi.shipstation.com.evil.example/shipments",
        "https://user@ssapi.shipstation.com/shipments",
        "https://ssapi.shipstation.com:8443/shipments",
    ],
)
def test_a_resource_url_elsewhere_is_refused_and_nothing_is_sent(url: str) -> None:
    sent: list[httpx.Request] = []
    transport = httpx.MockTransport(lambda request: sent.append(request) or httpx.Response(200, json={}))
    connector = ShipStationConnector(
        SETTINGS, ConnectorContext(channel="shipstation", transport=httpx.Client(transport=transport))
    )
    body = json.dumps({"resource_url": url, "resource_type": "SHIP_NOTIFY"}).encode()
    with pytest.raises(Skippable, match=r"not fetched, the channel's credentials go nowhere else") as caught:
        connector.parse_webhook({}, body)
    assert sent == [] and "ss_key" not in str(caught.value)
    assert str(httpx.URL(url).netloc.decode()) in str(caught.value)


def test_with_items_replaces_the_flag() -> None:
    url = with_items("https://ssapi.shipstation.com/shipments?storeID=1&includeShipmentItems=False&batchId=9")
    assert url == "https://ssapi.shipstation.com/shipments?storeID=1&batchId=9&includeShipmentItems=true"
