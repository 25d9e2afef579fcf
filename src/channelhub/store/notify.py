"""Wake-ups across processes on PostgreSQL: LISTEN/NOTIFY on one channel, `channelhub_outbox`.

- `announce(session)` runs `SELECT pg_notify('channelhub_outbox', '')` in the caller's transaction. PostgreSQL
  delivers it to every listener when that transaction commits, never when it rolls back (nor when the savepoint
  it ran in is rolled back), and folds identical notifications of one transaction into one. On SQLite it does
  nothing: SQLite has no such channel, wake-ups there are in-process (`channelhub.sync.wake`).
- `Listener(engine, on_notify)` is a thread holding one autocommit connection of its own, outside the engine's
  pool (a pooled connection would be handed to other work and lose its LISTEN), and calls `on_notify()` for
  every notification. After a drop it reconnects with a capped backoff, and calls `on_notify()` once after each
  (re)connect: what was sent while it was away is lost, so it says "look now" rather than assume nothing came.

Neither is a guarantee of delivery (a pooler in transaction mode drops NOTIFY): callers keep a polling timer.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from channelhub.logs import get_logger
from channelhub.redact import scrub

log = get_logger("channelhub.store.notify")

OUTBOX_CHANNEL = "channelhub_outbox"
_NOTIFY = text(f"SELECT pg_notify('{OUTBOX_CHANNEL}', '')")


def is_postgres(session: Session) -> bool:
    return session.get_bind().dialect.name == "postgresql"


def announce(session: Session) -> None:
    """Queue a notification on `channelhub_outbox`, delivered at the commit of the caller's transaction
    (PostgreSQL only; a no-op on SQLite)."""
    if is_postgres(session):
        session.execute(_NOTIFY)


class Listener:
    """A daemon thread LISTENing on `channelhub_outbox` through its own connection (see the module docstring).

    `on_notify` runs on the listener's thread and must be quick and must not raise (a raise is logged and
    ignored). `poll_seconds` bounds how long `close()` waits; `retry_cap_seconds` caps the reconnect backoff.
    `backend_pid` is the server process of the current connection (None while disconnected) and `connects` counts
    the connections made, for operators and tests.
    """

    def __init__(
        self,
        engine: Engine,
        on_notify: Callable[[], None],
        *,
        poll_seconds: float = 0.5,
        retry_first_seconds: float = 0.1,
        retry_cap_seconds: float = 5.0,
    ) -> None:
        if engine.dialect.name != "postgresql":
            raise ValueError("LISTEN/NOTIFY needs PostgreSQL")
        self._engine = engine
        self._on_notify = on_notify
        self._poll = poll_seconds
        self._retry = (retry_first_seconds, retry_cap_seconds)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="channelhub-outbox-listener", daemon=True)
        self.backend_pid: int | None = None
        self.connects = 0

    def start(self) -> Listener:
        self._thread.start()
        return self

    def close(self, timeout: float = 5.0) -> None:
        """Stop listening; returns once the thread has closed its connection (or after `timeout`)."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join(timeout)

    def _connect(self) -> Any:
        import psycopg

        # The same connection arguments the engine's pool uses, but a connection of its own.
        cargs, cparams = self._engine.dialect.create_connect_args(self._engine.url)
        conn = psycopg.connect(*cargs, **{**cparams, "autocommit": True})
        conn.execute(f"LISTEN {OUTBOX_CHANNEL}")
        return conn

    def _run(self) -> None:
        delay = self._retry[0]
        while not self._stop.is_set():
            try:
                conn = self._connect()
            except Exception as exc:
                log.warning("outbox listener cannot connect; retrying", error=scrub(str(exc)), retry_in=delay)
                self._stop.wait(delay)
                delay = min(delay * 2, self._retry[1])
                continue
            delay = self._retry[0]
            try:
                self._listen(conn)
            except Exception as exc:  # a dropped connection (server restart, pg_terminate_backend, network)
                if not self._stop.is_set():
                    log.warning("outbox listener lost its connection; reconnecting", error=scrub(str(exc)))
            finally:
                self.backend_pid = None
                with contextlib.suppress(Exception):  # closing a broken connection may raise; it is gone anyway
                    conn.close()

    def _listen(self, conn: Any) -> None:
        self.backend_pid = conn.info.backend_pid
        self.connects += 1
        self._fire()  # anything sent while no connection listened was lost: look now
        while not self._stop.is_set():
            for _notification in conn.notifies(timeout=self._poll):
                self._fire()
                if self._stop.is_set():
                    break

    def _fire(self) -> None:
        try:
            self._on_notify()
        except Exception as exc:  # the listener must outlive a faulty callback
            log.warning("outbox listener callback failed", error=scrub(str(exc)))
