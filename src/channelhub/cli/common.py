"""What every command shares: the global options, opening the hub, error handling and output helpers.

Exit codes: 0 done, 1 the command failed (an order not found, a refused stock change), 2 bad config or usage.
Command output goes to stdout; messages, warnings and logs to stderr. No command prints a traceback for an error
the hub raised on purpose.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO, TypeVar

import typer
from rich.console import Console

from channelhub.errors import ChannelhubError, ConfigError
from channelhub.logs import configure_logging
from channelhub.runtime import Hub, default_config_path


def _width(stream: TextIO) -> int | None:
    # Rich assumes 80 columns when output is not a terminal; tables piped to a file or a test would fold badly.
    if os.environ.get("COLUMNS") or (hasattr(stream, "isatty") and stream.isatty()):
        return None
    return 160


console = Console(highlight=False, soft_wrap=True, width=_width(sys.stdout))
err_console = Console(stderr=True, highlight=False, soft_wrap=True, width=_width(sys.stderr))

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class CliState:
    """The global options, kept on the typer context for the subcommands."""

    config: Path | None = None
    log_json: bool = False
    log_level: str | None = None  # None: the config's [log] level for long-running commands, WARNING otherwise

    def config_path(self, override: Path | None = None) -> Path:
        return override or self.config or default_config_path()


def state(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj


def fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {message}", markup=True)
    return typer.Exit(code)


def print_config_error(exc: ConfigError) -> None:
    problems = getattr(exc, "problems", None) or [str(exc)]
    err_console.print("[red]configuration error:[/red]", markup=True)
    for problem in problems:
        err_console.print(f"  {problem}", markup=False)


def handle_errors(func: F) -> F:
    """Turn the hub's own errors into a message and an exit code: 2 for config, 1 for the rest."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            print_config_error(exc)
            raise typer.Exit(2) from None
        except ChannelhubError as exc:
            raise fail(str(exc)) from None
        except ValueError as exc:  # refused input the hub checks itself (an empty reason, an invalid shipment)
            raise fail(str(exc)) from None

    return wrapper  # type: ignore[return-value]


@contextmanager
def open_hub(
    ctx: typer.Context, config: Path | None = None, *, connect: bool = False, long_running: bool = False
) -> Iterator[Hub]:
    """Open the hub for a command; logging is reconfigured with the config's secrets and log settings.

    `connect=True` builds the connectors (commands that talk to channels); `long_running` commands log at the
    config's level, short ones only warnings unless --log-level says otherwise.
    """
    opts = state(ctx)
    hub = Hub.open(opts.config_path(config), connect=connect)
    try:
        setup_logging(opts, hub, long_running=long_running)
        yield hub
    finally:
        hub.close()


def setup_logging(opts: CliState, hub: Hub | None = None, *, long_running: bool = False) -> None:
    """Command-line options win, then the config's [log] section; secrets always come from the config."""
    secrets: list[str] = []
    level = opts.log_level
    as_json = opts.log_json
    if hub is not None:
        secrets = list(hub.config.secret_values())
        as_json = as_json or hub.config.log.as_json
        if level is None and long_running:
            level = hub.config.log.level.upper()
    configure_logging(level=level or ("INFO" if long_running else "WARNING"), json=as_json, secrets=secrets)


def fmt_time(value: datetime | None) -> str:
    if value is None:
        return "-"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


def fmt_age(value: datetime | None, now: datetime | None = None) -> str:
    """How long ago, in a person's words ("3s", "4m 10s", "2h 5m", "3d 4h")."""
    if value is None:
        return "-"
    seconds = int(((now or datetime.now(UTC)) - value).total_seconds())
    seconds = max(seconds, 0)
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


def print_json(data: Any) -> None:
    """JSON to stdout, plain (no colour codes), so it can be piped to jq."""
    typer.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))
