"""Operating the hub: run, sync, status, inspect, config check, db upgrade, demo."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from inspect import signature
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from channelhub.cli.app import ConfigOption, app
from channelhub.cli.common import (
    console,
    err_console,
    fail,
    fmt_age,
    fmt_time,
    handle_errors,
    open_hub,
    print_config_error,
    print_json,
    state,
)
from channelhub.cli.views import channel_statuses
from channelhub.errors import ConfigError, Skippable
from channelhub.ports import Capability
from channelhub.sync.dispatch import DispatchReport
from channelhub.sync.pull import PullReport

config_app = typer.Typer(help="Check the configuration.", no_args_is_help=True)
db_app = typer.Typer(help="Database maintenance.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(db_app, name="db")


# --- run / sync ---------------------------------------------------------------------------------------------


@app.command()
@handle_errors
def run(
    ctx: typer.Context,
    config: ConfigOption = None,
    once: Annotated[bool, typer.Option("--once", help="Run every job once, then exit.")] = False,
    for_seconds: Annotated[
        float | None, typer.Option("--for-seconds", help="Stop by itself after N seconds.", min=0)
    ] = None,
) -> None:
    """Run the daemon: pull orders, dispatch stock and tracking, until SIGINT or SIGTERM."""
    from channelhub.daemon import Daemon

    with open_hub(ctx, config, connect=True, long_running=True) as hub:
        daemon = Daemon(hub)
        if once:
            hub.resume_channels()
            daemon.run_once()
            return
        code = daemon.run_forever(for_seconds=for_seconds)
    raise typer.Exit(code)


class PullProgress:
    """A rich progress line fed by run_pull's per-page callback: pages and records so far for one channel."""

    def __init__(self, progress: Progress, channel: str) -> None:
        self.progress = progress
        self.channel = channel
        self.task = progress.add_task(f"{channel}: pulling", total=None)

    def __call__(self, report: PullReport) -> None:
        self.progress.update(
            self.task,
            completed=report.pages,
            description=f"{self.channel}: {report.pages} page(s), {report.records} record(s), "
            f"{report.quarantined} quarantined",
        )


@contextmanager
def progress_bars() -> Iterator[Progress]:
    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=False,
        disable=not err_console.is_terminal,
    )
    with progress:
        yield progress


def describe_pull(report: PullReport | None) -> str:
    """One line: what a pull did."""
    if report is None:
        return "nothing to pull"
    o = report.orders
    parts = [
        f"{report.pages} file(s)/page(s)",
        f"{report.records} record(s)",
        f"{o.created} new order(s)",
        f"{o.updated} updated",
        f"{o.confirmed} confirmed",
        f"{o.held} held",
        f"{report.quarantined} quarantined",
    ]
    if report.duplicate_files:
        parts.append(f"{report.duplicate_files} file(s) seen before")
    return ", ".join(parts)


def describe_dispatch(report: DispatchReport) -> str:
    """One line: what a dispatch pass did."""
    parts = [
        f"{report.calls} call(s)",
        f"{report.done} sent",
        f"{report.skipped + report.superseded} not needed",
        f"{report.retried} to retry",
        f"{report.dead} dead",
    ]
    parts += [f"{channel} stopped: {reason}" for channel, reason in report.stopped.items()]
    return ", ".join(parts)


@app.command()
@handle_errors
def sync(
    ctx: typer.Context,
    channel: Annotated[str | None, typer.Option("--channel", help="Only this channel.")] = None,
) -> None:
    """One pass: pull each channel, then send what is due in the outbox."""
    with open_hub(ctx, connect=True, long_running=True) as hub:
        names = [channel] if channel else list(hub.channels)
        if channel:
            hub.channel(channel)  # refuses an unknown name
        hub.resume_channels()
        failed = False
        with progress_bars() as progress:
            for name in names:
                runtime = hub.channels[name]
                if not runtime.can(Capability.PULL_ORDERS):
                    reason = runtime.stopped_reason or ("disabled" if not runtime.enabled else "does not pull orders")
                    console.print(f"{name}: skipped ({reason})")
                    failed = failed or bool(runtime.stopped_reason)
                    continue
                try:
                    report = hub.pull(name, progress=PullProgress(progress, name))
                except Exception as exc:  # a bug or the database going away: report it, go on with the rest
                    err_console.print(f"{name}: pull failed: {type(exc).__name__}: {exc}", markup=False)
                    failed = True
                    continue
                if report is not None and report.error:
                    err_console.print(f"{name}: {'stopped' if report.stopped else 'pull ended early'}: {report.error}")
                    failed = True
                console.print(f"{name}: {describe_pull(report)}", markup=False)
        dispatched = hub.dispatch()
        console.print(f"dispatch: {describe_dispatch(dispatched)}", markup=False)
        for error in dispatched.errors:
            err_console.print(f"dispatch: {error}", markup=False)
        failed = failed or bool(dispatched.stopped)
    if failed:
        raise typer.Exit(1)


# --- status -------------------------------------------------------------------------------------------------


def status_table(rows: list[Any]) -> Table:
    table = Table(title="channels")
    for column in (
        "channel",
        "kind",
        "last pull",
        "lag",
        "cursor",
        "pending",
        "dead",
        "held",
        "quarantined",
        "stopped",
    ):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row.name,
            row.kind,
            fmt_time(row.last_pull),
            fmt_age(row.last_ok),
            row.cursor,
            str(row.pending),
            str(row.dead),
            str(row.held),
            str(row.quarantined),
            row.stopped_reason or (f"last error: {row.last_error}" if row.last_error else ""),
        )
    return table


