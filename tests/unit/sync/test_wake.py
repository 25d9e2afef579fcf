"""Waking the dispatcher on commit (DESIGN.md flow 4): in process on every backend, by LISTEN/NOTIFY across
Database objects on PostgreSQL (as another daemon would be), through a listener that reconnects after a drop.

Only "it woke" is waited for, with a generous bound; "it did not wake" is a short wait that finds nothing.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select, text

from channelhub.store import Database, open_database
from channelhub.store.tables import OutboxRow
from channelhub.sync.outbox import Write, enqueue, enqueue_many
from channelhub.sync.wake import Waker, wake_on_enqueue

WOKE = 20.0  # seconds: the generous bound for a wake-up that must come
QUIET = 0.5  # seconds: how long a wake-up that must not come is looked for


def put(db: Database, n: int = 1, *, tag: str = "t") -> None:
    with db.transaction() as session:
        for i in range(n):
            enqueue(
                session, channel="shop", kind="stock", subject="SKU-1", payload={"sku": "SKU-1", "quantity": i},
                cause=f"{tag}:{time.monotonic_ns()}:{i}",
            )  # fmt: skip


@pytest.fixture
def waker(database: Database) -> Iterator[Waker]:
    waker = wake_on_enqueue(database, window=0, listen=False)  # the in-process path alone
    yield waker
    waker.close()


def test_a_committed_enqueue_wakes_a_waiting_waker(database: Database, waker: Waker) -> None:
    woke: list[bool] = []
    waiter = threading.Thread(target=lambda: woke.append(waker.wait(WOKE)))
    waiter.start()
    put(database)
    waiter.join(WOKE + 5)
    assert woke == [True]


def test_enqueue_many_wakes_too_and_a_transaction_that_enqueues_nothing_does_not(
    database: Database, waker: Waker
) -> None:
    with database.transaction() as session:
        session.execute(select(func.count()).select_from(OutboxRow))
    assert not waker.wait(QUIET)
    with database.transaction() as session:
        enqueue_many(session, [Write("shop", "stock", "SKU-2", {"sku": "SKU-2", "quantity": 1}, "many:1")])
    assert waker.wait(WOKE)


def test_a_rolled_back_enqueue_wakes_nobody_and_is_forgotten(database: Database, waker: Waker) -> None:
    with pytest.raises(RuntimeError), database.transaction() as session:
        enqueue(session, channel="shop", kind="stock", subject="S", payload={"sku": "S", "quantity": 1}, cause="rb")
        raise RuntimeError("roll it back")
    # A session used for several transactions: the rolled-back mark must not survive into the next commit.
    with database.sessions() as session:
        session.begin()
        enqueue(session, channel="shop", kind="stock", subject="S", payload={"sku": "S", "quantity": 1}, cause="rb2")
        session.rollback()
        session.begin()
        session.execute(text("SELECT 1"))
        session.commit()
    assert not waker.wait(QUIET)
    with database.transaction() as session:
        assert session.scalar(select(func.count()).select_from(OutboxRow)) == 0


def test_an_enqueue_in_a_rolled_back_savepoint_still_wakes_if_the_transaction_enqueues_again(
    database: Database, waker: Waker
) -> None:
    with database.transaction() as session:
        savepoint = session.begin_nested()
        enqueue(session, channel="shop", kind="stock", subject="S", payload={"sku": "S", "quantity": 1}, cause="sp1")
        savepoint.rollback()
        enqueue(session, channel="shop", kind="stock", subject="S", payload={"sku": "S", "quantity": 2}, cause="sp2")
    assert waker.wait(WOKE)


def test_the_coalescing_window_gathers_several_commits_into_one_wake_up(database: Database) -> None:
    window = 1.0
    waker = wake_on_enqueue(database, window=window, listen=False)
    wakes: list[float] = []
    first: list[float] = []

    def wait_twice() -> None:
        for _ in range(2):
            if waker.wait(WOKE if not wakes else QUIET + window):
                wakes.append(time.monotonic())

    waiter = threading.Thread(target=wait_twice)
    waiter.start()
    try:
        first.append(time.monotonic())
        for n in range(5):
            put(database, tag=f"burst{n}")
        last_commit = time.monotonic()
        waiter.join(WOKE + 10)
    finally:
        waker.close()
    assert len(wakes) == 1, wakes
    assert wakes[0] >= first[0] + window  # the window is a lower bound: it never wakes before it
    assert last_commit < wakes[0], "the burst took longer than the window; the test proves nothing"


def test_a_waker_keeps_a_notification_for_the_next_wait_and_close_releases_a_waiter() -> None:
    waker = Waker(window=0)
    waker.notify()
    assert waker.wait(0)
    assert not waker.wait(0)
    results: list[bool] = []
    waiter = threading.Thread(target=lambda: results.append(waker.wait(None)))
    waiter.start()
    waker.close()
    waiter.join(WOKE)
    assert results == [False] and waker.closed


# --- PostgreSQL: LISTEN/NOTIFY between Database objects ------------------------------------------------------


@pytest.fixture
def two_daemons(pg_database: Database, pg_url: str) -> Iterator[tuple[Database, Database, Waker]]:
    """A writer Database and another Database with a listening Waker, as two daemons would hold them."""
    listening = open_database(pg_url, migrate=False)
    waker = wake_on_enqueue(listening, window=0)
    assert waker.listener is not None
    try:
        assert waker.wait(WOKE), "the listener never connected"  # it says "look now" once connected
        yield pg_database, listening, waker
    finally:
        waker.close()
        listening.dispose()


@pytest.mark.postgres
def test_a_commit_on_one_database_wakes_the_listener_of_another(two_daemons) -> None:
    writer, _listening, waker = two_daemons
    put(writer)
    assert waker.wait(WOKE)


@pytest.mark.postgres
def test_a_rolled_back_enqueue_sends_no_notification(two_daemons) -> None:
    writer, _listening, waker = two_daemons
    with pytest.raises(RuntimeError), writer.transaction() as session:
        enqueue(session, channel="shop", kind="stock", subject="S", payload={"sku": "S", "quantity": 1}, cause="rb")
        raise RuntimeError("roll it back")
    assert not waker.wait(QUIET)
    put(writer)
    assert waker.wait(WOKE)


@pytest.mark.postgres
def test_a_listener_whose_connection_was_killed_reconnects_and_still_wakes(two_daemons) -> None:
    writer, _listening, waker = two_daemons
    listener = waker.listener
    assert listener is not None
    pid, connects = listener.backend_pid, listener.connects
    assert pid is not None
    with writer.transaction() as session:
        assert session.scalar(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    deadline = time.monotonic() + WOKE
    while listener.connects == connects and time.monotonic() < deadline:
        time.sleep(0.05)
    assert listener.connects > connects, "the listener did not reconnect"
    assert listener.backend_pid not in (None, pid)
    assert waker.wait(WOKE)  # the reconnect itself says "look now": a notification may have been missed
    put(writer)
    assert waker.wait(WOKE)
