"""The connector against the hand-written EasyPost cassettes (tests/cassettes/easypost, written by write.py from
EasyPost's documented shapes; record mode none: a request a cassette does not hold fails the test)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from ep_helpers import API_KEY, CASSETTES, cassette, connector

from channelhub.errors import Fatal, RateLimited, Retryable, Skippable
from channelhub.ports import PullRequest, TrackerRequest

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)
UPS = TrackerRequest(carrier="ups", tracking_number="1Z999AA10123456784", idempotency_key="tracker:ship-1")


def test_no_cassette_holds_a_credential() -> None:
    for path in CASSETTES.glob("*.yaml"):
        text = path.read_text()
        assert API_KEY not in text and "authorization" not in text.lower(), path.name


def test_create_with_a_carrier_maps_it_both_ways_and_a_repeat_gets_the_first_tracker() -> None:
    ep = connector(carriers={"ups": "UPS"})
    with cassette(CASSETTES / "create_with_carrier.yaml") as tape:
        first = ep.create_tracker(UPS)
        again = ep.create_tracker(UPS)
        assert tape.all_played
    assert [r.body for r in tape.requests] == [
        b'{"tracker": {"tracking_code": "1Z999AA10123456784", "carrier": "UPS"}}'
    ] * 2
    assert first == again and first.tracker_id == "trk_ups_1"
    assert first.carrier == "ups"  # EasyPost's "UPS" read back as the hub's name
    # Events sorted by the carrier's time, converted from the place's offset (-04:00) to UTC.
    assert [e.occurred_at for e in first.events] == [
        datetime(2024, 5, 30, 9, 0, tzinfo=UTC),
        datetime(2024, 6, 1, 0, 5, tzinfo=UTC),
        datetime(2024, 6, 1, 2, 10, tzinfo=UTC),
    ]
    assert first.status_at == datetime(2024, 6, 1, 2, 10, tzinfo=UTC)
    assert first.events[-1].location == "ATLANTA, GA, US" and first.events[0].location == ""


def test_paging_follows_before_id_and_keeps_what_changed_since_the_cursor_less_overlap() -> None:
    ep = connector(page_size=2)
    request = PullRequest(cursor="2024-06-01T12:00:00Z", overlap=timedelta(minutes=5), now=NOW)
    with cassette(CASSETTES / "list_paging.yaml") as tape:
        pages = list(ep.pull_tracking(request))
        assert tape.all_played
    assert [[r.external_id for r in p.records] for p in pages] == [["trk_a"], ["trk_c"]]  # trk_b: 11:00 < 11:55
    assert [p.cursor for p in pages] == [None, "2024-06-01T12:30:00Z"]  # only the last page moves it
    assert "before_id=trk_b" in tape.requests[1].uri
    assert all(ep.map_tracking(r).status == "in_transit" for p in pages for r in p.records)


def test_a_first_pull_takes_every_tracker_of_the_window() -> None:
    ep = connector(page_size=2)
    with cassette(CASSETTES / "list_paging.yaml"):
        pages = list(ep.pull_tracking(PullRequest(cursor=None, overlap=timedelta(minutes=5), now=NOW)))
    assert [r.external_id for p in pages for r in p.records] == ["trk_a", "trk_b", "trk_c"]
    assert pages[-1].cursor == "2024-06-01T12:30:00Z"


def test_a_refused_key_stops_the_channel() -> None:
    with cassette(CASSETTES / "unauthorized.yaml"), pytest.raises(Fatal) as caught:
        connector(carriers={"ups": "UPS"}).create_tracker(UPS)
    assert "HTTP 401" in str(caught.value) and "APIKEY.INACTIVE" in str(caught.value)
    assert "settings.api_key" in str(caught.value) and API_KEY not in str(caught.value)


def test_an_invalid_code_is_refused_with_easyposts_reason() -> None:
    bad = TrackerRequest(carrier="USPS", tracking_number="NOT-A-CODE", idempotency_key="tracker:ship-2")
    with cassette(CASSETTES / "invalid_code.yaml"), pytest.raises(Skippable) as caught:
        connector().create_tracker(bad)
    text = str(caught.value)
    assert "HTTP 422" in text and "tracking_code: is not a valid USPS code" in text
    assert "tracker:ship-2" in text and "NOT-A-CODE" in text  # the outbox row and the parcel


def test_an_unknown_tracker_is_skippable() -> None:
    with cassette(CASSETTES / "unknown_tracker.yaml"), pytest.raises(Skippable, match="NOT_FOUND"):
        connector().get_tracker("trk_gone")


def test_throttling_says_when_to_come_back() -> None:
    with cassette(CASSETTES / "rate_limited.yaml"), pytest.raises(RateLimited) as caught:
        connector(carriers={"ups": "UPS"}).create_tracker(UPS)
    assert caught.value.retry_after == 7.0


def test_a_server_error_is_retried_later() -> None:
    with cassette(CASSETTES / "server_error.yaml"), pytest.raises(Retryable) as caught:
        connector().get_tracker("trk_ups_1")
    assert not isinstance(caught.value, RateLimited) and "HTTP 503" in str(caught.value)
