"""Transport: the `woocommerce` package's API class, sending through an injectable `requests.Session`, and the
table that turns WooCommerce's answers into the hub's error classes.

The package (3.x) builds the URL and the authentication (HTTPS basic auth, `query_string_auth`, or OAuth 1.0a
over plain HTTP) and then calls the module-level `requests.request`, which no test can intercept per instance.
`SessionAPI` subclasses `woocommerce.API` and replaces only that last step: same URL, same auth decision, same
headers, sent through `self.session` (a `requests.Session` the connector owns or the test injects).

Secrets: with `query_string_auth` the consumer key and secret ride in every URL's query string, and over plain
HTTP the OAuth 1.0a signature does (oauth_consumer_key, oauth_signature). A proxy's error page or a network error
may quote that URL back. Every text this module takes from an answer or an exception (status line, code,
message, parameter reasons, a content type, an exception's words) passes `Redactor` before it becomes part of an
error: query strings are cut and the key and secret (plain, URL-encoded, or as the Basic credential) replaced.
The `where` of an error names only the method and the endpoint path, which never holds a secret.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import quote, quote_plus

import requests
from requests.auth import HTTPBasicAuth

from channelhub.errors import ConnectorError, Fatal, RateLimited, Retryable, Skippable
from woocommerce import API

log = logging.getLogger(__name__)

WC_API = "wc/v3"
TRACKING_API = "wc-shipment-tracking/v3"


class SessionAPI(API):  # type: ignore[misc]  # the package ships no type hints
    """`woocommerce.API` whose requests go through `session` (a requests.Session)."""

    def __init__(
        self, url: str, consumer_key: str, consumer_secret: str, *, session: requests.Session, **kwargs: Any
    ) -> None:
        super().__init__(url, consumer_key, consumer_secret, **kwargs)
        self.session = session

    def _API__request(
        self, method: str, endpoint: str, data: Any, params: dict[str, Any] | None = None, **kwargs: Any
    ) -> requests.Response:
        # Mirrors woocommerce.API.__request (3.0.0) but for the final call, which goes through the session.
        params = dict(params or {})
        url = self._API__get_url(endpoint)
        auth = None
        headers = {"user-agent": self.user_agent, "accept": "application/json"}
        if self.is_ssl and not self.query_string_auth:
            auth = HTTPBasicAuth(self.consumer_key, self.consumer_secret)
        elif self.is_ssl:
            params.update({"consumer_key": self.consumer_key, "consumer_secret": self.consumer_secret})
        else:
            from urllib.parse import urlencode

            url = self._API__get_oauth_url(f"{url}?{urlencode(params)}", method, **kwargs)
            params = {}
        body = None
        if data is not None:
            body = json.dumps(data, ensure_ascii=False).encode("utf-8")
            headers["content-type"] = "application/json;charset=utf-8"
        return self.session.request(
            method=method,
            url=url,
            verify=self.verify_ssl,
            auth=auth,
            params=params,
            data=body,
            timeout=self.timeout,
            headers=headers,
        )


# --- the error table -----------------------------------------------------------------------------------------

PERMISSION_CODES = frozenset(
    {
        "woocommerce_rest_cannot_view",
        "woocommerce_rest_cannot_edit",
        "woocommerce_rest_cannot_create",
        "woocommerce_rest_authentication_error",
        "woocommerce_rest_cannot_batch",
    }
)
KEYS_HINT = (
    "check the channel's consumer key and secret (WooCommerce > Settings > Advanced > REST API): they must exist, "
    "belong to a user who may manage orders and products, and have Read/Write permission"
)


_QUERY_STRING = re.compile(r"\?[^\s'\"()<>\]]*")


@dataclass(frozen=True)
class Redactor:
    """Cuts query strings and the given secrets out of a text that came from the store or the network."""

    secrets: tuple[str, ...] = ()

    @classmethod
    def for_keys(cls, key: str, secret: str) -> Redactor:
        basic = base64.b64encode(f"{key}:{secret}".encode()).decode()
        forms = {form for value in (key, secret, basic) for form in (value, quote(value, safe=""), quote_plus(value))}
        return cls(tuple(sorted((f for f in forms if len(f) >= 4), key=len, reverse=True)))

    def __call__(self, text: str, limit: int = 500) -> str:
        cleaned = _QUERY_STRING.sub("?<query removed>", text)
        for secret in self.secrets:
            cleaned = cleaned.replace(secret, "<redacted>")
        return cleaned[:limit]


@dataclass(frozen=True)
class Rule:
    """One row of the table: does it match (status, vendor code), and what to raise."""

    matches: Callable[[int, str], bool]
    build: Callable[[requests.Response, str, str, str], ConnectorError]


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After", "").strip()
    if not value:
        return None
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max((when - datetime.now(UTC)).total_seconds(), 0.0)


def _invalid_params(payload: Mapping[str, Any]) -> str:
    params = (payload.get("data") or {}).get("params") or {}
    if isinstance(params, Mapping) and params:
        return "; ".join(f"{name}: {reason}" for name, reason in params.items())
    return str(payload.get("message") or "")


def _throttled(response: requests.Response, code: str, message: str, where: str) -> ConnectorError:
    return RateLimited(
        f"WooCommerce throttled the request (HTTP {response.status_code})",
        retry_after=_retry_after(response),
        where=where,
    )


def _server(response: requests.Response, code: str, message: str, where: str) -> ConnectorError:
    text = f"WooCommerce answered HTTP {response.status_code}{f' {code}' if code else ''}: {message or 'no detail'}"
    after = _retry_after(response)
    return RateLimited(text, retry_after=after, where=where) if after is not None else Retryable(text, where=where)


def _keys(response: requests.Response, code: str, message: str, where: str) -> ConnectorError:
    return Fatal(
        f"WooCommerce refused the API keys (HTTP {response.status_code}{f' {code}' if code else ''}: "
        f"{message or 'unauthorized'}); {KEYS_HINT}",
        where=where,
    )


def _bad_param(response: requests.Response, code: str, message: str, where: str) -> ConnectorError:
    return Fatal(f"WooCommerce rejected a parameter the hub sent (rest_invalid_param): {message}", where=where)


def _refused(response: requests.Response, code: str, message: str, where: str) -> ConnectorError:
    return Skippable(
        f"WooCommerce refused the request (HTTP {response.status_code}{f' {code}' if code else ''}: "
        f"{message or 'no detail'})",
        where=where,
    )


ERROR_TABLE: tuple[Rule, ...] = (
    Rule(lambda status, code: status == 429, _throttled),
    Rule(lambda status, code: status >= 500, _server),
    Rule(lambda status, code: status == 401 or code in PERMISSION_CODES, _keys),
    Rule(lambda status, code: code == "rest_invalid_param", _bad_param),
    Rule(lambda status, code: status >= 400, _refused),
)


def classify(response: requests.Response, where: str, redact: Redactor = Redactor()) -> ConnectorError:
    """The hub error for a non-2xx answer, by the first matching rule of ERROR_TABLE. The answer's code and
    message are redacted before any rule sees them: nothing the store echoes reaches the error unredacted."""
    try:
        payload = response.json()
    except ValueError:
        payload = {}
    payload = payload if isinstance(payload, dict) else {}
    raw_code = str(payload.get("code") or "")
    message = _invalid_params(payload) if raw_code == "rest_invalid_param" else str(payload.get("message") or "")
    code, message = redact(raw_code, 120), redact(message)
    for rule in ERROR_TABLE:
        if rule.matches(response.status_code, raw_code):
            return rule.build(response, code, message, where)
    raise AssertionError("ERROR_TABLE has no rule for a non-2xx answer")  # pragma: no cover


@dataclass
class Answer:
    data: Any
    headers: Mapping[str, str]
    status: int


class WooClient:
    """The connector's single door to the store: JSON in, JSON out, errors classified."""

    def __init__(self, api: SessionAPI, tracking_api: SessionAPI, channel: str) -> None:
        self.api = api
        self.tracking_api = tracking_api
        self.channel = channel
        self.redact = Redactor.for_keys(api.consumer_key, api.consumer_secret)

    @classmethod
    def build(cls, settings: Any, channel: str, session: requests.Session | None = None) -> WooClient:
        session = session if session is not None else requests.Session()
        common = {
            "session": session,
            "timeout": settings.timeout,
            "verify_ssl": settings.verify_ssl,
            "query_string_auth": settings.query_string_auth,
            "user_agent": "channelhub-woocommerce",
        }
        key, secret = settings.consumer_key.get_secret_value(), settings.consumer_secret.get_secret_value()
        return cls(
            SessionAPI(settings.store_url, key, secret, version=WC_API, **common),
            SessionAPI(settings.store_url, key, secret, version=TRACKING_API, **common),
            channel,
        )

    def call(
        self,
        method: str,
        endpoint: str,
        *,
        params: Mapping[str, Any] | None = None,
        data: Any = None,
        tracking: bool = False,
    ) -> Answer:
        """Send one request; return the decoded answer or raise the classified ConnectorError."""
        api = self.tracking_api if tracking else self.api
        where = f"channel {self.channel}: {method} {api.version}/{endpoint}"
        try:
            if method in ("POST", "PUT"):
                response = getattr(api, method.lower())(endpoint, data, params=dict(params or {}))
            else:
                response = getattr(api, method.lower())(endpoint, params=dict(params or {}))
        except requests.Timeout as exc:
            raise Retryable(f"timed out after {api.timeout}s: {type(exc).__name__}", where=where) from None
        except requests.RequestException as exc:
            raise Retryable(f"network error: {self.redact(f'{type(exc).__name__}: {exc}', 300)}", where=where) from None
        if response.status_code >= 400:
            raise classify(response, where, self.redact)
        try:
            data_out = response.json() if response.content else None
        except ValueError:
            raise Retryable(
                f"HTTP {response.status_code} with a body that is not JSON "
                f"({self.redact(response.headers.get('content-type', 'no content type'), 100)})",
                where=where,
            ) from None
        return Answer(data_out, response.headers, response.status_code)

    def close(self) -> None:
        self.api.session.close()
