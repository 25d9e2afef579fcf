"""Transport: GraphQL over httpx, Shopify's cost-based rate limit, and the table from failures to error classes.

Why httpx and not the ShopifyAPI package: the client is injected (tests pass a MockTransport or replay vcrpy
cassettes), every answer keeps its real status code and headers (429 and Retry-After are visible, where the
package's urllib call raises), timeouts are explicit, and there is no global session to activate.

Pacing, not retrying (`CostBucket`): every answer carries `extensions.cost.throttleStatus` {maximumAvailable,
currentlyAvailable, restoreRate}. The bucket is refilled locally at the restore rate the store reported (100, 200,
1000 points/s by plan: never hard-coded) and, before a request, the client waits until the bucket holds what this
query cost last time (its `requestedQueryCost`; a first-seen query assumes `default_cost`). That wait keeps the
request from being throttled; it is bounded by `max_wait` (a longer one is not slept: RateLimited with that wait).

No retries here: retries live in the engine's dispatcher (DESIGN.md, flow 4), which owns backoff, attempts and
dead letters. Every failure is raised at once, classified (`_data`, `_status_error`):
401/403 and ACCESS_DENIED -> Fatal (token or scope); 402/423 (shop frozen or locked), 404 (wrong shop or
unsupported api_version) -> Fatal; 429 / THROTTLED (with HTTP 200 or 429: the status is unconfirmed) ->
RateLimited(retry_after = Retry-After, else the time the bucket needs to hold the query's cost); 5xx, timeouts,
connection errors, INTERNAL_SERVER_ERROR -> Retryable; other GraphQL errors (a query the version does not know) ->
Fatal: retrying cannot fix a document.

Secrets: the access token travels only in the X-Shopify-Access-Token header. No message built here quotes a
request; the texts taken from an answer or an exception pass `_safe`, which cuts query strings (a bulk result URL
is pre-signed) and the token itself, should anything echo it.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from channelhub.errors import Fatal, RateLimited, Retryable

log = logging.getLogger(__name__)

FATAL_STATUS = {
    401: "the access token was refused (401): check the token in the channel's settings",
    403: "the access token lacks a scope this call needs (403): grant it in the app's configuration",
    402: "the shop is frozen (402 Payment Required): its plan must be paid",
    404: "no such shop or API version (404): check settings.shop and settings.api_version",
    423: "the shop is locked (423)",
}


@dataclass
class CostBucket:
    """The client's view of Shopify's leaky bucket, refilled at the store's restore rate between answers."""

    maximum: float = 1000.0
    available: float = 1000.0
    restore_rate: float = 50.0  # a cautious start until the first answer reports the real one
    at: float = 0.0

    def update(self, status: Mapping[str, Any], now: float) -> None:
        self.maximum = float(status.get("maximumAvailable", self.maximum))
        self.available = float(status.get("currentlyAvailable", self.available))
        self.restore_rate = float(status.get("restoreRate", self.restore_rate)) or self.restore_rate
        self.at = now

    def level(self, now: float) -> float:
        return min(self.maximum, self.available + self.restore_rate * max(0.0, now - self.at))

    def wait_for(self, cost: float, now: float) -> float:
        """Seconds to wait until `cost` points are available (0 when they are)."""
        missing = min(cost, self.maximum) - self.level(now)
        return max(0.0, missing / self.restore_rate)

    def spend(self, cost: float, now: float) -> None:
        self.available, self.at = self.level(now) - cost, now


