"""Propagation: a sale at one channel to the other channels' `push_stock`, through real `channelhub run` daemons.

The source channel is the real WooCommerce connector, pointed at a fake store (tests/doubles) served over loopback
HTTP by this process: the same orders are there for its pull on the default schedule and, in the webhook modes,
POSTed to the hub as signed `order.created` deliveries. Two more channels ("shelf-a", "shelf-b") list the same
SKUs through a drop-in connector (bench/plugins/stock_recorder.py, loaded through `connector_dirs` as a third
party's would be) whose push_stock POSTs to a recorder server in this process, which timestamps each SKU's
arrival. The source channel lists the SKUs too (the hub pushes its figure back to the store, as in production).

Every order sells one unit of its own SKU (stock 100 each), open-loop at `--rate`; its latency is the time from
its due moment (the order appears at the store and its webhook POST is sent) until the recorder has seen that
SKU's new quantity (99) at EVERY other channel (the max over channels). Modes, each on a fresh database with a
fresh store and daemons, measured in the same run:

- `sqlite`: one daemon (`channelhub run`, HTTP on) on a SQLite file; webhooks to it;
- `postgres`: two daemons on one fresh PostgreSQL database (created and dropped here); webhooks alternately to
  each, as a load balancer in front of two hub hosts would spread them;
- `polling` (and `polling-postgres`, two daemons): no webhook sent; the orders only appear at the store, so the
  hub learns of them by its pull on the default `pull_seconds`; everything else as shipped.

Before the orders, each mode waits until the seeded stock (set in one transaction before the daemons start) has
reached every channel, so the daemons are warm and the outbox empty. A webhook stream then starts `--phase`
seconds after the daemons' first pull, by default so that the next one (every default `pull_seconds`, 60) falls
in its middle: the webhooks are measured with a pull re-reading the orders beside them, as in production. A
polling stream runs a whole number of pull intervals' worth of orders (`--orders` rounded up: 1,200 at 20/s), so
its waits for the next pull spread evenly over the interval, as they do in steady production, whatever the
phase; that wait is also printed apart from the hub's own work after the pull. Prints p50/p99/max and lost per
mode and the ratio polling/webhook on the same backend. After each mode the database is read back. Exits 1 when
an order did not reach every other channel within `--bound` seconds of the last order, the read-back finds an
order missing, unconfirmed or quarantined or a delivery unapplied, or a daemon did not exit cleanly; missing the
p99 target does not.

    python bench/propagation.py [--orders 1000] [--rate 20] [--modes sqlite,postgres,polling,polling-postgres]
                                [--postgres ADMIN_URL] [--phase S] [--bound 180] [--keep]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx

from _common import free_port, fresh_postgres, percentile, stop, wait_answering, woo_webhook_headers
from channelhub.config.models import Schedule

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from doubles.woocommerce.fake_store import FakeStore, make_order, serve  # noqa: E402

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
SECRET = "bench-webhook-secret"
KEY, KEY_SECRET = "ck_bench", "cs_bench"
RECEIVERS = ("shelf-a", "shelf-b")
INITIAL = 100  # units of every SKU; each order sells one, so the awaited figure is INITIAL - 1
TARGET_P99 = 2.0
MODES = {  # name -> (backend, daemons, webhooks)
    "sqlite": ("sqlite", 1, True),
    "postgres": ("postgres", 2, True),
    "polling": ("sqlite", 1, False),
    "polling-postgres": ("postgres", 2, False),
}


# --- the recorder: where the other channels' push_stock lands ---------------------------------------------------


class Recorder:
    """First arrival time (time.monotonic) of each (channel, SKU, quantity), and how many awaited SKUs have
    reached every channel."""

    def __init__(self, channels: tuple[str, ...]) -> None:
        self.channels = channels
        self.first: dict[tuple[str, str, int], float] = {}
        self._awaited: dict[str, int] = {}
        self._reached: dict[str, set[str]] = {}
        self.complete = 0
        self._cond = threading.Condition()
        self.server: ThreadingHTTPServer | None = None

    def expect(self, awaited: dict[str, int]) -> None:
        """From now on count the SKUs whose quantity in `awaited` has reached every channel."""
        with self._cond:
            self._awaited = dict(awaited)
            self._reached = {sku: set() for sku in awaited}
            self.complete = 0
            for channel, sku, quantity in self.first:
                self._note(channel, sku, quantity)

    def record(self, channel: str, updates: list[tuple[str, int]]) -> None:
        now = time.monotonic()
        with self._cond:
            for sku, quantity in updates:
                if (channel, sku, quantity) not in self.first:
                    self.first[(channel, sku, quantity)] = now
                    self._note(channel, sku, quantity)
            self._cond.notify_all()

    def _note(self, channel: str, sku: str, quantity: int) -> None:
        if self._awaited.get(sku) == quantity and channel in self.channels and channel not in self._reached[sku]:
            self._reached[sku].add(channel)
            if len(self._reached[sku]) == len(self.channels):
                self.complete += 1

    def wait_complete(self, until: float) -> bool:
        """Wait until every awaited SKU reached every channel, or time.monotonic() passes `until`."""
        with self._cond:
            return self._cond.wait_for(
                lambda: self.complete >= len(self._awaited), timeout=max(0.0, until - time.monotonic())
            )

    def reached_at(self, sku: str, quantity: int) -> float | None:
        """When the last of the channels first saw `quantity` for `sku` (None if one never did)."""
        with self._cond:
            seen = [self.first.get((channel, sku, quantity)) for channel in self.channels]
        return None if any(t is None for t in seen) else max(t for t in seen if t is not None)

    def serve(self) -> str:
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
                recorder.record(str(body["channel"]), [(str(s), int(q)) for s, q in body["updates"]])
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}/push"

    def close(self) -> None:
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()


@dataclass
class BenchStore(FakeStore):
    """The fake store, taking the OAuth 1.0a query the `woocommerce` package signs with over plain HTTP (the
    store is on loopback; the signature itself is not what is measured)."""

    pulls: list[float] = field(default_factory=list)  # when each pull began (its GET orders, page 1)

    def handle(self, method: str, url: str, headers: dict[str, str], body: bytes | None) -> Any:
        parts = urlsplit(url)
        if method == "GET" and parts.path.endswith("/wc/v3/orders") and parse_qs(parts.query).get("page") == ["1"]:
            self.pulls.append(time.monotonic())
        return super().handle(method, url, headers, body)

    def _authorised(self, headers: dict[str, str], query: dict[str, list[str]]) -> bool:
        if query.get("oauth_consumer_key", [""])[0] == self.consumer_key:
            return True
        return super()._authorised(headers, query)

    def place(self, oid: int, sku: str, product_id: int) -> bytes:
        """Put a new paid order of one unit of `sku` in the store; return its JSON (the webhook's body)."""
        modified = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        order = make_order(oid, modified=modified, lines=[{"sku": sku, "product_id": product_id, "quantity": 1}])
        with self._lock:
            self.orders[oid] = order
        return json.dumps(order).encode()


# --- one mode -----------------------------------------------------------------------------------------------------


@dataclass
class Outcome:
    mode: str
    orders: int
    latencies: list[float] = field(default_factory=list)
    lost: int = 0
    answers: list[float] = field(default_factory=list)  # webhook POST -> its answer, seconds
    refused: int = 0  # webhook answers other than 200
    waits: list[float] = field(default_factory=list)  # polling: due -> the start of the pull that found it
    work: list[float] = field(default_factory=list)  # polling: that pull's start -> every other channel
    failures: list[str] = field(default_factory=list)
    hub: str = ""  # what the hub stored, read after the run
    skipped: str = ""  # why the mode did not run (no PostgreSQL server)
    cpu: str = ""  # how busy the machine was while the orders came, and who made it so


def cpu_times(pids: list[int]) -> tuple[float, float, float, float]:
    """(machine busy, machine total, these processes', this process's) CPU seconds so far, from /proc."""
    tick = os.sysconf("SC_CLK_TCK")
    fields = [float(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    total = sum(fields[:8])
    busy = total - fields[3] - fields[4]  # less idle and iowait
    daemons = 0.0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            daemons += float(stat[11]) + float(stat[12])  # utime, stime
        except (OSError, IndexError):
            pass
    own = resource.getrusage(resource.RUSAGE_SELF)
    return busy / tick, total / tick, daemons / tick, own.ru_utime + own.ru_stime


def cpu_summary(before: tuple[float, ...], after: tuple[float, ...], cores: int) -> str:
    busy, total, daemons, bench = (a - b for a, b in zip(after, before, strict=True))
    wall = total / cores
    others = max(0.0, busy - daemons - bench)
    return (
        f"{busy / wall:.2f} of {cores} cores busy: daemons {daemons / wall:.2f}, bench {bench / wall:.2f}, "
        f"the rest (PostgreSQL's backends, anything else on the machine) {others / wall:.2f}"
    )


def config_text(url: str, port: int, store_url: str, recorder_url: str) -> str:
    receivers = "".join(
        f'\n[[channels]]\nname = "{name}"\nkind = "stock_recorder"\n[channels.settings]\n'
        f'recorder_url = "{recorder_url}"\n'
        for name in RECEIVERS
    )
    return (
        textwrap.dedent(
            f"""
            database = "{url}"
            connector_dirs = ["{ROOT / "bench" / "plugins"}"]

            [http]
            listen = "127.0.0.1:{port}"

            [[locations]]
            code = "main"

            [[channels]]
            name = "woo"
            kind = "woocommerce"
            [channels.settings]
            store_url = "{store_url}"
            consumer_key = "{KEY}"
            consumer_secret = "{KEY_SECRET}"
            webhook_secret = "{SECRET}"
            allow_insecure_http = true
            """
        )
        + receivers
    )


def seed(config: Path, skus: list[str]) -> None:
    """Migrate the database and count INITIAL units of every SKU, in one transaction (publishing them)."""
    from channelhub.runtime import Hub
    from channelhub.services.stock import declare_locations
    from channelhub.stock import ledger
    from channelhub.stock.changes import StockChange
    from channelhub.sync.holds import settle

    hub = Hub.open(config)
    try:
        with hub.db.transaction() as session:
            declare_locations(hub, session)
            change = StockChange()
            for sku in skus:
                change = change | ledger.set_on_hand(session, sku, "main", INITIAL, "bench seed")
            settle(session, hub.policies, touched=change.skus, freed=change.freed, cause="stock", at=datetime.now(UTC))
    finally:
        hub.close()


def hub_check(url: str, count: int, webhooks: bool) -> tuple[str, list[str]]:
    """What the hub made of the orders, read after the daemons stopped: (a line to print, correctness failures).
    Every order must be stored once and confirmed, nothing quarantined, no delivery left waiting."""
    from sqlalchemy import func, select

    from channelhub.store import open_database
    from channelhub.store.tables import DELIVERIES, INBOX, OrderEventRow, OrderRow

    db = open_database(url, migrate=False)
    try:
        with db.transaction() as session:
            states = dict(session.execute(select(OrderRow.state, func.count()).group_by(OrderRow.state)).all())
            inbox = dict(session.execute(select(INBOX.c.status, func.count()).group_by(INBOX.c.status)).all())
            deliveries = dict(
                session.execute(select(DELIVERIES.c.status, func.count()).group_by(DELIVERIES.c.status)).all()
            )
            by_pull = session.scalar(
                select(func.count())
                .select_from(OrderEventRow)
                .where(OrderEventRow.from_state.is_(None), OrderEventRow.source != "woo:webhook")
            )
    finally:
        db.dispose()
    orders = sum(states.values())
    line = (
        f"hub: {orders} orders {dict(sorted(states.items()))}, inbox {dict(sorted(inbox.items()))}, "
        f"deliveries {dict(sorted(deliveries.items()))}, first found by a pull {by_pull}"
    )
    failures = []
    if orders != count or states.get("confirmed", 0) != count:
        failures.append(f"{count} orders sent, the hub holds {orders} ({states})")
    if inbox.get("quarantined") or deliveries.get("quarantined"):
        failures.append(f"valid orders quarantined: inbox {inbox}, deliveries {deliveries}")
    if webhooks and (deliveries.get("received") or sum(deliveries.values()) != count):
        failures.append(f"{count} webhooks sent, deliveries {deliveries}")
    return line, failures


def wait_for(predicate: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(0.1)


def order_count(args: argparse.Namespace, webhooks: bool) -> int:
    """`--orders`, raised for the polling modes to a whole number of pull intervals' worth at `--rate` (1,200 at
    20/s): then the waits for the next pull spread evenly over the interval whatever the phase, as they do in
    steady production, instead of depending on where a shorter stream happened to fall."""
    if webhooks:
        return int(args.orders)
    per_interval = max(1, round(args.rate * Schedule().pull_seconds))
    return -(-int(args.orders) // per_interval) * per_interval


def phase(args: argparse.Namespace, count: int, webhooks: bool) -> float:
    """Seconds from the daemons' first pull to the first order. By default the webhook streams are centred on
    the next pull, so a pull re-reading the orders so far runs beside the webhooks, as in production; the
    polling streams (whole intervals: `order_count`) start at once."""
    if args.phase is not None:
        return float(args.phase)
    return max(0.0, Schedule().pull_seconds - count / args.rate / 2) if webhooks else 0.0


def run_mode(mode: str, args: argparse.Namespace, folder: Path) -> Outcome:
    backend, daemons, webhooks = MODES[mode]
    where = folder / mode
    where.mkdir(parents=True)
    count = order_count(args, webhooks)
    skus = [f"PROP-{n:05d}" for n in range(count)]
    store = BenchStore(consumer_key=KEY, consumer_secret=KEY_SECRET)
    for n, sku in enumerate(skus):
        store.add_product(10_000 + n, sku, stock=0)
    store_server, store_url = serve(store)
    recorder = Recorder(RECEIVERS)
    recorder_url = recorder.serve()
    drop: Callable[[], None] | None = None
    processes: list[subprocess.Popen[bytes]] = []
    logs: list[Path] = []
    outcome = Outcome(mode, count)
    try:
        if backend == "postgres":
            try:
                url, drop = fresh_postgres(args.postgres, "bench_propagation")
            except Exception as exc:  # no server: say so and go on with the other modes, as bench/wake.py does
                outcome.skipped = str(exc).splitlines()[0][:200]
                return outcome
        else:
            url = f"sqlite:///{where / 'hub.db'}"
        ports = [free_port() for _ in range(daemons)]
        configs = []
        for n, port in enumerate(ports):
            configs.append(where / f"daemon{n}.toml")
            configs[-1].write_text(config_text(url, port, store_url, recorder_url))
        seed(configs[0], skus)
        hub_cli = str(Path(sys.executable).parent / "channelhub")
        for n, cfg in enumerate(configs):
            logs.append(where / f"daemon{n}.log")
            with logs[-1].open("wb") as log:
                processes.append(subprocess.Popen([hub_cli, "--config", str(cfg), "run"], cwd=where,
                                                  stdout=log, stderr=subprocess.STDOUT))  # fmt: skip
        for port, process in zip(ports, processes, strict=True):
            wait_answering(port, process, "/readyz")
        # Warm: the daemons' first dispatch sends the seeded figures everywhere; then the outbox is empty.
        recorder.expect(dict.fromkeys(skus, INITIAL))
        if not recorder.wait_complete(time.monotonic() + 120):
            raise SystemExit(f"{mode}: the seeded stock did not reach the recorder channels within 120 s")
        wait_for(lambda: all(p["stock_quantity"] == INITIAL for p in store.products.values()), 120,
                 "the seeded stock at the store")  # fmt: skip
        recorder.expect(dict.fromkeys(skus, INITIAL - 1))
        wait_for(lambda: bool(store.pulls), 60, "the daemons' first pull")
        begin = store.pulls[0] + phase(args, count, webhooks)
        time.sleep(max(0.0, begin - time.monotonic()))
        pids = [p.pid for p in processes]
        before = cpu_times(pids)
        dues, outcome.answers, statuses = asyncio.run(place_orders(store, skus, ports if webhooks else [], args.rate))
        outcome.refused = sum(1 for s in statuses if s != 200)
        recorder.wait_complete(max(dues) + args.bound)
        outcome.cpu = cpu_summary(before, cpu_times(pids), os.cpu_count() or 1)
        for sku, due in zip(skus, dues, strict=True):
            reached = recorder.reached_at(sku, INITIAL - 1)
            if reached is None:
                outcome.lost += 1
            else:
                outcome.latencies.append(reached - due)
                if webhooks:
                    continue
                found_by = max((t for t in store.pulls if t <= reached), default=None)  # the pull that found it
                if found_by is not None:
                    outcome.waits.append(max(0.0, found_by - due))  # < 0: placed while that pull was paging
                    outcome.work.append(reached - max(found_by, due))
        if outcome.lost:
            outcome.failures.append(f"{mode}: {outcome.lost} of {count} orders never reached every channel")
    finally:
        for n, process in enumerate(processes):
            code = stop(process)
            if code != 0:
                outcome.failures.append(f"{mode}: daemon {n} exited with {code}")
        if outcome.latencies or outcome.lost:  # the orders were sent: see what the hub made of them
            outcome.hub, failures = hub_check(url, count, webhooks)
            outcome.failures += [f"{mode}: {failure}" for failure in failures]
        store_server.shutdown()
        store_server.server_close()
        recorder.close()
        if drop is not None:
            drop()
    for n, log in enumerate(logs):
        text = log.read_text(errors="replace")
        for level in ("error", "warning"):
            found = [line for line in text.splitlines() if f" [{level}" in line or f'"level": "{level}"' in line]
            if found:
                print(f"  {mode} daemon {n}: {len(found)} {level} lines in its log, e.g. {found[0][:300]}")
        if outcome.failures:
            print(f"--- {mode} daemon {n} log (tail) ---\n" + "\n".join(text.splitlines()[-30:]))
    return outcome


async def place_orders(
    store: BenchStore, skus: list[str], ports: list[int], rate: float
) -> tuple[list[float], list[float], list[int]]:
    """Open loop: order n is placed at the store at its due time and (when `ports`) its webhook POSTed at once,
    to the daemons in turn. Returns each order's due time (monotonic), the webhook answer times, the statuses."""
    count = len(skus)
    dues = [0.0] * count
    answers: list[float] = []
    statuses: list[int] = []
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=256)
    async with httpx.AsyncClient(timeout=60.0, limits=limits) as client:
        start = time.monotonic() + 0.2

        async def one(n: int) -> None:
            due = start + n / rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            dues[n] = due
            body = store.place(1 + n, skus[n], 10_000 + n)
            if not ports:
                return
            headers = woo_webhook_headers(SECRET, body, f"prop-{1 + n}")
            port = ports[n % len(ports)]
            try:
                status = (
                    await client.post(f"http://127.0.0.1:{port}/webhooks/woo", headers=headers, content=body)
                ).status_code
            except httpx.HTTPError:
                status = -1
            answers.append(time.monotonic() - due)
            statuses.append(status)

        await asyncio.gather(*(one(n) for n in range(count)))
    return dues, answers, statuses


# --- the report ---------------------------------------------------------------------------------------------------


def report(outcomes: list[Outcome], rate: float) -> None:
    print(f"\nsale -> push_stock at every other channel ({', '.join(RECEIVERS)}), orders at {rate:g}/s:")
    print(f"{'mode':<18}{'orders':>7}{'p50 s':>9}{'p99 s':>9}{'max s':>9}{'lost':>6}   answer p50/p99 ms")
    by_mode = {o.mode: o for o in outcomes}
    for o in outcomes:
        if o.latencies:
            p50, p99, top = percentile(o.latencies, 0.5), percentile(o.latencies, 0.99), max(o.latencies)
            figures = f"{p50:9.3f}{p99:9.3f}{top:9.3f}"
        else:
            figures = f"{'-':>9}{'-':>9}{'-':>9}"
        answers = (
            f"   {percentile(o.answers, 0.5) * 1000:.1f} / {percentile(o.answers, 0.99) * 1000:.1f}"
            + (f" ({o.refused} not 200)" if o.refused else "")
            if o.answers
            else "   (no webhooks)"
        )
        print(f"{o.mode:<18}{o.orders:>7}{figures}{o.lost:>6}{answers}")
    for o in outcomes:
        if o.waits:
            work = o.work
            print(f"{o.mode}: waiting for the next pull p50 {percentile(o.waits, 0.5):.1f} s, "
                  f"p99 {percentile(o.waits, 0.99):.1f} s; pull start -> every channel p50 "
                  f"{percentile(work, 0.5):.2f} s, p99 {percentile(work, 0.99):.2f} s")  # fmt: skip
    for polling, webhook in (("polling", "sqlite"), ("polling-postgres", "postgres")):
        p, w = by_mode.get(polling), by_mode.get(webhook)
        if p and w and p.latencies and w.latencies:
            r50 = percentile(p.latencies, 0.5) / max(percentile(w.latencies, 0.5), 1e-9)
            r99 = percentile(p.latencies, 0.99) / max(percentile(w.latencies, 0.99), 1e-9)
            print(f"ratio {polling}/{webhook}: p50 x{r50:.1f}, p99 x{r99:.1f}")
    for o in outcomes:
        if MODES[o.mode][2] and o.latencies:
            met = "met" if percentile(o.latencies, 0.99) < TARGET_P99 else "NOT met"
            print(f"target p99 < {TARGET_P99:g} s ({o.mode}): {met}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=20.0, help="orders per second")
    parser.add_argument("--modes", default=",".join(MODES), help=f"comma list of {', '.join(MODES)}")
    parser.add_argument("--postgres", default=DEFAULT_PG, help="admin URL; a fresh database is made and dropped")
    parser.add_argument("--bound", type=float, default=180.0, help="seconds after the last order before one is lost")
    parser.add_argument(
        "--phase",
        type=float,
        default=None,
        help="seconds from the first pull to the first order (default: webhooks, the next pull mid-stream; polling 0)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the folder (configs, daemon logs, SQLite files)")
    args = parser.parse_args(argv)
    modes = [m.strip() for m in args.modes.split(",") if m.strip()]
    unknown = [m for m in modes if m not in MODES]
    if unknown or args.orders < 1:
        parser.error(f"unknown mode(s) {', '.join(unknown)}" if unknown else "--orders must be at least 1")
    folder = Path(tempfile.mkdtemp(prefix="bench-propagation-"))
    outcomes: list[Outcome] = []
    try:
        for mode in modes:
            started = time.monotonic()
            print(f"{mode}: {order_count(args, MODES[mode][2])} orders at {args.rate:g}/s ...", flush=True)
            outcome = run_mode(mode, args, folder)
            if outcome.skipped:
                print(f"{mode}: skipped (no PostgreSQL: {outcome.skipped})", flush=True)
                continue
            outcomes.append(outcome)
            print(f"{mode}: done in {time.monotonic() - started:.0f} s; {outcome.cpu}\n  {outcome.hub}", flush=True)
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    report(outcomes, args.rate)
    failures = [f for o in outcomes for f in o.failures]
    for failure in failures:
        print(f"FAILED: {failure}", file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
