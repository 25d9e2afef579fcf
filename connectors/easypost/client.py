"""Transport: EasyPost's REST API v2 over httpx, and the table that turns its answers into the hub's error classes.

Why httpx and not the official `easypost` package (10.x): that client builds its own private `requests.Session`
inside `EasyPostClient`, so no test can inject a transport per instance (the hub's rule: a connector receives its
HTTP client), and it raises its own exception tree, which would have to be translated anyway. httpx is the hub's
standard HTTP client (Shopify uses it too), vcrpy records and replays it, timeouts are explicit, and every answer
keeps its status and headers (Retry-After). The requests sent here are the ones the official client sends: JSON
bodies wrapped in the object's name (`{"tracker": {...}}`), list filters in the query string; EasyPost's own
recorded cassettes replay through these calls unchanged (tests/unit/easypost).

Authentication: HTTP basic auth with the API key as the username and no password, as EasyPost documents (the
official client sends the same key as a Bearer token; EasyPost takes both).

No retries here: retries live in the engine's dispatcher. Every failure is raised at once, classified by
ERROR_TABLE: 401/403 Fatal (the key), 402 Fatal (billing), 404/422 and other 4xx Skippable (this one request is
refused, with EasyPost's own message: an unknown or invalid tracking code, say), 429 RateLimited (Retry-After),
5xx, timeouts and network errors Retryable.

Secrets: the key travels only in the Authorization header. Texts taken from an answer or an exception pass
`_safe`, which cuts query strings and the key itself should anything echo it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from channelhub.errors import ConnectorError, Fatal, RateLimited, Retryable, Skippable

KEY_HINT = "check settings.api_key: a live EasyPost API key (Dashboard > Account Settings > API Keys)"


@dataclass(frozen=True)
class Refusal:
    """What EasyPost said when it refused a request: `{"error": {"code", "message", "errors": [...]}}`."""

    status: int
    code: str
    message: str
    retry_after: float | None

    def text(self) -> str:
        detail = f"{self.code}: {self.message}" if self.code and self.message else self.code or self.message
        return f"EasyPost answered HTTP {self.status}" + (f" ({detail})" if detail else "")


@dataclass(frozen=True)
class Rule:
    """One row of the table: does it match the status, and which error to raise."""

    matches: Callable[[int], bool]
    build: Callable[[Refusal, str], ConnectorError]


def _throttled(refusal: Refusal, where: str) -> ConnectorError:
    return RateLimited(refusal.text(), retry_after=refusal.retry_after, where=where)


def _server(refusal: Refusal, where: str) -> ConnectorError:
    if refusal.retry_after is not None:
        return _throttled(refusal, where)
    return Retryable(refusal.text(), where=where)


def _key(refusal: Refusal, where: str) -> ConnectorError:
    return Fatal(f"{refusal.text()}: EasyPost refused the API key; {KEY_HINT}", where=where)


def _billing(refusal: Refusal, where: str) -> ConnectorError:
    return Fatal(
        f"{refusal.text()}: the EasyPost account cannot pay for this (add funds or a payment method)", where=where
    )


def _refused(refusal: Refusal, where: str) -> ConnectorError:
    return Skippable(refusal.text(), where=where)


ERROR_TABLE: tuple[Rule, ...] = (
    Rule(lambda status: status == 429, _throttled),
    Rule(lambda status: status >= 500, _server),
    Rule(lambda status: status in (401, 403), _key),
    Rule(lambda status: status == 402, _billing),
    Rule(lambda status: status >= 400, _refused),  # 400, 404, 422 ...: this request, not the channel
)


def retry_after(headers: Mapping[str, str]) -> float | None:
    """Seconds from a Retry-After header (delta-seconds or an HTTP date); None when absent or unreadable."""
    value = (headers.get("Retry-After") or "").strip()
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def classify(response: httpx.Response, where: str, safe: Callable[[str], str]) -> ConnectorError:
    """The hub error for a non-2xx answer: the first rule of ERROR_TABLE that matches its status."""
    try:
        payload = response.json()
    except ValueError:
        payload = {}
    error = payload.get("error") if isinstance(payload, dict) else None
    error = error if isinstance(error, dict) else {}
    message = str(error.get("message") or "")
    details = [d for d in map(_detail, error.get("errors") or []) if d]
    if details:
        message = f"{message} [{'; '.join(details)}]" if message else "; ".join(details)
    refusal = Refusal(
        response.status_code, safe(str(error.get("code") or "")), safe(message), retry_after(response.headers)
    )
    for rule in ERROR_TABLE:
        if rule.matches(response.status_code):
            return rule.build(refusal, where)
    raise AssertionError("ERROR_TABLE has no rule for a non-2xx answer")  # pragma: no cover


def _detail(item: Any) -> str:
    """One entry of EasyPost's `errors` list: a string, or `{"field", "message"}`."""
    if isinstance(item, dict):
        field, text = item.get("field"), item.get("message")
        return f"{field}: {text}" if field and text else str(text or field or "")
    return str(item) if item else ""


