"""The daemon: APScheduler 3 jobs planned from each channel's declared capabilities, signals, graceful stop.

Jobs (each `max_instances=1, coalesce=True`, so a slow run is never stacked or replayed in a burst):

- `pull:<channel>` every `schedule.pull_seconds`, for channels that declare pull_orders;
- `reconcile:<channel>` every `schedule.reconcile_seconds`, for channels that can read stock back;
- `dispatch` (one dispatcher for every channel) every smallest `schedule.push_seconds` of the channels that
  push anything (or `[sync] dispatch_seconds`): the safety net. Between its ticks a dispatch loop thread runs the
  dispatcher as soon as a commit enqueues outbound writes (`channel_services.dispatch_waker`: in process, and
  from every daemon on PostgreSQL by LISTEN/NOTIFY), after the `[sync] wake_window_seconds` coalescing window.
  The interval job and the loop share one lock: two dispatch runs never overlap, and a run that finds the lock
  taken waits for it (so a run reported by `on_job` always covers what was committed before it began).

A job catches and logs every error: the daemon keeps running. A Fatal error stops only that channel (the reason
is stored and shown by `channelhub status`); its jobs do nothing from then on and the main thread removes them,
and schedules them again once the channel is resumed (the dashboard's Resume button).

Jobs never call into the scheduler: APScheduler's `shutdown(wait=True)` holds the job store lock while it waits
for running jobs, so a job that asked for its jobs (`get_jobs`, `remove`) while the daemon stopped waited for a
lock held by the very call waiting for it (the stop that hung once in three loaded test runs). The main thread
owns the scheduler.

SIGINT and SIGTERM ask the jobs in flight to end at their next safe point (between two pages of a pull, between
two outbound calls: everything before it is committed), then stop the scheduler with `shutdown(wait=True)`, so
the daemon exits within seconds whatever the load. A write interrupted harder than that is not lost or
doubled: outbox rows are claimed under a lease and carry a fixed idempotency key. SIGUSR1 writes every thread's
stack to stderr (for a stop that seems stuck).
"""

from __future__ import annotations

import faulthandler
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import FrameType
from typing import Any, Protocol

from apscheduler.schedulers.background import BackgroundScheduler

from channelhub.errors import Fatal
from channelhub.logs import get_logger
from channelhub.ports import Capability
from channelhub.redact import scrub
from channelhub.runtime import Hub
from channelhub.services import channels as channel_services

log = get_logger("channelhub.daemon")

PUSH_CAPABILITIES = frozenset(
    {Capability.PUSH_STOCK, Capability.PUSH_FULFILLMENT, Capability.PUSH_REFUND, Capability.PUSH_CANCELLATION}
)


class Extra(Protocol):
    """Something that runs beside the scheduler for the daemon's life (the HTTP server)."""

    def start(self) -> None: ...
    def stop(self) -> None: ...


@dataclass(frozen=True)
class JobPlan:
    id: str
    seconds: float
    channel: str | None  # None for jobs that serve every channel


def plan_jobs(hub: Hub) -> list[JobPlan]:
    """The jobs the daemon runs, from the channels' capabilities and schedules (never by probing a channel)."""
    jobs: list[JobPlan] = []
    push_intervals: list[float] = []
    for runtime in hub.active():
        schedule = runtime.settings.schedule
        if Capability.PULL_ORDERS in runtime.capabilities:
            jobs.append(JobPlan(id=f"pull:{runtime.name}", seconds=float(schedule.pull_seconds), channel=runtime.name))
        if runtime.capabilities & PUSH_CAPABILITIES:
            push_intervals.append(float(schedule.push_seconds))
        if Capability.PULL_STOCK in runtime.capabilities and runtime.settings.reconcile != "off":
            jobs.append(
                JobPlan(id=f"reconcile:{runtime.name}", seconds=float(schedule.reconcile_seconds), channel=runtime.name)
            )
    if push_intervals:
        seconds = min([*push_intervals, float(hub.config.sync.dispatch_seconds)])
        jobs.append(JobPlan(id="dispatch", seconds=seconds, channel=None))
    return jobs


