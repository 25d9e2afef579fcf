"""The process's SQLite writer lock: handed to the longest waiter, urgent lane first, re-entrant, bounded waits.

The hand-off is what keeps a webhook receiver from waiting seconds behind the applier: with a lock that the
releasing thread can take straight back, a loop of transactions starved the receivers (bench/webhooks.py
measured p99 in seconds)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import text

from channelhub.store.db import open_database
from channelhub.store.writer import WriterLock
from waiting import wait_until

WAIT = 30.0  # generous bound for a loaded machine; the conditions below are met in microseconds


def test_a_release_hands_the_lock_to_the_waiter_so_the_releaser_cannot_take_it_back() -> None:
    lock = WriterLock()
    assert lock.acquire()
    got: list[str] = []
    hold_waiter = threading.Event()
    waiter = threading.Thread(
        target=lambda: (lock.acquire(timeout=WAIT), got.append("waiter"), hold_waiter.wait(WAIT), lock.release())
    )
    waiter.start()
    assert wait_until(lambda: lock.waiting == 1)
    lock.release()
    # The releaser asks again at once: the lock already belongs to the waiter (a barging lock would say yes).
    assert lock.acquire(timeout=0) is False
    hold_waiter.set()
    waiter.join(WAIT)
    assert got == ["waiter"]
    assert lock.acquire(timeout=0) is True
    lock.release()


def test_urgent_waiters_go_first_then_the_others_in_arrival_order() -> None:
    lock = WriterLock()
    assert lock.acquire()
    order: list[str] = []

    def take(name: str, urgent: bool) -> threading.Thread:
        def run() -> None:
            assert lock.acquire(urgent=urgent, timeout=WAIT)
            order.append(name)
            lock.release()

        thread = threading.Thread(target=run)
        before = lock.waiting
        thread.start()
        assert wait_until(lambda: lock.waiting == before + 1)
        return thread

    threads = [take("normal-1", False), take("normal-2", False), take("urgent-1", True), take("urgent-2", True)]
    lock.release()
    for thread in threads:
        thread.join(WAIT)
    assert order == ["urgent-1", "urgent-2", "normal-1", "normal-2"]


def test_the_owner_may_take_it_again_and_a_stranger_may_not_release_it() -> None:
    lock = WriterLock()
    assert lock.acquire() and lock.acquire()
    lock.release()
    outcome: list[object] = []

    def stranger() -> None:
        outcome.append(lock.acquire(timeout=0.05))  # still held once by the owner
        try:
            lock.release()
        except RuntimeError as exc:
            outcome.append(str(exc))

    thread = threading.Thread(target=stranger)
    thread.start()
    thread.join(WAIT)
    assert outcome[0] is False
    assert "does not own it" in str(outcome[1])
    lock.release()
    assert lock.acquire(timeout=0) is True  # free again: the timed-out waiter left the queue
    lock.release()


def test_a_timed_out_waiter_leaves_the_queue_and_the_next_one_is_served() -> None:
    lock = WriterLock()
    assert lock.acquire()
    results: list[bool] = []
    gave_up = threading.Event()

    def impatient() -> None:
        results.append(lock.acquire(timeout=0.05))
        gave_up.set()

    first = threading.Thread(target=impatient)
    first.start()
    gave_up.wait(WAIT)
    second_got = threading.Event()
    second = threading.Thread(target=lambda: (lock.acquire(timeout=WAIT), second_got.set(), lock.release()))
    second.start()
    assert wait_until(lambda: lock.waiting == 1)
    lock.release()
    assert second_got.wait(WAIT)
    second.join(WAIT)
    first.join(WAIT)
    assert results == [False]


@pytest.mark.timeout(120)
def test_an_urgent_transaction_is_served_before_waiting_bulk_work(tmp_path: Path) -> None:
    """Database.transaction(urgent=True), what a webhook receiver stores a delivery in, is served before
    transactions that were queued earlier (the applier's next batch, a pull's page)."""
    db = open_database(f"sqlite:///{tmp_path / 'hub.db'}")
    with db.transaction() as session:
        session.execute(text("CREATE TABLE served (who TEXT)"))
    release = threading.Event()

    def write(who: str, urgent: bool = False, hold: threading.Event | None = None) -> None:
        with db.transaction(urgent=urgent) as session:
            session.execute(text("INSERT INTO served VALUES (:w)"), {"w": who})
            if hold is not None:
                hold.wait(WAIT)

    holder = threading.Thread(target=write, args=("holder", False, release))
    holder.start()
    assert wait_until(lambda: db._writer.acquire(timeout=0) is False)
    threads = []
    for who, urgent in (("bulk", False), ("receiver", True)):
        before = db._writer.waiting
        thread = threading.Thread(target=write, args=(who, urgent))
        thread.start()
        assert wait_until(lambda before=before: db._writer.waiting == before + 1)
        threads.append(thread)
    release.set()
    for thread in [holder, *threads]:
        thread.join(WAIT)
    with db.transaction() as session:
        served = [row[0] for row in session.execute(text("SELECT who FROM served ORDER BY rowid"))]
    db.dispose()
    assert served == ["holder", "receiver", "bulk"]
