"""map_tracking: every status of EasyPost's vocabulary, the carrier's time kept in UTC, and refusals that name
the field. Plus the settings' own checks."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest
from channelhub_connectors.easypost.config import EasyPostSettings
from ep_helpers import connector
from pydantic import ValidationError

from channelhub.errors import MappingError
from channelhub.model.tracking import TrackingStatus
from channelhub.ports import RawRecord

EVERY_STATUS = [
    "pre_transit",
    "in_transit",
    "out_for_delivery",
    "available_for_pickup",
    "delivered",
    "return_to_sender",
    "failure",
    "cancelled",
    "error",
    "unknown",
]


def tracker(**fields: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "id": "trk_map_1",
        "object": "Tracker",
        "tracking_code": "EZ4000000004",
        "carrier": "USPS",
        "status": "in_transit",
        "est_delivery_date": None,
        "public_url": "https://track.easypost.com/x",
        "tracking_details": [
            {
                "status": "pre_transit",
                "message": "Label created",
                "datetime": "2024-06-01T08:00:00Z",
                "tracking_location": {"city": None, "state": None, "country": None, "zip": None},
            },
            {
                "status": "in_transit",
                "message": "Accepted",
                "datetime": "2024-06-01T10:30:00-05:00",
                "tracking_location": {"city": "DALLAS", "state": "TX", "country": "US", "zip": "75201"},
            },
        ],
    }
    base.update(fields)
    return base


def record(body: Any) -> RawRecord:
    text = body if isinstance(body, str) else json.dumps(body)
    return RawRecord("trackers", "unit sample", text, external_id="trk_map_1")


def test_the_vocabulary_is_the_models() -> None:
    assert sorted(EVERY_STATUS) == sorted(s.value for s in TrackingStatus)


@pytest.mark.parametrize("status", EVERY_STATUS)
def test_every_status_maps_onto_the_shipment(status: str) -> None:
    details = [{"status": status, "message": status, "datetime": "2024-06-02T09:00:00Z"}]
    update = connector().map_tracking(record(tracker(status=status, tracking_details=details)))
    assert update.status == TrackingStatus(status) and update.events[0].status == TrackingStatus(status)
    assert update.status.final == (status in {"delivered", "return_to_sender", "failure", "cancelled"})


def test_the_carriers_time_is_the_newest_event_in_utc() -> None:
    update = connector().map_tracking(record(tracker()))
    assert update.status_at == datetime(2024, 6, 1, 15, 30, tzinfo=UTC)  # 10:30 at -05:00
    assert all(e.occurred_at.utcoffset().total_seconds() == 0 for e in update.events)  # type: ignore[union-attr]
    assert [e.location for e in update.events] == ["", "DALLAS, TX, US"]  # no location: empty, not "None"


def test_events_are_ordered_by_time_whatever_order_easypost_lists_them() -> None:
    body = tracker()
    body["tracking_details"] = list(reversed(body["tracking_details"]))
    update = connector().map_tracking(record(body))
    assert [e.message for e in update.events] == ["Label created", "Accepted"]
    assert update.status_at == datetime(2024, 6, 1, 15, 30, tzinfo=UTC)


def test_an_event_without_a_location_or_with_a_partial_one() -> None:
    details = [
        {"status": "in_transit", "message": "Moving", "datetime": "2024-06-01T08:00:00Z"},
        {
            "status": "in_transit",
            "message": "Border",
            "datetime": "2024-06-01T09:00:00Z",
            "tracking_location": {"city": None, "state": None, "country": "CA"},
        },
    ]
    update = connector().map_tracking(record(tracker(tracking_details=details)))
    assert [e.location for e in update.events] == ["", "CA"]


def test_a_time_without_an_offset_is_read_as_utc() -> None:
    details = [{"status": "in_transit", "message": "x", "datetime": "2024-06-01T08:00:00"}]
    update = connector().map_tracking(record(tracker(tracking_details=details)))
    assert update.status_at == datetime(2024, 6, 1, 8, 0, tzinfo=UTC)


@pytest.mark.parametrize("details", [[], None], ids=["empty", "null"])
def test_a_tracker_without_tracking_details_has_no_status_time(details: Any) -> None:
    update = connector().map_tracking(record(tracker(status="unknown", tracking_details=details)))
    assert update.status == TrackingStatus.UNKNOWN and update.status_at is None and update.events == ()


def test_the_rest_of_the_report_is_kept() -> None:
    update = connector(carriers={"usps": "USPS"}).map_tracking(
        record(tracker(est_delivery_date="2024-06-04T00:00:00Z"))
    )
    assert update.carrier == "usps" and update.tracking_number == "EZ4000000004"
    assert update.tracker_id == "trk_map_1" and update.public_url == "https://track.easypost.com/x"
    assert update.est_delivery_at == datetime(2024, 6, 4, tzinfo=UTC)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("{not json", "not JSON"),
        ("[1, 2]", "not an object"),
        (tracker(object="Shipment"), "object"),
        (tracker(tracking_code=None), "tracking_code: missing"),
        (tracker(tracking_code="  "), "tracking_code: empty"),
        (tracker(status="lost_in_space"), "status: 'lost_in_space'"),
        (tracker(status=None), "status: None"),
        (tracker(tracking_details="soon"), "tracking_details: a str"),
        (tracker(tracking_details=["x"]), "tracking_details[0]: a str"),
        (tracker(tracking_details=[{"status": "in_transit"}]), "tracking_details[0].datetime: missing"),
        (
            tracker(tracking_details=[{"status": "in_transit", "datetime": "yesterday"}]),
            "tracking_details[0].datetime: 'yesterday'",
        ),
        (
            tracker(tracking_details=[{"status": "bogus", "datetime": "2024-06-01T00:00:00Z"}]),
            "tracking_details[0].status",
        ),
        (tracker(est_delivery_date="soon"), "est_delivery_date"),
        (tracker(carrier=7), "carrier: 7"),
        (tracker(tracking_code="X" * 201), "tracking_number"),
    ],
)
def test_a_malformed_body_is_refused_naming_the_field(body: Any, field: str) -> None:
    with pytest.raises(MappingError) as caught:
        connector().map_tracking(record(body))
    assert field in str(caught.value) and "unit sample" in str(caught.value)


def test_a_record_with_a_problem_is_refused_with_it() -> None:
    bad = RawRecord("trackers", "webhook evt_9", "x", problem="the webhook body is not a JSON object")
    with pytest.raises(MappingError, match="not a JSON object"):
        connector().map_tracking(bad)


def test_mapping_is_deterministic_across_instances() -> None:
    assert connector().map_tracking(record(tracker())) == connector().map_tracking(record(tracker()))


# --- settings ---------------------------------------------------------------------------------------------


def test_settings_defaults_and_secrets() -> None:
    settings = EasyPostSettings.model_validate({"api_key": "EZTK_x", "webhook_secret": "s"})
    assert settings.api_base == "https://api.easypost.com/v2" and settings.page_size == 100
    assert "EZTK_x" not in repr(settings) and "EZTK_x" not in str(settings.model_dump())


@pytest.mark.parametrize(
    "bad",
    [
        {"api_key": ""},
        {"api_key": "k", "api_base": "http://api.easypost.com/v2"},
        {"api_key": "k", "api_base": "ftp://x"},
        {"api_key": "k", "page_size": 101},
        {"api_key": "k", "poll_window_days": 0},
        {"api_key": "k", "unknown": 1},
    ],
)
def test_settings_refuse_what_cannot_work(bad: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        EasyPostSettings.model_validate(bad)


def test_a_loopback_sandbox_may_be_plain_http() -> None:
    settings = EasyPostSettings.model_validate({"api_key": "k", "api_base": "http://127.0.0.1:8080/v2/"})
    assert settings.api_base == "http://127.0.0.1:8080/v2"
