"""bench/wake.py at a small size: every commit reaches the channel in both modes on each backend, and the
figures are printed. No timing is asserted: the figures depend on the machine."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parents[2] / "bench" / "wake.py"

pytestmark = pytest.mark.slow


def test_small_wake_bench_run_reaches_the_channel_and_prints_the_figures() -> None:
    admin = os.environ.get("CHANNELHUB_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
    done = subprocess.run(
        [sys.executable, str(BENCH), "--commits", "20", "--rate", "40", "--postgres", admin],
        capture_output=True, text=True, check=False, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    figures = re.findall(r"^\s*(\w+)\s+(woken|polling): commit -> dispatch start p50 .* p99 ", done.stdout, re.M)
    backends = {backend for backend, _ in figures}
    assert "sqlite" in backends, done.stdout
    if os.environ.get("CI"):
        assert "postgres" in backends, done.stdout
    assert len(figures) == 2 * len(backends)
