"""GET /metrics: the hub's health in Prometheus' text format, behind the `[http] token` (bearer).

One scrape serves two kinds of figures, from one registry per app (so tests can build many apps):

- the process' own counters and histograms (`channelhub.telemetry.REGISTRY`: webhook requests, dispatch and
  delivery latency, refused reservations, and the process' CPU, memory and GC), passed through as they are;
- the figures the database holds (`channelhub.services.metrics.snapshot`), read at scrape time by
  `DatabaseCollector`, the same in every daemon on the database.

`channelhub_database_up` says whether the database answered. When it does not, the database figures are absent
(not zero: a zero would read as "no dead letters"), the process figures are still served, and the answer is
still 200, so Prometheus keeps the process figures and an alert can fire on `channelhub_database_up == 0`.
The scrape runs in a worker thread: the database reads block.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from channelhub import telemetry
from channelhub.logs import get_logger
from channelhub.redact import scrub
from channelhub.runtime import Hub
from channelhub.services.health import database_problem
from channelhub.services.metrics import MetricsSnapshot, snapshot
from channelhub.web.auth import require_token

log = get_logger("channelhub.web.metrics")

Reader = Callable[[Hub], MetricsSnapshot]  # services.metrics.snapshot; tests pass a failing one


def _gauge(name: str, documentation: str, labels: list[str], values: dict[Any, float]) -> GaugeMetricFamily:
    """A gauge family from {label value(s): value}; a single label's key is its value, several are a tuple."""
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for key, value in sorted(values.items()):
        family.add_metric(list(key) if isinstance(key, tuple) else [key], value)
    return family


def snapshot_families(snap: MetricsSnapshot) -> Iterator[Metric]:
    """Every database figure of `snap` as a metric family (see the README's "Metrics" for each name)."""
    pulled = {c.name: c.last_ok.timestamp() for c in snap.channels if c.last_ok is not None}
    yield _gauge(
        "channelhub_channel_last_pull_success_timestamp_seconds",
        "Unix time of the channel's last successful pull (absent: it never pulled).",
        ["channel"],
        pulled,
    )
    lags = {c.name: lag for c in snap.channels if (lag := snap.lag_seconds(c)) is not None}
    yield _gauge(
        "channelhub_channel_pull_lag_seconds",
        "Seconds since the channel's last successful pull, at the scrape.",
        ["channel"],
        lags,
    )
    yield _gauge(
        "channelhub_channel_stopped",
        "1 when the channel is stopped by a fatal error, else 0.",
        ["channel"],
        {c.name: float(c.stopped) for c in snap.channels},
    )
    yield _gauge(
        "channelhub_outbox_depth",
        "Outbound writes not finished (pending, inflight, dead), by channel, kind and status.",
        ["channel", "kind", "status"],
        dict(snap.outbox),
    )
    yield _gauge(
        "channelhub_outbox_dead_letters",
        "Outbound writes that gave up (dead) and wait for `channelhub outbox retry`.",
        ["channel", "kind"],
        dict(snap.dead_letters()),
    )
    yield _gauge(
        "channelhub_outbox_oldest_waiting_seconds",
        "Age of the oldest outbound write not yet delivered (pending or inflight).",
        ["channel", "kind"],
        snap.oldest_waiting_seconds(),
    )
    yield _gauge("channelhub_orders", "Orders by lifecycle state.", ["state"], dict(snap.orders))
    yield _gauge(
        "channelhub_orders_on_hold",
        "Orders on hold by what they wait for (stock, payment, channel, mapping).",
        ["reason"],
        dict(snap.holds),
    )
    yield _gauge(
        "channelhub_quarantined_records",
        "Inbox records quarantined (they did not map), waiting for a replay.",
        ["channel"],
        dict(snap.quarantined),
    )
    yield _gauge(
        "channelhub_webhook_deliveries_waiting",
        "Webhook deliveries stored but not yet applied.",
        ["channel"],
        dict(snap.webhooks_waiting),
    )


class DatabaseCollector(Collector):
    """The database figures of one hub, read at every collect (one read-only transaction)."""

    def __init__(self, hub: Hub, read: Reader = snapshot) -> None:
        self.hub = hub
        self.read = read

    def collect(self) -> Iterator[Metric]:
        started = time.perf_counter()
        snap = self._read()
        up = GaugeMetricFamily("channelhub_database_up", "1 when the database answered this scrape, else 0.")
        up.add_metric([], 1.0 if snap is not None else 0.0)
        yield up
        if snap is None:
            return
        yield from snapshot_families(snap)
        took = GaugeMetricFamily("channelhub_database_scrape_seconds", "Seconds the database figures took to read.")
        took.add_metric([], time.perf_counter() - started)
        yield took

    def _read(self) -> MetricsSnapshot | None:
        problem = database_problem(self.hub)  # a removed SQLite file still answers on an open connection
        if problem:
            log.warning("metrics: the database does not answer", error=problem)
            return None
        try:
            return self.read(self.hub)
        except Exception as exc:  # any driver's error: the figures are absent, the scrape still answers
            log.warning("metrics: the database figures are unreadable", error=scrub(f"{type(exc).__name__}: {exc}"))
            return None


class _ProcessFigures(Collector):
    """The process registry's families, passed through (the app's registry holds them with its own)."""

    def collect(self) -> Iterator[Metric]:
        yield from telemetry.REGISTRY.collect()


def metrics_registry(hub: Hub, read: Reader = snapshot) -> CollectorRegistry:
    """A registry for one app: the process figures and `hub`'s database figures."""
    registry = CollectorRegistry(auto_describe=False)  # no collect at register: that would read the database
    registry.register(_ProcessFigures())
    registry.register(DatabaseCollector(hub, read))
    return registry


def metrics_endpoint(hub: Hub, read: Reader = snapshot) -> Callable[[Request], Any]:
    """The /metrics handler for `hub`: 401 without the token, else the exposition (read in a worker thread)."""
    registry = metrics_registry(hub, read)
    token = hub.config.http.token

    async def metrics(request: Request) -> Response:
        refused = require_token(request, token.get_secret_value() if token is not None else None)
        if refused is not None:
            return refused
        body = await run_in_threadpool(generate_latest, registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return metrics
