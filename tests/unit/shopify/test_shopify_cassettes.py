"""The connector against recorded Shopify answers (vcrpy, record mode none, matched on method, URL and body)."""

from __future__ import annotations

import json

import httpx
import pytest
from channelhub_connectors.shopify import queries

from channelhub.errors import Fatal, RateLimited, Retryable, Skippable
from conftest import CASSETTES, replay


def _bodies(cassette) -> list[dict]:
    return [json.loads(r.body) for r in cassette.requests if r.method == "POST"]


def test_paging_follows_end_cursors_and_takes_the_greatest_updated_at_as_cursor() -> None:
    pages, _, _, cassette = replay("paging")
    assert [len(p.records) for p in pages] == [2, 1]
    # the fake returns orders by id descending, not by updatedAt: the cursor is still the maximum seen
    assert pages[0].cursor == "2026-03-03T10:00:00Z" and pages[1].cursor == "2026-03-03T10:00:00Z"
    bodies = _bodies(cassette)
    assert bodies[0]["variables"] == {"after": None, "first": 2, "query": None}
    assert bodies[1]["variables"]["after"] == "2"


def test_incremental_pull_asks_from_the_cursor_less_the_overlap() -> None:
    pages, _, _, cassette = replay("incremental")
    assert _bodies(cassette)[0]["variables"]["query"] == "updated_at:>'2026-03-02T09:55:00Z'"
    assert [r.external_id for p in pages for r in p.records] == ["820003", "820002"]


def test_bulk_backfill_runs_polls_and_joins_children_to_their_order() -> None:
    pages, connector, clock, cassette = replay("bulk_backfill")
    ops = [
        b["query"].split("(")[0].split()[-1] if b["query"].startswith(("query", "mutation")) else "?"
        for b in _bodies(cassette)
    ]
    assert ops == ["OrdersCount", "BulkRun", "BulkStatus", "BulkStatus"]
    assert cassette.requests[-1].uri == "https://acme.myshopify.com/bulk/1.jsonl"
    records = [r for p in pages for r in p.records]
    assert len(records) == 3 and all(r.problem is None for r in records)
    order = connector.map_order(records[0])
    assert [line.sku for line in order.lines] == ["SKU-A1", "SKU-B"]
    assert order.shipping_lines[0].code == "STD" and order.discounts[0].code == "SAVE5"
    assert pages[-1].cursor == "2026-03-03T10:00:00Z"
    assert clock.sleeps == [5.0]  # one poll interval between RUNNING and COMPLETED


def test_stock_push_stale_resend_drift_and_user_errors() -> None:
    results, _, _, cassette = replay("stock_push")
    by_key = {r.idempotency_key: r for r in results}
    assert by_key["stock-k1"].ok and by_key["stock-k1"].confirmed_quantity == 8
    assert by_key["stock-k2"].ok and by_key["stock-k2"].confirmed_quantity == 3  # stale, lower: re-sent against 7
    assert not by_key["stock-k3"].ok and by_key["stock-k3"].retryable and "drift" in by_key["stock-k3"].error
    # not stocked at the location: from 2026-10 Shopify sets it there all the same (no compare: nothing stored)
    assert by_key["stock-k4"].ok and by_key["stock-k4"].confirmed_quantity == 1
    assert not by_key["stock-k5"].ok and "matches no Shopify variant" in by_key["stock-k5"].error
    k6 = by_key["stock-k6"]
    assert not k6.ok and not k6.retryable and "NON_MUTABLE_INVENTORY_ITEM" in (k6.error or "")
    sets = [b for b in _bodies(cassette) if "inventorySetQuantities" in b["query"]]
    assert len(sets) == 2
    for body in sets:
        assert "@idempotent(key: $key)" in body["query"]
        assert body["variables"]["input"]["name"] == "available"
        assert body["variables"]["input"]["referenceDocumentUri"].startswith("channelhub://outbox/")
        assert all("changeFromQuantity" in q for q in body["variables"]["input"]["quantities"])
    first = {q["inventoryItemId"]: q["changeFromQuantity"] for q in sets[0]["variables"]["input"]["quantities"]}
    assert first == {
        "gid://shopify/InventoryItem/9001": 10,
        "gid://shopify/InventoryItem/9002": 5,
        "gid://shopify/InventoryItem/9003": 4,
        "gid://shopify/InventoryItem/9004": None,
        "gid://shopify/InventoryItem/9005": 6,
    }
    second = sets[1]["variables"]["input"]["quantities"]
    assert [(q["inventoryItemId"], q["quantity"], q["changeFromQuantity"]) for q in second] == [
        ("gid://shopify/InventoryItem/9001", 8, 10),
        ("gid://shopify/InventoryItem/9002", 3, 7),
        ("gid://shopify/InventoryItem/9004", 1, None),
    ]


