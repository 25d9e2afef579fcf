"""A dispatcher killed mid-call loses no write and causes no second effect.

A subprocess dispatches 300 fulfillment rows and 2,000 stock changes (over 400 SKUs) to a channel kept in files
(`FileReceiverConnector`): every received idempotency key is appended to received.log (fsynced) before the call
returns, and the channel counts an effect only for a key it has not seen (effects.log), as a real channel
recognises a repeated idempotency key. The test SIGKILLs the worker twice while it hangs inside a call (keys
delivered, outcome not yet recorded), restarts it until the outbox is drained, then checks: every written row
reached the channel, each effect happened exactly once, and the raw log shows the re-sent batches.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select

from channelhub.model.shipments import Shipment
from channelhub.store import open_database
from channelhub.store.tables import OutboxRow
from channelhub.sync.outbox import enqueue
from channelhub.testing.fakes import BASE_TIME, read_keys

pytestmark = pytest.mark.slow

WORKER = r"""
import sys, time
from datetime import timedelta
from sqlalchemy import func, select
from channelhub.ports import BatchLimits
from channelhub.store import open_database
from channelhub.store.tables import OutboxRow
from channelhub.sync.dispatch import Dispatcher
from channelhub.sync.retry import RetryPolicy
from channelhub.testing.fakes import FileReceiverConnector

url, folder, hang = sys.argv[1], sys.argv[2], int(sys.argv[3])
db = open_database(url, migrate=False)
channel = FileReceiverConnector(
    "shop", folder, limits=BatchLimits(stock_per_call=50), hang_on_call=hang or None, hang_seconds=120
)
worker = Dispatcher(
    db, {"shop": channel}, worker_id=f"w{hang}", retry=RetryPolicy(max_attempts=50, base=0.05, cap=0.2),
    lease=timedelta(seconds=1), batches_per_claim=4,
)
deadline = time.monotonic() + 120
while time.monotonic() < deadline:
    worker.run_once()
    with db.transaction() as session:
        left = session.scalar(
            select(func.count()).select_from(OutboxRow).where(OutboxRow.status.in_(["pending", "inflight"]))
        )
    if not left:
        sys.exit(0)
    time.sleep(0.1)
sys.exit(3)
"""


def seed(url: str) -> None:
    db = open_database(url, migrate=False)
    shipment = Shipment(carrier="DHL", tracking_number="T", shipped_at=BASE_TIME).model_dump(mode="json")
    with db.transaction() as session:
        for n in range(300):
            enqueue(
                session,
                channel="shop",
                kind="fulfillment",
                subject=f"O{n}",
                payload={"order_external_id": f"O{n}", "order_number": f"#{n}", "shipment": shipment},
                cause=f"shipment:{n}",
            )
        for n in range(2000):
            sku = f"SKU-{n % 400:03d}"
            enqueue(
                session,
                channel="shop",
                kind="stock",
                subject=sku,
                payload={"sku": sku, "quantity": n},
                cause=f"movement:{n}",
            )
    db.dispose()


def start(url: str, folder: Path, hang: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", WORKER, url, str(folder), str(hang)])


def wait_for(path: Path, proc: subprocess.Popen[bytes], seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert proc.poll() is None, f"worker exited early with {proc.returncode}"
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.05)


def test_killed_dispatcher_loses_nothing_and_repeats_no_effect(db_url: str, tmp_path: Path) -> None:
    seed(db_url)
    folder = tmp_path / "channel"
    # Kill once inside a stock batch (call 2) and once inside a later call of the restarted worker.
    for hang in (2, 9):
        proc = start(db_url, folder, hang)
        wait_for(folder / "hanging", proc)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
        (folder / "hanging").unlink()
    proc = start(db_url, folder, 0)
    assert proc.wait(timeout=180) == 0, "the last worker did not drain the outbox"

    db = open_database(db_url, migrate=False)
    with db.transaction() as session:
        rows = list(session.execute(select(OutboxRow.idempotency_key, OutboxRow.status, OutboxRow.kind)))
    db.dispose()
    statuses = Counter(status for _, status, _ in rows)
    assert set(statuses) <= {"done", "superseded", "skipped"}, statuses
    written = {key for key, status, _ in rows if status == "done"}
    never_sent = {key for key, status, _ in rows if status != "done"}
    assert sum(1 for _, status, kind in rows if status == "done" and kind == "fulfillment") == 300

    received = read_keys(folder, "received.log")
    effects = read_keys(folder, "effects.log")
    assert len(effects) == len(set(effects)) == len(written)  # each write took effect exactly once
    assert set(effects) == written  # and every one reached the channel
    assert not never_sent & set(received)  # superseded values were never sent
    repeated = [key for key, n in Counter(received).items() if n > 1]
    assert len(received) > len(effects) and repeated  # the killed calls were re-sent, and recognised
