"""The client over an httpx MockTransport: authentication, the error table row by row, network failures, and a
bad request or record that stops nothing after it."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from channelhub_connectors.easypost.connector import EasyPostConnector
from ep_helpers import API_KEY

from channelhub.errors import ConfigError, Fatal, MappingError, RateLimited, Retryable, Skippable
from channelhub.ports import ConnectorContext, PullRequest, TrackerRequest

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


def tracker(code: str, **fields: Any) -> dict[str, Any]:
    return {
        "id": f"trk_{code}",
        "object": "Tracker",
        "tracking_code": code,
        "carrier": "USPS",
        "status": "in_transit",
        "updated_at": "2024-06-01T11:00:00Z",
        "tracking_details": [],
        **fields,
    }


def over(handler: Callable[[httpx.Request], httpx.Response], **settings: Any) -> EasyPostConnector:
    http = httpx.Client(transport=httpx.MockTransport(handler))
    return EasyPostConnector({"api_key": API_KEY, **settings}, ConnectorContext(channel="ep", transport=http))


def request(code: str = "EZ1000000001", carrier: str = "USPS") -> TrackerRequest:
    return TrackerRequest(carrier=carrier, tracking_number=code, idempotency_key=f"tracker:{code}")


def answer(status: int, body: Any = None, **headers: str) -> Callable[[httpx.Request], httpx.Response]:
    return lambda req: httpx.Response(status, json=body, headers=headers)


def error(code: str, message: str, errors: list[Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "errors": errors or []}}


def test_basic_auth_with_the_key_as_username_and_a_json_body() -> None:
    seen: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return httpx.Response(200, json=tracker("EZ1000000001"))

    over(handler).create_tracker(request())
    (sent,) = seen
    assert sent.headers["Authorization"] == "Basic " + base64.b64encode(f"{API_KEY}:".encode()).decode()
    assert sent.headers["Content-Type"] == "application/json"
    assert json.loads(sent.content) == {"tracker": {"tracking_code": "EZ1000000001", "carrier": "USPS"}}
    assert str(sent.url) == "https://api.easypost.com/v2/trackers"


def test_no_carrier_lets_easypost_detect_it() -> None:
    seen: list[bytes] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req.content)
        return httpx.Response(200, json=tracker("EZ1000000001"))

    over(handler).create_tracker(request(carrier=" "))
    assert json.loads(seen[0]) == {"tracker": {"tracking_code": "EZ1000000001"}}


def test_an_empty_tracking_number_is_refused_before_any_request() -> None:
    with pytest.raises(Skippable, match="needs a tracking number"):
        over(lambda req: pytest.fail("no request should be made")).create_tracker(request(code="  "))


@pytest.mark.parametrize(
    ("status", "body", "headers", "raised", "words"),
    [
        (401, error("APIKEY.REQUIRED", "no key"), {}, Fatal, "settings.api_key"),
        (403, error("FORBIDDEN", "not allowed"), {}, Fatal, "HTTP 403"),
        (402, error("PAYMENT.REQUIRED", "add funds"), {}, Fatal, "cannot pay"),
        (404, error("NOT_FOUND", "gone"), {}, Skippable, "NOT_FOUND: gone"),
        (
            422,
            error("UNPROCESSABLE_ENTITY", "bad", ["tracking_code is invalid"]),
            {},
            Skippable,
            "[tracking_code is invalid]",
        ),
        (
            400,
            error("PARAMETER.REQUIRED", "Missing", [{"field": "tracking_code", "message": "cannot be blank"}]),
            {},
            Skippable,
            "tracking_code: cannot be blank",
        ),
        (429, error("RATE_LIMITED", "slow down"), {"Retry-After": "12"}, RateLimited, "HTTP 429"),
        (500, error("INTERNAL_SERVER_ERROR", "oops"), {}, Retryable, "HTTP 500"),
        (503, None, {"Retry-After": "30"}, RateLimited, "HTTP 503"),
    ],
)
def test_the_error_table(status: int, body: Any, headers: dict[str, str], raised: type, words: str) -> None:
    with pytest.raises(raised) as caught:
        over(answer(status, body, **headers)).create_tracker(request())
    assert type(caught.value) is raised or issubclass(type(caught.value), raised)
    assert words in str(caught.value)


def test_a_retry_after_date_is_turned_into_seconds() -> None:
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=60), usegmt=True)
    with pytest.raises(RateLimited) as caught:
        over(answer(429, error("RATE_LIMITED", "x"), **{"Retry-After": later})).create_tracker(request())
    assert caught.value.retry_after is not None and 50 <= caught.value.retry_after <= 60


def test_a_429_without_retry_after_leaves_the_wait_to_the_backoff() -> None:
    with pytest.raises(RateLimited) as caught:
        over(answer(429, error("RATE_LIMITED", "x"))).create_tracker(request())
    assert caught.value.retry_after is None


def test_network_failures_are_retryable_and_never_quote_the_key() -> None:
    def refuse(req: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"cannot reach {req.url} with {API_KEY}", request=req)

    def slow(req: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("slow", request=req)

    with pytest.raises(Retryable) as caught:
        over(refuse).create_tracker(request())
    assert API_KEY not in str(caught.value) and "network error" in str(caught.value)
    with pytest.raises(Retryable, match="timed out"):
        over(slow).create_tracker(request())


def test_an_answer_echoing_the_key_is_redacted() -> None:
    with pytest.raises(Fatal) as caught:
        over(answer(401, error("APIKEY.INVALID", f"key {API_KEY} is invalid"))).create_tracker(request())
    assert API_KEY not in str(caught.value) and "<key removed>" in str(caught.value)


@pytest.mark.parametrize(
    "response",
    [httpx.Response(200, text="<html>maintenance</html>"), httpx.Response(200, json=[1, 2])],
    ids=["not-json", "not-an-object"],
)
def test_a_2xx_that_is_not_a_json_object_is_retried(response: httpx.Response) -> None:
    with pytest.raises(Retryable):
        over(lambda req: response).create_tracker(request())


def test_a_refused_tracker_stops_nothing_after_it() -> None:
    def handler(req: httpx.Request) -> httpx.Response:
        code = json.loads(req.content)["tracker"]["tracking_code"]
        if code == "UNKNOWN-1":
            return httpx.Response(422, json=error("UNPROCESSABLE_ENTITY", "unknown tracking code"))
        return httpx.Response(200, json=tracker(code))

    ep = over(handler)
    with pytest.raises(Skippable, match=r"'UNKNOWN-1'.*unknown tracking code"):
        ep.create_tracker(request("UNKNOWN-1"))
    assert ep.create_tracker(request("EZ1000000002")).tracking_number == "EZ1000000002"


def test_a_bad_tracker_in_a_pulled_page_is_refused_alone() -> None:
    page = {"trackers": [tracker("A1"), tracker("B2", status="teleported"), tracker("C3")], "has_more": False}
    ep = over(answer(200, page))
    (pulled,) = list(ep.pull_tracking(PullRequest(cursor=None, overlap=timedelta(minutes=5), now=NOW)))
    outcomes = []
    for record in pulled.records:
        try:
            outcomes.append(ep.map_tracking(record).tracking_number)
        except MappingError as exc:
            outcomes.append(f"refused: {exc.message}")
    assert outcomes == ["A1", "refused: status: 'teleported' is not an EasyPost tracker status", "C3"]
    assert pulled.cursor == "2024-06-01T11:00:00Z"


def test_the_pull_window_and_page_size_are_sent() -> None:
    seen: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        seen.append(req)
        return httpx.Response(200, json={"trackers": [], "has_more": False})

    pages = list(
        over(handler, page_size=50, poll_window_days=30).pull_tracking(
            PullRequest(cursor="2024-06-01T10:00:00Z", overlap=timedelta(minutes=5), now=NOW)
        )
    )
    assert dict(seen[0].url.params) == {"page_size": "50", "start_datetime": "2024-05-02T12:00:00Z"}
    assert [(p.records, p.cursor) for p in pages] == [([], "2024-06-01T10:00:00Z")]  # the cursor never goes back


def test_has_more_with_an_empty_page_ends_the_pull() -> None:
    calls: list[int] = []

    def handler(req: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(200, json={"trackers": [], "has_more": True})

    assert len(list(over(handler).pull_tracking(PullRequest(None, timedelta(0), NOW)))) == 1 and calls == [1]


def test_a_list_without_trackers_is_retried() -> None:
    with pytest.raises(Retryable, match="without a `trackers` array"):
        list(over(answer(200, {"has_more": False})).pull_tracking(PullRequest(None, timedelta(0), NOW)))


def test_an_unreadable_cursor_stops_the_channel_naming_it() -> None:
    with pytest.raises(Fatal, match="'last tuesday'"):
        list(over(answer(200, {"trackers": []})).pull_tracking(PullRequest("last tuesday", timedelta(0), NOW)))


def test_a_transport_that_is_not_an_httpx_client_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"httpx\.Client"):
        EasyPostConnector({"api_key": API_KEY}, ConnectorContext(channel="ep", transport=object()))
