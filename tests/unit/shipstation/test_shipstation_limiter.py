"""The per-channel limiter, driven by a hand-moved clock: 40 calls go, the 41st waits for the reset; the server's
headers win over the local count; a 429 is honoured; threads never spend the same last request twice."""

from __future__ import annotations

import threading

import pytest
from channelhub_connectors.shipstation.limiter import RateLimiter
from ss_helpers import FakeClock

from channelhub.errors import RateLimited


def headers(remaining: int, reset: float, limit: int = 40) -> dict[str, str]:
    return {
        "X-Rate-Limit-Limit": str(limit),
        "X-Rate-Limit-Remaining": str(remaining),
        "X-Rate-Limit-Reset": str(reset),
    }


def test_forty_calls_go_and_the_forty_first_waits_for_the_reset() -> None:
    clock = FakeClock()
    limiter = RateLimiter(limit=40, clock=clock, sleep=clock.sleep)
    for n in range(40):
        limiter.acquire()
        clock.now += 0.5  # 40 calls over 20 s of the window
        limiter.observe(headers(39 - n, 60 - 0.5 * (n + 1)))
    assert clock.sleeps == []
    limiter.acquire()  # the 41st: the window resets 40 s from now
    assert clock.sleeps == [pytest.approx(40.0)]


def test_before_any_answer_the_documented_limit_holds() -> None:
    clock = FakeClock()
    limiter = RateLimiter(limit=40, window=60.0, clock=clock, sleep=clock.sleep)
    for _ in range(40):
        limiter.acquire()
    limiter.acquire()
    assert clock.sleeps == [60.0]


def test_the_servers_remaining_count_wins_over_the_local_one() -> None:
    clock = FakeClock()
    limiter = RateLimiter(limit=40, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    limiter.observe(headers(0, 12))  # another client of the same key spent the window
    limiter.acquire()
    assert clock.sleeps == [12.0]


def test_a_429_means_wait_for_the_reset_before_the_next_call() -> None:
    clock = FakeClock()
    limiter = RateLimiter(limit=40, clock=clock, sleep=clock.sleep)
    limiter.acquire()
    assert limiter.observe(headers(30, 7), throttled=True) == 7.0
    limiter.acquire()
    assert clock.sleeps == [7.0]


def test_a_wait_longer_than_max_wait_is_not_slept_but_raised() -> None:
    clock = FakeClock()
    limiter = RateLimiter(limit=1, clock=clock, sleep=clock.sleep, max_wait=5.0)
    limiter.acquire()
    limiter.observe(headers(0, 50, limit=1))
    with pytest.raises(RateLimited) as caught:
        limiter.acquire()
    assert caught.value.retry_after == pytest.approx(50.0) and clock.sleeps == []


def test_threads_share_one_window() -> None:
    clock = FakeClock()
    lock = threading.Lock()

    def sleep(seconds: float) -> None:
        with lock:
            clock.sleep(seconds)

    limiter = RateLimiter(limit=40, clock=clock, sleep=sleep)
    threads = [threading.Thread(target=limiter.acquire) for _ in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert clock.sleeps == [60.0]  # 40 went at once, the 41st waited for a fresh window, 9 more went in it
    assert limiter.in_flight == 10 and limiter.remaining == 30
