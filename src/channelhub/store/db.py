"""Engines and sessions: SQLite (WAL, busy timeout) by default, PostgreSQL by URL, the same code for both.

`open_database(url)` returns a `Database` whose schema is at the latest Alembic revision: it reads the stored
revision (one query) and runs the migrations only when it is behind, under a lock, so several daemons starting
at once on a fresh database all come up (one migrates, the others wait and find the schema current). A database
that cannot be reached is `DatabaseUnavailable`: one line naming it (password masked), never a traceback.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm import Session, sessionmaker

from channelhub.errors import DatabaseUnavailable
from channelhub.redact import redact_url, scrub
from channelhub.store.writer import WriterLock

if TYPE_CHECKING:
    from alembic.config import Config as AlembicConfig

MIGRATIONS_DIR = Path(__file__).parent / "migrations"
# The newest revision in migrations/versions (a test checks it is Alembic's head): knowing it, a start on a
# current database reads one row instead of loading Alembic.
HEAD_REVISION = "0007"
SQLITE_BUSY_TIMEOUT_MS = 30_000
_MIGRATION_LOCK = "channelhub:migrations"


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the one writer; busy_timeout makes a second writer wait instead of failing.
    # isolation_level=None hands transaction control to the BEGIN listener below.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


# A connection execution option: the transaction only reads (`Database.read_only`), so SQLite's BEGIN is deferred.
READ_ONLY = "channelhub_read_only"


def _sqlite_begin_immediate(conn: Any) -> None:
    # BEGIN IMMEDIATE takes the write lock at the start, so two writers queue on busy_timeout rather than
    # deadlocking when both upgrade a read lock (SQLite's classic SQLITE_BUSY in the middle of a transaction).
    # A read-only transaction takes no lock at all: in WAL mode it reads a snapshot beside the one writer.
    conn.exec_driver_sql("BEGIN" if conn.get_execution_options().get(READ_ONLY) else "BEGIN IMMEDIATE")


def make_engine(url: str, **kwargs: Any) -> Engine:
    """Create an engine for `url`; SQLite files get WAL, a busy timeout and immediate transactions."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs)
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin_immediate)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    return create_engine(url, pool_pre_ping=True, **kwargs)


def alembic_config(engine: Engine, connection: Connection | None = None) -> AlembicConfig:
    from alembic.config import Config as AlembicConfig

    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.attributes["engine"] = engine
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@contextmanager
def migration_lock(engine: Engine) -> Iterator[Connection | None]:
    """Hold the migration lock for the block, waiting for another process that holds it.

    PostgreSQL: a session advisory lock on the connection yielded (run the migrations on it). SQLite: an flock
    on a file beside the database (None is yielded: migrations open their own connection). An in-memory
    database belongs to one process and needs no lock.
    """
    from channelhub.store.locks import file_lock, lock_key

    if engine.dialect.name == "postgresql":
        key = lock_key(_MIGRATION_LOCK)
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": key})
            conn.commit()
            try:
                yield conn
            finally:
                conn.rollback()
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": key})
                conn.commit()
        return
    database = engine.url.database
    if not database or database == ":memory:":
        yield None
        return
    with file_lock(Path(f"{database}.locks") / "migrations", wait=True):
        yield None


def current_revision(engine: Engine) -> str | None:
    """The schema's stored revision (None for an empty database). Raises OperationalError when unreachable."""
    with engine.connect() as conn:
        try:
            return conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except DBAPIError:
            if conn.in_transaction():
                conn.rollback()
            return None


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to `revision` (the latest by default) under the migration lock. Safe to run on every
    start, by several processes at once: Alembic reads the revision after the lock is taken."""
    from alembic import command

    with migration_lock(engine) as connection:
        command.upgrade(alembic_config(engine, connection), revision)


@dataclass
class Database:
    engine: Engine
    sessions: sessionmaker[Session]
    # On SQLite, the process's writers queue on this lock, in order (channelhub.store.writer says why).
    _writer: WriterLock = field(default_factory=WriterLock, repr=False)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    @contextmanager
    def transaction(self, *, urgent: bool = False) -> Iterator[Session]:
        """A unit of work: commits when the block ends normally, rolls back on any exception. `urgent` marks a
        short transaction someone is waiting on (a webhook delivery being stored): on SQLite it is served
        before the other writers waiting in this process."""
        if self.is_postgres:
            with self.sessions.begin() as session:
                yield session
            return
        if not self._writer.acquire(urgent=urgent, timeout=SQLITE_BUSY_TIMEOUT_MS / 1000):
            raise OperationalError("BEGIN IMMEDIATE", {}, sqlite3.OperationalError("database is locked"))
        try:
            with self.sessions.begin() as session:
                yield session
        finally:
            self._writer.release()

    @contextmanager
    def read_only(self) -> Iterator[Session]:
        """A transaction that only reads (a scrape, a page), always rolled back: one consistent snapshot that
        never waits for a writer nor makes one wait (SQLite: a deferred BEGIN in WAL mode, outside the writer
        lock; PostgreSQL: MVCC). Whatever is written in it is rolled back: it is for reading only."""
        with self.engine.connect() as connection, Session(bind=connection) as session:
            connection.execution_options(**{READ_ONLY: True})  # in place, before the session's first BEGIN
            yield session  # closing the session rolls back the transaction it began

    def dispose(self) -> None:
        self.engine.dispose()


def check_reachable(url: str) -> str:
    """Why `url` could not be opened by a start, without changing anything ("" when it could): for a SQLite
    file, its folder must exist and be writable (the file itself is created on first use); PostgreSQL must
    accept a connection."""
    engine = make_engine(url)
    try:
        database = engine.url.database
        if engine.dialect.name == "sqlite":
            if not database or database == ":memory:":
                return ""
            folder = Path(database).parent
            if not folder.is_dir():
                return f"cannot open the database {redact_url(url)}: folder {folder} does not exist"
            if not os.access(folder, os.W_OK):
                return f"cannot open the database {redact_url(url)}: folder {folder} is not writable"
            return ""
        try:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except OperationalError as exc:
            reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
            return scrub(f"cannot open the database {redact_url(url)}: {reason}")
        return ""
    finally:
        engine.dispose()


def open_database(url: str, *, migrate: bool = True, **engine_kwargs: Any) -> Database:
    """Open `url`, migrating it to the latest revision unless `migrate` is False. DatabaseUnavailable (one
    line, password masked) when it cannot be reached."""
    engine = make_engine(url, **engine_kwargs)
    try:
        if migrate and current_revision(engine) != HEAD_REVISION:
            upgrade(engine)
    except OperationalError as exc:
        engine.dispose()
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else str(exc)
        raise DatabaseUnavailable(scrub(f"cannot open the database {redact_url(url)}: {reason}")) from None
    return Database(engine=engine, sessions=sessionmaker(engine, expire_on_commit=False))
