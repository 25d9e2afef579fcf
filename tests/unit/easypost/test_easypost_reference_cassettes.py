"""EasyPost's own recordings (EasyPost/easypost-python tests/cassettes, test mode, tracking code EZ1000000001)
replayed through the connector's tracker calls, unchanged and in place: matched on method, URL with query, and
body byte for byte, every recorded request made exactly once."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import yaml
from ep_helpers import cassette, connector, reference_dir

from channelhub.model.tracking import TrackingStatus
from channelhub.ports import PullRequest, TrackerRequest

NOW = datetime(2025, 3, 7, 12, 0, tzinfo=UTC)
TRACKER_ID = "trk_e7e8f143f3eb40d38be9562e3767c36a"


def _recorded_bodies(name: str) -> list[str | None]:
    data = yaml.safe_load((reference_dir() / name).read_text())
    return [i["request"]["body"] for i in data["interactions"]]


def test_create_sends_what_the_official_client_sent_and_maps_the_first_report() -> None:
    ep = connector()
    with cassette(reference_dir() / "test_tracker_create.yaml") as tape:
        update = ep.create_tracker(TrackerRequest(carrier="", tracking_number="EZ1000000001", idempotency_key="k1"))
        assert tape.all_played
        assert tape.requests[0].body == _recorded_bodies("test_tracker_create.yaml")[0].encode()
    assert update.tracker_id == TRACKER_ID
    assert (update.carrier, update.tracking_number, update.status) == ("USPS", "EZ1000000001", "pre_transit")
    # The carrier's time of the newest event, not the tracker's created_at/updated_at (2025-03-06T19:48:26Z).
    assert update.status_at == datetime(2025, 2, 7, 8, 25, 26, tzinfo=UTC)
    assert [(e.message, e.location) for e in update.events] == [
        ("Pre-Shipment Info Sent to USPS", ""),
        ("Shipping Label Created", "HOUSTON, TX"),
    ]
    assert update.est_delivery_at == datetime(2025, 3, 6, 19, 48, 26, tzinfo=UTC)
    assert update.public_url.startswith("https://track.easypost.com/")


def test_retrieve_after_create_reads_the_same_tracker() -> None:
    ep = connector()
    with cassette(reference_dir() / "test_tracker_retrieve.yaml") as tape:
        created = ep.create_tracker(TrackerRequest(carrier="", tracking_number="EZ1000000001", idempotency_key="k"))
        again = ep.get_tracker(created.tracker_id)
        assert tape.all_played
    assert [r.method for r in tape.requests] == ["POST", "GET"]
    assert again == created


def test_list_page_is_the_first_page_of_pull_tracking_and_names_the_next() -> None:
    """The recording is one page of five with has_more: the first page pull_tracking yields is exactly that
    request (page_size=5, no creation window), and the records it yields map. The generator asks for the
    next page (before_id = the last id) only when the engine takes it, which this test does not."""
    ep = connector(page_size=5, poll_window_days=None)
    with cassette(reference_dir() / "test_tracker_all.yaml") as tape:
        pages = ep.pull_tracking(PullRequest(cursor=None, overlap=timedelta(minutes=5), now=NOW))
        page = next(pages)
        assert tape.all_played
        assert tape.requests[0].uri == "https://api.easypost.com/v2/trackers?page_size=5"
    assert len(page.records) == 5 and page.cursor is None  # more pages follow: only the last carries the cursor
    updates = [ep.map_tracking(r) for r in page.records]
    assert all(u.status == TrackingStatus.PRE_TRANSIT and u.carrier == "USPS" for u in updates)
    assert [r.external_id for r in page.records] == [u.tracker_id for u in updates]
    assert {r.stream for r in page.records} == {"trackers"}
    assert json.loads(page.records[0].body)["id"] == "trk_977a3085fc654ae3955af46ac298e43c"
