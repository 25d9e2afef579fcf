"""Waiting in tests: poll a condition with a generous bound, never sleep a fixed time (machines may be loaded)."""

from __future__ import annotations

import time
from collections.abc import Callable


def wait_until(predicate: Callable[[], bool], timeout: float = 60.0, poll: float = 0.05) -> bool:
    """True once `predicate` holds; False when `timeout` seconds passed first (it is asked one last time)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll)
    return bool(predicate())
