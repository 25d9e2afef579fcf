"""The one SQLite writer of a process: a fair hand-off lock with a lane for short intake transactions.

SQLite has one writer at a time. Every transaction here takes the write lock at BEGIN (IMMEDIATE), so writers
of one process queue on this lock instead of on SQLite's busy handler, which makes a waiting writer sleep in
growing steps (up to 100 ms each): forty request threads contending for the file waited seconds where the work
took milliseconds.

The lock is handed over, never grabbed: when its holder releases it, the longest waiting thread owns it at once.
A plain `threading.Lock` lets the releasing thread take it straight back, so a busy loop (the applier starting
its next batch) could starve a webhook receiver for seconds. Waiters in the `urgent` lane (a webhook delivery
being stored: a single insert that a channel is waiting on) are served before the others, in their own arrival
order; the other lane is never starved for long, since urgent holders are short and arrive at a bounded rate.

Re-entrant: a thread's nested transaction behaves as before. A wait longer than `timeout` gives up (False), and
the caller says "database is locked" as SQLite would. Other processes still queue on SQLite's busy timeout.
"""

from __future__ import annotations

import threading
from collections import deque


class _Waiter:
    __slots__ = ("granted", "thread")

    def __init__(self, thread: int) -> None:
        self.thread = thread
        self.granted = threading.Event()


class WriterLock:
    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._owner: int | None = None
        self._depth = 0
        self._urgent: deque[_Waiter] = deque()
        self._normal: deque[_Waiter] = deque()

    def acquire(self, *, urgent: bool = False, timeout: float | None = None) -> bool:
        """Own the lock (again, for its owner); False when `timeout` seconds passed first."""
        me = threading.get_ident()
        with self._mutex:
            if self._owner == me:
                self._depth += 1
                return True
            if self._owner is None and not self._urgent and not self._normal:
                self._owner, self._depth = me, 1
                return True
            waiter = _Waiter(me)
            lane = self._urgent if urgent else self._normal
            lane.append(waiter)
        waiter.granted.wait(timeout)
        with self._mutex:
            if self._owner == me:  # granted, perhaps in the instant the wait timed out
                return True
            lane.remove(waiter)
            return False

    def release(self) -> None:
        """Give the lock up; the next waiter (urgent lane first) owns it at once."""
        with self._mutex:
            if self._owner != threading.get_ident():
                raise RuntimeError("the writer lock is released by a thread that does not own it")
            self._depth -= 1
            if self._depth:
                return
            lane = self._urgent or self._normal
            if not lane:
                self._owner = None
                return
            waiter = lane.popleft()
            self._owner, self._depth = waiter.thread, 1
            waiter.granted.set()

    @property
    def waiting(self) -> int:
        """Threads waiting for the lock (both lanes)."""
        with self._mutex:
            return len(self._urgent) + len(self._normal)