_QUERY_STRING = re.compile(r"\?[^\s'\")\]]*")


class EasyPostClient:
    """The connector's single door to EasyPost: JSON in, JSON out, every failure classified."""

    def __init__(
        self,
        *,
        api_base: str,
        api_key: str,
        http: httpx.Client | None = None,
        timeout: float = 30.0,
        connect_timeout: float = 10.0,
        where: str = "easypost",
    ) -> None:
        self.api_base = api_base.rstrip("/")
        self._key = api_key
        self.http = http if http is not None else httpx.Client(timeout=httpx.Timeout(timeout, connect=connect_timeout))
        self._owns_http = http is None
        self.where = where

    # -- the tracker calls ------------------------------------------------------------------------------------

    def create_tracker(self, tracking_code: str, carrier: str | None) -> dict[str, Any]:
        """POST /trackers. EasyPost answers a repeat (same code and carrier, same user, within three months) with
        the tracker it made first, so a retried create makes no second one."""
        tracker = {"tracking_code": tracking_code}
        if carrier:
            tracker["carrier"] = carrier
        return self._object("POST", "/trackers", body={"tracker": tracker})

    def get_tracker(self, tracker_id: str) -> dict[str, Any]:
        """GET /trackers/<id>."""
        return self._object("GET", f"/trackers/{tracker_id}")

    def list_trackers(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """GET /trackers with `params` (page_size, before_id, start_datetime, tracking_codes[], carrier): one page,
        newest first, `{"trackers": [...], "has_more": bool}`."""
        page = self._object("GET", "/trackers", params=params)
        if not isinstance(page.get("trackers"), list):
            where = self._at("GET /trackers")
            raise Retryable("EasyPost answered a tracker list without a `trackers` array", where=where)
        return page

    # -- internals --------------------------------------------------------------------------------------------

    def _object(
        self, method: str, path: str, *, params: Mapping[str, Any] | None = None, body: Any = None
    ) -> dict[str, Any]:
        """Send one request and return the decoded JSON object, or raise the classified ConnectorError."""
        where = self._at(f"{method} {path}")
        # json.dumps' default separators, as the official client (requests' json=) writes bodies: EasyPost's
        # recordings match byte for byte.
        content = json.dumps(body).encode() if body is not None else None
        headers = {"Accept": "application/json", "User-Agent": "channelhub-easypost"}
        if content is not None:
            headers["Content-Type"] = "application/json"
        try:
            response = self.http.request(
                method,
                f"{self.api_base}{path}",
                params=dict(params) if params else None,
                content=content,
                headers=headers,
                auth=httpx.BasicAuth(self._key, ""),
            )
        except httpx.TimeoutException as exc:
            raise Retryable(f"timed out: {type(exc).__name__}", where=where) from None
        except httpx.TransportError as exc:
            raise Retryable(f"network error: {self._safe(f'{type(exc).__name__}: {exc}')}", where=where) from None
        if response.status_code >= 400:
            raise classify(response, where, self._safe)
        try:
            data = response.json()
        except ValueError:
            kind = self._safe(response.headers.get("content-type", "no content type"))
            raise Retryable(f"HTTP {response.status_code} with a body that is not JSON ({kind})", where=where) from None
        if not isinstance(data, dict):
            raise Retryable(f"HTTP {response.status_code} with JSON that is not an object", where=where)
        return data

    def _at(self, call: str) -> str:
        return f"{self.where}: {call}"

    def _safe(self, text: str, limit: int = 500) -> str:
        cleaned = _QUERY_STRING.sub("?<query removed>", text)
        if self._key:
            cleaned = cleaned.replace(self._key, "<key removed>")
        return cleaned[:limit]

    def close(self) -> None:
        if self._owns_http:
            self.http.close()
