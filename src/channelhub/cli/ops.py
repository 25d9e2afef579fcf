"""Operating the hub: run, sync, status, inspect, config check, db upgrade, demo.

Each command parses, calls a service and prints; the hub is imported inside the command, so `--version` and
`--help` do not load it.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from channelhub.cli.app import ConfigOption, app
from channelhub.cli.common import console, err_console, fail, handle_errors, open_hub, print_json, print_problems, state

if TYPE_CHECKING:
    from rich.progress import Progress

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
    """Run the daemon: pull orders, dispatch stock and tracking, serve the webhooks and health checks on
    the http.listen address (unless http.enabled is false), until SIGINT or SIGTERM. --once serves nothing."""
    from channelhub.daemon import Daemon

    with open_hub(ctx, config, connect=True, long_running=True) as hub:
        daemon = Daemon(hub)
        if once:
            daemon.run_once()
            return
        extras: list[Any] = []
        if hub.config.http.enabled:
            from channelhub.web.server import web_server

            extras.append(web_server(hub, scheduler_running=lambda: daemon.scheduler.running))
        else:
            from channelhub.web.applier import Applier

            # No server takes deliveries now, but one may have stored some before it was turned off: apply them.
            extras.append(Applier(hub))
        code = daemon.run_forever(for_seconds=for_seconds, extras=extras)
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
    """Progress lines on stderr while a terminal watches; they vanish when done (transient), so the summary
    printed after them is never drawn over."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    progress = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err_console,
        transient=True,
        disable=not err_console.is_terminal,
    )
    with progress:
        yield progress


def describe_pull(report: PullReport | None) -> str:
    """One line: what a pull did, every new order counted by the state it ended in."""
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
        f"{o.shipped} shipped by the channel",
        f"{o.cancelled} cancelled",
        f"{report.quarantined} quarantined",
    ]
    if report.duplicates:
        parts.append(f"{report.duplicates} seen before")
    if report.duplicate_files:
        parts.append(f"{report.duplicate_files} file(s) seen before")
    if o.conflicts:
        parts.append(f"{len(o.conflicts)} conflict(s)")
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
    from channelhub.ports import Capability
    from channelhub.services import channels as services

    with open_hub(ctx, connect=True, long_running=True) as hub:
        names = [hub.channel(channel).name] if channel else list(hub.channels)
        services.start(hub)
        failed = False
        lines: list[tuple[bool, str]] = []  # (to stderr?, text), printed once the progress lines are gone
        with progress_bars() as progress:
            for name in names:
                runtime = hub.channels[name]
                if not runtime.can(Capability.PULL_ORDERS):
                    reason = runtime.stopped_reason or ("disabled" if not runtime.enabled else "does not pull orders")
                    lines.append((False, f"{name}: skipped ({reason})"))
                    failed = failed or bool(runtime.stopped_reason)
                    continue
                try:
                    report = services.pull_channel(hub, name, progress=PullProgress(progress, name))
                except Exception as exc:  # a bug or the database going away: report it, go on with the rest
                    lines.append((True, f"{name}: pull failed: {type(exc).__name__}: {exc}"))
                    failed = True
                    continue
                if report is not None and report.error:
                    lines.append(
                        (True, f"{name}: {'stopped' if report.stopped else 'pull ended early'}: {report.error}")
                    )
                    failed = True
                lines.append((False, f"{name}: {describe_pull(report)}"))
        for to_stderr, text in lines:
            (err_console if to_stderr else console).print(text, markup=False)
        dispatched = services.dispatch(hub)
        console.print(f"dispatch: {describe_dispatch(dispatched)}", markup=False)
        for error in dispatched.errors:
            err_console.print(f"dispatch: {error}", markup=False)
        failed = failed or bool(dispatched.stopped)
    if failed:
        raise typer.Exit(1)


# --- status -------------------------------------------------------------------------------------------------


@app.command()
@handle_errors
def status(ctx: typer.Context) -> None:
    """Each channel: last pull, lag, cursor, outbox pending/dead, held orders, why it is stopped."""
    from channelhub.render import status_table
    from channelhub.services.views import channel_statuses

    with open_hub(ctx) as hub:
        console.print(status_table(channel_statuses(hub)))


# --- inspect ------------------------------------------------------------------------------------------------


