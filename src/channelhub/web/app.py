"""The hub's ASGI app: webhook receivers, health checks, /metrics and the operator dashboard.

Starlette, not FastAPI: the app is a handful of routes that read raw bodies (a webhook's signature is over the
exact bytes) and will render pages on the server; it needs no OpenAPI schema and no pydantic request models, and
Starlette alone brings fewer dependencies. uvicorn serves it (`channelhub.web.server`).

Routes:

- `POST /webhooks/{channel}`: the body is read with `[http] max_body_bytes` enforced while reading (a
  Content-Length above the cap is refused before a byte is read; a chunked body is cut off as soon as it passes
  the cap): 413. Then `services.webhooks.receive` checks the signature and stores the raw body (in a worker
  thread: it does blocking database work), and its Receipt is the answer: the status, and
  `{"outcome": ...}`. A "stored" delivery wakes the applier, which maps and applies it after the answer.
- `GET /healthz`: 200 while the process runs; touches nothing.
- `GET /readyz`: 200 when the database answers and the scheduler (where this process runs one) runs, with each
  channel's state; 503 with the same JSON when not ready.
- `GET /metrics`: Prometheus' text format, token required (`channelhub.web.metrics`). Every webhook answer,
  413 and 500 included, is counted by channel and outcome (`channelhub.telemetry`).
- the dashboard (`channelhub.web.dashboard`): /login, /logout, the pages and their POST actions, /static.

Every other route needs the token (`channelhub.web.auth`; the dashboard's session cookie stands for it).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import Any, Protocol

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from channelhub import telemetry
from channelhub.logs import get_logger
from channelhub.redact import scrub
from channelhub.runtime import Hub
from channelhub.services.health import readiness
from channelhub.services.webhooks import receive as receive_delivery
from channelhub.web.applier import Applier
from channelhub.web.dashboard import dashboard_routes
from channelhub.web.metrics import metrics_endpoint

log = get_logger("channelhub.web")


class ReceiptLike(Protocol):
    """What the app reads of `services.webhooks.Receipt` (a test's stand-in answers the same)."""

    @property
    def status(self) -> int: ...
    @property
    def outcome(self) -> str: ...


Receiver = Callable[[Hub, str, Mapping[str, str], bytes], ReceiptLike]  # services.webhooks.receive


QUERY_HEADER = "x-channelhub-query"
PSEUDO_HEADERS = (QUERY_HEADER, "x-channelhub-url-secret")  # names the hub sets; never taken from the caller


class BodyTooLarge(Exception):
    """The request's body passed the cap."""


async def read_capped_body(request: Request, limit: int) -> bytes:
    """The whole body, or BodyTooLarge as soon as it is known to pass `limit` bytes (a declared Content-Length
    before reading; a streamed body the moment the bytes read pass it: nothing more is read)."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.strip().isdigit() and int(declared) > limit:
        raise BodyTooLarge
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise BodyTooLarge
    return bytes(body)


def delivery_headers(request: Request) -> Mapping[str, str]:
    """The headers a connector sees of a webhook request: the request's own, case-insensitive, less any the
    caller sent under the hub's pseudo-header names, plus `X-Channelhub-Query`, the raw query string, for a
    channel that authenticates by a secret its receiver URL carries (ShipStation signs nothing)."""
    headers = request.headers.mutablecopy()
    for name in PSEUDO_HEADERS:
        del headers[name]
    if request.url.query:
        headers[QUERY_HEADER] = request.url.query
    return headers


def webhook_endpoint(hub: Hub, receive: Receiver, applier: Applier) -> Callable[[Request], Awaitable[Response]]:
    """`POST /webhooks/{channel}`: the body read under the cap (413), the delivery handed to `receive` in a
    worker thread, its Receipt the answer; a stored delivery wakes `applier`. Every answer is counted."""
    limit = hub.config.http.max_body_bytes

    async def webhook(request: Request) -> Response:
        channel = request.path_params["channel"]
        try:
            body = await read_capped_body(request, limit)
        except BodyTooLarge:
            log.warning("webhook refused: body too large", channel=channel, limit=limit)
            telemetry.webhook_answered(channel, "too_large", hub.channels)
            return JSONResponse({"outcome": "too_large"}, status_code=413, headers={"Connection": "close"})
        try:
            receipt = await run_in_threadpool(receive, hub, channel, delivery_headers(request), body)
        except Exception as exc:  # a bug: the channel redelivers on a 5xx, and the log says why
            log.error("webhook failed", channel=channel, error=scrub(f"{type(exc).__name__}: {exc}"), exc_info=True)
            telemetry.webhook_answered(channel, "error", hub.channels)
            return JSONResponse({"outcome": "error"}, status_code=500)
        telemetry.webhook_answered(channel, receipt.outcome, hub.channels)
        if receipt.outcome == "stored":
            applier.wake()
        # The service logs what it refuses (a bad signature, a database away); one line per request is debug.
        log.debug("webhook answered", channel=channel, status=receipt.status, outcome=receipt.outcome)
        return JSONResponse({"outcome": receipt.outcome}, status_code=receipt.status)

    return webhook


def create_app(
    hub: Hub,
    *,
    receiver: Receiver | None = None,
    applier: Applier | None = None,
    scheduler_running: Callable[[], bool] | None = None,
) -> Starlette:
    """The app for `hub`. `receiver` stands in for `services.webhooks.receive` (tests); `applier` defaults to
    one on `hub`, started and stopped with the app's lifespan; `scheduler_running` is told by the daemon (None
    where this process runs no scheduler: `channelhub serve`)."""
    the_applier = applier if applier is not None else Applier(hub)
    webhook = webhook_endpoint(hub, receiver or receive_delivery, the_applier)

    async def healthz(_request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(_request: Request) -> Response:
        state = await run_in_threadpool(readiness, hub, scheduler_running)
        return JSONResponse(state.as_json(), status_code=200 if state.ready else 503)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[dict[str, Any]]:
        the_applier.start()
        try:
            yield {}
        finally:
            await run_in_threadpool(the_applier.stop)

    app = Starlette(
        routes=[
            Route("/webhooks/{channel}", webhook, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
            Route("/readyz", readyz, methods=["GET"]),
            Route("/metrics", metrics_endpoint(hub), methods=["GET"]),
            *dashboard_routes(hub),
        ],
        lifespan=lifespan,
    )
    app.state.hub = hub
    app.state.applier = the_applier
    return app
