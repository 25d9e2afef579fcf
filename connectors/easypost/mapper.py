"""EasyPost's Tracker JSON -> the hub's `TrackingUpdate`. Pure: no I/O.

What is kept, and why:
- `status`: EasyPost's vocabulary is the hub's (model/tracking.py), so it maps one to one; a status outside it
  is refused (MappingError) rather than guessed, so the record is quarantined and replayed once the hub knows it.
- `status_at`: the carrier's time of the newest event (the greatest `tracking_details[].datetime`, not the last
  entry's: carriers do not promise an order), never the tracker's `updated_at`, which is when EasyPost heard.
  No events: None. EasyPost gives an event's time with the local offset when it knows the place and in UTC
  otherwise; every time is converted to UTC, and a time without an offset is read as UTC (EasyPost's default).
- `events`: every tracking detail, oldest first, with its location as "CITY, STATE, COUNTRY" (the parts the
  carrier gave).
- `est_delivery_at`, `public_url`, the tracker's id, its carrier (as the hub names it, through `hub_carrier`).

Every refusal is a MappingError naming the field ("tracking_details[1].datetime"), so a person can find it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from channelhub.errors import MappingError
from channelhub.model.tracking import TrackingEvent, TrackingStatus, TrackingUpdate
from channelhub.ports import RawRecord

STATUSES = frozenset(s.value for s in TrackingStatus)
STREAM = "trackers"


def tracker_record(tracker: Mapping[str, Any], source: str, delivery_id: str | None = None) -> RawRecord:
    """The raw record of stream "trackers" for one Tracker (polled or delivered): its JSON, keyed by its id."""
    tracker_id = tracker.get("id")
    return RawRecord(
        STREAM,
        source,
        json.dumps(tracker, ensure_ascii=False),
        external_id=tracker_id if isinstance(tracker_id, str) and tracker_id else None,
        delivery_id=delivery_id,
    )


def load_tracker(body: str | bytes | Mapping[str, Any], where: str) -> Mapping[str, Any]:
    """The Tracker object of a record body (JSON text or an already decoded mapping)."""
    if isinstance(body, Mapping):
        tracker: Any = body
    else:
        try:
            tracker = json.loads(body)
        except ValueError as exc:
            raise MappingError(f"the tracker body is not JSON: {exc}", where=where) from None
    if not isinstance(tracker, Mapping):
        raise MappingError(f"the tracker body is a JSON {type(tracker).__name__}, not an object", where=where)
    kind = tracker.get("object")
    if kind is not None and kind != "Tracker":
        raise MappingError(f"object: {kind!r}, not a Tracker", where=where)
    return tracker


def map_tracker(
    body: str | bytes | Mapping[str, Any], *, where: str, hub_carrier: Callable[[str], str] = str
) -> TrackingUpdate:
    """The TrackingUpdate of one EasyPost Tracker; MappingError (naming the field) when it does not map."""
    tracker = load_tracker(body, where)
    code = _text(tracker, "tracking_code", where, required=True)
    events = tuple(
        sorted(
            (_event(detail, n, where) for n, detail in enumerate(_details(tracker, where))),
            key=lambda event: event.occurred_at,
        )
    )
    try:
        return TrackingUpdate(
            carrier=hub_carrier(_text(tracker, "carrier", where)),
            tracking_number=code,
            status=_status(tracker.get("status"), "status", where),
            status_at=events[-1].occurred_at if events else None,
            tracker_id=_text(tracker, "id", where),
            public_url=_text(tracker, "public_url", where),
            est_delivery_at=_time(tracker.get("est_delivery_date"), "est_delivery_date", where, required=False),
            events=events,
        )
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "tracker"
        raise MappingError(f"{field}: {first['msg']}", where=where) from None


def location_of(place: Any) -> str:
    """ "CITY, STATE, COUNTRY" from a TrackingLocation, with only the parts the carrier gave ("" for none)."""
    if not isinstance(place, Mapping):
        return ""
    parts = (place.get(name) for name in ("city", "state", "country"))
    return ", ".join(str(part).strip() for part in parts if isinstance(part, str) and part.strip())


def parse_time(value: str) -> datetime:
    """An EasyPost time ("2025-02-06T19:48:26Z", with an offset or fractions) in UTC; ValueError if unreadable."""
    moment = datetime.fromisoformat(value.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)  # EasyPost: a time without a known place is given in UTC
    return moment.astimezone(UTC)


def _details(tracker: Mapping[str, Any], where: str) -> list[Any]:
    details = tracker.get("tracking_details")
    if details is None:
        return []
    if not isinstance(details, list):
        raise MappingError(f"tracking_details: a {type(details).__name__}, not a list", where=where)
    return details


def _event(detail: Any, n: int, where: str) -> TrackingEvent:
    field = f"tracking_details[{n}]"
    if not isinstance(detail, Mapping):
        raise MappingError(f"{field}: a {type(detail).__name__}, not an object", where=where)
    occurred = _time(detail.get("datetime"), f"{field}.datetime", where, required=True)
    assert occurred is not None  # required=True never answers None
    message = str(detail.get("message") or detail.get("description") or "").strip()
    try:
        return TrackingEvent(
            status=_status(detail.get("status"), f"{field}.status", where),
            message=message[:1000],
            occurred_at=occurred,
            location=location_of(detail.get("tracking_location"))[:300],
        )
    except ValidationError as exc:
        raise MappingError(f"{field}: {exc.errors()[0]['msg']}", where=where) from None


def _status(value: Any, field: str, where: str) -> TrackingStatus:
    if not isinstance(value, str) or value not in STATUSES:
        raise MappingError(f"{field}: {value!r} is not an EasyPost tracker status", where=where)
    return TrackingStatus(value)


def _time(value: Any, field: str, where: str, *, required: bool) -> datetime | None:
    if value is None or value == "":
        if required:
            raise MappingError(f"{field}: missing", where=where)
        return None
    if not isinstance(value, str):
        raise MappingError(f"{field}: {value!r} is not a time", where=where)
    try:
        return parse_time(value)
    except ValueError:
        raise MappingError(f"{field}: {value!r} is not an ISO 8601 time", where=where) from None


def _text(tracker: Mapping[str, Any], field: str, where: str, *, required: bool = False) -> str:
    value = tracker.get(field)
    if value is None:
        if required:
            raise MappingError(f"{field}: missing", where=where)
        return ""
    if not isinstance(value, str):
        raise MappingError(f"{field}: {value!r} is not text", where=where)
    if required and not value.strip():
        raise MappingError(f"{field}: empty", where=where)
    return value.strip()
