"""The connector against the fake ShipStation account: createorder under the order key (a repeat updates, never
duplicates; a shipped order is not overwritten), cancellation, the shipment pull, errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest
from channelhub_connectors.shipstation.connector import ShipStationConnector
from channelhub_connectors.shipstation.reading import PROVIDER_ORDERS, SHIPMENTS
from ss_helpers import KEY, NOW, SECRET, SETTINGS, Build

from channelhub.errors import Fatal, RateLimited, Skippable
from channelhub.ports import CancellationRequest, ConnectorContext, PullRequest
from doubles.shipstation import samples

LABELLED = datetime(2024, 6, 1, 16, 0, tzinfo=UTC)


def pull(cursor: str | None = None) -> PullRequest:
    return PullRequest(cursor=cursor, overlap=timedelta(minutes=10), now=NOW)


def test_push_creates_then_a_repeat_updates_the_same_order(build: Build) -> None:
    connector, fake, _ = build()
    first = connector.push_fulfillment_order(samples.request(1001))
    assert first.status == "awaiting_shipment" and not first.updated and first.provider_order_id
    again = connector.push_fulfillment_order(samples.request(1001))
    assert again.updated and again.provider_order_id == first.provider_order_id
    assert (fake.creates, fake.updates, len(fake.orders)) == (1, 1, 1)
    assert fake.orders["shop:1001"]["items"][0]["unitPrice"] == Decimal("19.90")


def test_same_number_in_two_channels_makes_two_orders(build: Build) -> None:
    connector, fake, _ = build()
    connector.push_fulfillment_order(samples.request(1001, channel="shop"))
    connector.push_fulfillment_order(samples.request(1001, channel="wholesale"))
    assert sorted(fake.orders) == ["shop:1001", "wholesale:1001"]


def test_a_shipped_order_is_not_overwritten(build: Build) -> None:
    connector, fake, _ = build()
    connector.push_fulfillment_order(samples.request(1001))
    fake.ship("shop:1001", tracking="9400", ship_date="2024-06-01", create_date=LABELLED)
    before = dict(fake.orders["shop:1001"])
    with pytest.raises(Skippable, match="shipped at ShipStation already; the change is not sent"):
        connector.push_fulfillment_order(samples.request(1001))
    assert fake.orders["shop:1001"] == before and fake.refused == 0  # read first: nothing was even tried


def test_a_hold_set_at_shipstation_stays(build: Build) -> None:
    connector, fake, _ = build()
    connector.push_fulfillment_order(samples.request(1001))
    fake.orders["shop:1001"]["orderStatus"] = "on_hold"
    assert connector.push_fulfillment_order(samples.request(1001)).status == "on_hold"


def test_the_fake_refuses_an_update_of_a_shipped_order_written_blind(build: Build) -> None:
    connector, fake, _ = build()
    connector.push_fulfillment_order(samples.request(1001))
    fake.ship("shop:1001", tracking="9400", ship_date="2024-06-01", create_date=LABELLED)
    body = {**fake.orders["shop:1001"], "orderStatus": "awaiting_shipment"}
    with pytest.raises(Skippable, match=r"HTTP 400.*shipped: not updated"):
        connector.client.request("POST", "orders/createorder", body=body)


def test_createorder_without_its_required_fields_is_refused_with_shipstations_message(build: Build) -> None:
    connector, _, _ = build()
    with pytest.raises(Skippable, match=r"HTTP 400.*orderDate field is required"):
        connector.client.request("POST", "orders/createorder", body={"orderNumber": "1", "orderStatus": "x"})


def test_cancel_open_then_repeat_then_shipped(build: Build) -> None:
    connector, fake, _ = build()
    connector.push_fulfillment_order(samples.request(1001))
    connector.push_fulfillment_order(samples.request(1002))
    cancel = CancellationRequest("shop:1001", "#1001", "customer asked", "cancel-1001")
    connector.cancel_fulfillment_order(cancel)
    assert fake.orders["shop:1001"]["orderStatus"] == "cancelled"
    assert fake.orders["shop:1001"]["items"][0]["unitPrice"] == Decimal("19.90")  # the whole order went back
    updates = fake.updates
    connector.cancel_fulfillment_order(cancel)  # cancelled there already: done, nothing sent
    assert fake.updates == updates
    connector.cancel_fulfillment_order(CancellationRequest("shop:404", "#404", "gone", "c-404"))  # none: done
    fake.ship("shop:1002", tracking="9401", ship_date="2024-06-01", create_date=LABELLED)
    with pytest.raises(Skippable, match="shipped at ShipStation already"):
        connector.cancel_fulfillment_order(CancellationRequest("shop:1002", "#1002", "late", "cancel-1002"))


def test_pull_shipments_pages_shipped_then_voided_and_carries_the_cursor_last(build: Build) -> None:
    connector, fake, _ = build(page_size=2)
    for n in (1, 2, 3):
        connector.push_fulfillment_order(samples.request(1000 + n))
        fake.ship(f"shop:{1000 + n}", tracking=f"94{n}", ship_date="2024-06-01", create_date=LABELLED)
    old = fake.shipments[0]
    old["shipDate"] = "2024-05-20"  # shipped before the window: only its void brings it back
    fake.void(old["shipmentId"], datetime(2024, 6, 1, 17, 0, tzinfo=UTC))
    pages = list(connector.pull_shipments(pull("2024-06-01T18:00:00Z")))
    assert [len(p.records) for p in pages] == [2, 1]
    assert [p.cursor for p in pages] == [None, "2024-06-01T19:00:00Z"]
    records = [r for p in pages for r in p.records]
    assert {r.stream for r in records} == {SHIPMENTS}
    mapped = [connector.map_shipment(r) for r in records]
    assert [(m.order_key, m.voided) for m in mapped] == [
        ("shop:1002", False),
        ("shop:1003", False),
        ("shop:1001", True),
    ]
    assert len([q for q in fake.log if q[2] == "/shipments"]) == 2  # one page a pass


def test_pull_asks_by_pacific_date_with_items(build: Build) -> None:
    connector, _, _ = build()
    seen = []
    original = connector.client.http.request

    def spy(method, url, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(kwargs.get("params"))
        return original(method, url, **kwargs)

    connector.client.http.request = spy  # type: ignore[method-assign]
    list(connector.pull_shipments(pull("2024-06-01T03:00:00Z")))  # 02:50 UTC less overlap = May 31 in LA
    assert seen[0]["shipDateStart"] == "2024-05-31" and seen[0]["includeShipmentItems"] == "true"
    assert seen[1]["voidDateStart"] == "2024-05-31"


def test_cancelled_at_shipstation_comes_back_as_provider_orders(build: Build) -> None:
    connector, fake, _ = build()
    connector.push_fulfillment_order(samples.request(1001))
    connector.push_fulfillment_order(samples.request(1002))
    fake.cancel("shop:1001")
    fake.orders["ss-other"] = {**fake.orders["shop:1002"], "orderKey": "ss-other", "orderStatus": "cancelled"}
    pages = list(connector.pull_provider_orders(pull("2024-06-01T18:00:00Z")))
    records = [r for p in pages for r in p.records]
    assert [r.stream for r in records] == [PROVIDER_ORDERS]  # another store's order is not the hub's
    status = connector.map_provider_order(records[0])
    assert status.cancelled and status.order_key == "shop:1001"


def test_bad_credentials_are_fatal(build: Build) -> None:
    connector, _, _ = build(api_secret="wrong-secret")
    with pytest.raises(Fatal, match="refused the credentials"):
        connector.push_fulfillment_order(samples.request(1001))


def test_a_429_is_rate_limited_with_the_reset_and_the_next_call_waits(build: Build) -> None:
    connector, fake, clock = build()
    fake.count, fake.window_start = fake.limit, clock.now  # another client spent this window
    with pytest.raises(RateLimited) as caught:
        connector.push_fulfillment_order(samples.request(1001))
    assert caught.value.retry_after == 60.0
    connector.push_fulfillment_order(samples.request(1001))  # the limiter waits out the reset first
    assert clock.sleeps == [60.0] and fake.creates == 1


def test_forty_requests_a_minute_hold_with_no_429(build: Build) -> None:
    connector, fake, clock = build()
    for n in range(30):  # 60 requests: a read and a createorder each
        connector.push_fulfillment_order(samples.request(2000 + n))
    assert [q for q in fake.log if q[3] == 429] == []
    assert len(fake.log) == 60 and len(clock.sleeps) == 1


def test_an_international_order_reaches_shipstation_with_its_customs(build: Build) -> None:
    connector, fake, _ = build()
    connector.push_fulfillment_order(samples.request(4004, international=True))
    stored = fake.orders["shop:4004"]
    assert stored["shipTo"]["country"] == "CA"
    assert [(i["harmonizedTariffCode"], i["value"]) for i in stored["internationalOptions"]["customsItems"]] == [
        ("610910", Decimal("19.90")),
        ("691200", Decimal("0.10")),
    ]


def test_one_limiter_per_connector_shared_by_every_call() -> None:

    one = ShipStationConnector(SETTINGS, ConnectorContext(channel="a"))
    two = ShipStationConnector(SETTINGS, ConnectorContext(channel="b"))
    assert one.client.limiter is one.limiter and one.limiter is not two.limiter


def test_an_answer_echoing_the_credentials_is_redacted() -> None:

    echo = httpx.MockTransport(lambda r: httpx.Response(400, json={"Message": f"bad key {KEY} / {SECRET} ?k={KEY}"}))
    connector = ShipStationConnector(SETTINGS, ConnectorContext(channel="s", transport=httpx.Client(transport=echo)))
    with pytest.raises(Skippable) as caught:
        connector.push_fulfillment_order(samples.request(1001))
    assert KEY not in str(caught.value) and SECRET not in str(caught.value) and "<redacted>" in str(caught.value)
