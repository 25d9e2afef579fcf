"""Ingest benchmark: N orders of 1 to 5 lines from a flat file through parse, map, upsert, reserve and enqueue.

The file (generic_orders layout, seeded, so every run imports the same rows) is imported through the real path:
the marketplace connector over a local folder and `channelhub.sync.pull.run_pull` on a fresh SQLite file (WAL).
In the same run a raw sqlite3 `executemany` inserts the same order rows and order line rows into plain tables
of a fresh file with the same PRAGMAs, in one transaction; the ratio hub rate / raw rate is printed against the
target of 0.1. Correctness is checked after the import (orders == N, reserved units == the quantities of the
confirmed orders' lines, nothing available below zero, outbox rows enqueued, the hold path taken) and a failure
there exits 1; missing the speed target does not.

    python bench/ingest.py [--orders 100000] [--page-size N] [--keep] [--postgres URL] [--profile FILE]
    python bench/ingest.py --rows 1000000      # memory mode: peak RSS of the import in a child process

`--postgres URL` also imports the same file into a fresh database created on that server (dropped afterwards).
"""

from __future__ import annotations

import argparse
import random
import resource
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

from _common import fresh_postgres

SKUS = 2000
SHORT_EVERY = 97  # every 97th SKU has almost no stock, so some orders go on hold for stock
SHORT_ON_HAND = 4
ON_HAND = 10_000_000
CHANNEL = "market"
OTHER_CHANNEL = "shop"
TARGET = 0.1
RSS_TARGET_MB = 300

HEADER = (
    "order_id,order_number,order_date,updated_at,line_id,sku,title,quantity,unit_price,line_tax,line_discount,"
    "shipping_price,shipping_tax,order_total,currency,status,buyer_name,buyer_email,buyer_phone,ship_name,"
    "ship_company,ship_address1,ship_address2,ship_city,ship_region,ship_postcode,ship_country,ship_service\n"
)
NAMES = ("Anna Schmidt", "Jean Dupont", "Maria Rossi", "John Smith", "Eva Novak")
CITIES = (("Berlin", "10115", "DE"), ("Paris", "75001", "FR"), ("Milano", "20121", "IT"), ("Wien", "1010", "AT"))


@dataclass
class Generated:
    orders: int
    lines: int
    units: int
    # For the baseline (None in memory mode): the same order and line rows, as plain tuples.
    order_rows: list[tuple[object, ...]] | None
    line_rows: list[tuple[object, ...]] | None


def sku_name(n: int) -> str:
    return f"SKU-{n:05d}"


def generate(path: Path, *, orders: int | None = None, rows: int | None = None, keep_rows: bool = True,
             seed: int = 20261120) -> Generated:  # fmt: skip
    """Write the order file: `orders` orders, or orders until `rows` lines are written. Deterministic per seed."""
    rng = random.Random(seed)
    order_rows: list[tuple[object, ...]] | None = [] if keep_rows else None
    line_rows: list[tuple[object, ...]] | None = [] if keep_rows else None
    start = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
    n_orders = n_lines = units = 0
    with open(path, "w", encoding="utf-8", newline="") as out:
        out.write(HEADER)
        while (orders is not None and n_orders < orders) or (rows is not None and n_lines < rows):
            count = rng.randint(1, 5)
            if rows is not None:
                count = min(count, rows - n_lines)
            skus = rng.sample(range(SKUS), count)
            order_id = f"ORD-{n_orders:08d}"
            placed = (start + timedelta(seconds=n_orders)).strftime("%Y-%m-%d %H:%M:%S")
            name = NAMES[n_orders % len(NAMES)]
            city, postcode, country = CITIES[n_orders % len(CITIES)]
            items = []
            total = Decimal("4.95") + Decimal("0.94")
            for index, sku in enumerate(skus, start=1):
                quantity = rng.randint(1, 3)
                price = Decimal(rng.randint(199, 9999)) / 100
                tax = (price * quantity * Decimal("0.19")).quantize(Decimal("0.01"))
                total += price * quantity + tax
                items.append((index, sku_name(sku), quantity, price, tax))
                units += quantity
            for index, sku, quantity, price, tax in items:
                shipping = ("4.95", "0.94") if index == 1 else ("", "")
                out.write(
                    f"{order_id},{n_orders},{placed},{placed},L{index},{sku},Product {sku},{quantity},{price},"
                    f"{tax},,{shipping[0]},{shipping[1]},{total},EUR,paid,{name},buyer{n_orders}@example.com,,"
                    f"{name},,Hauptstr. {n_orders % 200 + 1},,{city},,{postcode},{country},standard\n"
                )
                if line_rows is not None:
                    line_rows.append((n_orders + 1, f"L{index}", sku, quantity, str(price)))
            if order_rows is not None:
                order_rows.append((n_orders + 1, CHANNEL, order_id, str(n_orders), placed, "EUR", str(total), "paid"))
            n_orders += 1
            n_lines += count
    return Generated(n_orders, n_lines, units, order_rows, line_rows)


