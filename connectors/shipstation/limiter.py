"""The per-channel rate limiter: ShipStation v1's 40 requests a minute, paced from its own headers.

Source: docs.shipstation.com, ShipStation V1 API, "Requirements" > "API Rate Limits": every answer carries
`X-Rate-Limit-Limit` (requests a minute), `X-Rate-Limit-Remaining` (left in the current window) and
`X-Rate-Limit-Reset` ("the number of seconds remaining until the next window begins"); beyond the limit the answer
is HTTP 429 and the client "should stop making requests until X-Rate-Limit-Reset seconds have elapsed".

Contract: one `RateLimiter` per connector instance, shared by every call of the channel (the dispatcher's pushes,
the shipment pulls, the webhook fetches), thread-safe. `acquire()` before each request takes one request of the
window; when none is left it sleeps until the window resets (a wait longer than `max_wait` is not slept: it raises
RateLimited so the engine frees the worker). `observe()` after each answer takes the server's word. Requests in
flight are counted, so several threads never spend the same last request twice. The clock and sleep are injected
(tests drive them by hand).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping

from channelhub.errors import RateLimited


def _number(headers: Mapping[str, str], name: str) -> float | None:
    raw = headers.get(name)
    if raw is None:
        return None
    try:
        return float(raw.strip())
    except ValueError:
        return None


class RateLimiter:
    """Local view of the channel's window: how many requests are left and when the window resets."""

    def __init__(
        self,
        *,
        limit: int = 40,
        window: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        max_wait: float = 65.0,
        where: str = "shipstation",
    ) -> None:
        self.clock, self.sleep = clock, sleep
        self.limit, self.window, self.max_wait, self.where = limit, window, max_wait, where
        self._lock = threading.Lock()
        self.remaining = limit  # before any answer: the documented limit, a fresh window
        self.reset_at: float | None = None  # None: no answer yet says when the window resets
        self.in_flight = 0
        self.waits: list[float] = []  # every wait slept, for tests and the benchmark

    def acquire(self) -> None:
        """Take one request of the window, sleeping until the window resets when none is left."""
        with self._lock:
            now = self.clock()
            if self.reset_at is not None and now >= self.reset_at:
                self._fresh_window()
            if self.remaining <= 0:
                wait = (self.reset_at - now) if self.reset_at is not None else self.window
                if wait > self.max_wait:
                    raise RateLimited(
                        f"ShipStation's rate limit window resets in {wait:.1f}s", retry_after=wait, where=self.where
                    )
                # Sleeping under the lock is the point: every other call of the channel must wait for it too.
                self.waits.append(wait)
                self.sleep(max(wait, 0.0))
                self._fresh_window()
            self.remaining -= 1
            self.in_flight += 1

    def observe(self, headers: Mapping[str, str], *, throttled: bool = False) -> float | None:
        """Take the server's word from an answer's headers; returns the reset (seconds) it named, if any."""
        remaining = _number(headers, "X-Rate-Limit-Remaining")
        reset = _number(headers, "X-Rate-Limit-Reset")
        limit = _number(headers, "X-Rate-Limit-Limit")
        with self._lock:
            self.in_flight = max(self.in_flight - 1, 0)
            now = self.clock()
            if limit is not None and limit >= 1:
                self.limit = int(limit)
            if reset is not None:
                self.reset_at = now + max(reset, 0.0)
            if throttled:
                self.remaining = 0  # whatever we thought, the server said no: wait for the reset
            elif remaining is not None:
                # The others in flight will spend theirs from what the server counted for this one.
                self.remaining = (
                    min(self.remaining, int(remaining) - self.in_flight)
                    if reset is None
                    else (int(remaining) - self.in_flight)
                )
        return reset

    def release(self) -> None:
        """A request that got no answer (a network error) gives back nothing but its in-flight mark."""
        with self._lock:
            self.in_flight = max(self.in_flight - 1, 0)

    def _fresh_window(self) -> None:
        # Requests still in flight were counted in the window they were sent in, not in this one.
        self.remaining, self.in_flight, self.reset_at = self.limit, 0, None
