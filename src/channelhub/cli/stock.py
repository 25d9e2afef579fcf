"""Stock: show levels and sellable quantities, set and adjust on-hand (both publish and release holds)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer
from rich.table import Table
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from channelhub.cli.app import app
from channelhub.cli.common import console, handle_errors, open_hub
from channelhub.errors import StockError
from channelhub.runtime import Hub
from channelhub.stock import ledger
from channelhub.stock.publish import publish, sellable_by_channel
from channelhub.store.tables import StockMovementRow
from channelhub.sync.apply import ApplyReport
from channelhub.sync.holds import release_holds

stock_app = typer.Typer(help="Look at and change stock levels.", no_args_is_help=True)
app.add_typer(stock_app, name="stock")

LocationOption = Annotated[str | None, typer.Option("--location", "-l", help="Location code (default: the only one).")]
ReasonOption = Annotated[str, typer.Option("--reason", "-r", help="Why (kept in the stock movement audit).")]


def default_location(hub: Hub, location: str | None) -> str:
    if location:
        return location
    codes = [str(getattr(loc, "code", loc)) for loc in hub.config.locations]
    if len(codes) == 1:
        return codes[0]
    raise StockError("give --location (the config has " + (f"{len(codes)} locations)" if codes else "none)"))


def change_stock(hub: Hub, change: Callable[[Session], set[str]], *, label: str) -> tuple[int, ApplyReport]:
    """Apply a ledger change, publish the new sellable quantities in the same transaction, then retry held orders.

    Returns (stock rows queued, what releasing holds did). The publish cause is the movement id, so the outbox
    keys are deterministic for this change.
    """
    with hub.db.transaction() as session:
        skus = change(session)
        session.flush()
        movement = session.scalar(select(func.max(StockMovementRow.id)))
        queued = publish(session, skus, hub.policies, cause=f"movement:{movement}:{label}") if skus else 0
    released = release_holds(hub.db, hub.policies, skus) if skus else ApplyReport()
    return queued, released


def report_change(hub: Hub, sku: str, queued: int, released: ApplyReport) -> None:
    show_levels(hub, sku)
    console.print(f"{queued} stock update(s) queued for the channels", markup=False)
    if released.confirmed:
        console.print(f"{released.confirmed} held order(s) confirmed now that stock arrived", markup=False)


def show_levels(hub: Hub, sku: str | None) -> None:
    with hub.db.transaction() as session:
        levels = ledger.levels(session, sku)
        skus = sorted({level.sku for level in levels})
        sellable = sellable_by_channel(session, skus, hub.policies)
    channels = [p.channel for p in hub.policies]
    table = Table(title="stock")
    for column in ("sku", "location", "on hand", "reserved", "available", *(f"sellable {c}" for c in channels)):
        table.add_column(column)
    seen: set[str] = set()
    for level in levels:
        first = level.sku not in seen
        seen.add(level.sku)
        per_channel = [str(sellable.get(c, {}).get(level.sku, "-")) if first else "" for c in channels]
        table.add_row(
            level.sku, level.location, str(level.on_hand), str(level.reserved), str(level.available), *per_channel
        )
    console.print(table)


@stock_app.command("show")
@handle_errors
def stock_show(ctx: typer.Context, sku: Annotated[str | None, typer.Argument(help="Only this SKU.")] = None) -> None:
    """On hand, reserved and available per location, and what each channel may list."""
    with open_hub(ctx) as hub:
        show_levels(hub, sku)


@stock_app.command("set")
@handle_errors
def stock_set(
    ctx: typer.Context,
    sku: Annotated[str, typer.Argument()],
    quantity: Annotated[int, typer.Argument(min=0)],
    reason: ReasonOption,
    location: LocationOption = None,
) -> None:
    """Set on-hand units (a stock count), publish to the channels and release orders held for stock."""
    with open_hub(ctx) as hub:
        loc = default_location(hub, location)
        queued, released = change_stock(
            hub, lambda s: ledger.set_on_hand(s, sku, loc, quantity, reason), label=f"set:{sku}:{loc}"
        )
        report_change(hub, sku, queued, released)


@stock_app.command("adjust")
@handle_errors
def stock_adjust(
    ctx: typer.Context,
    sku: Annotated[str, typer.Argument()],
    delta: Annotated[int, typer.Argument(help="Units to add (negative to remove); use -- before a negative number.")],
    reason: ReasonOption,
    location: LocationOption = None,
) -> None:
    """Add or remove on-hand units, publish to the channels and release orders held for stock."""
    with open_hub(ctx) as hub:
        loc = default_location(hub, location)
        queued, released = change_stock(
            hub, lambda s: ledger.adjust_on_hand(s, sku, loc, delta, reason), label=f"adjust:{sku}:{loc}"
        )
        report_change(hub, sku, queued, released)


@stock_app.command("reconcile")
@handle_errors
def stock_reconcile(
    ctx: typer.Context,
    channel: Annotated[str | None, typer.Option("--channel", help="Only this channel.")] = None,
    heal: Annotated[bool, typer.Option("--heal", help="Queue the hub's figure for every drifted SKU.")] = False,
) -> None:
    """Read each channel's listed stock back and show where it differs from the hub (exit 1 on drift)."""
    drifted = False
    with open_hub(ctx, connect=True) as hub:
        names = [hub.channel(channel).name] if channel else list(hub.channels)
        for name in names:
            report = hub.reconcile(name, heal=heal)
            if report is None:
                console.print(f"{name}: skipped (cannot read stock back, or not running)", markup=False)
                continue
            if report.error:
                console.print(f"{name}: reconcile failed: {report.error}", markup=False)
                drifted = True
                continue
            summary = f"{report.checked} SKU(s) checked, {len(report.drifts)} drifted, {report.in_flight} in flight"
            console.print(f"{name}: {summary}" + (f", {report.healed} queued to heal" if heal else ""), markup=False)
            if report.drifts:
                drifted = True
                table = Table("sku", "listed at the channel", "hub")
                for drift in report.drifts:
                    table.add_row(drift.sku, "-" if drift.listed is None else str(drift.listed), str(drift.expected))
                console.print(table)
    if drifted and not heal:
        raise typer.Exit(1)