# -- the raw baseline ------------------------------------------------------------------------------------------


def baseline(folder: Path, data: Generated) -> float:
    """Seconds for a raw sqlite3 executemany of the same order and line rows, one transaction, same PRAGMAs."""
    assert data.order_rows is not None and data.line_rows is not None
    path = folder / "baseline.db"
    con = sqlite3.connect(path, isolation_level=None)
    for pragma in ("journal_mode=WAL", "busy_timeout=30000", "foreign_keys=ON", "synchronous=NORMAL"):
        con.execute(f"PRAGMA {pragma}")
    con.execute(
        "CREATE TABLE orders (id INTEGER PRIMARY KEY, channel TEXT, external_id TEXT, number TEXT, placed_at TEXT, "
        "currency TEXT, total TEXT, status TEXT)"
    )
    con.execute(
        "CREATE TABLE order_lines (id INTEGER PRIMARY KEY, order_id INTEGER, external_id TEXT, sku TEXT, "
        "quantity INTEGER, unit_price TEXT)"
    )
    start = time.perf_counter()
    con.execute("BEGIN IMMEDIATE")
    con.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?)", data.order_rows)
    con.executemany(
        "INSERT INTO order_lines (order_id, external_id, sku, quantity, unit_price) VALUES (?, ?, ?, ?, ?)",
        data.line_rows,
    )
    con.execute("COMMIT")
    elapsed = time.perf_counter() - start
    con.close()
    return elapsed


# -- the hub import --------------------------------------------------------------------------------------------


def policies() -> list:
    from channelhub.stock.policy import ChannelStockPolicy

    return [ChannelStockPolicy(CHANNEL), ChannelStockPolicy(OTHER_CHANNEL)]


def seed_stock(url: str) -> None:
    """2,000 SKUs at one location: plenty of each, except every SHORT_EVERY-th SKU, which is nearly out."""
    from sqlalchemy import insert

    from channelhub.store import open_database
    from channelhub.store.tables import LEVELS, LOCATIONS
    from channelhub.store.tables import SKUS as SKU_TABLE

    db = open_database(url)
    with db.transaction() as session:
        session.execute(insert(LOCATIONS).values(code="main", name="Main warehouse", priority=0))
        session.execute(insert(SKU_TABLE), [{"sku": sku_name(n), "title": "", "safety_stock": 0} for n in range(SKUS)])
        session.execute(
            insert(LEVELS),
            [
                {"sku": sku_name(n), "location": "main",
                 "on_hand": SHORT_ON_HAND if n % SHORT_EVERY == 0 else ON_HAND, "reserved": 0}
                for n in range(SKUS)
            ],
        )  # fmt: skip
    db.dispose()


def import_file(root: Path, url: str, page_size: int | None, profile: str | None = None) -> tuple[float, object]:
    """Import every file in root/inbox through the marketplace connector and run_pull; (seconds, PullReport)."""
    from channelhub_connectors.marketplace.connector import MarketplaceConnector

    from channelhub.ports import ConnectorContext
    from channelhub.store import open_database
    from channelhub.sync.pull import run_pull

    settings: dict[str, object] = {"root": str(root)}
    if page_size:
        settings["page_size"] = page_size
    connector = MarketplaceConnector(settings, ConnectorContext(channel=CHANNEL, base_dir=root))
    db = open_database(url)
    try:
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            start = time.perf_counter()
            profiler.runcall(run_pull, db, connector, policies=policies(), overlap=timedelta(0))
            elapsed = time.perf_counter() - start
            profiler.dump_stats(profile)
            report = None
        else:
            start = time.perf_counter()
            report = run_pull(db, connector, policies=policies(), overlap=timedelta(0))
            elapsed = time.perf_counter() - start
    finally:
        db.dispose()
    return elapsed, report


