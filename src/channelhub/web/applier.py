"""The applier: maps and applies the webhook deliveries the receiver stored, in a background thread.

The receiver only stores a delivery's raw body and answers; `apply_received(hub)` (the service) does the
mapping and applying through the same path as polling. The applier calls it

- once at start, so deliveries stored before a crash or a restart are applied;
- whenever woken (`wake()`, after a "stored" receipt), wake-ups that arrive during a pass coalescing into one
  more pass;
- every `interval` seconds as the safety net (a wake-up lost to a race, a pass that failed);
- again at once after a pass in which a channel filled its batch (`BATCH` deliveries).

A pass that raises is logged (scrubbed) and retried at the next wake-up or tick: a database that went away
must not end the thread. `stop()` lets the pass in flight finish and joins the thread.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from channelhub.logs import get_logger
from channelhub.redact import scrub
from channelhub.runtime import Hub
from channelhub.services.webhooks import apply_received

log = get_logger("channelhub.web.applier")

ApplyFunc = Callable[[Hub], Any]
DEFAULT_INTERVAL = 5.0
BATCH = 500  # deliveries per channel per pass; a pass that filled a batch is followed by another at once


def _apply_received(hub: Hub) -> Any:
    return apply_received(hub, limit=BATCH)


class Applier:
    def __init__(self, hub: Hub, *, apply: ApplyFunc | None = None, interval: float = DEFAULT_INTERVAL) -> None:
        self.hub = hub
        self.apply = apply or _apply_received
        self.interval = interval
        self.passes = 0  # completed passes (raised or not), for tests and the metrics to come
        self.failures = 0
        self._woken = threading.Event()
        self._stopping = threading.Event()
        self._done = threading.Condition()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        if self._thread is not None:
            return
        self._stopping.clear()
        self._woken.set()  # the first pass runs at once: what was stored before a restart
        self._thread = threading.Thread(target=self._loop, name="channelhub-applier", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        """Ask for a pass soon (cheap, from any thread)."""
        self._woken.set()

    def stop(self, timeout: float = 60.0) -> None:
        """Stop after the pass in flight; join the thread (at most `timeout` seconds)."""
        thread = self._thread
        if thread is None:
            return
        self._stopping.set()
        self._woken.set()
        thread.join(timeout)
        if thread.is_alive():
            log.warning("applier still busy at stop", waited_seconds=timeout)
        self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def wait_for_pass(self, after: int, timeout: float) -> bool:
        """Wait until more than `after` passes completed (tests; a generous `timeout`)."""
        with self._done:
            return self._done.wait_for(lambda: self.passes > after, timeout)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._woken.wait(self.interval)
            if self._stopping.is_set():
                break
            self._woken.clear()  # a wake-up from here on asks for one more pass
            self._pass()

    def _pass(self) -> None:
        try:
            reports = self.apply(self.hub)
            self._note(reports)
        except Exception as exc:
            self.failures += 1
            log.warning("applying received webhooks failed", error=scrub(f"{type(exc).__name__}: {exc}"))
        finally:
            with self._done:
                self.passes += 1
                self._done.notify_all()

    def _note(self, reports: Any) -> None:
        """Log what a pass applied; ask for another pass at once when a channel filled its batch."""
        if not isinstance(reports, dict):
            return
        for channel, report in reports.items():
            applied, quarantined = getattr(report, "applied", 0), getattr(report, "quarantined", 0)
            # A line a pass is a line a delivery under load: debug; a quarantine is for the operator to see.
            if quarantined:
                log.warning("webhook deliveries quarantined", channel=channel, applied=applied, quarantined=quarantined)
            elif applied:
                log.debug("webhook deliveries applied", channel=channel, applied=applied)
            if applied + quarantined >= BATCH:  # not "waiting": those wait for the channel, not for us
                self._woken.set()
