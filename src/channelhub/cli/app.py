"""The typer application and its global options; the commands live in the sibling modules."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from channelhub import __version__
from channelhub.cli.common import CONFIG_ENV, CliState, fail
from channelhub.logs import LEVELS, configure_logging

app = typer.Typer(
    name="channelhub",
    help="Multi-channel order and inventory sync hub: one order model, one stock ledger, every channel.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

GlobalConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help=f"Config file (default: ${CONFIG_ENV} or ./channelhub.toml).",
        envvar=CONFIG_ENV,
        show_default=False,
    ),
]
# The same option after a subcommand (`channelhub run --config x.toml`). No envvar here: the environment is the
# fallback of the global option, and must not override a --config given before the subcommand.
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Config file (overrides the global --config).", show_default=False),
]


def _version(value: bool) -> None:
    if value:
        typer.echo(f"channelhub {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    ctx: typer.Context,
    config: GlobalConfigOption = None,
    log_json: Annotated[bool, typer.Option("--log-json", help="Log one JSON object a line (stderr).")] = False,
    log_level: Annotated[
        str | None, typer.Option("--log-level", help="DEBUG, INFO, WARNING or ERROR.", show_default=False)
    ] = None,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version and exit.")
    ] = False,
) -> None:
    """Global options apply to every command."""
    if log_level is not None and log_level.upper() not in LEVELS:
        raise fail(f"--log-level must be one of {', '.join(LEVELS)}", 2)
    ctx.obj = CliState(config=config, log_json=log_json, log_level=log_level.upper() if log_level else None)
    configure_logging(level=ctx.obj.log_level or "WARNING", json=log_json)
