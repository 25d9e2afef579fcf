"""`channelhub demo`: two marketplace channels sharing one stock pool, driven by the real daemon.

The demo writes a working folder (a config, a SQLite database, and for each channel an inbox, processed and
outbox folder), sets stock, then runs the same `Daemon` as `channelhub run` with 1-second schedules while it
drops order files into the inboxes in stages. Each stage waits until the daemon has done the work (bounded) and
prints what happened, reading the database and the outbox files the connectors wrote:

1. stock is published to both channels;
2. Amazon orders are imported and reserve stock;
3. an eBay order takes the last poster: the Amazon stock feed now says 0;
4. an Amazon order for the poster that arrived too late is held, with its reason; an eBay file with a malformed
   row has that row quarantined (file and line named), the rest imported;
5. an order ships (the code path of `channelhub ship`): the Amazon shipping confirmation file appears.

It needs no environment variables and finishes by itself; the exit code is 1 when a stage did not turn out as
described.
"""

from __future__ import annotations

import secrets
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

from rich.console import Console
from rich.table import Table
from sqlalchemy import func, select

from channelhub.daemon import Daemon
from channelhub.errors import ChannelhubError
from channelhub.logs import configure_logging
from channelhub.model.shipments import Shipment
from channelhub.render import status_table
from channelhub.runtime import Hub
from channelhub.services import orders as order_services
from channelhub.services import stock as stock_services
from channelhub.services.views import channel_statuses, quarantine_reason
from channelhub.stock import ledger
from channelhub.store.tables import InboxRow, OrderRow, OutboxRow

MARKER = ".channelhub-demo"
LOCATION = "warehouse"
STOCK = {"MUG-BLUE": 10, "MUG-RED": 10, "TEE-M": 8, "TEE-L": 6, "POSTER-A2": 3}
TITLES = {
    "MUG-BLUE": "Blue mug",
    "MUG-RED": "Red mug",
    "TEE-M": "T-shirt M",
    "TEE-L": "T-shirt L",
    "POSTER-A2": "Poster A2",
}
TOKEN_FILE = "http-token"
DASHBOARD = "http://127.0.0.1:8787"
STAGE_TIMEOUT = 12.0  # seconds a stage may wait for the daemon before the demo gives up on it

CONFIG = """\
# Written by `channelhub demo`. Two marketplace channels exchanging files through local folders,
# selling from one warehouse. Run `channelhub --config {path} status` to look around afterwards, or
# `channelhub --config {path} serve` for the dashboard (log in with the token in http-token).
database = "sqlite:///hub.db"

[http]
listen = "127.0.0.1:8787"
token_file = "http-token"

[sync]
dispatch_seconds = 1
overlap_seconds = 0

[log]
level = "warning"

[[locations]]
code = "{location}"
name = "Main warehouse"

[[channels]]
name = "amazon"
kind = "marketplace"

[channels.schedule]
pull_seconds = 1
push_seconds = 1

[channels.settings]
transport = "local"
root = "amazon"
orders_layout = "amazon_unshipped_orders"
stock_layout = "amazon_price_quantity"
shipment_layout = "amazon_shipping_confirmation"
currency = "EUR"

[[channels]]
name = "ebay-files"
kind = "marketplace"

[channels.schedule]
pull_seconds = 1
push_seconds = 1

[channels.settings]
transport = "local"
root = "ebay-files"
orders_layout = "generic_orders"
stock_layout = "amazon_price_quantity"
shipment_layout = "amazon_shipping_confirmation"
"""

AMAZON_HEADER = (
    "order-id\torder-item-id\tpurchase-date\tpayments-date\tbuyer-email\tbuyer-name\tsku\tproduct-name\t"
    "quantity-purchased\tcurrency\titem-price\titem-tax\tshipping-price\tshipping-tax\tship-service-level\t"
    "recipient-name\tship-address-1\tship-city\tship-postal-code\tship-country"
)
GENERIC_HEADER = (
    "order_id,order_number,order_date,line_id,sku,title,quantity,unit_price,currency,status,buyer_name,"
    "buyer_email,ship_name,ship_address1,ship_city,ship_postcode,ship_country"
)


