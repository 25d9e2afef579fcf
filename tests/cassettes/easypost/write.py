"""Write the hand-made EasyPost cassettes: `.venv/bin/python tests/cassettes/easypost/write.py`.

No EasyPost account is reachable from the test machines, so these conversations are written from EasyPost's
documented shapes (docs.easypost.com: Tracker, pagination by `before_id`, the error object `{"error": {"code",
"message", "errors": [{"field", "message"}]}}`) and from its own recordings in shared/reference/easypost (which
are replayed as they are, never copied here). Requests carry no credential (vcrpy matches on method, URL, query
and body only). Each cassette has a replay test in tests/unit/easypost/test_easypost_cassettes.py.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
API = "https://api.easypost.com/v2"
WINDOW_START = "2024-03-03T12:00:00Z"  # NOW (2024-06-01T12:00:00Z) less the default 90-day window


def detail(status: str, message: str, at: str, city: str | None, state: str | None, country: str | None) -> dict:
    return {
        "object": "TrackingDetail",
        "message": message,
        "description": "",
        "status": status,
        "status_detail": "status_update",
        "datetime": at,
        "source": "UPS",
        "carrier_code": "",
        "tracking_location": {
            "object": "TrackingLocation",
            "city": city,
            "state": state,
            "country": country,
            "zip": None,
        },
    }


def tracker(ident: str, code: str, status: str, updated: str, details: list[dict], carrier: str = "UPS") -> dict:
    return {
        "id": ident,
        "object": "Tracker",
        "mode": "test",
        "tracking_code": code,
        "status": status,
        "status_detail": "status_update",
        "created_at": "2024-05-30T09:00:00Z",
        "updated_at": updated,
        "signed_by": None,
        "weight": None,
        "est_delivery_date": "2024-06-03T00:00:00Z",
        "shipment_id": None,
        "carrier": carrier,
        "tracking_details": details,
        "public_url": f"https://track.easypost.com/{ident}",
    }


UPS_IN_TRANSIT = tracker(
    "trk_ups_1",
    "1Z999AA10123456784",
    "in_transit",
    "2024-06-01T12:30:00Z",
    [
        detail("pre_transit", "Shipper created a label", "2024-05-30T09:00:00Z", None, None, None),
        # Local times with the place's offset, as EasyPost gives them when it knows the place.
        detail("in_transit", "Departed from facility", "2024-05-31T22:10:00-04:00", "ATLANTA", "GA", "US"),
        detail("in_transit", "Arrived at facility", "2024-05-31T20:05:00-04:00", "ATLANTA", "GA", "US"),
    ],
)


def interaction(method: str, path: str, body: Any, status: int, answer: Any, **headers: str) -> dict:
    text = json.dumps(answer)
    return {
        "request": {
            "body": None if body is None else json.dumps(body),
            "headers": {"Accept": ["application/json"], "User-Agent": ["channelhub-easypost"]},
            "method": method,
            "uri": f"{API}{path}",
        },
        "response": {
            "body": {"string": text},
            "headers": {
                "content-type": ["application/json; charset=utf-8"],
                **{name.replace("_", "-"): [value] for name, value in headers.items()},
            },
            "status": {"code": status, "message": _REASONS[status]},
        },
    }


_REASONS = {
    200: "OK",
    201: "Created",
    401: "Unauthorized",
    404: "Not Found",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
    503: "Service Unavailable",
}
CREATE_UPS = {"tracker": {"tracking_code": "1Z999AA10123456784", "carrier": "UPS"}}


def _list_page(ids: list[tuple[str, str]], has_more: bool) -> dict:
    return {
        "trackers": [
            tracker(i, f"1Z999AA1{n:010d}", "in_transit", updated, [], "UPS") for n, (i, updated) in enumerate(ids)
        ],
        "has_more": has_more,
    }


CASSETTES: dict[str, list[dict]] = {
    # A create with a carrier, then the same create again (a retried outbox row): EasyPost answers the first.
    "create_with_carrier": [
        interaction("POST", "/trackers", CREATE_UPS, 200, UPS_IN_TRANSIT),
        interaction("POST", "/trackers", CREATE_UPS, 200, UPS_IN_TRANSIT),
    ],
    # Two pages, the second asked with before_id = the first page's last id.
    "list_paging": [
        interaction(
            "GET",
            f"/trackers?page_size=2&start_datetime={WINDOW_START}",
            None,
            200,
            _list_page([("trk_a", "2024-06-01T12:30:00Z"), ("trk_b", "2024-06-01T11:00:00Z")], True),
        ),
        interaction(
            "GET",
            f"/trackers?page_size=2&start_datetime={WINDOW_START}&before_id=trk_b",
            None,
            200,
            _list_page([("trk_c", "2024-06-01T11:56:00Z")], False),
        ),
    ],
    "unauthorized": [
        interaction(
            "POST",
            "/trackers",
            CREATE_UPS,
            401,
            {"error": {"code": "APIKEY.INACTIVE", "message": "This api key is no longer active.", "errors": []}},
        ),
    ],
    "invalid_code": [
        interaction(
            "POST",
            "/trackers",
            {"tracker": {"tracking_code": "NOT-A-CODE", "carrier": "USPS"}},
            422,
            {
                "error": {
                    "code": "UNPROCESSABLE_ENTITY",
                    "message": "The request could not be processed.",
                    "errors": [{"field": "tracking_code", "message": "is not a valid USPS code"}],
                }
            },
        ),
    ],
    "rate_limited": [
        interaction(
            "POST",
            "/trackers",
            CREATE_UPS,
            429,
            {"error": {"code": "RATE_LIMITED", "message": "You have exceeded the rate limit.", "errors": []}},
            Retry_After="7",
        ),
    ],
    "server_error": [
        interaction(
            "GET",
            "/trackers/trk_ups_1",
            None,
            503,
            {"error": {"code": "SERVICE_UNAVAILABLE", "message": "Service unavailable.", "errors": []}},
        ),
    ],
    "unknown_tracker": [
        interaction(
            "GET",
            "/trackers/trk_gone",
            None,
            404,
            {"error": {"code": "NOT_FOUND", "message": "The requested resource could not be found.", "errors": []}},
        ),
    ],
}


def main() -> None:
    for name, interactions in CASSETTES.items():
        text = yaml.safe_dump({"interactions": interactions, "version": 1}, sort_keys=False, width=120)
        (HERE / f"{name}.yaml").write_text(text)
        print(f"wrote {name}.yaml ({len(interactions)} interactions)")


if __name__ == "__main__":
    main()
