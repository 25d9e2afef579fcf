"""`channelhub run` killed with SIGKILL in the middle of dispatching, then restarted: every outbox write reaches
its marketplace exactly once, counted at the receiving side (the files in the channel's outbox folder).

The outbox is seeded with 600 shipment confirmations (one file each) and 3,000 stock changes over 300 SKUs. The
daemon is killed as soon as the first files appear, twice, and then left to drain. The marketplace names every
file after its write's idempotency keys, so a write re-sent after the crash replaces its own file instead of
adding one: the receiving side must show each shipment in exactly one file, once, and each SKU at its latest
quantity.
"""

from __future__ import annotations

import csv
import os
import signal
import subprocess
from collections import Counter
from pathlib import Path

import pytest
from process_helpers import HTTP_ON_A_FREE_PORT
from sqlalchemy import func, select
from test_daemon import channelhub_command, wait_until

from channelhub.model.shipments import Shipment
from channelhub.store import open_database
from channelhub.store.tables import OutboxRow
from channelhub.sync.outbox import enqueue

pytestmark = pytest.mark.slow

SHIPMENTS = 600
STOCK_CHANGES = 3000
SKUS = 300

CONFIG = """
database = "sqlite:///hub.db"

[sync]
dispatch_seconds = 1
lease_seconds = 2
backoff_base_seconds = 0.1
backoff_cap_seconds = 0.5

[[locations]]
code = "main"

[[channels]]
name = "market"
kind = "marketplace"
[channels.schedule]
pull_seconds = 3600
push_seconds = 1
[channels.settings]
root = "market"
stock_layout = "amazon_price_quantity"
shipment_layout = "amazon_shipping_confirmation"
"""
CONFIG += HTTP_ON_A_FREE_PORT


def seed(url: str) -> None:
    """Queue the writes as the hub would have: shipments of real-looking orders, then many stock changes."""
    db = open_database(url)
    with db.transaction() as session:
        for n in range(SHIPMENTS):
            shipment = Shipment(
                carrier="DHL", tracking_number=f"TRK{n:05d}", shipped_at="2026-11-26T08:00:00Z"
            ).model_dump(mode="json")
            enqueue(
                session,
                channel="market",
                kind="fulfillment",
                subject=f"order-{n}",
                payload={
                    "order_external_id": f"order-{n}",
                    "order_number": f"order-{n}",
                    "shipment": shipment | {"lines": [{"sku": "MUG", "quantity": 1}]},
                    "line_external_ids": {"MUG": f"line-{n}"},
                },
                cause=f"shipment:{n}",
            )
        for n in range(STOCK_CHANGES):
            sku = f"SKU-{n % SKUS:03d}"
            enqueue(
                session,
                channel="market",
                kind="stock",
                subject=sku,
                payload={"sku": sku, "quantity": n},
                cause=f"movement:{n}",
            )
    db.dispose()


def rows_of(folder: Path, prefix: str) -> list[dict[str, str]]:
    rows: list[dict[str, str]] = []
    for path in sorted(folder.glob(f"{prefix}-*.tsv")):
        with path.open(newline="", encoding="utf-8") as fh:
            rows.extend(csv.DictReader(fh, delimiter="\t"))
    return rows


def start_daemon(config: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [*channelhub_command(), "--config", str(config), "run"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )


def test_daemon_killed_mid_dispatch_delivers_every_write_exactly_once(tmp_path: Path) -> None:
    (tmp_path / "channelhub.toml").write_text(CONFIG)
    for sub in ("inbox", "processed", "outbox"):
        (tmp_path / "market" / sub).mkdir(parents=True)
    url = f"sqlite:///{tmp_path / 'hub.db'}"
    seed(url)
    outbox = tmp_path / "market" / "outbox"

    written_before_kill = []
    for _ in range(2):
        seen = len(list(outbox.glob("*.tsv")))
        daemon = start_daemon(tmp_path / "channelhub.toml")
        # Kill as soon as this run has written something: it is then in the middle of dispatching.
        assert wait_until(lambda seen=seen: len(list(outbox.glob("*.tsv"))) > seen, timeout=60)
        daemon.send_signal(signal.SIGKILL)
        daemon.wait(timeout=30)
        written_before_kill.append(len(list(outbox.glob("*.tsv"))))

    db = open_database(url, migrate=False)

    def pending() -> int:
        with db.transaction() as session:
            return (
                session.scalar(
                    select(func.count()).select_from(OutboxRow).where(OutboxRow.status.in_(["pending", "inflight"]))
                )
                or 0
            )

    assert pending() > 0, f"the kills came too late to test anything ({written_before_kill} files written)"
    daemon = start_daemon(tmp_path / "channelhub.toml")
    try:
        assert wait_until(lambda: pending() == 0, timeout=120), "the restarted daemon did not drain the outbox"
    finally:
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(timeout=60) == 0

    with db.transaction() as session:
        statuses = Counter(status for (status,) in session.execute(select(OutboxRow.status)))
    db.dispose()
    assert set(statuses) <= {"done", "superseded", "skipped"}, statuses
    assert statuses["done"] >= SHIPMENTS + SKUS

    # Receiving side: each shipment confirmed exactly once, in exactly one file.
    shipped = Counter(row["order-id"] for row in rows_of(outbox, "shipment"))
    assert len(list(outbox.glob("shipment-*.tsv"))) == SHIPMENTS
    assert set(shipped) == {f"order-{n}" for n in range(SHIPMENTS)}
    assert set(shipped.values()) == {1}
    # Every SKU's last listed quantity is its latest value, whatever was re-sent on the way.
    latest: dict[str, int] = {}
    for path in sorted(outbox.glob("stock-*.tsv"), key=lambda p: p.stat().st_mtime_ns):
        with path.open(newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh, delimiter="\t"):
                latest[row["sku"]] = int(row["quantity"])
    expected = {f"SKU-{s:03d}": max(n for n in range(STOCK_CHANGES) if n % SKUS == s) for s in range(SKUS)}
    assert latest == expected
    assert not [p for p in outbox.iterdir() if not p.name.endswith(".tsv")], "a temporary file was left behind"