def _amazon_row(order: str, item: str, at: datetime, sku: str, qty: int, price: str, buyer: str, city: str) -> str:
    stamp = at.strftime("%Y-%m-%dT%H:%M:%S+00:00")
    return "\t".join(
        [order, item, stamp, stamp, f"{buyer.split()[0].lower()}@example.com", buyer, sku, TITLES[sku], str(qty),
         "EUR", price, "0.00", "3.99", "0.00", "Standard", buyer, "1 Example Street", city, "10115", "DE"]
    )  # fmt: skip


def _generic_row(order: str, line: str, at: datetime, sku: str, qty: str, price: str, buyer: str) -> str:
    stamp = at.strftime("%Y-%m-%d %H:%M:%S")
    return ",".join(
        [order, order.replace("E-", "#"), stamp, line, sku, TITLES.get(sku, sku), qty, price, "EUR", "paid", buyer,
         f"{buyer.split()[0].lower()}@example.com", buyer, "2 Sample Road", "Hamburg", "20095", "DE"]
    )  # fmt: skip


@dataclass
class JobWatch:
    """Counts job runs by the time they started, so a stage can wait for runs that began after its files."""

    runs: dict[str, list[float]] = field(default_factory=dict)
    cond: threading.Condition = field(default_factory=threading.Condition)

    def __call__(self, job_id: str, _result: Any, started: float) -> None:
        with self.cond:
            self.runs.setdefault(job_id, []).append(started)
            self.cond.notify_all()

    def wait_cycles(self, job_ids: list[str], cycles: int, since: float, timeout: float) -> bool:
        """Wait until every job in `job_ids` has run `cycles` times starting after `since`."""
        deadline = time.monotonic() + timeout

        def enough() -> bool:
            return all(sum(1 for t in self.runs.get(j, []) if t >= since) >= cycles for j in job_ids)

        with self.cond:
            while not enough():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self.cond.wait(remaining)
        return True


class Server(Protocol):
    """What the demo needs of the HTTP server the CLI hands it (`channelhub.web.server.started_web_server`)."""

    @property
    def address(self) -> str: ...
    def stop(self) -> None: ...


