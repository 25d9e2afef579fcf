"""ShipStation's 40 requests a minute held: 1,000 orders pushed to the fake account with its real limit.

    .venv/bin/python bench/shipstation_rate.py --window-seconds 1.5     # --orders 1000, --limit 40

The fake account (tests/doubles/shipstation) counts requests in fixed windows and answers 429 beyond `--limit`,
with X-Rate-Limit-Remaining and X-Rate-Limit-Reset on every answer, exactly as ShipStation v1 documents; only its
window is shortened by --window-seconds (60 would make a run of 1,000 orders take 50 minutes). Real time, real
threads: none of it is simulated. Each push is two requests (the read of the order key, then createorder).

Two runs on the same fake, one after the other:
- the connector as shipped: its per-channel RateLimiter waits for the reset when the window is spent;
- the baseline: the same connector with the limiter taken out, driven as the engine drives a write that comes
  back RateLimited (wait retry_after, send again), so what is measured is the limiter and nothing else.
Prints the calls answered per window (first windows and the spread), the requests per second, and the 429s after
the first window. Exits 1 when the connector as shipped met any 429 after the first window.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
from channelhub_connectors.shipstation.connector import ShipStationConnector
from channelhub_connectors.shipstation.limiter import RateLimiter

from channelhub.errors import RateLimited
from channelhub.ports import ConnectorContext

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the fake account is a test double

from doubles.shipstation import samples
from doubles.shipstation.fake_server import FakeShipStation

SETTINGS = {"api_key": "bench_key", "api_secret": "bench_secret"}


class NoLimiter(RateLimiter):
    """The baseline: never waits before a request; the answers are still read (so a 429 says its reset)."""

    def acquire(self) -> None:
        return None


def run(orders: int, limit: int, window: float, limited: bool) -> dict[str, object]:
    fake = FakeShipStation("bench_key", "bench_secret", limit=limit, window=window)
    connector = ShipStationConnector(
        SETTINGS, ConnectorContext(channel="bench", transport=httpx.Client(transport=fake.mock_transport()))
    )
    if not limited:
        connector.client.limiter = NoLimiter(limit=limit)
    started = time.monotonic()
    engine_waits = 0
    for n in range(orders):
        request = samples.request(100000 + n)
        while True:
            try:
                connector.push_fulfillment_order(request)
                break
            except RateLimited as exc:  # the dispatcher's part: wait what ShipStation said, send again
                engine_waits += 1
                time.sleep(exc.retry_after or 1.0)
    elapsed = time.monotonic() - started
    first = fake.log[0][0]
    per_window: Counter[int] = Counter()
    throttled: Counter[int] = Counter()
    for at, _method, _path, status in fake.log:
        index = int((at - first) // window)
        (throttled if status == 429 else per_window)[index] += 1
    connector.close()
    assert len(fake.orders) == orders, f"{len(fake.orders)} orders at the fake, {orders} pushed"
    return {
        "elapsed": elapsed,
        "requests": len(fake.log),
        "answered": sum(per_window.values()),
        "per_window": [per_window[i] for i in range(max(per_window) + 1)],
        "throttled_after_first": sum(v for k, v in throttled.items() if k > 0),
        "throttled_first": throttled[0],
        "engine_waits": engine_waits,
    }


def report(name: str, result: dict[str, object], window: float, limit: int) -> None:
    windows = result["per_window"]
    assert isinstance(windows, list)
    full = windows[:-1] or windows  # the last window is partial
    print(f"{name}:")
    print(f"  {result['requests']} requests ({result['answered']} answered) in {result['elapsed']:.1f} s")
    rate = sum(full) / (len(full) * window)  # over the full windows: the last one is cut short
    print(f"  calls answered per {window:g} s window: first {windows[:6]}, min {min(full)}, max {max(full)}"
          f" (limit {limit}); {rate:.1f} requests/s over the full windows, ceiling {limit / window:.1f}")  # fmt: skip
    print(f"  429s: {result['throttled_first']} in the first window, {result['throttled_after_first']} after it;"
          f" writes the engine had to retry: {result['engine_waits']}")  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--orders", type=int, default=1000)
    parser.add_argument("--limit", type=int, default=40)
    parser.add_argument("--window-seconds", type=float, default=1.5)
    args = parser.parse_args()
    print(f"{args.orders} orders, 2 requests each, limit {args.limit} per {args.window_seconds:g} s window")
    shipped = run(args.orders, args.limit, args.window_seconds, limited=True)
    report("connector with its rate limiter", shipped, args.window_seconds, args.limit)
    baseline = run(args.orders, args.limit, args.window_seconds, limited=False)
    report("baseline: no limiter, 429 retried after its reset", baseline, args.window_seconds, args.limit)
    ok = shipped["throttled_after_first"] == 0
    print(f"target, zero 429s after the first window: {'met' if ok else 'NOT MET'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
