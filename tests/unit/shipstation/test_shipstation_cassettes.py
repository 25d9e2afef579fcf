"""The connector against hand-written ShipStation cassettes (tests/cassettes/shipstation/write.py: the documented
v1 shapes), replayed by vcrpy in record mode none and matched on method, URL, query and the exact body bytes."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import vcr
from channelhub_connectors.shipstation.connector import ShipStationConnector
from ss_helpers import NOW, SETTINGS, FakeClock

from channelhub.errors import Fatal, RateLimited, Skippable
from channelhub.ports import ConnectorContext, PullRequest
from doubles.shipstation import samples

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes" / "shipstation"
REPLAY = vcr.VCR(
    record_mode="none",
    match_on=["method", "scheme", "host", "port", "path", "query", "raw_body"],
    filter_headers=["authorization"],
)


def replay(name: str, act: Any, **settings: Any) -> tuple[Any, FakeClock, Any]:
    clock = FakeClock()
    with REPLAY.use_cassette(str(CASSETTES / f"{name}.yaml"), allow_playback_repeats=False) as cassette:
        connector = ShipStationConnector(
            {**SETTINGS, **settings},
            ConnectorContext(channel="shipstation", transport=httpx.Client()),
            clock=clock,
            sleep=clock.sleep,
        )
        try:
            result = act(connector)
        except Exception as exc:
            result = exc
        assert cassette.all_played, f"{name}: {len(cassette.data) - cassette.play_count} recorded requests not made"
    return result, clock, cassette


def test_paging_reads_every_page_of_shipments_with_items_then_the_voids() -> None:
    request = PullRequest(cursor="2024-06-01T18:00:00Z", overlap=timedelta(minutes=10), now=NOW)
    pages, _, _ = replay("paging", lambda c: list(c.pull_shipments(request)), page_size=2)
    assert [len(p.records) for p in pages] == [2, 1, 1]
    assert [p.cursor for p in pages] == [None, None, "2024-06-01T19:00:00Z"]
    connector = ShipStationConnector(SETTINGS, ConnectorContext(channel="shipstation"))
    mapped = [connector.map_shipment(r) for p in pages for r in p.records]
    assert [(m.order_key, m.shipment.tracking_number, m.voided) for m in mapped] == [
        ("shop:1001", "9400111899223", False),
        ("shop:1002", "9400111899224", False),
        ("shop:1003", "9400111899225", False),
        ("shop:0990", "9400111899001", True),
    ]
    assert [(x.sku, x.quantity) for x in mapped[0].shipment.lines] == [("TEE-M", 2), ("MUG", 1)]
    assert mapped[0].shipment.external_id == "33974374" and mapped[0].shipment.carrier == "usps"


def test_createorder_then_update_by_the_same_key_then_shipped_is_not_overwritten() -> None:
    def act(connector: ShipStationConnector) -> Any:
        first = connector.push_fulfillment_order(samples.request(1001))
        second = connector.push_fulfillment_order(samples.request(1001))
        with pytest.raises(Skippable, match="shipped at ShipStation already; the change is not sent"):
            connector.push_fulfillment_order(samples.request(1001))
        return first, second

    (first, second), _, cassette = replay("createorder_update", act)
    assert (first.provider_order_id, first.updated) == ("43945660", False)
    assert (second.provider_order_id, second.updated) == ("43945660", True)
    posts = [r for r in cassette.requests if r.method == "POST"]
    assert len(posts) == 2 and posts[0].body == posts[1].body  # the third push sent nothing
    assert json.loads(posts[0].body)["orderKey"] == "shop:1001"


def test_ship_notify_fetches_its_resource_url_with_items() -> None:
    body = json.dumps(
        {
            "resource_url": "https://ssapi.shipstation.com/shipments?storeID=123456&batchId=12345678"
            "&includeShipmentItems=False",
            "resource_type": "SHIP_NOTIFY",
        }
    ).encode()
    records, _, _ = replay("ship_notify", lambda c: c.parse_webhook({}, body))
    assert len(records) == 1 and records[0].stream == "shipments" and records[0].delivery_id
    assert json.loads(records[0].body)["shipmentItems"][1]["sku"] == "MUG"


def test_a_429_is_rate_limited_with_its_reset_and_the_retry_waits_it_out() -> None:
    def act(connector: ShipStationConnector) -> Any:
        with pytest.raises(RateLimited) as caught:
            connector.push_fulfillment_order(samples.request(1001))
        return caught.value, connector.push_fulfillment_order(samples.request(1001))

    (error, result), clock, _ = replay("rate_limited", act)
    assert error.retry_after == 17.0 and result.provider_order_id == "43945660"
    assert clock.sleeps == [17.0]


def test_401_is_fatal_and_names_what_to_check() -> None:
    error, _, _ = replay("unauthorized", lambda c: c.push_fulfillment_order(samples.request(1001)))
    assert isinstance(error, Fatal) and "api_key and api_secret" in str(error)
    assert SETTINGS["api_secret"] not in str(error)


def test_cassettes_hold_no_credentials() -> None:
    for path in CASSETTES.glob("*.yaml"):
        text = path.read_text()
        assert "basic " not in text.lower() and SETTINGS["api_key"] not in text and SETTINGS["api_secret"] not in text
