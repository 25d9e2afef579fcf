"""One daemon at a time pulls a channel: the lock is exclusive across processes and released by a dead holder."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from channelhub.store import Database
from channelhub.store.locks import try_exclusive

HOLD_THEN_DIE = textwrap.dedent(
    """
    import os, sys, time
    from channelhub.store import open_database
    from channelhub.store.locks import try_exclusive
    db = open_database(sys.argv[1], migrate=False)
    with try_exclusive(db, "pull:shop") as got:
        print("got" if got else "missed", flush=True)
        sys.stdin.readline()
        os._exit(9)  # die holding it, as a killed daemon would
    """
)


def test_a_second_process_cannot_take_the_lock_until_the_holder_dies(database: Database, db_url: str) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLD_THEN_DIE, db_url], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "got"
        with try_exclusive(database, "pull:shop") as got:
            assert not got
        with try_exclusive(database, "pull:other") as got:
            assert got  # other channels are not blocked
    finally:
        assert holder.stdin is not None
        holder.stdin.write("\n")
        holder.stdin.flush()
        holder.wait(timeout=30)
    with try_exclusive(database, "pull:shop") as got:
        assert got


def test_the_lock_is_released_after_the_block(database: Database) -> None:
    with try_exclusive(database, "pull:shop") as got:
        assert got
    with try_exclusive(database, "pull:shop") as again:
        assert again
