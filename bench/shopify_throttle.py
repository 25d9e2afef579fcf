"""Throttle simulation: the Shopify client against a fake leaky bucket with Shopify's cost semantics.

    /work/venv/bin/python bench/shopify_throttle.py [--seconds 600] [--restore 100] [--maximum 1000]

A simulated clock (advanced by the client's sleeps and by a per-request latency) drives both the client and the
fake bucket, so the run takes no wall time and is deterministic. Prints the points per second sustained after
the initial burst, its ratio to the restore rate, and THROTTLED answers after the first second; exits 1 when
any THROTTLED answer came after the first second or the ratio is below 0.90.

The client paces on its cost bucket and never retries: a THROTTLED answer is RateLimited at once. The loop plays
the engine's part, waiting `retry_after` and sending again, so a throttle costs what it would cost in the hub.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import httpx
from channelhub_connectors.shopify import queries
from channelhub_connectors.shopify.client import ShopifyClient

from channelhub.errors import RateLimited

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the fake shop is a test double

from doubles.shopify.fake_shop import COSTS, Bucket, FakeShop


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--restore", type=float, default=100.0)
    parser.add_argument("--maximum", type=float, default=1000.0)
    parser.add_argument("--latency", type=float, default=0.05, help="simulated seconds per request")
    args = parser.parse_args()
    clock = Clock()
    shop = FakeShop(bucket=Bucket(maximum=args.maximum, available=args.maximum, restore_rate=args.restore, clock=clock))
    throttled_at: list[float] = []
    transport = shop.mock_transport()

    def handler(request: httpx.Request) -> httpx.Response:
        clock.now += args.latency
        response = transport.handle_request(request)
        if b"THROTTLED" in response.read():
            throttled_at.append(clock.now)
        return response

    client = ShopifyClient(
        endpoint="https://bench.myshopify.com/admin/api/2026-10/graphql.json",
        token="bench",
        http=httpx.Client(transport=httpx.MockTransport(handler)),
        clock=clock,
        sleep=clock.sleep,
    )
    cost = COSTS["Orders"]
    requests = 0
    while clock.now < args.seconds:
        try:
            client.execute(queries.ORDERS, {"first": 250, "after": None, "query": None})
        except RateLimited as exc:  # the engine's retry: wait what the answer said, then send again
            clock.sleep(exc.retry_after or 1.0)
            continue
        requests += 1
    elapsed = clock.now
    points = requests * cost
    sustained = (points - args.maximum) / elapsed  # the initial full bucket is a one-off burst, not a rate
    ratio = sustained / args.restore
    late = [t for t in throttled_at if t > 1.0]
    print(f"simulated {elapsed:.1f}s: {requests} requests x {cost} points = {points} points")
    print(f"sustained after the initial {args.maximum:.0f}-point burst: {sustained:.1f} points/s")
    print(f"restore rate {args.restore:.0f} points/s -> ratio {ratio:.3f} (need >= 0.90)")
    print(f"THROTTLED answers: {len(throttled_at)} in all, {len(late)} after the first second")
    return 0 if not late and ratio >= 0.90 else 1


if __name__ == "__main__":
    sys.exit(main())