@dataclass
class Counts:
    orders: int
    lines: int
    inbox_applied: int
    confirmed: int
    held_stock: int
    reserved_units: int
    confirmed_line_units: int
    reservation_units: int
    negative_available: int
    outbox_rows: int


def count(url: str) -> Counts:
    from sqlalchemy import text

    from channelhub.store import open_database

    db = open_database(url, migrate=False)
    with db.transaction() as s:

        def one(sql: str) -> int:
            return int(s.execute(text(sql)).scalar() or 0)

        counts = Counts(
            orders=one("SELECT count(*) FROM orders"),
            lines=one("SELECT count(*) FROM order_lines"),
            inbox_applied=one("SELECT count(*) FROM inbox WHERE status = 'applied'"),
            confirmed=one("SELECT count(*) FROM orders WHERE state = 'confirmed'"),
            held_stock=one("SELECT count(*) FROM orders WHERE state = 'on_hold' AND hold_kind = 'stock'"),
            reserved_units=one("SELECT sum(reserved) FROM stock_levels"),
            confirmed_line_units=one(
                "SELECT sum(l.quantity) FROM order_lines l JOIN orders o ON o.id = l.order_id "
                "WHERE o.state = 'confirmed'"
            ),
            reservation_units=one("SELECT sum(quantity) FROM reservations WHERE state = 'reserved'"),
            negative_available=one("SELECT count(*) FROM stock_levels WHERE on_hand - reserved < 0"),
            outbox_rows=one("SELECT count(*) FROM outbox"),
        )
    db.dispose()
    return counts


def check(counts: Counts, data: Generated) -> list[str]:
    """Every failed correctness condition, in words (empty: all hold)."""
    failures = []
    if counts.orders != data.orders:
        failures.append(f"orders {counts.orders} != {data.orders}")
    if counts.lines != data.lines:
        failures.append(f"order lines {counts.lines} != {data.lines}")
    if counts.inbox_applied != data.orders:
        failures.append(f"applied inbox rows {counts.inbox_applied} != {data.orders}")
    if counts.confirmed + counts.held_stock != data.orders:
        failures.append(f"confirmed {counts.confirmed} + held for stock {counts.held_stock} != {data.orders}")
    if not (counts.reserved_units == counts.confirmed_line_units == counts.reservation_units):
        failures.append(
            f"reserved units {counts.reserved_units} != confirmed line units {counts.confirmed_line_units} "
            f"or reservation rows {counts.reservation_units}"
        )
    if counts.negative_available:
        failures.append(f"{counts.negative_available} stock levels below zero available")
    if counts.outbox_rows <= 0:
        failures.append("no outbox rows enqueued")
    if counts.held_stock <= 0:
        failures.append("no order went on hold for stock: the hold path was not exercised")
    return failures


def print_counts(label: str, counts: Counts) -> None:
    print(
        f"{label}: orders={counts.orders} lines={counts.lines} confirmed={counts.confirmed} "
        f"held={counts.held_stock} reserved_units={counts.reserved_units} "
        f"reserved_line_units={counts.confirmed_line_units} outbox_rows={counts.outbox_rows} "
        f"negative_available={counts.negative_available}"
    )


def run_hub(label: str, folder: Path, url: str, data: Generated, args: argparse.Namespace) -> tuple[float, bool]:
    root = folder / label
    (root / "inbox").mkdir(parents=True)
    (root / "inbox" / "orders.csv").symlink_to(folder / "orders.csv")
    seed_stock(url)
    elapsed, _report = import_file(root, url, args.page_size, args.profile if label == "sqlite" else None)
    counts = count(url)
    print_counts(f"{label} counts", counts)
    failures = check(counts, data)
    for failure in failures:
        print(f"FAIL ({label}): {failure}", file=sys.stderr)
    return elapsed, not failures


