"""`Database.read_only`: a snapshot for readers (the /metrics scrape) that never waits for a writer, never makes one
wait, and keeps nothing it was asked to write. On each backend."""

from __future__ import annotations

import threading

from sqlalchemy import func, insert, select

from channelhub.store import Database
from channelhub.store.tables import SKUS


def skus(db: Database) -> int:
    with db.read_only() as session:
        return int(session.scalar(select(func.count()).select_from(SKUS)) or 0)


def test_what_is_written_in_a_read_only_transaction_is_not_kept(database: Database) -> None:
    with database.read_only() as session:
        session.execute(insert(SKUS).values(sku="MUG-1", title="", safety_stock=0))
        assert session.scalar(select(func.count()).select_from(SKUS)) == 1  # seen inside it
    assert skus(database) == 0


def test_a_reader_sees_the_last_commit_while_a_writer_holds_its_transaction(database: Database) -> None:
    with database.transaction() as session:
        session.execute(insert(SKUS).values(sku="MUG-1", title="", safety_stock=0))
    holding, release = threading.Event(), threading.Event()

    def writer() -> None:
        with database.transaction() as session:
            session.execute(insert(SKUS).values(sku="CUP-1", title="", safety_stock=0))
            holding.set()
            release.wait(60)

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        assert holding.wait(60)
        seen = skus(database)  # SQLite: a BEGIN IMMEDIATE here would wait out the busy timeout
        still_writing = thread.is_alive()
    finally:
        release.set()
        thread.join(60)
    assert (seen, still_writing) == (1, True)
    assert skus(database) == 2