def test_fulfilment_with_tracking_and_a_retry_that_sends_nothing() -> None:
    _, _, _, cassette = replay("fulfilment")
    creates = [b for b in _bodies(cassette) if "fulfillmentCreate" in b["query"]]
    assert len(creates) == 1
    f = creates[0]["variables"]["fulfillment"]
    assert f["trackingInfo"] == {"company": "UPS", "number": "1Z999", "url": "https://ups.example/1Z999"}
    assert f["notifyCustomer"] is True
    assert f["lineItemsByFulfillmentOrder"] == [{"fulfillmentOrderId": "gid://shopify/FulfillmentOrder/31"}]


def test_partial_fulfilment_sends_only_its_lines_and_quantities() -> None:
    result, _, _, cassette = replay("partial_fulfilment")
    assert result is None
    creates = [
        b["variables"]["fulfillment"]["lineItemsByFulfillmentOrder"]
        for b in _bodies(cassette)
        if "fulfillmentCreate" in b["query"]
    ]
    assert creates == [
        [
            {
                "fulfillmentOrderId": "gid://shopify/FulfillmentOrder/31",
                "fulfillmentOrderLineItems": [{"id": "gid://shopify/FulfillmentOrderLineItem/41", "quantity": 1}],
            }
        ],
        [
            {
                "fulfillmentOrderId": "gid://shopify/FulfillmentOrder/31",
                "fulfillmentOrderLineItems": [
                    {"id": "gid://shopify/FulfillmentOrderLineItem/41", "quantity": 1},
                    {"id": "gid://shopify/FulfillmentOrderLineItem/42", "quantity": 1},
                ],
            }
        ],
    ]


def test_throttled_is_rate_limited_at_once_with_the_buckets_wait_and_the_engines_retry_succeeds() -> None:
    retried, connector, clock, cassette = replay("throttled_then_success")
    assert len(cassette.requests) == 2 and connector.client.throttled == 1
    # the throttled answer said 0 available at 100 points/s and the query costs 60: retry after 0.6 s
    assert isinstance(retried.first, RateLimited) and retried.first.retry_after == pytest.approx(0.6)
    assert clock.sleeps == []  # nothing slept in-process: the engine waited (the scenario advanced the clock)
    assert [r.external_id for p in retried.result for r in p.records] == ["820001"]


def test_server_error_raises_retryable_at_once_and_the_engines_retry_succeeds() -> None:
    retried, _, clock, cassette = replay("server_error_then_success")
    assert [r["status"]["code"] for r in cassette.responses] == [503, 200]
    assert type(retried.first) is Retryable and "503" in str(retried.first)
    assert clock.sleeps == [] and len(retried.result) == 1


def test_unauthorized_is_fatal_and_says_the_token_is_wrong() -> None:
    result, _, _, _ = replay("unauthorized")
    assert isinstance(result, Fatal)
    assert "access token was refused" in str(result)


def test_cassettes_hold_no_token_and_the_real_host() -> None:
    for path in CASSETTES.glob("*.yaml"):
        text = path.read_text()
        assert "shpat_" not in text, path.name
        assert "127.0.0.1" not in text and "https://acme.myshopify.com/admin/api/2026-10/graphql.json" in text


