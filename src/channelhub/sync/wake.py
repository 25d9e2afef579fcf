"""Waking the dispatcher when a transaction that enqueued outbound writes commits (DESIGN.md flow 4).

Every enqueue (`channelhub.sync.outbox`) calls `mark_enqueued(session)`, which

- marks the session's transaction (`session.info`), so a SQLAlchemy `after_commit` hook can wake the Wakers
  registered for that database in this process. A transaction that rolls back wakes nobody;
- on PostgreSQL, once per transaction (again after a savepoint ends, since rolling the savepoint back drops
  its notification), queues `pg_notify('channelhub_outbox')` (`channelhub.store.notify`), so every daemon's
  listener hears of the commit, and only of a commit.

A `Waker` is what a dispatch loop waits on. `wait(timeout)` returns True once notified, but not before the
coalescing window (`window` seconds, counted from the first notification since the last wake-up) has passed,
so the writes of a burst of commits go out in full batches; latency is bounded by the window, never pushed
back by a steady stream of commits. `wake_on_enqueue(db, window=...)` gives a Waker registered for `db`, in
process and (PostgreSQL) through a `Listener`. Wake-ups are hints: the dispatcher still runs on its timer.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from sqlalchemy import Engine, event
from sqlalchemy.orm import Session, SessionTransaction

from channelhub.store.db import Database
from channelhub.store.notify import Listener, announce

__all__ = ["Waker", "mark_enqueued", "wake_on_enqueue"]

_ENQUEUED = "channelhub.outbox.enqueued"  # this transaction enqueued: wake on commit
_ANNOUNCED = "channelhub.outbox.announced"  # pg_notify already queued in this (sub)transaction


class Waker:
    """A wake-up flag with a coalescing window; thread-safe. `notify()` never blocks for long."""

    def __init__(self, window: float = 0.2) -> None:
        self.window = max(window, 0.0)
        self._cond = threading.Condition()
        self._first: float | None = None  # monotonic time of the first notification not yet consumed
        self._closed = False
        self._on_close: list[Callable[[], None]] = []
        self.listener: Listener | None = None  # the PostgreSQL listener feeding it, if any

    def notify(self) -> None:
        with self._cond:
            if self._first is None:
                self._first = time.monotonic()
                self._cond.notify_all()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until notified (then until the window has passed since the first notification) or `timeout`.

        True consumes the notifications gathered so far; False means the timeout passed or the Waker closed.
        A notification that arrives while the caller works is kept for its next `wait`.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._closed:
                now = time.monotonic()
                if self._first is not None and now >= self._first + self.window:
                    self._first = None
                    return True
                until = self._first + self.window if self._first is not None else deadline
                if deadline is not None and until is not None:
                    until = min(until, deadline)
                if deadline is not None and now >= deadline:
                    return False
                self._cond.wait(None if until is None else max(until - now, 0.0))
            return False

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Detach from every source (listener threads are stopped) and release waiters; wait() is False after."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()
            closers, self._on_close = self._on_close, []
        for closer in reversed(closers):
            closer()

    def on_close(self, closer: Callable[[], None]) -> None:
        self._on_close.append(closer)


# --- in-process: Wakers per engine, woken by the after_commit of a transaction that enqueued ------------------

_lock = threading.Lock()
_registered: dict[Engine, tuple[Waker, ...]] = {}


def _subscribe(engine: Engine, waker: Waker) -> Callable[[], None]:
    with _lock:
        _registered[engine] = (*_registered.get(engine, ()), waker)

    def unsubscribe() -> None:
        with _lock:
            left = tuple(w for w in _registered.get(engine, ()) if w is not waker)
            if left:
                _registered[engine] = left
            else:
                _registered.pop(engine, None)

    return unsubscribe


def mark_enqueued(session: Session) -> None:
    """Record that the session's transaction enqueued outbound writes (see the module docstring)."""
    info = session.info
    info[_ENQUEUED] = True
    if not info.get(_ANNOUNCED):
        info[_ANNOUNCED] = True
        announce(session)


@event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    if not session.info.pop(_ENQUEUED, False):
        return
    engine = getattr(session.bind, "engine", None)
    for waker in _registered.get(engine, ()) if engine is not None else ():
        waker.notify()


@event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    # A savepoint's end (released or rolled back) forgets only the notification: a rolled-back savepoint took
    # its pg_notify with it, so the next enqueue queues another (PostgreSQL folds duplicates). The outer
    # transaction's end, commit or rollback, forgets both: after_commit has already run for a commit.
    # A flush's own subtransaction (neither nested nor outermost) changes nothing.
    if transaction.nested:
        session.info.pop(_ANNOUNCED, None)
    elif transaction.parent is None:
        session.info.pop(_ANNOUNCED, None)
        session.info.pop(_ENQUEUED, None)


def wake_on_enqueue(db: Database, *, window: float = 0.2, listen: bool = True) -> Waker:
    """A Waker notified after every commit that enqueued on `db`: in this process always, and on PostgreSQL
    (with `listen`) from any process, through one LISTEN connection of its own. `close()` undoes both."""
    waker = Waker(window)
    waker.on_close(_subscribe(db.engine, waker))
    if listen and db.is_postgres:
        listener = Listener(db.engine, waker.notify).start()
        waker.on_close(listener.close)
        waker.listener = listener
    return waker