class ShopifyClient:
    """Posts GraphQL documents to one store's Admin API endpoint and returns `data`, or raises a ConnectorError."""

    def __init__(
        self,
        *,
        endpoint: str,
        token: str,
        http: httpx.Client | None = None,
        timeout: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        max_wait: float = 60.0,
        default_cost: float = 50.0,
        where: str = "shopify",
    ) -> None:
        self.endpoint = endpoint
        self._token = token
        self._headers = {"X-Shopify-Access-Token": token, "Content-Type": "application/json"}
        self.http = http if http is not None else httpx.Client(timeout=timeout)
        self._owns_http = http is None
        self.clock, self.sleep = clock, sleep
        self.max_wait, self.default_cost = max_wait, default_cost
        self.where = where
        self.bucket = CostBucket(at=clock())
        self._costs: dict[str, float] = {}
        self.requests = 0
        self.throttled = 0
        self.waited = 0.0

    def execute(self, query: str, variables: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """Run one document once; return its `data`. Paces on the bucket first; every failure is raised at once,
        classified as the module docstring says (the engine retries)."""
        key = hashlib.sha1(query.encode()).hexdigest()
        body = json.dumps({"query": query, "variables": dict(variables or {})}, sort_keys=True)
        cost = self._costs.get(key, self.default_cost)
        self._pace(cost)
        self.bucket.spend(cost, self.clock())
        response = self._post(body)
        payload = self._read_cost(response, key)
        if _is_throttled(response, payload):
            self.throttled += 1
            wait = self._throttle_wait(response, self._costs.get(key, cost))
            raise RateLimited(
                f"throttled by Shopify (HTTP {response.status_code}); the bucket refills in {wait:.1f}s",
                retry_after=wait,
                where=self.where,
            )
        return self._data(response, payload)

    def _pace(self, cost: float) -> None:
        """Wait until the bucket holds `cost` points, so the request is not throttled. A wait longer than
        `max_wait` is not slept here: the engine gets it as RateLimited and frees the worker meanwhile."""
        wait = self.bucket.wait_for(cost, self.clock())
        if wait > self.max_wait:
            raise RateLimited(
                f"Shopify's cost bucket needs {wait:.1f}s to hold this query ({cost:.0f} points)",
                retry_after=wait,
                where=self.where,
            )
        if wait > 0:
            self.waited += wait
            self.sleep(wait)

    def stream_lines(self, url: str) -> Iterator[bytes]:
        """The lines of a bulk operation's JSONL result, streamed (bounded memory). The URL is pre-signed: no token."""
        try:
            with self.http.stream("GET", url) as response:
                if response.status_code >= 400:
                    raise _status_error(response.status_code, self.where, "bulk result download")
                buffer = b""
                for chunk in response.iter_bytes():
                    buffer += chunk
                    *whole, buffer = buffer.split(b"\n")
                    yield from (line for line in whole if line.strip())
                if buffer.strip():
                    yield buffer
        except httpx.TimeoutException as exc:
            raise Retryable(f"timed out downloading the bulk result: {type(exc).__name__}", where=self.where) from None
        except httpx.TransportError as exc:
            detail = self._safe(f"{type(exc).__name__}: {exc}")
            raise Retryable(f"network error downloading the bulk result: {detail}", where=self.where) from None

    def close(self) -> None:
        if self._owns_http:
            self.http.close()

    # -- internals -------------------------------------------------------------------------------------------

    def _safe(self, text: str) -> str:
        return _safe(text, self._token)

    def _post(self, body: str) -> httpx.Response:
        self.requests += 1
        try:
            response = self.http.post(self.endpoint, content=body.encode(), headers=self._headers)
        except httpx.TimeoutException as exc:
            raise Retryable(f"timed out: {type(exc).__name__}", where=self.where) from None
        except httpx.TransportError as exc:
            raise Retryable(f"network error: {self._safe(f'{type(exc).__name__}: {exc}')}", where=self.where) from None
        if response.status_code >= 500:
            raise Retryable(f"Shopify answered {response.status_code}", where=self.where)
        return response

    def _read_cost(self, response: httpx.Response, key: str) -> dict[str, Any]:
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        if not isinstance(payload, dict):
            payload = {}
        cost = (payload.get("extensions") or {}).get("cost") or {}
        status = cost.get("throttleStatus")
        if status:
            self.bucket.update(status, self.clock())
        if cost.get("requestedQueryCost") is not None:
            self._costs[key] = float(cost["requestedQueryCost"])
        return payload

    def _throttle_wait(self, response: httpx.Response, cost: float) -> float:
        """Retry-After when the answer has one, else the time the bucket needs to hold what the query costs."""
        retry_after = response.headers.get("Retry-After")
        if retry_after:
            try:
                return max(float(retry_after), 0.1)
            except ValueError:
                pass
        return max(self.bucket.wait_for(cost, self.clock()), 0.1)

    def _data(self, response: httpx.Response, payload: dict[str, Any]) -> dict[str, Any]:
        if response.status_code >= 400:
            raise _status_error(response.status_code, self.where, self._safe(_first_message(payload)))
        errors = payload.get("errors")
        if errors:
            codes = {str((e.get("extensions") or {}).get("code", "")) for e in errors if isinstance(e, dict)}
            message = self._safe(_first_message(payload))
            if "ACCESS_DENIED" in codes:
                raise Fatal(f"access denied, the token lacks a scope: {message}", where=self.where)
            if "INTERNAL_SERVER_ERROR" in codes:
                raise Retryable(f"Shopify internal error: {message}", where=self.where)
            if payload.get("data") is None:
                raise Fatal(f"Shopify refused the query: {message}", where=self.where)
            log.warning("%s: partial GraphQL errors: %s", self.where, message)
        data = payload.get("data")
        if not isinstance(data, dict):
            raise Retryable(f"an answer without data (HTTP {response.status_code})", where=self.where)
        return data


def _is_throttled(response: httpx.Response, payload: dict[str, Any]) -> bool:
    if response.status_code == 429:
        return True
    return any(
        isinstance(e, dict) and (e.get("extensions") or {}).get("code") == "THROTTLED"
        for e in payload.get("errors") or []
    )


def _first_message(payload: dict[str, Any]) -> str:
    """The first error's message, whole: `_safe` cuts it after redacting (a cut first could halve a secret)."""
    errors = payload.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return str(errors[0].get("message", ""))
    if isinstance(errors, str):
        return errors
    return ""


def _status_error(status: int, where: str, detail: str) -> Exception:
    if status in FATAL_STATUS:
        return Fatal(FATAL_STATUS[status] + (f" ({detail})" if detail else ""), where=where)
    if status >= 500:
        return Retryable(f"Shopify answered {status}", where=where)
    return Fatal(f"Shopify answered {status}: {detail}", where=where)


_QUERY_STRING = re.compile(r"\?[^\s'\")\]]*")


def _safe(text: str, token: str) -> str:
    """`text` without query strings (pre-signed URLs carry signatures) and without the token, cut to 300 chars."""
    cleaned = _QUERY_STRING.sub("?<query removed>", text)
    if token:
        cleaned = cleaned.replace(token, "<token removed>")
    return cleaned[:300]