@app.command()
@handle_errors
def status(ctx: typer.Context) -> None:
    """Each channel: last pull, lag, cursor, outbox pending/dead, held orders, why it is stopped."""
    with open_hub(ctx) as hub:
        console.print(status_table(channel_statuses(hub)))


# --- inspect ------------------------------------------------------------------------------------------------


def inspection_connector(kind: str, layout: str | None, config_path: Path) -> Any:
    """A connector of `kind` built for offline inspection: no transport, no database, no config needed.

    Drop-in connectors are found in `connectors/` beside the config file (when there is one) and in the current
    folder. A connector class may offer `for_inspection(layout)`; otherwise it is built with default settings.
    """
    from channelhub.plugins import discover
    from channelhub.ports import ConnectorContext

    folders = [Path.cwd() / "connectors"]
    if config_path.is_file():
        folders.insert(0, config_path.resolve().parent / "connectors")
    registry = discover(list(dict.fromkeys(folders)), entry_points=True)
    cls = registry.get(kind)
    if cls is None:
        known = ", ".join(sorted(registry.kinds)) or "none"
        raise ConfigError(f"unknown connector kind {kind!r} (known: {known})", where="inspect")
    local_mappings = [d for d in (config_path.resolve().parent / "mappings", Path.cwd() / "mappings") if d.is_dir()]
    factory = getattr(cls, "for_inspection", None)
    if callable(factory):
        if "mapping_dirs" in signature(factory).parameters:
            return factory(layout, mapping_dirs=[*dict.fromkeys(local_mappings), *builtin_mapping_dirs()])
        return factory(layout)
    context = ConnectorContext(channel="inspect", base_dir=Path.cwd(), mapping_dirs=tuple(builtin_mapping_dirs()))
    return registry.create(kind, {}, context)


def builtin_mapping_dirs() -> list[Path]:
    import channelhub_mappings

    return [Path(channelhub_mappings.__file__).parent]


@app.command()
@handle_errors
def inspect(
    ctx: typer.Context,
    kind: Annotated[str, typer.Argument(help="Connector kind, e.g. marketplace.")],
    file: Annotated[Path, typer.Argument(help="A saved payload or flat file.", exists=True, dir_okay=False)],
    layout: Annotated[str | None, typer.Option("--layout", help="Layout name (mappings/NAME.yaml).")] = None,
) -> None:
    """Map a saved payload or file to canonical orders, printed as JSON. Touches no database."""
    connector = inspection_connector(kind, layout, state(ctx).config_path())
    options = {"layout": layout} if layout else {}
    orders: list[dict[str, Any]] = []
    problems: list[tuple[str, str]] = []
    for record in connector.inspect(file.name, file.read_bytes(), options):
        if record.problem:
            problems.append((record.source, record.problem))
            continue
        try:
            orders.append(connector.map_order(record).model_dump(mode="json"))
        except Skippable as exc:
            problems.append((record.source, str(exc)))
    print_json(orders)
    for source, reason in problems:
        err_console.print(f"problem: {source}: {reason}", markup=False)
    err_console.print(f"{len(orders)} order(s) mapped, {len(problems)} problem(s)", markup=False)
    if problems:
        raise typer.Exit(1)


# --- config / db / demo -------------------------------------------------------------------------------------


@config_app.command("check")
def config_check(ctx: typer.Context, config: ConfigOption = None) -> None:
    """Validate the config: every problem on its own line naming file, channel and key; exit 2 if any."""
    from channelhub.config import check_config, load_config

    path = state(ctx).config_path(config)
    problems = check_config(path)
    if problems:
        err_console.print(f"[red]{len(problems)} problem(s) in {path}:[/red]", markup=True)
        for problem in problems:
            err_console.print(f"  {problem}", markup=False)
        raise typer.Exit(2)
    try:
        cfg = load_config(path)
    except ConfigError as exc:
        print_config_error(exc)
        raise typer.Exit(2) from None
    enabled = [f"{c.name} ({c.kind})" for c in cfg.channels if c.enabled]
    disabled = [c.name for c in cfg.channels if not c.enabled]
    console.print(f"{path}: OK", markup=False)
    console.print(f"  database: {redact_url(cfg.database_url)}", markup=False)
    console.print(f"  channels: {', '.join(enabled) or 'none'}", markup=False)
    if disabled:
        console.print(f"  disabled: {', '.join(disabled)}", markup=False)
    console.print(f"  locations: {', '.join(loc.code for loc in cfg.locations) or 'none'}", markup=False)


def redact_url(url: str) -> str:
    """A database URL without its password."""
    scheme, sep, rest = url.partition("://")
    if not sep or "@" not in rest:
        return url
    creds, host = rest.rsplit("@", 1)
    user = creds.split(":", 1)[0]
    return f"{scheme}://{user}:***@{host}" if ":" in creds else url


@db_app.command("upgrade")
@handle_errors
def db_upgrade(ctx: typer.Context) -> None:
    """Bring the database schema to the latest revision (the daemon also does this at start)."""
    with open_hub(ctx) as hub:
        console.print(f"database {redact_url(hub.config.database_url)} is at the latest revision", markup=False)


@app.command()
@handle_errors
def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Working folder (wiped and recreated).")] = Path(
        "channelhub-demo"
    ),
    cycles: Annotated[int, typer.Option("--cycles", min=1, help="Daemon cycles per stage.")] = 2,
) -> None:
    """Run a self-contained demo: two channels sharing one stock pool, driven by the real daemon."""
    from channelhub.demo import run_demo

    code = run_demo(directory, cycles=cycles, out=console)
    if code:
        raise fail("the demo did not finish as expected", code)
    sys.stdout.flush()