def test_a_shipment_line_that_does_not_fit_is_skippable(fake_connector) -> None:
    from scenarios import _fulfilment_orders, fulfilment

    from channelhub.model.shipments import ShipmentLine

    connector, shop, _ = fake_connector()
    _fulfilment_orders(shop)
    with pytest.raises(Skippable, match="more than remains open"):
        connector.push_fulfillment(fulfilment("k", "T1", (ShipmentLine(sku="SKU-B", quantity=5),)))
    assert shop.fulfillments == {}


def test_the_throttle_bench_passes_at_a_small_size() -> None:
    import subprocess
    import sys

    bench = CASSETTES.parents[2] / "bench" / "shopify_throttle.py"
    done = subprocess.run([sys.executable, str(bench), "--seconds", "30"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 after the first second" in done.stdout


def test_a_marketplace_sale_moves_shopify_stock_in_one_set_call_per_250_skus_and_none_when_unchanged() -> None:
    reports, _, _, cassette = replay("marketplace_sale")
    counted_in, sale, unchanged = reports
    sets = [b["variables"]["input"]["quantities"] for b in _bodies(cassette) if "inventorySetQuantities" in b["query"]]
    # 300 SKUs counted in (2 calls), then one unit of each sold on the marketplace (2 calls), then nothing.
    assert [len(q) for q in sets] == [250, 50, 250, 50]
    assert counted_in.calls == 2 and sale.calls == 2 and unchanged.calls == 0
    assert {q["quantity"] for batch in sets[2:] for q in batch} == {9}
    assert {q["changeFromQuantity"] for batch in sets[2:] for q in batch} == {10}  # what Shopify confirmed before


@pytest.mark.parametrize("status", [200, 429])
def test_throttled_with_either_status_is_rate_limited_then_the_retry_succeeds(fake_connector, status: int) -> None:
    from datetime import timedelta

    from scenarios import NOW

    from channelhub.ports import PullRequest
    from doubles.shopify import samples
    from doubles.shopify.fake_shop import FakeShop

    shop = FakeShop(orders=[samples.graphql_order(1)], throttle_status=status, faults=["throttled"])
    connector, shop, clock = fake_connector(shop)
    request = PullRequest("2026-01-01T00:00:00Z", timedelta(minutes=5), NOW)
    with pytest.raises(RateLimited) as caught:
        list(connector.pull_orders(request))
    assert caught.value.retry_after and caught.value.retry_after > 0 and clock.sleeps == []
    clock.advance(caught.value.retry_after)  # the engine's wait
    pages = list(connector.pull_orders(request))
    assert [r.external_id for p in pages for r in p.records] == ["820001"]
    assert connector.client.throttled == 1 and clock.sleeps == []


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("connection refused"), httpx.ReadTimeout("read timed out")],
    ids=["connection", "timeout"],
)
def test_network_failures_are_retryable_at_once_without_a_second_request(fake_connector, failure) -> None:
    calls = []

    def refuse(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise failure

    connector, _, clock = fake_connector()
    connector.client.http = httpx.Client(transport=httpx.MockTransport(refuse))
    with pytest.raises(Retryable):
        connector.client.execute(queries.ORDERS_COUNT, {"query": None})
    assert len(calls) == 1 and clock.sleeps == []


def test_a_pacing_wait_longer_than_max_wait_is_rate_limited_not_slept(fake_connector) -> None:
    connector, _, clock = fake_connector(max_throttle_wait=1.0)
    connector.client.bucket.available = 0.0  # 50 points needed at the cautious 50 points/s: a 1 s wait is allowed
    connector.client.bucket.restore_rate = 10.0  # now 5 s: more than max_wait
    with pytest.raises(RateLimited) as caught:
        connector.client.execute(queries.ORDERS_COUNT, {"query": None})
    assert caught.value.retry_after == pytest.approx(5.0) and clock.sleeps == []
