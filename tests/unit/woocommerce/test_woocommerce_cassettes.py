"""Replays of the recorded WooCommerce conversations (tests/cassettes/woocommerce, record mode "none": a request
the cassette does not hold fails the test). Regenerate them with tests/cassettes/woocommerce/record.py."""

from __future__ import annotations

import pytest
import vcr
from woo_helpers import CASSETTES, KEY, SECRET, connector
from woo_scenarios import NOW, OVERLAP, STOCK_UPDATES, cancellation, fulfilment

from channelhub.errors import Fatal, RateLimited, Skippable
from channelhub.model.orders import ChannelFulfillment, FinancialStatus
from channelhub.ports import PullRequest

REPLAY = vcr.VCR(
    record_mode="none",
    match_on=["method", "scheme", "host", "port", "path", "query", "body"],
    filter_headers=["authorization"],
    filter_query_parameters=["consumer_key", "consumer_secret"],
)


def cassette(name: str):  # type: ignore[no-untyped-def]
    return REPLAY.use_cassette(str(CASSETTES / f"{name}.yaml"), allow_playback_repeats=False)


def test_no_cassette_holds_a_credential() -> None:
    for path in CASSETTES.glob("*.yaml"):
        text = path.read_text()
        assert KEY not in text and SECRET not in text, path.name
        assert "authorization" not in text.lower(), f"{path.name} keeps an Authorization header"
        assert "consumer_key" not in text and "consumer_secret" not in text, path.name
        assert "127.0.0.1" not in text, f"{path.name} still names the recording host"


def test_paging_follows_total_pages_and_only_the_last_page_moves_the_cursor() -> None:
    woo = connector(per_page=2)
    with cassette("paging") as tape:
        pages = list(woo.pull_orders(PullRequest(None, OVERLAP, NOW)))
        assert tape.all_played
    assert [len(p.records) for p in pages] == [2, 2, 1]
    assert [p.cursor for p in pages] == [None, None, "2024-05-05T09:00:00Z"]
    orders = [woo.map_order(r) for p in pages for r in p.records]
    assert [o.external_id for o in orders] == ["101", "102", "103", "104", "105"]


def test_incremental_pull_asks_from_cursor_less_overlap_and_advances_it() -> None:
    woo = connector()
    with cassette("incremental") as tape:
        (page,) = list(woo.pull_orders(PullRequest("2024-05-03T09:10:00Z", OVERLAP, NOW)))
        assert tape.all_played
        assert "modified_after=2024-05-03T09%3A05%3A00" in tape.requests[0].uri
    assert page.cursor == "2024-05-03T09:20:00Z"
    orders = {o.external_id: o for o in (woo.map_order(r) for r in page.records)}
    assert set(orders) == {"103"}
    assert orders["103"].fulfillment == ChannelFulfillment.FULFILLED  # completed: shipped by the store


def test_cursor_never_goes_back_when_nothing_changed() -> None:
    woo = connector()
    with cassette("incremental"):
        (page,) = list(woo.pull_orders(PullRequest("2024-05-03T09:10:00Z", OVERLAP, NOW)))
    assert page.cursor is not None and page.cursor >= "2024-05-03T09:10:00Z"


def test_variation_lines_take_their_own_sku_then_the_parents() -> None:
    woo = connector()
    with cassette("variation_orders") as tape:
        (page,) = list(woo.pull_orders(PullRequest(None, OVERLAP, NOW)))
        assert tape.all_played  # variations 22 and 23 read, then product 20 for 23's missing SKU
    (order,) = [woo.map_order(r) for r in page.records]
    assert [(line.sku, line.variant_id, line.product_id, line.quantity) for line in order.lines] == [
        ("HOODIE-S", "21", "20", 1),
        ("HOODIE-M", "22", "20", 2),
        ("HOODIE", "23", "20", 1),
    ]
    # The lookups travel with the record, so a replay of the stored body maps the same without the network.
    assert connector(transport=None).map_order(page.records[0]) == order


