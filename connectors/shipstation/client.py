"""Transport: ShipStation v1 over httpx with Basic auth, paced by the channel's `RateLimiter`, and the table from
ShipStation's answers to the hub's error classes.

Sources (docs.shipstation.com, ShipStation V1 API): "Requirements" (Basic auth, API Key as user name and API
Secret as password; the rate-limit headers and 429). ShipStation's error bodies are ASP.NET Web API shapes,
`{"Message": ..., "ExceptionMessage": ..., "ModelState": {...}}` (from client libraries and forum threads:
UNCONFIRMED in the reference, so `_message` reads any of them and falls back to the status line).

The error table (`ERROR_TABLE`, first match wins): 401 -> Fatal (key or secret refused: stop the channel);
403 -> Fatal (the key may not use this resource); 429 -> RateLimited(retry_after = X-Rate-Limit-Reset);
5xx -> Retryable; 400 and 404 -> Skippable with ShipStation's own message (one refused order or a resource that
is gone; the engine quarantines or kills that write and goes on); any other 4xx -> Skippable. Timeouts and
connection errors -> Retryable. No retries here: they live in the engine's dispatcher (DESIGN.md, flow 4).

Credentials: only `request()` adds them, and only to URLs whose scheme and host equal the configured `api_host`
(`same_origin`): a webhook's resource_url on any other host is refused before anything is sent. No message built
here quotes a request; texts taken from answers pass `_safe` (the key and secret, should anything echo them, and
query strings are cut).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import httpx
from channelhub_connectors.shipstation.limiter import RateLimiter

from channelhub.errors import ConnectorError, Fatal, RateLimited, Retryable, Skippable

_QUERY = re.compile(r"\?[^\s'\")\]]*")


def dumps_exact(value: Any) -> bytes:
    """JSON for `value` with every Decimal written as the number it holds, digit for digit."""
    return _encode(value).encode("utf-8")


def _encode(value: Any) -> str:
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return "{" + ",".join(f"{json.dumps(str(k))}:{_encode(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ",".join(_encode(v) for v in value) + "]"
    return json.dumps(value, ensure_ascii=False)


def same_origin(url: str, api_host: str) -> bool:
    """True when `url` has exactly the scheme and host (and port) of `api_host` (case-insensitive host)."""
    got, want = urlsplit(url), urlsplit(api_host)
    return got.scheme == want.scheme and got.netloc.lower() == want.netloc.lower() and not got.username


def _message(response: httpx.Response) -> str:
    try:
        payload = response.json()
    except ValueError:
        return response.text.strip()[:200] or response.reason_phrase
    if isinstance(payload, dict):
        parts = [str(payload[k]) for k in ("Message", "message", "ExceptionMessage") if payload.get(k)]
        state = payload.get("ModelState")
        if isinstance(state, dict):
            parts += [f"{field}: {'; '.join(map(str, errors))}" for field, errors in state.items()]
        return " - ".join(dict.fromkeys(parts)) or response.reason_phrase
    return str(payload)[:200]


def _fatal(status: int, message: str, reset: float | None, where: str) -> ConnectorError:
    hint = "check settings.api_key and api_secret (ShipStation > Settings > Account > API Settings)"
    return Fatal(f"ShipStation refused the credentials (HTTP {status}: {message}); {hint}", where=where)


def _throttled(status: int, message: str, reset: float | None, where: str) -> ConnectorError:
    return RateLimited(f"ShipStation rate limit reached (HTTP 429: {message})", retry_after=reset, where=where)


def _server(status: int, message: str, reset: float | None, where: str) -> ConnectorError:
    return Retryable(f"ShipStation answered HTTP {status}: {message}", where=where)


def _refused(status: int, message: str, reset: float | None, where: str) -> ConnectorError:
    return Skippable(f"ShipStation refused the request (HTTP {status}): {message}", where=where)


ERROR_TABLE: tuple[tuple[Callable[[int], bool], Callable[[int, str, float | None, str], ConnectorError]], ...] = (
    (lambda status: status in (401, 403), _fatal),
    (lambda status: status == 429, _throttled),
    (lambda status: status >= 500, _server),
    (lambda status: status >= 400, _refused),  # 400 (a field ShipStation refuses), 404 (gone), the rest
)


class ShipStationClient:
    """The connector's single door to ShipStation: JSON in, JSON out, paced and classified."""

    def __init__(
        self,
        *,
        api_host: str,
        api_key: str,
        api_secret: str,
        limiter: RateLimiter,
        http: httpx.Client | None = None,
        timeout: float = 30.0,
        where: str = "shipstation",
    ) -> None:
        self.api_host = api_host.rstrip("/")
        self._auth = httpx.BasicAuth(api_key, api_secret)
        self._secrets = tuple(s for s in (api_key, api_secret) if len(s) >= 4)
        self.limiter = limiter
        self.http = http if http is not None else httpx.Client(timeout=timeout)
        self._owns_http = http is None
        self.where = where

    def request(self, method: str, target: str, *, params: Mapping[str, Any] | None = None, body: Any = None) -> Any:
        """One request to `target` (a path under api_host, or an absolute URL on api_host itself): the decoded
        answer, or the ConnectorError the table says. An absolute URL elsewhere is refused with Skippable before
        anything is sent: the credentials go to the configured host only."""
        url = target if "://" in target else f"{self.api_host}/{target.lstrip('/')}"
        where = f"{self.where}: {method} {urlsplit(url).path}"
        if not same_origin(url, self.api_host):
            host = urlsplit(url).netloc or "(no host)"
            raise Skippable(
                f"refused to fetch {host}: only {urlsplit(self.api_host).netloc} gets this channel's credentials",
                where=self.where,
            )
        # httpx replaces a URL's own query with `params`: merge them (a resource_url carries its batch in it).
        parts = urlsplit(url)
        merged = {**dict(parse_qsl(parts.query, keep_blank_values=True)), **dict(params or {})}
        url = urlunsplit(parts._replace(query=""))
        content = dumps_exact(body) if body is not None else None
        headers = {"Accept": "application/json"}
        if content is not None:
            headers["Content-Type"] = "application/json"
        self.limiter.acquire()
        try:
            response = self.http.request(method, url, params=merged, content=content, headers=headers, auth=self._auth)
        except httpx.TimeoutException as exc:
            self.limiter.release()
            raise Retryable(f"timed out: {type(exc).__name__}", where=where) from None
        except httpx.TransportError as exc:
            self.limiter.release()
            raise Retryable(f"network error: {self._safe(f'{type(exc).__name__}: {exc}')}", where=where) from None
        reset = self.limiter.observe(response.headers, throttled=response.status_code == 429)
        if response.status_code >= 400:
            message = self._safe(_message(response))
            for matches, build in ERROR_TABLE:
                if matches(response.status_code):
                    raise build(response.status_code, message, reset, where)
        try:
            # Decimal, not float: an order read back and sent again (a cancellation) keeps its figures exactly.
            return json.loads(response.content, parse_float=Decimal) if response.content else None
        except ValueError:
            kind = response.headers.get("content-type", "no content type")
            raise Retryable(f"HTTP {response.status_code} with a body that is not JSON ({kind})", where=where) from None

    def _safe(self, text: str) -> str:
        cleaned = _QUERY.sub("?<query removed>", text)
        for secret in self._secrets:
            cleaned = cleaned.replace(secret, "<redacted>")
        return cleaned[:300]

    def close(self) -> None:
        if self._owns_http:
            self.http.close()
