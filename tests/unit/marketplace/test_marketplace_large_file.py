"""A 1,000,000-row order file is pulled in bounded memory: pages of at most page_size orders, peak RSS < 300 MB.

Runs in a child process so the measured peak is the pull's alone, not the test runner's.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROWS = 1_000_000
PAGE_SIZE = 5000
RSS_LIMIT_MB = 300

CHILD = textwrap.dedent(
    """
    import json, resource, sys
    from datetime import UTC, datetime, timedelta
    from pathlib import Path
    from channelhub.ports import ConnectorContext, PullRequest
    from channelhub_connectors.marketplace.connector import MarketplaceConnector

    root, rows, page_size = Path(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
    (root / "inbox").mkdir(parents=True)
    with open(root / "inbox" / "big.tsv", "wb") as out:
        out.write(b"order-id\\torder-item-id\\tpurchase-date\\tsku\\tproduct-name\\tquantity-purchased\\t"
                  b"recipient-name\\tship-address-1\\tship-city\\tship-postal-code\\tship-country\\n")
        for i in range(rows):  # two rows per order
            o = i // 2
            out.write(b"%03d-%07d-%07d\\t%d\\t2026-11-20T08:15:00+00:00\\tSKU-%05d\\tA product title\\t1\\t"
                      b"Anna Schmidt\\tHauptstr. 1\\tBerlin\\t10115\\tDE\\n" % (o % 1000, o, o % 7, i, i % 50000))
    connector = MarketplaceConnector(
        {"root": str(root), "orders_layout": "amazon_unshipped_orders", "currency": "EUR", "page_size": page_size},
        ConnectorContext(channel="big"),
    )
    orders = problems = pages = largest = 0
    last = None
    for page in connector.pull_orders(PullRequest(None, timedelta(0), datetime.now(UTC))):
        pages += 1
        largest = max(largest, len(page.records))
        orders += len(page.records)
        problems += sum(1 for r in page.records if r.problem)
        last = page
    last.on_committed()
    print(json.dumps({
        "orders": orders, "problems": problems, "pages": pages, "largest": largest,
        "hashed": last.content_hash is not None, "moved": (root / "processed" / "big.tsv").exists(),
        "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))
    """
)


@pytest.mark.slow
def test_a_million_row_file_is_pulled_in_pages_within_bounded_memory(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(tmp_path / "root"), str(ROWS), str(PAGE_SIZE)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert result["orders"] == ROWS // 2
    assert result["problems"] == 0
    assert result["largest"] <= PAGE_SIZE
    assert result["pages"] == ROWS // 2 // PAGE_SIZE
    assert result["hashed"] and result["moved"]
    assert result["peak_mb"] < RSS_LIMIT_MB, result
