"""bench/propagation.py at a small size: 20 orders through a real `channelhub run` on SQLite (webhooks only, no
polling mode) all reach both other channels, and the figures are printed. No timing is asserted: the figures
depend on the machine."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from channelhub.plugins import discover

BENCH = Path(__file__).resolve().parents[2] / "bench"


def test_the_bench_recorder_connector_keeps_the_contract() -> None:
    registry = discover([BENCH / "plugins"], entry_points=False)
    assert registry.problems == []
    assert "stock_recorder" in registry.kinds


@pytest.mark.slow
def test_small_propagation_run_reaches_every_other_channel() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH / "propagation.py"), "--orders", "20", "--rate", "20", "--modes", "sqlite",
         "--phase", "0", "--bound", "60"],
        capture_output=True, text=True, check=False, timeout=150,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    row = re.search(r"^sqlite\s+20\s+([0-9.]+)\s+([0-9.]+)\s+([0-9.]+)\s+(\d+)\s", done.stdout, re.M)
    assert row is not None, done.stdout
    p50, p99, top, lost = float(row[1]), float(row[2]), float(row[3]), int(row[4])
    assert lost == 0
    assert 0 < p50 <= p99 <= top
    assert re.search(r"target p99 < 2 s \(sqlite\): (met|NOT met)", done.stdout)
