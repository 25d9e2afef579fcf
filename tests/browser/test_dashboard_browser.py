"""The dashboard in a real browser: log in, see why an order is held, retry a dead write, replay a quarantined
record after fixing its cause, resume a stopped channel. Every step waits on what the page shows."""

from __future__ import annotations

import re
from typing import Any

import pytest
from browser_helpers import Site, screenshot

from channelhub.services.channels import stop_channel

try:
    from playwright.sync_api import expect
except ImportError:  # the `browser` fixture says why: a skip here, a failure under CI
    expect = None
from dashboard_seed import DEAD_ERROR, HOSTILE, TOKEN, fix_quarantine

pytestmark = pytest.mark.browser


def log_in(page: Any, path: str = "/") -> None:
    """Open `path`, be sent to the login form, log in with the token, land back on `path`."""
    page.goto(path)
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.get_by_label("Token").fill(TOKEN)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("button", name="Log out")).to_be_visible()


def test_a_wrong_token_is_refused(page: Any) -> None:
    page.goto("/orders")
    page.get_by_label("Token").fill("not-the-token-at-all-0000")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_contain_text("not the token")
    expect(page.get_by_role("button", name="Log out")).to_have_count(0)


def test_log_in_and_see_a_held_orders_reason_on_the_list_and_its_page(
    page: Any, site: Site, dialogs: list[str]
) -> None:
    log_in(page, "/orders")
    page.get_by_label("Hold").select_option("stock")
    page.get_by_role("button", name="Filter").click()
    row = page.locator("table.orders tbody tr", has_text="shop:W-2")
    expect(row).to_contain_text("on_hold (stock)")
    expect(row.locator("td.reason")).to_contain_text("TEA-9")
    expect(page.locator("table.orders tbody tr")).to_have_count(1)
    screenshot(page, "held-orders-list")
    row.get_by_role("link", name="shop:W-2").click()
    expect(page.locator("h1")).to_contain_text("shop:W-2")
    expect(page.locator("dl.facts")).to_contain_text("TEA-9")
    expect(page.locator("table.timeline")).to_contain_text("on_hold")
    # The channel's hostile hold reason is text on the page, and ran nothing.
    page.goto(f"/orders/{site.seeded.held_hostile}")
    expect(page.locator("dl.facts dd.reason")).to_contain_text(HOSTILE)
    assert dialogs == []


def test_retry_a_dead_write_and_see_it_pending(page: Any, site: Site) -> None:
    log_in(page, "/outbox?status=dead")
    row = page.locator(f"#write-{site.seeded.dead_write}")
    expect(row.locator("td.status")).to_have_text("dead")
    expect(row.locator("td.reason")).to_have_text(DEAD_ERROR)
    screenshot(page, "dead-write-before-retry")
    row.get_by_role("button", name="Retry").click()
    expect(page.get_by_role("status")).to_contain_text("1 dead write(s) queued again")
    page.get_by_label("Status").select_option("pending")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator(f"#write-{site.seeded.dead_write} td.status")).to_have_text("pending")


def test_replay_a_quarantined_record_after_fixing_it_and_see_the_order(page: Any, site: Site) -> None:
    log_in(page, "/quarantine")
    record = page.locator(f"#record-{site.seeded.quarantined}")
    expect(record).to_contain_text("no mapping for SKU OLD-SKU")
    record.get_by_role("button", name="Replay").click()
    expect(page.get_by_role("status")).to_contain_text("replayed 1: applied 0, still quarantined 1")
    fix_quarantine(site.seeded)
    page.locator(f"#record-{site.seeded.quarantined}").get_by_role("button", name="Replay").click()
    expect(page.get_by_role("status")).to_contain_text("replayed 1: applied 1, still quarantined 0")
    expect(page.get_by_text("Nothing in quarantine.")).to_be_visible()
    screenshot(page, "replayed")
    page.get_by_role("link", name="Orders").click()
    page.get_by_label("Search").fill("W-3")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("table.orders tbody tr", has_text="shop:W-3")).to_have_count(1)


def test_resume_a_stopped_channel(page: Any, site: Site) -> None:
    stop_channel(site.seeded.hub, "shop", "HTTP 401: bad credentials")
    log_in(page, "/channels")
    row = page.locator("#channel-shop")
    expect(row).to_contain_text("HTTP 401: bad credentials")
    row.get_by_role("button", name="Resume").click()
    expect(page.get_by_role("status")).to_contain_text("shop resumed")
    expect(page.locator("#channel-shop")).to_contain_text("running")
    expect(page.get_by_role("button", name="Resume")).to_have_count(0)


def test_the_overview_draws_both_charts_and_logout_ends_the_session(page: Any) -> None:
    log_in(page, "/")
    expect(page.locator("svg.chart")).to_have_count(2)
    expect(page.locator("a.figure", has_text="on hold")).to_contain_text("2")
    screenshot(page, "overview")
    page.get_by_role("button", name="Log out").click()
    expect(page.get_by_label("Token")).to_be_visible()
    page.goto("/outbox")
    expect(page.get_by_label("Token")).to_be_visible()
