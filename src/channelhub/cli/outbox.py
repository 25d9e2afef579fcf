"""The outbox (pending, dead, retried writes) and the quarantine (inbox rows that did not map)."""

from __future__ import annotations

from typing import Annotated

import typer

from channelhub.cli.app import app
from channelhub.cli.common import console, err_console, fail, handle_errors, open_hub
from channelhub.render import OUTBOX_STATUSES

outbox_app = typer.Typer(help="Outbound writes: list them, retry dead ones.", no_args_is_help=True)
quarantine_app = typer.Typer(help="Payloads that did not map: see why, replay after a fix.", no_args_is_help=True)
app.add_typer(outbox_app, name="outbox")
app.add_typer(quarantine_app, name="quarantine")


@outbox_app.command("list")
@handle_errors
def outbox_list(
    ctx: typer.Context,
    status: Annotated[str | None, typer.Option("--status", help=f"One of {', '.join(OUTBOX_STATUSES)}.")] = None,
    channel: Annotated[str | None, typer.Option("--channel", help="Only this channel.")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1)] = 200,
) -> None:
    """Outbound writes, newest first: what, to which channel, how many attempts, the last error."""
    from rich.table import Table

    from channelhub.render import describe_write, fmt_time
    from channelhub.services.views import known_channel, outbox_rows

    if status is not None and status not in OUTBOX_STATUSES:
        raise fail(f"--status must be one of {', '.join(OUTBOX_STATUSES)}", 2)
    with open_hub(ctx) as hub, hub.db.transaction() as session:
        if channel is not None:
            known_channel(hub, session, channel)
        rows = outbox_rows(session, status=status, channel=channel, limit=limit)
        table = Table(title=f"outbox ({len(rows)})")
        for column in ("id", "channel", "kind", "what", "status", "attempts", "due", "last error"):
            table.add_column(column, overflow="fold")
        for row in rows:
            table.add_row(
                str(row.id),
                row.channel,
                row.kind,
                describe_write(row.kind, row.payload or {}),
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
    from channelhub.services.outbox import retry_dead

    if not ids and not all_dead:
        raise fail("give outbox ids or --all-dead", 2)
    if ids and all_dead:
        raise fail("give outbox ids or --all-dead, not both", 2)
    with open_hub(ctx) as hub:
        revived = retry_dead(hub, None if all_dead else list(ids or []))
    console.print(f"{len(revived)} dead write(s) queued again", markup=False)
    missing = sorted(set(ids or []) - set(revived))
    if missing:
        raise fail(f"not dead (or no such write): {', '.join(map(str, missing))}; left as they were")


@quarantine_app.command("list")
@handle_errors
def quarantine_list(
    ctx: typer.Context,
    channel: Annotated[str | None, typer.Option("--channel", help="Only this channel.")] = None,
) -> None:
    """Inbox rows that did not map, with where they came from (file:line) and why."""
    from rich.table import Table

    from channelhub.render import fmt_time
    from channelhub.services.views import known_channel, quarantine_reason, quarantined

    with open_hub(ctx) as hub, hub.db.transaction() as session:
        if channel is not None:
            known_channel(hub, session, channel)
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
    """Map quarantined rows again (after fixing a layout or SKU map); rows that now map are applied. Without ids,
    orders held for a line without a SKU are mapped again too (after a SKU map entry). Exit 1 when an id is not
    in quarantine or a channel could not replay."""
    from channelhub.services.orders import replay

    with open_hub(ctx, connect=True) as hub:
        result = replay(hub, ids)
    for channel, report in sorted(result.reports.items()):
        console.print(
            f"{channel}: {report.applied} applied, {report.quarantined} still quarantined "
            f"({report.orders.created} new order(s), {report.orders.held} held)",
            markup=False,
        )
    for channel, report in sorted(result.remapped.items()):
        still = report.orders.held
        console.print(
            f"{channel}: {report.records} order(s) held for a line without a SKU mapped again: "
            f"{report.orders.confirmed} confirmed, {still} still held",
            markup=False,
        )
    for channel, reason in sorted(result.not_running.items()):
        err_console.print(f"{channel}: cannot replay: {reason}", markup=False)
    if not result.reports and not result.remapped and not result.missing and not result.not_running:
        console.print("nothing in quarantine", markup=False)
    if result.missing:
        raise fail(f"not in quarantine: {', '.join(map(str, result.missing))}")
    if result.not_running:
        raise typer.Exit(1)
