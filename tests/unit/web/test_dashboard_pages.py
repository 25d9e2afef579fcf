"""Every page renders what the database holds, and what came from a channel reaches the page escaped."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

import pytest
from starlette.testclient import TestClient
from web_helpers import log_in

from channelhub.model.shipments import Shipment
from channelhub.services.channels import stop_channel
from channelhub.services.orders import ship
from channelhub.sync.outbox import enqueue
from dashboard_seed import DEAD_ERROR, HOSTILE, TOKEN, Seeded


@pytest.fixture
def logged_in(dash: TestClient) -> TestClient:
    assert log_in(dash, TOKEN).status_code == 303
    return dash


def rows_of(html: str) -> list[str]:
    """The text of each table row of a page body, tags stripped, whitespace squeezed."""
    return [" ".join(unescape(re.sub(r"<[^>]+>", " ", row)).split()) for row in re.findall(r"<tr.*?</tr>", html, re.S)]


def test_overview_counts_holds_dead_writes_and_quarantine_and_draws_both_charts(logged_in: TestClient) -> None:
    page = logged_in.get("/").text
    text = " ".join(unescape(re.sub(r"<[^>]+>", " ", page)).split())
    assert "4 orders" not in text  # W-3 is quarantined, not an order
    assert "3 orders" in text and "2 on hold" in text and "1 dead writes" in text and "1 quarantined" in text
    assert "stock: 1" in text and "channel: 1" in text  # held by reason
    assert page.count("<svg") == 2
    assert "Orders per hour by channel" in page and "shop (3)" in page  # placed two hours ago: in the window
    assert "Stock movements per hour by kind" in page and "set (1)" in page


def test_orders_show_the_hold_reason_of_each_held_order(logged_in: TestClient, seeded: Seeded) -> None:
    rows = rows_of(logged_in.get("/orders").text)
    held = next(r for r in rows if "shop:W-2" in r)
    assert "on_hold (stock)" in held and "TEA-9" in held
    assert any("shop:W-1" in r and "confirmed" in r for r in rows)


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("hold=any", {"W-2", "W-4"}),
        ("hold=stock", {"W-2"}),
        ("hold=channel", {"W-4"}),
        ("state=confirmed", {"W-1"}),
        ("q=w-2", {"W-2"}),
        ("q=shop:W-4", {"W-4"}),
        ("q=%25", set()),  # a LIKE wildcard is searched for literally
        ("channel=shop&hold=any", {"W-2", "W-4"}),
    ],
)
def test_orders_filter(logged_in: TestClient, query: str, expected: set[str]) -> None:
    rows = rows_of(logged_in.get(f"/orders?{query}").text)
    found = {m for r in rows for m in re.findall(r"shop:(W-\d)", r)}
    assert found == expected


def test_an_unknown_filter_value_is_ignored_and_said_so(logged_in: TestClient) -> None:
    page = logged_in.get("/orders?state=lost&channel=nowhere").text
    assert "unknown state &#39;lost&#39; ignored" in page and "unknown channel &#39;nowhere&#39; ignored" in page
    assert "shop:W-1" in page


def test_the_order_page_has_lines_timeline_shipments_and_outbound_writes(logged_in: TestClient, seeded: Seeded) -> None:
    page = logged_in.get(f"/orders/{seeded.held_stock}").text
    assert "on_hold" in page and "TEA-9" in page
    rows = rows_of(page)
    assert any(r.startswith("1 (W-2-L1) TEA-9") and r.endswith("yes") for r in rows)  # the line
    assert any("on_hold" in r and "shop" in r for r in rows)  # the timeline's event
    assert "No shipments." in page and "No outbound writes for this order." in page
    by_ref = logged_in.get("/orders/shop:W-2")
    assert by_ref.status_code == 200 and "TEA-9" in by_ref.text


def test_an_unknown_order_is_a_404_page(logged_in: TestClient) -> None:
    answer = logged_in.get("/orders/shop:NOPE")
    assert answer.status_code == 404 and "no order" in answer.text


def test_a_hostile_hold_reason_is_escaped_everywhere(logged_in: TestClient, seeded: Seeded) -> None:
    for page in ("/orders", f"/orders/{seeded.held_hostile}", "/orders?q=W-4"):
        html = logged_in.get(page).text
        assert "<script>alert" not in html and "<img src=x" not in html, page
        assert "&lt;script&gt;alert(&#34;owned&#34;)&lt;/script&gt;" in html, page
    assert HOSTILE in " ".join(rows_of(logged_in.get("/orders?hold=channel").text))


def test_the_stock_page_shows_levels_and_what_the_channel_lists(logged_in: TestClient) -> None:
    rows = rows_of(logged_in.get("/stock").text)
    mug = next(r for r in rows if r.startswith("MUG-1"))
    # 5 on hand, 1 reserved (W-1), 4 available, safety 0; the hub would list 4, the channel confirmed nothing yet
    # and a write of 4 is queued.
    assert mug.startswith("MUG-1 5 1 4 0")
    assert "4 / - (queued 4)" in mug
    assert "No SKU matches" in logged_in.get("/stock?q=nothing").text


def test_the_channels_page_shows_a_stopped_channel_with_its_reason_and_a_resume_button(
    logged_in: TestClient, seeded: Seeded
) -> None:
    page = logged_in.get("/channels").text
    assert "running" in page and "/channels/shop/resume" not in page
    stop_channel(seeded.hub, "shop", "HTTP 401: bad credentials")
    page = logged_in.get("/channels").text
    row = next(r for r in rows_of(page) if r.startswith("shop"))
    assert "stopped" in row and "HTTP 401: bad credentials" in row
    assert 'action="/channels/shop/resume"' in page


def test_the_outbox_lists_dead_writes_with_their_error_and_retry_buttons(logged_in: TestClient, seeded: Seeded) -> None:
    page = logged_in.get("/outbox?status=dead").text
    row = next(r for r in rows_of(page) if r.startswith(str(seeded.dead_write)))
    assert "MUG-1 -> 5" in row and "dead" in row and DEAD_ERROR in row and "Retry" in row
    assert "Retry all dead (1)" in page
    pending = logged_in.get("/outbox?status=pending").text
    assert DEAD_ERROR not in pending


def test_the_quarantine_shows_each_record_and_why(logged_in: TestClient, seeded: Seeded) -> None:
    page = logged_in.get("/quarantine").text
    row = next(r for r in rows_of(page) if r.startswith(str(seeded.quarantined)))
    assert "orders/w-3.json" in row and "no mapping for SKU OLD-SKU" in row
    assert 'action="/quarantine/replay"' in page


def test_the_order_page_lists_its_shipments_and_its_outbound_writes(logged_in: TestClient, seeded: Seeded) -> None:
    shipment = Shipment(
        carrier="DHL", tracking_number="00340434", tracking_url="javascript:alert(1)",
        shipped_at=datetime.now(UTC), lines=(),
    )  # fmt: skip
    result = ship(seeded.hub, "shop:W-1", shipment)
    assert result.created
    with seeded.hub.db.transaction() as session:
        enqueue(
            session, channel="shop", kind="fulfillment", subject="W-1", cause="test",
            payload={"order_external_id": "W-1", "shipment": {"carrier": "DHL", "tracking_number": "00340434",
                                                               "lines": [{"sku": "MUG-1", "quantity": 1}]}},
        )  # fmt: skip
    page = logged_in.get("/orders/shop:W-1").text
    rows = rows_of(page)
    assert any(r.startswith("2") and "DHL" in r and "00340434" in r for r in rows)  # the shipment
    assert any("fulfillment DHL 00340434 for W-1 (MUG-1 x1) pending" in r for r in rows)  # the write
    assert 'href="javascript:' not in page  # a tracking URL that is not http(s) is not a link