class Demo:
    def __init__(self, folder: Path, *, cycles: int, out: Console, serve: Callable[[Hub], Server] | None) -> None:
        self.folder = folder
        self.serve = serve
        self.server: Server | None = None
        self.cycles = cycles
        self.out = out
        self.failures: list[str] = []
        self.watch = JobWatch()
        self.hub: Hub | None = None
        self.daemon: Daemon | None = None
        self.now = datetime.now(UTC).replace(microsecond=0)

    # --- helpers --------------------------------------------------------------------------------------------

    def say(self, text: str) -> None:
        self.out.print(text, markup=False, highlight=False)

    def heading(self, text: str) -> None:
        self.out.print()
        self.out.print(f"[bold]== {text}[/bold]")

    def check(self, ok: bool, failure: str) -> None:
        if not ok:
            self.failures.append(failure)
            self.out.print(f"[red]!! {failure}[/red]")

    def drop(self, channel: str, name: str, lines: list[str]) -> None:
        inbox = self.folder / channel / "inbox"
        temp = inbox / f".{name}.part"
        temp.write_text("\n".join(lines) + "\n", encoding="utf-8")
        temp.rename(inbox / name)  # appear whole: the pull must never see half a file
        self.say(f"dropped {channel}/inbox/{name} ({len(lines) - 1} row(s))")

    def settle(self, until: Callable[[], bool] | None = None) -> bool:
        """Let the daemon run `cycles` rounds of every job that started after now, and until `until()` holds."""
        assert self.daemon is not None
        since = time.monotonic()
        jobs = [plan.id for plan in self.daemon.jobs]
        deadline = since + STAGE_TIMEOUT
        ok = self.watch.wait_cycles(jobs, self.cycles, since, STAGE_TIMEOUT)
        while ok and until is not None and not until():
            if time.monotonic() > deadline:
                return False
            # One more full round, then look again.
            ok = self.watch.wait_cycles(jobs, 1, time.monotonic(), max(deadline - time.monotonic(), 0.1))
        return ok

    def scalar(self, query: Any) -> Any:
        assert self.hub is not None
        with self.hub.db.transaction() as session:
            return session.scalar(query)

    def outbox_files(self, channel: str, header: str) -> list[Path]:
        folder = self.folder / channel / "outbox"
        files = [p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")]
        matching = [p for p in files if p.read_text(encoding="utf-8").startswith(header)]
        return sorted(matching, key=lambda p: (p.stat().st_mtime_ns, p.name))

    def feed_quantity(self, channel: str, sku: str) -> int | None:
        """The quantity of `sku` in the newest stock feed in the channel's outbox that lists it."""
        for path in reversed(self.outbox_files(channel, "sku\t")):
            for row in path.read_text(encoding="utf-8").splitlines()[1:]:
                cells = row.split("\t")
                if cells[0] == sku:
                    return int(cells[2])
        return None

    def show_file(self, path: Path) -> None:
        self.say(f"--- {path.relative_to(self.folder)}")
        for line in path.read_text(encoding="utf-8").splitlines():
            self.say(f"    {line}")

    def available(self, sku: str) -> int:
        assert self.hub is not None
        with self.hub.db.transaction() as session:
            return sum(level.available for level in ledger.levels(session, sku))

    # --- stages ---------------------------------------------------------------------------------------------

    def setup(self) -> Path:
        if self.folder.exists():
            if any(self.folder.iterdir()) and not (self.folder / MARKER).exists():
                raise ChannelhubError(
                    f"{self.folder} exists and is not a demo folder (no {MARKER}); refusing to wipe it. "
                    "Give another --dir."
                )
            shutil.rmtree(self.folder)
        self.folder.mkdir(parents=True)
        (self.folder / MARKER).write_text("created by channelhub demo; the folder is wiped on the next run\n")
        for channel in ("amazon", "ebay-files"):
            for sub in ("inbox", "processed", "outbox"):
                (self.folder / channel / sub).mkdir(parents=True)
        config = self.folder / "channelhub.toml"
        config.write_text(CONFIG.format(path=config, location=LOCATION), encoding="utf-8")
        token = self.folder / TOKEN_FILE
        token.touch(mode=0o600)  # a secret: readable by its owner only, and never printed
        token.write_text(secrets.token_urlsafe(24) + "\n", encoding="utf-8")
        self.heading(f"working folder {self.folder}")
        self.say(f"config: {config}")
        self.say("channels: amazon (amazon_unshipped_orders), ebay-files (generic_orders); one stock pool")
        return config

    def stage_stock(self) -> None:
        assert self.hub is not None
        self.heading("1. stock counted into the warehouse and published to both channels")
        for sku, quantity in STOCK.items():
            # The service `channelhub stock set` calls.
            stock_services.set_stock(self.hub, sku, quantity, location=LOCATION, reason="demo count")
            self.say(f"stock set {sku} = {quantity} at {LOCATION}")
        self.settle(lambda: self.feed_quantity("ebay-files", "POSTER-A2") == 3)
        for channel in ("amazon", "ebay-files"):
            feeds = self.outbox_files(channel, "sku\t")
            self.check(bool(feeds), f"no stock feed in {channel}/outbox")
            if feeds:
                self.show_file(feeds[-1])

    def stage_amazon_orders(self) -> None:
        self.heading("2. Amazon orders arrive and reserve stock")
        t = self.now - timedelta(minutes=30)
        self.drop(
            "amazon",
            "unshipped-orders-1.txt",
            [
                AMAZON_HEADER,
                _amazon_row("302-1000001-1000001", "11001", t, "MUG-BLUE", 2, "25.80", "Anna Schmidt", "Berlin"),
                _amazon_row("302-1000001-1000001", "11002", t, "POSTER-A2", 2, "39.80", "Anna Schmidt", "Berlin"),
                _amazon_row("302-1000002-1000002", "12001", t, "TEE-M", 1, "19.90", "Ben Weber", "Munich"),
            ],
        )
        imported = self.settle(lambda: self._orders("amazon") >= 2)
        self.check(imported, "the Amazon orders were not imported")
        self.say(f"orders imported from amazon: {self._orders('amazon')}")
        self.say(f"POSTER-A2 available after the reservation: {self.available('POSTER-A2')} (of 3)")
        self.check(self.available("POSTER-A2") == 1, "2 posters should be reserved")

    def stage_last_unit(self) -> None:
        self.heading("3. the last poster sells on eBay: Amazon is told 0")
        t = self.now - timedelta(minutes=20)
        self.drop(
            "ebay-files",
            "orders-1.csv",
            [GENERIC_HEADER, _generic_row("E-2001", "1", t, "POSTER-A2", "1", "19.90", "Carla Rossi")],
        )
        zero = self.settle(lambda: self.feed_quantity("amazon", "POSTER-A2") == 0)
        self.say(f"orders imported from ebay-files: {self._orders('ebay-files')}")
        self.check(zero, "the Amazon stock feed did not publish POSTER-A2 = 0")
        feeds = [p for p in self.outbox_files("amazon", "sku\t") if "\nPOSTER-A2\t" in p.read_text(encoding="utf-8")]
        if feeds:
            self.say("the stock feed the daemon wrote to amazon/outbox:")
            self.show_file(feeds[-1])

    def stage_hold_and_quarantine(self) -> None:
        self.heading(
            "4. too late: an Amazon order for the sold-out poster is held; a malformed eBay row is quarantined"
        )
        t = self.now - timedelta(minutes=10)
        self.drop(
            "amazon",
            "unshipped-orders-2.txt",
            [
                AMAZON_HEADER,
                _amazon_row("302-1000003-1000003", "13001", t, "POSTER-A2", 1, "19.90", "Dora Klein", "Cologne"),
            ],
        )
        self.drop(
            "ebay-files",
            "orders-2.csv",
            [
                GENERIC_HEADER,
                _generic_row("E-2002", "1", t, "TEE-L", "1", "19.90", "Emil Novak"),
                _generic_row("E-2003", "1", t, "MUG-RED", "two", "12.90", "Fay Jones"),
            ],
        )
        done = self.settle(lambda: self._held() >= 1 and self._quarantined() >= 1 and self._orders("ebay-files") >= 2)
        self.check(done, "expected one held order and one quarantined row")
        assert self.hub is not None
        with self.hub.db.transaction() as session:
            for order in session.scalars(select(OrderRow).where(OrderRow.state == "on_hold")):
                self.say(f"held: {order.channel}:{order.external_id}: {order.hold_reason}")
            for row in session.scalars(select(InboxRow).where(InboxRow.status == "quarantined")):
                self.say(f"quarantined: {row.channel}: {row.source}: {quarantine_reason(row.source, row.reason)}")
        self.say("(fix the file or the layout, then `channelhub quarantine replay`)")

    def stage_ship(self) -> None:
        assert self.hub is not None
        self.heading("5. an Amazon order ships: the shipping confirmation goes out")
        ref = "amazon:302-1000002-1000002"
        shipment = Shipment(
            carrier="DHL",
            service="Paket",
            tracking_number="00340434161234567890",
            tracking_url="https://www.dhl.de/de/privatkunden/pakete-empfangen/verfolgen.html",
            shipped_at=datetime.now(UTC),
        )
        order_services.ship(self.hub, ref, shipment, source="demo")  # the service `channelhub ship` calls
        state = self.scalar(select(OrderRow.state).where(OrderRow.external_id == "302-1000002-1000002"))
        self.say(f"shipped {ref} with DHL 00340434161234567890: order is now {state}")
        sent = self.settle(lambda: bool(self.outbox_files("amazon", "order-id\t")))
        self.check(sent, "no shipping confirmation file in amazon/outbox")
        confirmations = self.outbox_files("amazon", "order-id\t")
        if confirmations:
            self.say("the shipping confirmation the daemon wrote to amazon/outbox:")
            self.show_file(confirmations[-1])

    def summary(self) -> None:
        assert self.hub is not None
        self.heading("summary")
        self.out.print(status_table(channel_statuses(self.hub)))
        orders = Table(title="orders")
        for column in ("channel", "order", "state", "hold reason"):
            orders.add_column(column, overflow="fold")
        with self.hub.db.transaction() as session:
            for row in session.scalars(select(OrderRow).order_by(OrderRow.id)):
                orders.add_row(row.channel, row.external_id, row.state, row.hold_reason)
            levels = ledger.levels(session)
            sent = session.scalar(select(func.count()).select_from(OutboxRow).where(OutboxRow.status == "done"))
        self.out.print(orders)
        stock = Table(title="stock")
        for column in ("sku", "on hand", "reserved", "available"):
            stock.add_column(column)
        for level in levels:
            stock.add_row(level.sku, str(level.on_hand), str(level.reserved), str(level.available))
        self.out.print(stock)
        self.say(f"outbound writes delivered: {sent}")
        self.say(f"look around: channelhub --config {self.folder / 'channelhub.toml'} orders list")

    def _orders(self, channel: str) -> int:
        return int(self.scalar(select(func.count()).select_from(OrderRow).where(OrderRow.channel == channel)) or 0)

    def _held(self) -> int:
        return int(self.scalar(select(func.count()).select_from(OrderRow).where(OrderRow.state == "on_hold")) or 0)

    def _quarantined(self) -> int:
        query = select(func.count()).select_from(InboxRow).where(InboxRow.status == "quarantined")
        return int(self.scalar(query) or 0)

    # --- run ------------------------------------------------------------------------------------------------

    def run(self) -> int:
        config = self.setup()
        self.hub = Hub.open(config, connect=True)
        configure_logging(level="WARNING", secrets=self.hub.config.secret_values())
        stopped = {rt.name: rt.stopped_reason for rt in self.hub.channels.values() if rt.stopped_reason}
        if stopped:
            for name, reason in stopped.items():
                self.say(f"channel {name} did not start: {reason}")
            self.hub.close()
            return 1
        self.daemon = Daemon(self.hub, on_job=self.watch)
        self.heading("daemon started: " + ", ".join(f"{p.id} every {p.seconds:g}s" for p in self.daemon.jobs))
        self.daemon.start()
        try:
            self.open_dashboard()
            self.stage_stock()
            self.stage_amazon_orders()
            self.stage_last_unit()
            self.stage_hold_and_quarantine()
            self.stage_ship()
        finally:
            if self.server is not None:
                self.server.stop()
            self.daemon.shutdown()
        self.say("daemon stopped cleanly")
        self.summary()
        self.hub.close()
        if self.failures:
            self.heading(f"{len(self.failures)} stage(s) did not turn out as expected")
            for failure in self.failures:
                self.say(f"- {failure}")
            return 1
        self.heading("demo finished")
        self.say(f"to look around: channelhub --config {config} serve, then open {DASHBOARD}")
        self.say(f"and log in with the token in {self.folder / TOKEN_FILE}")
        return 0

    def open_dashboard(self) -> None:
        """Serve the dashboard beside the daemon while the demo runs, and say where."""
        if self.serve is None or self.hub is None:
            return
        self.server = self.serve(self.hub)
        self.say(f"dashboard: {self.server.address} (log in with the token in {self.folder / TOKEN_FILE})")


def run_demo(
    folder: Path, *, cycles: int = 2, out: Console | None = None, serve: Callable[[Hub], Server] | None = None
) -> int:
    """Run the demo in `folder` (wiped and recreated); returns the exit code. `serve` starts the HTTP server
    (the dashboard) beside the daemon; the CLI hands it in, since the demo sits above no web code."""
    return Demo(Path(folder).resolve(), cycles=cycles, out=out or Console(), serve=serve).run()
