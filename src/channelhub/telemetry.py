"""What this process counts as things happen, for /metrics: the figures the database cannot tell afterwards.

The figures read from the database at scrape time (outbox depth, holds, pull lag, ...) live in
`channelhub.services.metrics`; these are the ones only the process sees while it works. They sit at the bottom of
the layering, like `channelhub.logs`, so the engine records a fact with one line where it is known and imports
nothing above it: this module imports only prometheus_client.

Every metric is registered on `REGISTRY`, this module's own registry (not prometheus_client's global one), so a
library or plugin registering its own metrics in the same process can never clash with the hub's names, and the
app's /metrics serves exactly what is documented (with the process' CPU, memory and GC figures beside).

Labels are bounded: channel names from the config, outbox kinds, outcomes and reasons from fixed lists. Never a
SKU, an order id or anything a caller of the HTTP app chooses: a webhook to a channel the config does not name is
counted under `UNKNOWN_CHANNEL`.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Histogram,
    disable_created_metrics,
    gc_collector,
    platform_collector,
    process_collector,
)

UNKNOWN_CHANNEL = "_unknown"

# A `_created` sample beside every counter and histogram doubles the series and says nothing `process_start_time`
# does not (each counter starts with the process).
disable_created_metrics()
REGISTRY = CollectorRegistry(auto_describe=True)
process_collector.ProcessCollector(registry=REGISTRY)
platform_collector.PlatformCollector(registry=REGISTRY)
gc_collector.GCCollector(registry=REGISTRY)

# A connector call takes from milliseconds (a local file) to a minute (a slow API with retries inside httpx).
_CALL_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
# Enqueue to delivery: a woken dispatcher delivers in well under a second; a channel that was down for hours, late.
_DELIVERY_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 900.0, 3600.0, 4 * 3600.0)

WEBHOOK_REQUESTS = Counter(
    "channelhub_webhook_requests",
    "Webhook requests answered by this process, by channel and outcome (stored, duplicate, ignored, "
    "bad_signature, unknown_channel, no_webhooks, unavailable, too_large, error).",
    ["channel", "outcome"],
    registry=REGISTRY,
)
DISPATCH_SECONDS = Histogram(
    "channelhub_dispatch_seconds",
    "Seconds per connector call made by the outbox dispatcher (one batch of stock rows, or one order write), "
    "whatever its outcome, by channel and kind.",
    ["channel", "kind"],
    buckets=_CALL_BUCKETS,
    registry=REGISTRY,
)
DELIVERY_SECONDS = Histogram(
    "channelhub_outbox_delivery_seconds",
    "Seconds from an outbox row's enqueue to the moment the channel confirmed it (marked done), by channel and "
    "kind. Superseded, skipped and dead rows are not delivered and not observed.",
    ["channel", "kind"],
    buckets=_DELIVERY_BUCKETS,
    registry=REGISTRY,
)
RESERVATIONS_REFUSED = Counter(
    "channelhub_reservations_refused",
    "Orders whose reservation the ledger refused, one per order and attempt (a held order retried when stock "
    "is released and refused again counts again), by reason: short_stock (the oversell guard: not enough "
    "available) or unknown_sku.",
    ["reason"],
    registry=REGISTRY,
)


def webhook_answered(channel: str, outcome: str, known_channels: Iterable[str]) -> None:
    """Count one webhook answer; a channel the config does not name is counted as UNKNOWN_CHANNEL (the path is
    the caller's choice, and every distinct label value would be a new time series)."""
    WEBHOOK_REQUESTS.labels(channel if channel in known_channels else UNKNOWN_CHANNEL, outcome).inc()


def delivered(channel: str, kind: str, enqueued_at: Iterable[datetime]) -> None:
    """Observe the enqueue-to-delivery time of rows confirmed now (wall clock: the rows' created_at is too)."""
    now = datetime.now(UTC)
    histogram = DELIVERY_SECONDS.labels(channel, kind)
    for at in enqueued_at:
        histogram.observe(max(0.0, (now - at).total_seconds()))


def reservations_refused(reasons: Iterable[str]) -> None:
    """Count one refused reservation per held reason the ledger gave ("unknown SKU ..." or "short stock ...")."""
    for reason in reasons:
        RESERVATIONS_REFUSED.labels("unknown_sku" if reason.startswith("unknown SKU") else "short_stock").inc()
