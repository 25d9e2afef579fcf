"""Wake-up benchmark: time from the commit of a stock set to the start of the dispatch run that sends it.

A real `Daemon` runs in this process over one channel (a recording fake), with the dispatch tick at the current
default `[sync] dispatch_seconds`. Commits (`services.stock.set_stock`, a few SKUs round robin) come at
`--rate` per second; each commit's latency is the time to the first dispatch run that starts after it. Measured,
in the same run, on each backend:

- `woken`: the daemon as shipped (the commit wakes the dispatcher; `wake_window_seconds` coalesces);
- `polling`: the same daemon with its dispatch loop left out, so only the tick dispatches (the baseline).

On SQLite the commits are made in the daemon's process (the in-process wake-up); on PostgreSQL by a second Hub
with its own engine, as another daemon or the CLI would, so only LISTEN/NOTIFY can wake the daemon. Prints p50
and p99 per (backend, mode) and the ratio polling/woken. Exits 1 only when a commit never reached the channel.

    python bench/wake.py [--commits 300] [--rate 20] [--window 0.2] [--postgres URL | --no-postgres]
"""

from __future__ import annotations

import argparse
import bisect
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text

from channelhub.config.models import SyncSettings
from channelhub.daemon import Daemon
from channelhub.runtime import Hub
from channelhub.services import channels as channel_services
from channelhub.services import stock as stock_services
from channelhub.stock.policy import ChannelStockPolicy
from channelhub.testing.fakes import FakeOrderSource

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
CONFIG = """
database = "{url}"
[sync]
dispatch_seconds = {tick}
wake_window_seconds = {window}
[[locations]]
code = "main"
[[channels]]
name = "shop"
kind = "marketplace"
reconcile = "off"
[channels.schedule]
pull_seconds = 3600
push_seconds = 3600
[channels.settings]
root = "shop"
"""


class PollingOnly(Daemon):
    """The baseline: the daemon without its dispatch loop, so only the interval job dispatches."""

    def _start_dispatch_loop(self) -> None:
        return None


def open_hub(folder: Path, url: str, tick: float, window: float) -> Hub:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "shop" / "inbox").mkdir(parents=True, exist_ok=True)
    (folder / "channelhub.toml").write_text(CONFIG.format(url=url, tick=tick, window=window))
    hub = Hub.open(folder / "channelhub.toml")
    hub.channels["shop"].connector = FakeOrderSource("shop")
    hub.policies = [ChannelStockPolicy("shop")]
    return hub


def measure(folder: Path, url: str, *, polling: bool, cross: bool, args: argparse.Namespace) -> list[float]:
    """Latencies (seconds) of `args.commits` commits; raises SystemExit(1) if one never reached the channel.

    The quantities differ per mode: a run on a database another run used must not set what the channel already
    confirmed (the dispatcher rightly sends nothing then)."""
    offset = 1_000_000 if polling else 0
    tick = SyncSettings().dispatch_seconds
    hub = open_hub(folder / "daemon", url, tick, args.window)
    writer = open_hub(folder / "writer", url, tick, args.window) if cross else hub
    starts: list[float] = []
    real_dispatch = channel_services.dispatch

    def timed_dispatch(hub_: Hub, **kwargs: Any) -> Any:
        starts.append(time.monotonic())
        return real_dispatch(hub_, **kwargs)

    channel_services.dispatch = timed_dispatch  # type: ignore[assignment]
    daemon = (PollingOnly if polling else Daemon)(hub)
    commits: list[float] = []
    try:
        daemon.start()
        time.sleep(0.5)  # past the first dispatch of the start
        gap = 1.0 / args.rate
        begin = time.monotonic()
        for n in range(args.commits):
            time.sleep(max(begin + n * gap - time.monotonic(), 0))
            stock_services.set_stock(writer, f"SKU-{n % 5}", offset + n + 1, location=None, reason="bench")
            commits.append(time.monotonic())
        deadline = time.monotonic() + tick + 10
        while (not starts or starts[-1] < commits[-1]) and time.monotonic() < deadline:
            time.sleep(0.05)
        last = {f"SKU-{n % 5}": offset + n + 1 for n in range(args.commits)}
        while time.monotonic() < deadline and any(hub_listed(hub).get(s) != q for s, q in last.items()):
            time.sleep(0.05)
        if any(hub_listed(hub).get(s) != q for s, q in last.items()):
            print(f"FAILED: the channel lists {hub_listed(hub)}, expected {last}")
            raise SystemExit(1)
    finally:
        daemon.shutdown()
        channel_services.dispatch = real_dispatch  # type: ignore[assignment]
        if writer is not hub:
            writer.close()
        hub.close()
    runs = sorted(starts)
    return [runs[bisect.bisect_left(runs, c)] - c for c in commits]


def hub_listed(hub: Hub) -> dict[str, int]:
    connector = hub.channels["shop"].connector
    assert isinstance(connector, FakeOrderSource)
    return dict(connector.listed)


def percentile(values: list[float], q: int) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1] if len(values) > 1 else values[0]


def fresh_postgres(admin_url: str) -> tuple[str, Any] | None:
    name = f"channelhub_bench_{uuid.uuid4().hex[:10]}"
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:
        print(f"postgres: skipped ({str(exc).splitlines()[0]})")
        return None
    return admin_url.rsplit("/", 1)[0] + f"/{name}", (admin, name)


def report(backend: str, results: dict[str, list[float]]) -> None:
    woken, polling = results["woken"], results["polling"]
    figures = {mode: (percentile(v, 50), percentile(v, 99)) for mode, v in results.items()}
    for mode, (p50, p99) in figures.items():
        print(f"{backend:>8} {mode:>8}: commit -> dispatch start p50 {p50 * 1000:8.1f} ms  p99 {p99 * 1000:8.1f} ms")
    ratio50 = figures["polling"][0] / max(figures["woken"][0], 1e-9)
    ratio99 = figures["polling"][1] / max(figures["woken"][1], 1e-9)
    print(f"{backend:>8}  polling/woken: p50 x{ratio50:.0f}, p99 x{ratio99:.0f} ({len(woken)}, {len(polling)} commits)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=300)
    parser.add_argument("--rate", type=float, default=20.0, help="commits per second")
    parser.add_argument("--window", type=float, default=SyncSettings().wake_window_seconds)
    parser.add_argument("--postgres", default=DEFAULT_PG, help="admin URL; a fresh database is made and dropped")
    parser.add_argument("--no-postgres", action="store_true")
    args = parser.parse_args(argv)
    print(
        f"{args.commits} commits at {args.rate:g}/s; tick (default [sync] dispatch_seconds) "
        f"{SyncSettings().dispatch_seconds:g} s; wake window {args.window:g} s"
    )
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        backends: list[tuple[str, str, bool]] = [("sqlite", "", False)]  # a fresh file per mode
        made = None if args.no_postgres else fresh_postgres(args.postgres)
        if made is not None:
            backends.append(("postgres", made[0], True))
        try:
            for backend, url, cross in backends:
                results = {}
                for mode in ("woken", "polling"):
                    where = folder / backend / mode
                    where.mkdir(parents=True)
                    results[mode] = measure(
                        where, url or f"sqlite:///{where / 'hub.db'}", polling=mode == "polling", cross=cross, args=args
                    )
                report(backend, results)
        finally:
            if made is not None:
                admin, name = made[1]
                with admin.connect() as conn:
                    conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
                admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
