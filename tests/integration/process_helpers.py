"""Helpers (imported by name, the folder is on sys.path) for tests that run `channelhub` as a real process."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path


def channelhub_command() -> list[str]:
    """The installed console script of this interpreter's environment, else the same entry point through -c."""
    script = Path(sys.executable).parent / "channelhub"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from channelhub.cli import app; app()"]


def wait_until(predicate: Callable[[], bool], timeout: float = 60.0, poll: float = 0.1) -> bool:
    """Poll `predicate` until it holds or `timeout` seconds pass (a generous bound: machines may be loaded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(poll)
    return predicate()
