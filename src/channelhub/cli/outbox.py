"""The outbox (pending, dead, retried writes) and the quarantine (inbox rows that did not map)."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import select

from channelhub.cli.app import app
from channelhub.cli.common import console, err_console, fail, fmt_time, handle_errors, open_hub
from channelhub.cli.views import quarantine_reason, quarantined
from channelhub.store.tables import InboxRow, OutboxRow
from channelhub.sync.outbox import retry_dead

outbox_app = typer.Typer(help="Outbound writes: list them, retry dead ones.", no_args_is_help=True)
quarantine_app = typer.Typer(help="Payloads that did not map: see why, replay after a fix.", no_args_is_help=True)
app.add_typer(outbox_app, name="outbox")
app.add_typer(quarantine_app, name="quarantine")

OUTBOX_STATUSES = ("pending", "inflight", "done", "dead", "superseded", "skipped")


def _summary(payload: dict[str, object]) -> str:
    if "quantity" in payload and "sku" in payload:
        return f"{payload['sku']} -> {payload['quantity']}"
    if "tracking_number" in payload:
        return f"tracking {payload['tracking_number']}"
    keys = ", ".join(sorted(payload)[:4])
    return f"{{{keys}}}"


@outbox_app.command("list")
@handle_errors
def outbox_list(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option("--status", help=f"One of {', '.join(OUTBOX_STATUSES)}.")] = None,
    channel: Annotated[str | None, typer.Option("--channel", help="Only this channel.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 200,
) -> None:
    """Outbound writes, newest first: what, to which channel, how many attempts, the last error."""
    if status is not None and status not in OUTBOX_STATUSES:
        raise fail(f"--status must be one of {', '.join(OUTBOX_STATUSES)}", 2)
    with open_hub(ctx) as hub, hub.db.transaction() as session:
        query = select(OutboxRow).order_by(OutboxRow.id.desc()).limit(limit)
        if status:
            query = query.where(OutboxRow.status == status)
        if channel:
            query = query.where(OutboxRow.channel == channel)
        rows = list(session.scalars(query))
        table = Table(title=f"outbox ({len(rows)})")
        for column in ("id", "channel", "kind", "what", "status", "attempts", "due", "last error"):
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(
                str(row.id),
                row.channel,
                row.kind,
                _summary(row.payload or {}),
                row.status,
                str(row.attempts),
                fmt_time(row.due_at) if row.status == "pending" else "",
                row.last_error,
            )
    console.print(table)


@outbox_app.command("retry")
@handle_errors
def outbox_retry(
    ctx: typer.Context,
    ids: Annotated[list[int] | None, typer.Argument(help="Outbox row ids to retry.")] = None,
    all_dead: Annotated[bool, typer.Option("--all-dead", help="Retry every dead row.")] = False,
) -> None:
    """Put dead writes back in the queue (attempts reset); the daemon or `channelhub sync` sends them."""
    if not ids and not all_dead:
        raise fail("give outbox ids or --all-dead", 2)
    if ids and all_dead:
        raise fail("give outbox ids or --all-dead, not both", 2)
    with open_hub(ctx) as hub:
        count = retry_dead(hub.db, ids=None if all_dead else list(ids or []))
    console.print(f"{count} dead write(s) queued again", markup=False)
    if ids and count < len(ids):
        err_console.print(f"{len(ids) - count} id(s) were not dead (or do not exist): left as they were")


@quarantine_app.command("list")
@handle_errors
def quarantine_list(
    ctx: typer.Context,
    channel: Annotated[str | None, typer.Option("--channel", help="Only this channel.")] = None,
) -> None:
    """Inbox rows that did not map, with where they came from (file:line) and why."""
    with open_hub(ctx) as hub, hub.db.transaction() as session:
        rows = quarantined(session, channel=channel)
        if not rows:
            console.print("nothing in quarantine")
            return
        table = Table(title=f"quarantine ({len(rows)})")
        for column in ("id", "channel", "received", "source", "reason"):
            table.add_column(column, overflow="fold")
        for row in rows:
            reason = quarantine_reason(row.source, row.reason)
            table.add_row(str(row.id), row.channel, fmt_time(row.received_at), row.source, reason)
    console.print(table)
    console.print("fix the layout or the file, then: channelhub quarantine replay [IDS]", markup=False)


@quarantine_app.command("replay")
@handle_errors
def quarantine_replay(
    ctx: typer.Context,
    ids: Annotated[list[int] | None, typer.Argument(help="Inbox ids (default: every quarantined row).")] = None,
) -> None:
    """Map quarantined rows again (after fixing a layout or SKU map); rows that now map are applied."""
    from channelhub.sync.pull import replay_quarantined

    with open_hub(ctx, connect=True) as hub:
        with hub.db.transaction() as session:
            query = select(InboxRow.id, InboxRow.channel).where(InboxRow.status == "quarantined")
            if ids:
                query = query.where(InboxRow.id.in_(ids))
            by_channel: dict[str, list[int]] = defaultdict(list)
            for row_id, channel in session.execute(query):
                by_channel[channel].append(row_id)
        if ids:
            missing = sorted(set(ids) - {i for group in by_channel.values() for i in group})
            if missing:
                err_console.print(f"not in quarantine: {', '.join(map(str, missing))}", markup=False)
        failed = False
        for channel, row_ids in sorted(by_channel.items()):
            runtime = hub.channels.get(channel)
            if runtime is None or runtime.connector is None:
                reason = "not in the config" if runtime is None else (runtime.stopped_reason or "disabled")
                err_console.print(f"{channel}: cannot replay {len(row_ids)} row(s): channel {reason}", markup=False)
                failed = True
                continue
            report = replay_quarantined(hub.db, runtime.connector, row_ids, policies=hub.policies)
            console.print(
                f"{channel}: {report.applied} applied, {report.quarantined} still quarantined "
                f"({report.orders.created} new order(s), {report.orders.held} held)",
                markup=False,
            )
        if failed:
            raise typer.Exit(1)
