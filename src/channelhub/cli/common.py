"""What every command shares: the global options, opening the hub, error handling and output helpers.

Exit codes: 0 done, 1 the command failed (an order not found, a refused stock change), 2 bad config or usage
(the error's `exit_code`). Command output goes to stdout; messages, warnings and logs to stderr. No command
prints a traceback for an error the hub raised on purpose, and everything printed passes the secret redaction
(`channelhub.redact`): what the hub stores is scrubbed when it is written, and the streams themselves mask
registered secrets in whatever else is printed (a second line of defence: rich may fold a long table cell over
two lines before it writes, so stored texts must already be clean).

Imports here stay light (typer, rich): the hub and its libraries are imported by the commands that use them, so
`channelhub --version` and `--help` start at once.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

import typer
from rich.console import Console

from channelhub.redact import scrub

if TYPE_CHECKING:
    from channelhub.runtime import Hub

CONFIG_ENV = "CHANNELHUB_CONFIG"
DEFAULT_CONFIG = "channelhub.toml"


class _Redacting:
    """A text stream that masks registered secrets in everything written, then writes to whatever
    `sys.stdout` / `sys.stderr` is at that moment (test runners swap them)."""

    def __init__(self, name: str) -> None:
        self._name = name

    @property
    def _stream(self) -> TextIO:
        return getattr(sys, self._name)  # type: ignore[no-any-return]

    def write(self, text: str) -> int:
        return self._stream.write(scrub(text))

    def __getattr__(self, attribute: str) -> Any:
        return getattr(self._stream, attribute)


def _width(stream: TextIO) -> int | None:
    # Rich assumes 80 columns when output is not a terminal; tables piped to a file or a test would fold badly.
    if os.environ.get("COLUMNS") or (hasattr(stream, "isatty") and stream.isatty()):
        return None
    return 160


console = Console(file=_Redacting("stdout"), highlight=False, soft_wrap=True, width=_width(sys.stdout))  # type: ignore[arg-type]
err_console = Console(file=_Redacting("stderr"), highlight=False, soft_wrap=True, width=_width(sys.stderr))  # type: ignore[arg-type]

F = TypeVar("F", bound=Callable[..., Any])


@dataclass
class CliState:
    """The global options, kept on the typer context for the subcommands."""

    config: Path | None = None
    log_json: bool = False
    log_level: str | None = None  # None: the config's [log] level for long-running commands, WARNING otherwise

    def config_path(self, override: Path | None = None) -> Path:
        return override or self.config or Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def state(ctx: typer.Context) -> CliState:
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):
        root.obj = CliState()
    return root.obj


def fail(message: str, code: int = 1) -> typer.Exit:
    err_console.print(f"[red]error:[/red] {scrub(message)}", markup=True, highlight=False)
    return typer.Exit(code)


def print_problems(heading: str, problems: list[str]) -> None:
    err_console.print(f"[red]{heading}[/red]", markup=True)
    for problem in problems:
        err_console.print(f"  {problem}", markup=False)


def handle_errors(func: F) -> F:
    """Turn the hub's own errors into one message and the error's exit code (2 for config and usage, 1 for
    the rest)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        from channelhub.errors import ChannelhubError, ConfigError

        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            print_problems("configuration error:", getattr(exc, "problems", None) or [str(exc)])
            raise typer.Exit(exc.exit_code) from None
        except ChannelhubError as exc:
            raise fail(str(exc), exc.exit_code) from None
        except ValueError as exc:  # refused input the hub checks itself (an empty reason, an invalid shipment)
            raise fail(str(exc)) from None

    return wrapper  # type: ignore[return-value]


@contextmanager
def open_hub(
    ctx: typer.Context, config: Path | None = None, *, connect: bool = False, long_running: bool = False
) -> Iterator[Hub]:
    """Open the hub for a command; logging is reconfigured with the config's secrets and log settings.

    `connect=True` builds and checks the connectors (commands that talk to channels); `long_running` commands
    log at the config's level, short ones only warnings unless --log-level says otherwise.
    """
    from channelhub.runtime import Hub

    opts = state(ctx)
    hub = Hub.open(opts.config_path(config), connect=connect)
    try:
        setup_logging(opts, hub, long_running=long_running)
        yield hub
    finally:
        hub.close()


def setup_logging(opts: CliState, hub: Hub | None = None, *, long_running: bool = False) -> None:
    """Command-line options win, then the config's [log] section; secrets always come from the config."""
    from channelhub.logs import configure_logging

    secrets: list[str] = []
    level = opts.log_level
    as_json = opts.log_json
    if hub is not None:
        secrets = list(hub.config.secret_values())
        as_json = as_json or hub.config.log.as_json
        if level is None and long_running:
            level = hub.config.log.level.upper()
    configure_logging(level=level or ("INFO" if long_running else "WARNING"), json=as_json, secrets=secrets)


def print_json(data: Any) -> None:
    """JSON to stdout, plain (no colour codes), so it can be piped to jq."""
    typer.echo(scrub(json.dumps(data, indent=2, default=str, ensure_ascii=False)))