def test_stock_batch_reads_per_item_errors_one_by_one() -> None:
    woo = connector()
    with cassette("stock_batch") as tape:
        results = {r.idempotency_key: r for r in woo.push_stock(STOCK_UPDATES)}
        assert tape.all_played
        posts = [r for r in tape.requests if r.method == "POST"]
    assert sorted(r.path for r in posts) == [
        "/wp-json/wc/v3/products/20/variations/batch",
        "/wp-json/wc/v3/products/batch",
    ]
    assert results["k-tee"].ok and results["k-tee"].confirmed_quantity == 7
    assert results["k-hs"].ok and results["k-hm"].ok and results["k-hm"].confirmed_quantity == 0
    mug = results["k-mug"]
    assert not mug.ok and not mug.retryable and "woocommerce_rest_invalid_product_stock" in (mug.error or "")
    poster = results["k-poster"]
    assert not poster.ok and not poster.retryable and "manage_stock" in (poster.error or "")
    assert not results["k-nope"].ok and "neither a product nor a variation" in (results["k-nope"].error or "")


def test_tracking_by_extension_then_completed_and_a_retry_writes_nothing() -> None:
    woo = connector(shipment_tracking=True)
    with cassette("tracking_extension") as tape:
        woo.push_fulfillment(fulfilment(301))
        woo.push_fulfillment(fulfilment(301))
        assert tape.all_played
        writes = [(r.method, r.path) for r in tape.requests if r.method in ("POST", "PUT")]
    assert writes == [
        ("POST", "/wp-json/wc-shipment-tracking/v3/orders/301/shipment-trackings"),
        ("PUT", "/wp-json/wc/v3/orders/301"),
    ]


def test_tracking_by_customer_note_then_completed_and_a_retry_writes_nothing() -> None:
    woo = connector()
    with cassette("tracking_note") as tape:
        woo.push_fulfillment(fulfilment(302))
        woo.push_fulfillment(fulfilment(302))
        assert tape.all_played
        writes = [r for r in tape.requests if r.method in ("POST", "PUT")]
    assert [(r.method, r.path) for r in writes] == [
        ("POST", "/wp-json/wc/v3/orders/302/notes"),
        ("PUT", "/wp-json/wc/v3/orders/302"),
    ]
    import json

    note = json.loads(writes[0].body)
    assert note["customer_note"] is True
    assert "Colissimo" in note["note"] and "6A12345678901" in note["note"] and "laposte.fr" in note["note"]


def test_429_is_rate_limited_with_retry_after_then_the_retry_succeeds() -> None:
    woo = connector()
    with cassette("rate_limited") as tape:
        with pytest.raises(RateLimited) as caught:
            list(woo.pull_orders(PullRequest(None, OVERLAP, NOW)))
        assert caught.value.retry_after == 7
        (page,) = list(woo.pull_orders(PullRequest(None, OVERLAP, NOW)))
        assert tape.all_played
    assert woo.map_order(page.records[0]).financial_status == FinancialStatus.PAID


def test_401_stops_the_channel_with_a_message_about_the_keys() -> None:
    woo = connector(query_string_auth=True)
    with cassette("unauthorized"), pytest.raises(Fatal) as caught:
        list(woo.pull_orders(PullRequest(None, OVERLAP, NOW)))
    message = str(caught.value)
    assert "401" in message and "consumer key and secret" in message and "Read/Write" in message
    assert SECRET not in message


def test_cancellation_sets_cancelled_once_and_a_completed_order_is_skippable() -> None:
    woo = connector()
    with cassette("cancellation") as tape:
        woo.push_cancellation(cancellation(401))
        woo.push_cancellation(cancellation(401))  # the retry: reads cancelled, sends nothing
        woo.push_cancellation(cancellation(403))  # cancelled in the admin already
        with pytest.raises(Skippable, match="'completed'"):
            woo.push_cancellation(cancellation(402))
        assert tape.all_played
        writes = [(r.method, r.path, r.body) for r in tape.requests if r.method != "GET"]
    assert writes == [("PUT", "/wp-json/wc/v3/orders/401", b'{"status": "cancelled"}')]
