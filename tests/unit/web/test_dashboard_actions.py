"""The dashboard's buttons change the database through the services, then show what they did once."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient
from web_helpers import csrf_of, log_in

from channelhub.services.channels import stop_channel
from channelhub.store.tables import ChannelStateRow, InboxRow, OrderRow, OutboxRow
from dashboard_seed import TOKEN, Seeded, fix_quarantine


@pytest.fixture
def logged_in(dash: TestClient) -> TestClient:
    assert log_in(dash, TOKEN).status_code == 303
    return dash


def post(client: TestClient, path: str, form: dict[str, str], page: str) -> str:
    """POST the form with the session's CSRF token as the page's form would; follow the redirect; the page."""
    answer = client.post(path, data={**form, "csrf": csrf_of(client, page)}, follow_redirects=False)
    assert answer.status_code == 303, answer.text
    return client.get(answer.headers["location"]).text


def outbox_status(seeded: Seeded, row_id: int) -> tuple[str, int]:
    with seeded.hub.db.transaction() as session:
        row = session.get(OutboxRow, row_id)
        assert row is not None
        return row.status, row.attempts


def test_retry_puts_the_dead_write_back_in_the_queue_and_says_so_once(logged_in: TestClient, seeded: Seeded) -> None:
    page = post(logged_in, "/outbox/retry", {"id": str(seeded.dead_write)}, "/outbox?status=dead")
    assert f"1 dead write(s) queued again: {seeded.dead_write}" in page
    assert outbox_status(seeded, seeded.dead_write) == ("pending", 0)
    assert "queued again" not in logged_in.get("/outbox").text  # a flash is shown once


def test_retry_of_a_write_that_is_not_dead_changes_nothing_and_says_which(
    logged_in: TestClient, seeded: Seeded
) -> None:
    page = post(logged_in, "/outbox/retry", {"id": "999999"}, "/outbox")
    assert "0 dead write(s) queued again" in page and "left as they were: 999999" in page
    assert outbox_status(seeded, seeded.dead_write)[0] == "dead"
    page = post(logged_in, "/outbox/retry", {"id": "1; DROP TABLE outbox"}, "/outbox")
    assert "nothing retried" in page


def test_retry_all_dead(logged_in: TestClient, seeded: Seeded) -> None:
    page = post(logged_in, "/outbox/retry", {"all": "1"}, "/outbox")
    assert "1 dead write(s) queued again" in page
    with seeded.hub.db.transaction() as session:
        assert session.scalars(select(OutboxRow).where(OutboxRow.status == "dead")).all() == []


def test_retry_from_the_order_page_goes_back_to_it(logged_in: TestClient, seeded: Seeded) -> None:
    form = {"id": str(seeded.dead_write), "back": f"/orders/{seeded.held_stock}"}
    answer = logged_in.post(
        "/outbox/retry", data={**form, "csrf": csrf_of(logged_in, "/outbox")}, follow_redirects=False
    )
    assert answer.headers["location"] == f"/orders/{seeded.held_stock}"
    offsite = logged_in.post(
        "/outbox/retry", data={"all": "1", "back": "//evil.example/", "csrf": csrf_of(logged_in, "/outbox")},
        follow_redirects=False,
    )  # fmt: skip
    assert offsite.headers["location"] == "/outbox?status=dead"


def test_replay_before_the_fix_keeps_the_record_and_after_it_applies_the_order(
    logged_in: TestClient, seeded: Seeded
) -> None:
    page = post(logged_in, "/quarantine/replay", {"id": str(seeded.quarantined)}, "/quarantine")
    assert "replayed 1: applied 0, still quarantined 1" in page
    fix_quarantine(seeded)
    page = post(logged_in, "/quarantine/replay", {"id": str(seeded.quarantined)}, "/quarantine")
    assert "replayed 1: applied 1, still quarantined 0" in page and "shop: 1 new order(s)" in page
    assert "Nothing in quarantine." in page
    with seeded.hub.db.transaction() as session:
        assert session.get(InboxRow, seeded.quarantined).status == "applied"  # type: ignore[union-attr]
        assert session.scalar(select(OrderRow.state).where(OrderRow.external_id == "W-3")) is not None
    page = post(logged_in, "/quarantine/replay", {"all": "1"}, "/quarantine")
    assert "nothing in quarantine to replay" in page  # the order is not applied twice


def test_replay_of_an_id_not_in_quarantine_says_so(logged_in: TestClient) -> None:
    page = post(logged_in, "/quarantine/replay", {"id": "424242"}, "/quarantine")
    assert "not in quarantine: 424242" in page


def test_resume_clears_the_stop_in_the_process_and_the_database(logged_in: TestClient, seeded: Seeded) -> None:
    stop_channel(seeded.hub, "shop", "HTTP 401: bad credentials")
    page = post(logged_in, "/channels/shop/resume", {}, "/channels")
    assert "shop resumed (it was stopped: HTTP 401: bad credentials)" in page
    assert seeded.hub.channels["shop"].stopped_reason == ""
    with seeded.hub.db.transaction() as session:
        assert session.scalar(select(ChannelStateRow.stopped_reason).where(ChannelStateRow.channel == "shop")) == ""
    assert "/channels/shop/resume" not in page
    again = post(logged_in, "/channels/shop/resume", {}, "/channels")
    assert "shop was not stopped: nothing to resume" in again


def test_resume_of_a_channel_the_config_lacks_is_a_message_not_a_crash(logged_in: TestClient) -> None:
    page = post(logged_in, "/channels/nowhere/resume", {}, "/channels")
    assert "cannot resume nowhere: no channel named &#39;nowhere&#39;" in page
