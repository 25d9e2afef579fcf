"""Cross-process locks that keep two daemons from working the same channel stream at once.

Pulls are idempotent, so a second daemon pulling the same channel would lose nothing, but it would fetch and map
every page twice and collide on the unique (channel, external_id) constraint. With several daemons side by side
each (channel, stream) is pulled by one of them at a time:

- PostgreSQL: a session-level advisory lock (`pg_try_advisory_lock`) on a connection held for the pull; it is
  released when the pull ends, or by the server when the holder's connection dies (a killed daemon).
- SQLite: an exclusive `flock` on a file beside the database; the kernel drops it when the holder dies.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text

if TYPE_CHECKING:
    from channelhub.store.db import Database


def lock_key(name: str) -> int:
    """A stable signed 64-bit key for `name` (pg advisory locks take a bigint)."""
    return int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big", signed=True)


@contextmanager
def file_lock(path: Path, *, wait: bool) -> Iterator[bool]:
    """An exclusive flock on `path` (created, with its folder, when missing) for the block; yields whether it
    is held. `wait=False` never blocks: another holder makes it yield False. The kernel drops it when its holder
    dies."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


@contextmanager
def try_exclusive(db: Database, name: str) -> Iterator[bool]:
    """Hold the lock `name` for the block if no other process holds it; yields whether this one got it.

    Never waits: a caller that did not get the lock skips its work, and the holder does it.
    """
    if db.is_postgres:
        with db.engine.connect() as conn:
            key = lock_key(name)
            got = bool(conn.execute(text("SELECT pg_try_advisory_lock(:k)"), {"k": key}).scalar())
            conn.commit()
            try:
                yield got
            finally:
                if got:
                    conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                    conn.commit()
        return
    database = db.engine.url.database
    if not database or database == ":memory:":
        yield True  # one process owns an in-memory database
        return
    path = Path(f"{database}.locks") / hashlib.sha256(name.encode()).hexdigest()[:16]
    with file_lock(path, wait=False) as held:
        yield held