def inspection_connector(kind: str, layout: str | None, currency: str | None, config_path: Path) -> Any:
    """A connector of `kind` built for offline inspection: no transport, no database, no config needed.

    Drop-in connectors are found in `connectors/` beside the config file (when there is one) and in the current
    folder. A connector class may offer `for_inspection(layout, mapping_dirs=..., currency=...)` (each keyword
    only when its signature names it); otherwise it is built with default settings.
    """
    from inspect import signature

    from channelhub.errors import ConfigError
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
        accepted = signature(factory).parameters
        options: dict[str, Any] = {}
        if "mapping_dirs" in accepted:
            options["mapping_dirs"] = [*dict.fromkeys(local_mappings), *builtin_mapping_dirs()]
        if currency is not None:
            if "currency" not in accepted:
                raise ConfigError(f"{kind} takes no --currency", where="inspect")
            options["currency"] = currency
        return factory(layout, **options)
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
    currency: Annotated[
        str | None, typer.Option("--currency", help="Currency of files whose rows carry none (e.g. EUR).")
    ] = None,
    max_line_quantity: Annotated[
        int | None, typer.Option("--max-line-quantity", min=1, help="The channel's limit (default 10,000).")
    ] = None,
) -> None:
    """Map a saved payload or file to canonical orders, printed as JSON, with every record the import would
    refuse reported on stderr (exit 1). Touches no database."""
    from channelhub.sync.ingest import IngestRules, map_record

    connector = inspection_connector(kind, layout, currency, state(ctx).config_path())
    rules = IngestRules() if max_line_quantity is None else IngestRules(max_line_quantity=max_line_quantity)
    options = {"layout": layout} if layout else {}
    orders: list[dict[str, Any]] = []
    problems: list[str] = []
    notes: list[str] = []
    for record in connector.inspect(file.name, file.read_bytes(), options):
        order, reason = map_record(connector, record, rules)  # exactly what an import would decide
        if order is None:
            problems.append(reason)
        else:
            orders.append(order.model_dump(mode="json"))
            notes += order_notes(order)
    print_json(orders)
    for note in notes:
        err_console.print(note, markup=False)
    for reason in problems:
        err_console.print(f"refused: {reason}", markup=False)
    err_console.print(f"{len(orders)} order(s) mapped, {len(problems)} refused", markup=False)
    if problems:
        raise typer.Exit(1)


def order_notes(order: Any) -> list[str]:
    """What an import would make of the order's lines beyond the JSON: each line without a SKU (the order is
    held), each line that reserves no stock, and the totals check's warnings."""
    out = []
    where = f"order {order.external_id}"
    for position, line in enumerate(order.lines, 1):
        if line.unmapped:
            key = f"title:{line.title}" if line.title else f"product:{line.product_id}"
            out.append(f"held: {where}: {line.label(position)} has no SKU (give it one in the SKU map, e.g. {key!r})")
        elif not line.requires_stock:
            out.append(f"no stock: {where}: {line.label(position)} is a {line.kind.value} line: no reservation")
    out += [f"warning: {where}: {warning}" for warning in order.warnings]
    return out


# --- config / db / demo -------------------------------------------------------------------------------------


@config_app.command("check")
def config_check(ctx: typer.Context, config: ConfigOption = None) -> None:
    """Find everything `channelhub run` would refuse at start (config, database, each channel's connector and
    its local folders), without starting it: each problem on its own line, exit 2 if any. A plugin that no
    channel uses and that fails to load is a warning."""
    from channelhub.config import load_config
    from channelhub.redact import redact_url
    from channelhub.runtime import check_startup

    path = state(ctx).config_path(config)
    problems, warnings = check_startup(path)
    for warning in warnings:
        err_console.print(f"warning: {warning}", markup=False)
    if problems:
        print_problems(f"{len(problems)} problem(s) in {path}:", problems)
        raise typer.Exit(2)
    cfg = load_config(path)
    enabled = [f"{c.name} ({c.kind})" for c in cfg.channels if c.enabled]
    disabled = [c.name for c in cfg.channels if not c.enabled]
    console.print(f"{path}: OK", markup=False)
    console.print(f"  database: {redact_url(cfg.database_url)}", markup=False)
    console.print(f"  channels: {', '.join(enabled) or 'none'}", markup=False)
    if disabled:
        console.print(f"  disabled: {', '.join(disabled)}", markup=False)
    console.print(f"  locations: {', '.join(loc.code for loc in cfg.locations) or 'none'}", markup=False)


@db_app.command("upgrade")
@handle_errors
def db_upgrade(ctx: typer.Context) -> None:
    """Bring the database schema to the latest revision (the daemon also does this at start)."""
    from channelhub.redact import redact_url

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
    from channelhub.web.server import started_web_server

    code = run_demo(directory, cycles=cycles, out=console, serve=started_web_server)
    if code:
        raise fail("the demo did not finish as expected", code)
    sys.stdout.flush()
