"""Dispatch benchmark: 10,000 stock changes over 2,000 SKUs to a channel taking 100 per call.

Expected: exactly 20 connector calls (2,000 latest values / 100), then, after the same values are published again,
0 calls (the channel already confirmed them). Prints the call counts, the times, and the ratio of a plain
sqlite3 executemany of the same 2,000 values (measured in the same run) to the dispatch time. Exits 1 when a call
count is wrong.

    python bench/dispatch.py [--changes 10000] [--skus 2000] [--limit 100] [--url sqlite:///...]
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from channelhub.ports import BatchLimits
from channelhub.store import open_database
from channelhub.sync.dispatch import Dispatcher
from channelhub.sync.outbox import Write, enqueue_many
from channelhub.sync.retry import RetryPolicy
from channelhub.testing.fakes import RecordingConnector


def publish(db, changes: list[tuple[str, int]], tag: str) -> None:
    with db.transaction() as session:
        enqueue_many(
            session,
            [
                Write("shop", "stock", sku, {"sku": sku, "quantity": quantity}, f"{tag}:{n}")
                for n, (sku, quantity) in enumerate(changes)
            ],
        )


def baseline(folder: Path, latest: dict[str, int]) -> float:
    con = sqlite3.connect(folder / "baseline.db")
    con.execute("CREATE TABLE listed (sku TEXT PRIMARY KEY, quantity INTEGER)")
    start = time.perf_counter()
    con.executemany("INSERT INTO listed VALUES (?, ?)", list(latest.items()))
    con.commit()
    elapsed = time.perf_counter() - start
    con.close()
    return elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--changes", type=int, default=10_000)
    parser.add_argument("--skus", type=int, default=2_000)
    parser.add_argument("--limit", type=int, default=100)
    parser.add_argument("--url", default="")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        db = open_database(args.url or f"sqlite:///{folder / 'hub.db'}")
        changes = [(f"SKU-{n % args.skus:05d}", n) for n in range(args.changes)]
        latest = dict(changes)
        expected = -(-len(latest) // args.limit)
        connector = RecordingConnector("shop", limits=BatchLimits(stock_per_call=args.limit))
        worker = Dispatcher(db, {"shop": connector}, worker_id="bench", retry=RetryPolicy())
        now = datetime.now(UTC) + timedelta(seconds=1)

        publish(db, changes, "first")
        start = time.perf_counter()
        first = worker.run_once(now)
        first_time = time.perf_counter() - start

        publish(db, list(latest.items()), "second")
        start = time.perf_counter()
        second = worker.run_once(now)
        second_time = time.perf_counter() - start
        base = baseline(folder, latest)
        db.dispose()

    print(f"changes={args.changes} skus={args.skus} limit={args.limit}")
    print(f"pass 1: calls={first.calls} (expected {expected}) done={first.done} superseded={first.superseded} "
          f"time={first_time:.3f}s")  # fmt: skip
    print(f"pass 2: calls={second.calls} (expected 0) skipped={second.skipped} time={second_time:.3f}s")
    print(f"baseline executemany of {len(latest)} values: {base:.4f}s; ratio baseline/pass1 = {base / first_time:.3f}")
    sent = sum(len(call) for call in connector.stock_calls)
    ok = first.calls == expected and second.calls == 0 and sent == len(latest)
    if not ok:
        print("FAIL: wrong call counts", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
