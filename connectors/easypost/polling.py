"""The polling safety net: the trackers EasyPost updated since the cursor, a page at a time.

EasyPost lists trackers newest *created* first and filters a list by creation time only (`start_datetime`,
`end_datetime`) and by id (`before_id`); nothing filters by update. So the job reads every tracker created in
the last `poll_window_days` (all of them when that is None), paging with `before_id` = the last id of the page
before, as EasyPost's pagination and the official client's `get_next_page` do, and keeps those whose
`updated_at` is at or after the cursor less the overlap. The cursor is the greatest `updated_at` seen; since the
pages are not in update order, only the last page carries it (an interrupted pull starts again from the old one:
the engine's apply is idempotent, so a repeat costs nothing but time).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any

from channelhub_connectors.easypost.client import EasyPostClient
from channelhub_connectors.easypost.mapper import parse_time, tracker_record

from channelhub.errors import Fatal
from channelhub.ports import PulledPage, PullRequest, RawRecord


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def start_of(request: PullRequest, where: str) -> datetime | None:
    """The cursor as a time (None: from the beginning)."""
    if request.cursor is None:
        return None
    try:
        return parse_time(request.cursor)
    except ValueError:
        raise Fatal(f"the stored trackers cursor {request.cursor!r} is not an ISO 8601 time", where=where) from None


def _updated_at(tracker: Mapping[str, Any]) -> datetime | None:
    value = tracker.get("updated_at")
    try:
        return parse_time(value) if isinstance(value, str) else None
    except ValueError:
        return None


def pull_trackers(
    client: EasyPostClient, request: PullRequest, *, page_size: int, window_days: int | None, where: str
) -> Iterator[PulledPage]:
    """Pages of raw Tracker records changed since the cursor; see the module docstring. A tracker whose
    `updated_at` cannot be read is yielded all the same (better one repeat than one lost report)."""
    start = start_of(request, where)
    since = start - request.overlap if start is not None else None
    params: dict[str, Any] = {"page_size": page_size}
    if window_days is not None:
        params["start_datetime"] = iso(request.now - timedelta(days=window_days))
    newest = start
    number = 0
    while True:
        number += 1
        answer = client.list_trackers(params)
        trackers = [t for t in answer["trackers"] if isinstance(t, dict)]
        records = []
        for tracker in trackers:
            updated = _updated_at(tracker)
            if updated is not None:
                newest = updated if newest is None else max(newest, updated)
            if since is None or updated is None or updated >= since:
                records.append(_record(tracker, number))
        more = bool(answer.get("has_more")) and bool(trackers) and isinstance(trackers[-1].get("id"), str)
        if not more:
            yield PulledPage(records, cursor=iso(newest) if newest else None, label=f"trackers page {number}")
            return
        if records:
            yield PulledPage(records, cursor=None, label=f"trackers page {number}")
        params = {**params, "before_id": trackers[-1]["id"]}


def _record(tracker: Mapping[str, Any], page: int) -> RawRecord:
    tracker_id = tracker.get("id")
    ident = tracker_id if isinstance(tracker_id, str) and tracker_id else None
    return tracker_record(tracker, f"GET /trackers page {page} ({ident or 'no id'})")
