"""Stock: show levels and sellable quantities, set and adjust on-hand (both publish and release holds), and
reconcile against what the channels list."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from channelhub.cli.app import app
from channelhub.cli.common import console, handle_errors, open_hub

if TYPE_CHECKING:
    from channelhub.runtime import Hub
    from channelhub.services.stock import StockResult

stock_app = typer.Typer(help="Look at and change stock levels.", no_args_is_help=True)
app.add_typer(stock_app, name="stock")

# 2**31 - 1: what the ledger's integer columns hold (channelhub.model.limits.MAX_QUANTITY), refused as usage.
MAX_UNITS = 2_147_483_647
LocationOption = Annotated[
    str | None, typer.Option("--location", "-l", help="A declared location (default: the only one).")
]
ReasonOption = Annotated[str, typer.Option("--reason", "-r", help="Why (kept in the stock movement audit).")]


def report_change(hub: Hub, sku: str, result: StockResult) -> None:
    show_levels(hub, sku)
    console.print(f"{result.released.published} stock update(s) queued for the channels", markup=False)
    if result.released.confirmed:
        console.print(f"{result.released.confirmed} held order(s) confirmed with the units that arrived", markup=False)


def show_levels(hub: Hub, sku: str | None) -> None:
    from rich.table import Table

    from channelhub.stock import ledger
    from channelhub.stock.sellable import sellable_by_channel

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
    quantity: Annotated[int, typer.Argument(min=0, max=MAX_UNITS)],
    reason: ReasonOption,
    location: LocationOption = None,
) -> None:
    """Set on-hand units (a stock count), publish to the channels and release orders held for stock."""
    from channelhub.services.stock import set_stock

    with open_hub(ctx) as hub:
        report_change(hub, sku, set_stock(hub, sku, quantity, location=location, reason=reason))


# A negative delta reads like an option to click: unknown "options" that are numbers are taken as the argument,
# so `stock adjust MUG -2 --reason x` works, as does `stock adjust MUG --reason x -- -2`.
@stock_app.command("adjust", context_settings={"ignore_unknown_options": True})
@handle_errors
def stock_adjust(
    ctx: typer.Context,
    sku: Annotated[str, typer.Argument()],
    delta: Annotated[
        int, typer.Argument(help="Units to add, negative to remove (e.g. -2).", min=-MAX_UNITS, max=MAX_UNITS)
    ],
    reason: ReasonOption,
    location: LocationOption = None,
) -> None:
    """Add or remove on-hand units, publish to the channels and release orders held for stock."""
    from channelhub.services.stock import adjust_stock

    with open_hub(ctx) as hub:
        report_change(hub, sku, adjust_stock(hub, sku, delta, location=location, reason=reason))


@stock_app.command("reconcile")
@handle_errors
def stock_reconcile(
    ctx: typer.Context,
    channel: Annotated[str | None, typer.Option("--channel", help="Only this channel.")] = None,
    heal: Annotated[bool, typer.Option("--heal", help="Queue the hub's figure for every drifted SKU.")] = False,
) -> None:
    """Read each channel's listed stock back and show where it differs from the hub (exit 1 on drift)."""
    from rich.table import Table

    from channelhub.services.channels import reconcile_channel

    drifted = False
    with open_hub(ctx, connect=True) as hub:
        names = [hub.channel(channel).name] if channel else list(hub.channels)
        for name in names:
            report = reconcile_channel(hub, name, heal=heal)
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
