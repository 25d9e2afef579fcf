"""bench/ingest.py at a small size: it imports through the real path and its correctness checks pass.

No timing is asserted: the figures depend on the machine; the counts do not.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench" / "ingest.py"


def test_small_ingest_run_is_correct() -> None:
    done = subprocess.run(
        [sys.executable, str(BENCH), "--orders", "2000"], capture_output=True, text=True, check=False, timeout=300
    )
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    counts = re.search(
        r"sqlite counts: orders=(\d+) lines=(\d+) confirmed=(\d+) held=(\d+) reserved_units=(\d+) "
        r"reserved_line_units=(\d+) outbox_rows=(\d+) negative_available=(\d+)",
        out,
    )
    assert counts is not None, out
    orders, lines, confirmed, held, reserved, line_units, outbox, negative = map(int, counts.groups())
    assert orders == 2000 and confirmed + held == orders
    assert lines >= orders and held > 0
    assert reserved == line_units > 0 and negative == 0 and outbox > 0
    assert re.search(r"raw sqlite3 executemany: .* orders/s", out)
    assert re.search(r"hub import \(sqlite\): .* orders/s; ratio to raw = [0-9.]+; target 0\.1: (met|NOT met)", out)
    assert "correctness: ok" in out