class Daemon:
    """Runs the hub's jobs on a background scheduler until stopped.

    `on_job(job_id, result, started)` is called after every job run that did not raise (`started` is the
    time.monotonic() at which the run began), so a caller can wait for a run that began after some event.
    """

    def __init__(self, hub: Hub, *, on_job: Callable[[str, Any, float], None] | None = None) -> None:
        self.hub = hub
        self.on_job = on_job
        self.scheduler = BackgroundScheduler(timezone="UTC", job_defaults={"misfire_grace_time": None})
        # Set by stop() or the signal handler (which must take no lock: a handler runs on the main thread between
        # two bytecodes, possibly while that thread holds the very lock Event.set() would need).
        self._stopping = False
        self._signalled: int | None = None
        self._removed: set[str] = set()
        self.jobs = plan_jobs(hub)
        self._dispatch_lock = threading.Lock()
        self.waker: channel_services.Waker | None = None
        self._dispatch_loop_thread: threading.Thread | None = None

    def stopping(self) -> bool:
        """True once the daemon was asked to stop: jobs in flight end at their next safe point."""
        return self._stopping or self._signalled is not None

    # --- jobs -----------------------------------------------------------------------------------------------

    def pull_job(self, channel: str) -> Any:
        """Pull one channel; a Fatal error stops the channel (run_pull records every attempt)."""
        if self.stopping() or self.hub.channels[channel].stopped_reason:
            return None
        report = channel_services.pull_channel(self.hub, channel, should_stop=self.stopping)
        if report is not None and (report.records or report.duplicate_files):
            log.info(
                "pulled",
                channel=channel,
                files=report.pages,
                records=report.records,
                new_orders=report.orders.created,
                updated=report.orders.updated,
                held=report.orders.held,
                quarantined=report.quarantined,
                seen_before=report.duplicate_files + report.duplicates,
            )
        return report

    def dispatch_job(self) -> Any:
        """One dispatch run, never beside another: the interval job and the woken loop both come here."""
        while not self._dispatch_lock.acquire(timeout=0.2):  # in slices, so a stop is seen while waiting
            if self.stopping():
                return None
        try:
            return self._dispatch()
        finally:
            self._dispatch_lock.release()

    def _dispatch(self) -> Any:
        if self.stopping():
            return None
        report = channel_services.dispatch(self.hub, should_stop=self.stopping)
        if report.calls or report.dead:
            log.info("dispatched", calls=report.calls, sent=report.done, retry=report.retried, dead=report.dead)
        for error in report.errors:
            log.warning("dispatch error", error=error)
        return report

    def reconcile_job(self, channel: str) -> Any:
        if self.stopping() or self.hub.channels[channel].stopped_reason:
            return None
        report = channel_services.reconcile_channel(self.hub, channel)
        if report is not None and (report.drifts or report.error):
            log.warning(
                "stock drift" if report.drifts else "reconcile failed",
                channel=channel,
                drifted=len(report.drifts),
                healed=report.healed,
                examples=[f"{d.sku}: listed {d.listed}, hub {d.expected}" for d in report.drifts[:5]],
                error=report.error,
            )
        return report

    def _dispatch_loop(self, waker: channel_services.Waker) -> None:
        """Dispatch each time a commit enqueued (after the coalescing window), until the daemon stops. It never
        touches the scheduler (see the module docstring) and waits in bounded slices: a signal sets no Event."""
        while not self.stopping():
            if waker.wait(timeout=0.5):
                self._run("dispatch", self.dispatch_job, None)

    def _start_dispatch_loop(self) -> None:
        if not any(plan.id == "dispatch" for plan in self.jobs):
            return
        self.waker = channel_services.dispatch_waker(self.hub)
        self._dispatch_loop_thread = threading.Thread(
            target=self._dispatch_loop, args=(self.waker,), name="channelhub-dispatch-wake", daemon=True
        )
        self._dispatch_loop_thread.start()

    def _stop_dispatch_loop(self) -> None:
        if self.waker is not None:
            self.waker.close()  # wakes the loop; stops the PostgreSQL listener
        if self._dispatch_loop_thread is not None:
            self._dispatch_loop_thread.join(timeout=30)  # a run in flight ends at its next safe point

    def _run(self, job_id: str, func: Callable[[], Any], channel: str | None) -> None:
        """The wrapper around every job: nothing a job raises stops the daemon."""
        started = time.monotonic()
        try:
            result = func()
        except Fatal as exc:
            if channel is not None:
                channel_services.stop_channel(self.hub, channel, str(exc))
            else:
                log.error("job failed", job=job_id, error=scrub(str(exc)))
            return
        except Exception as exc:
            log.error("job failed", job=job_id, error=scrub(str(exc)), exc_info=True)
            return
        if self.on_job is not None:
            try:
                self.on_job(job_id, result, started)
            except Exception as exc:  # a reporting hook must not break the job loop
                log.warning("job hook failed", job=job_id, error=str(exc))

    def _func(self, plan: JobPlan) -> Callable[[], Any]:
        if plan.id == "dispatch":
            return self.dispatch_job
        assert plan.channel is not None
        channel = plan.channel
        if plan.id.startswith("reconcile:"):
            return lambda: self.reconcile_job(channel)
        return lambda: self.pull_job(channel)

    def remove_stopped_channel_jobs(self) -> None:
        """Drop the jobs of channels stopped since the last look, and schedule again (to run at once) those of
        channels resumed since (the dashboard's Resume button clears a stop while the daemon runs). Main thread
        only: see the module docstring."""
        for plan in self.jobs:
            if plan.channel is None:
                continue
            stopped = bool(self.hub.channels[plan.channel].stopped_reason)
            if stopped and plan.id not in self._removed:
                self._removed.add(plan.id)
                job = self.scheduler.get_job(plan.id)
                if job is not None:
                    job.remove()
                    log.warning("channel jobs removed", channel=plan.channel, job=plan.id)
            elif not stopped and plan.id in self._removed:
                self._removed.discard(plan.id)
                self._schedule(plan)
                log.info("channel jobs restored", channel=plan.channel, job=plan.id)

    def _schedule(self, plan: JobPlan) -> None:
        """Add the job of `plan` to the scheduler, to run once now and then on its interval."""
        self.scheduler.add_job(
            self._run,
            "interval",
            seconds=plan.seconds,
            args=(plan.id, self._func(plan), plan.channel),
            id=plan.id,
            name=plan.id,
            max_instances=1,
            coalesce=True,
            next_run_time=datetime.now(UTC),
            replace_existing=True,
        )

    # --- life cycle -----------------------------------------------------------------------------------------

    def run_once(self) -> None:
        """One pass of every job, in order (pulls first, then dispatch), in this thread."""
        channel_services.start(self.hub)
        for plan in self.jobs:
            if plan.channel is not None:
                self._run(plan.id, self._func(plan), plan.channel)
        for plan in self.jobs:
            if plan.channel is None:
                self._run(plan.id, self._func(plan), None)

    def start(self) -> None:
        """Start the scheduler in the background; every job runs once at once, then on its interval."""
        channel_services.start(self.hub)
        for plan in self.jobs:
            self._schedule(plan)
        self.scheduler.start()
        self._start_dispatch_loop()
        log.info(
            "daemon started",
            jobs=[f"{p.id} every {p.seconds:g}s" for p in self.jobs],
            stopped={rt.name: rt.stopped_reason for rt in self.hub.channels.values() if rt.stopped_reason},
        )

    def stop(self) -> None:
        """Ask the daemon to stop; `run_forever` returns once in-flight jobs have reached a safe point."""
        self._stopping = True

    def shutdown(self) -> None:
        """Ask running jobs to end at their next safe point, then wait for them and stop the scheduler."""
        self._stopping = True
        self._stop_dispatch_loop()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=True)

    def run_forever(
        self, *, for_seconds: float | None = None, handle_signals: bool = True, extras: Sequence[Extra] = ()
    ) -> int:
        """Run until SIGINT/SIGTERM (or `for_seconds`), then stop gracefully. Returns the exit code (0).

        `extras` (the HTTP server) are started after the scheduler, in order, and stopped before it, in reverse;
        one that fails to start stops the daemon with its error."""
        previous: dict[signal.Signals, Any] = {}
        started: list[Extra] = []
        if handle_signals:
            for signum in (signal.SIGINT, signal.SIGTERM):
                previous[signum] = signal.signal(signum, self._on_signal)
            faulthandler.register(signal.SIGUSR1, file=sys.stderr, all_threads=True)
        deadline = None if for_seconds is None else time.monotonic() + for_seconds
        self.start()
        try:
            for extra in extras:
                extra.start()
                started.append(extra)
            while not self.stopping():
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    break
                self.remove_stopped_channel_jobs()
                time.sleep(0.2 if remaining is None else min(0.2, remaining))
        finally:
            if self._signalled is not None:
                log.info("signal received", signal=signal.Signals(self._signalled).name)
            log.info("daemon stopping: waiting for running jobs to reach a safe point")
            for extra in reversed(started):
                extra.stop()
            self.shutdown()
            for signum, handler in previous.items():
                signal.signal(signum, handler)
            if handle_signals:
                faulthandler.unregister(signal.SIGUSR1)
        log.info("daemon stopped cleanly")
        return 0

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        self._signalled = signum  # no logging, no locks here: see __init__
