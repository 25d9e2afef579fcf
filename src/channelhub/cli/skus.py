"""SKU master data: import customs data from a CSV, show one SKU's."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from channelhub.cli.app import app
from channelhub.cli.common import console, handle_errors, open_hub

sku_app = typer.Typer(help="SKU master data (customs: HS code, origin, value, weight).", no_args_is_help=True)
app.add_typer(sku_app, name="sku")


@sku_app.command("import")
@handle_errors
def sku_import(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="CSV with a header row; see the README's SKU master data.")],
) -> None:
    """Write the master data of every valid row (empty cells keep what is stored); exit 1 if any row is refused."""
    from channelhub.services.skus import import_master_data

    if not file.is_file():
        raise typer.BadParameter(f"no such file: {file}", param_hint="FILE")
    with open_hub(ctx) as hub:
        report = import_master_data(hub, file)
    console.print(
        f"{report.imported} row(s) imported ({len(report.created)} new SKU(s), {len(report.updated)} updated), "
        f"{len(report.refused)} refused",
        markup=False,
    )
    for note in report.notes:
        console.print(note, markup=False)
    for refused in report.refused:
        console.print(f"refused {refused}", markup=False)
    if report.refused:
        raise typer.Exit(1)


@sku_app.command("show")
@handle_errors
def sku_show(ctx: typer.Context, sku: Annotated[str, typer.Argument()]) -> None:
    """One SKU's master data, and which customs fields an international order still needs."""
    from rich.table import Table

    from channelhub.services.skus import show
    from channelhub.stock.master_data import CUSTOMS_FIELDS

    with open_hub(ctx) as hub:
        data = show(hub, sku)
    table = Table("field", "value", title=f"sku {data.sku}")
    value = f"{data.declared_value} {data.declared_currency}" if data.declared_value is not None else None
    for name in ("title", *CUSTOMS_FIELDS):
        shown = value if name == "declared_value" else getattr(data, name)
        table.add_row(name, "-" if shown in (None, "") else str(shown))
    console.print(table)
    missing = data.missing()
    if missing:
        console.print(f"missing for customs: {', '.join(missing)}", markup=False)
    else:
        console.print("customs data complete", markup=False)
