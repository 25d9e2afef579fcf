"""Rich tables the CLI and the demo both print, and the words the CLI and the dashboard both use for times and
outbound writes (presentation only: the data comes from `services.views`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rich.table import Table

# Every status an outbox row can have, in the order a person reads them (the CLI's --status, the dashboard's
# filter). Here, not beside the queries, because the CLI names them in its help: `--version` loads no database code.
OUTBOX_STATUSES = ("pending", "inflight", "done", "dead", "superseded", "skipped")


def fmt_time(value: datetime | None) -> str:
    if value is None:
        return "-"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def fmt_age(value: datetime | None, now: datetime | None = None) -> str:
    """How long ago, in a person's words ("3s", "4m 10s", "2h 5m", "3d 4h")."""
    if value is None:
        return "-"
    seconds = max(int(((now or datetime.now(UTC)) - value).total_seconds()), 0)
    if seconds < 60:
        return f"{seconds}s"
    minutes, secs = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {secs}s"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes}m"
    days, hours = divmod(hours, 24)
    return f"{days}d {hours}h"


STATUS_COLUMNS = (
    "channel", "kind", "last pull", "lag", "last webhook", "missed", "cursor", "pending", "dead", "held",
    "quarantined", "stopped",
)  # fmt: skip


def status_table(rows: list[Any]) -> Table:
    """One row per channel (`services.views.ChannelStatus`)."""
    table = Table(title="channels")
    for column in STATUS_COLUMNS:
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row.name,
            row.kind,
            fmt_time(row.last_pull),
            fmt_age(row.last_ok),
            fmt_age(row.last_webhook) if row.webhooks else "-",
            str(row.missed_webhooks) if row.webhooks else "-",
            row.cursor,
            str(row.pending),
            str(row.dead),
            str(row.held),
            str(row.quarantined),
            row.stopped_reason or (f"last error: {row.last_error}" if row.last_error else ""),
        )
    return table


def describe_write(kind: str, payload: dict[str, Any]) -> str:
    """What one outbound write says, in words ("MUG-1 -> 3", "DHL 00340434 for #1001 (MUG-1 x2), completes")."""
    if kind == "stock" or ("quantity" in payload and "sku" in payload):
        return f"{payload.get('sku')} -> {payload.get('quantity')}"
    order = payload.get("order_number") or payload.get("order_external_id") or "?"
    if kind == "fulfillment":
        shipment = payload.get("shipment") or {}
        lines = ", ".join(f"{x.get('sku')} x{x.get('quantity')}" for x in shipment.get("lines") or [])
        done = ", completes the order" if payload.get("completes_order") else ""
        return f"{shipment.get('carrier', '?')} {shipment.get('tracking_number', '?')} for {order} ({lines}){done}"
    if kind == "cancellation":
        return f"cancel {order}: {payload.get('reason', '')}"
    if kind == "refund":
        return f"refund {payload.get('amount')} {payload.get('currency')} for {order}"
    return ", ".join(f"{key}={value}" for key, value in sorted(payload.items()) if not isinstance(value, dict | list))