def throughput(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="ingest-bench-") as tmp:
        folder = Path(tmp)
        started = time.perf_counter()
        data = generate(folder / "orders.csv", orders=args.orders)
        print(f"generated {data.orders} orders, {data.lines} lines, {data.units} units over {SKUS} SKUs "
              f"({time.perf_counter() - started:.1f}s, not timed)")  # fmt: skip
        raw = baseline(folder, data)
        raw_rate = data.orders / raw
        print(f"raw sqlite3 executemany: {raw:.3f}s = {raw_rate:,.0f} orders/s ({data.orders} orders + "
              f"{data.lines} lines)")  # fmt: skip
        ok = True
        results = []
        targets = [("sqlite", f"sqlite:///{folder / 'hub.db'}", None)]
        if args.postgres:
            pg_url, drop = fresh_postgres(args.postgres, "channelhub_bench")
            targets.append(("postgres", pg_url, drop))
        for label, url, drop in targets:
            try:
                elapsed, good = run_hub(label, folder, url, data, args)
            finally:
                if drop is not None and not args.keep:
                    drop()
            ok = ok and good
            rate = data.orders / elapsed
            results.append((label, elapsed, rate))
        for label, elapsed, rate in results:
            ratio = rate / raw_rate
            verdict = "met" if ratio >= TARGET else "NOT met"
            print(f"hub import ({label}): {elapsed:.3f}s = {rate:,.0f} orders/s; ratio to raw = {ratio:.3f}; "
                  f"target {TARGET}: {verdict}")  # fmt: skip
        if args.keep:
            kept = Path(tempfile.mkdtemp(prefix="ingest-bench-kept-"))
            for name in ("orders.csv", "hub.db", "baseline.db"):
                if (folder / name).exists():
                    (folder / name).rename(kept / name)
            print(f"kept the file and databases in {kept}")
    print("correctness: ok" if ok else "correctness: FAILED")
    return 0 if ok else 1


# -- memory mode -----------------------------------------------------------------------------------------------

CHILD_BASE = (
    "import resource, channelhub.sync.pull, channelhub_connectors.marketplace.connector; "
    "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"
)


def memory(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="ingest-memory-") as tmp:
        folder = Path(tmp)
        root = folder / "root"
        (root / "inbox").mkdir(parents=True)
        data = generate(root / "inbox" / "orders.csv", rows=args.rows, keep_rows=False)
        print(f"generated {data.lines} rows, {data.orders} orders (not timed, not measured)")
        url = f"sqlite:///{folder / 'hub.db'}"
        seed_stock(url)
        command = [sys.executable, __file__, "--child-import", str(root), "--url", url]
        if args.page_size:
            command += ["--page-size", str(args.page_size)]
        child = subprocess.run(command, capture_output=True, text=True, check=False)
        if child.returncode != 0:
            print(child.stdout + child.stderr, file=sys.stderr)
            return 1
        seconds, peak_kb = (float(v) for v in child.stdout.split())
        base_kb = float(subprocess.run([sys.executable, "-c", CHILD_BASE], capture_output=True, text=True,
                                       check=True).stdout)  # fmt: skip
        counts = count(url)
        print_counts("counts", counts)
        failures = check(counts, data)
    for failure in failures:
        print(f"FAIL: {failure}", file=sys.stderr)
    peak_mb, base_mb = peak_kb / 1024, base_kb / 1024
    verdict = "met" if peak_mb < RSS_TARGET_MB else "NOT met"
    print(f"import of {data.lines} rows: {seconds:.1f}s = {data.orders / seconds:,.0f} orders/s")
    print(f"peak RSS {peak_mb:.1f} MB (bare interpreter with the hub imported: {base_mb:.1f} MB, ratio "
          f"{peak_mb / base_mb:.2f}); target < {RSS_TARGET_MB} MB: {verdict}")  # fmt: skip
    print("correctness: ok" if not failures else "correctness: FAILED")
    return 0 if not failures else 1


def child_import(args: argparse.Namespace) -> int:
    elapsed, report = import_file(Path(args.child_import), args.url, args.page_size)
    if report is not None and not report.ok:  # type: ignore[attr-defined]
        print(report.error, file=sys.stderr)  # type: ignore[attr-defined]
        return 1
    print(elapsed, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--orders", type=int, default=100_000)
    parser.add_argument("--rows", type=int, default=0, help="memory mode: import a file of this many rows")
    parser.add_argument("--page-size", type=int, default=0, help="orders per page (default: the connector's)")
    parser.add_argument("--keep", action="store_true", help="keep the generated file and databases")
    parser.add_argument("--postgres", default="", help="also import into a fresh database on this server")
    parser.add_argument("--profile", default="", help="write a cProfile of the SQLite import to this file")
    parser.add_argument("--child-import", default="", help=argparse.SUPPRESS)
    parser.add_argument("--url", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child_import:
        return child_import(args)
    if args.rows:
        return memory(args)
    return throughput(args)


if __name__ == "__main__":
    sys.exit(main())
