"""The daemon stops within seconds of being asked, whatever a job in flight is doing (defect 14).

The flaky stop: APScheduler's `shutdown(wait=True)` holds its job store lock while it waits for running jobs.
The old dispatch job, after every run, looked up the jobs of stopped channels (`scheduler.get_jobs()`), which
needs that lock: a dispatch still running when SIGTERM arrived waited for the lock held by the stop that waited
for it. Jobs no longer touch the scheduler; a job in flight is told to stop at its next safe point.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest
from apscheduler.schedulers.base import STATE_STOPPED

from channelhub.daemon import Daemon
from channelhub.runtime import Hub
from channelhub.services import channels as channel_services
from channelhub.sync.dispatch import DispatchReport

CONFIG = """
database = "sqlite:///hub.db"
[sync]
dispatch_seconds = 1
[[locations]]
code = "main"
[[channels]]
name = "files"
kind = "marketplace"
[channels.schedule]
pull_seconds = 1
push_seconds = 1
[channels.settings]
root = "files"

[[channels]]
name = "other"
kind = "marketplace"
[channels.settings]
root = "other"
"""

STOP_BOUND = 10.0  # seconds: the contract is "exits within 10 s of SIGTERM"


@pytest.fixture
def hub(tmp_path: Path):
    (tmp_path / "files" / "inbox").mkdir(parents=True)
    (tmp_path / "other" / "inbox").mkdir(parents=True)
    (tmp_path / "channelhub.toml").write_text(CONFIG)
    hub = Hub.open(tmp_path / "channelhub.toml", connect=True)
    yield hub
    hub.close()


def test_a_dispatch_in_flight_while_the_scheduler_shuts_down_does_not_hang_the_stop(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_flight = threading.Event()
    daemon = Daemon(hub)
    hub.channels["other"].stopped_reason = "stopped by a Fatal error"  # the old job looked up its jobs then

    def dispatch_until_the_stop_has_begun(_hub: Hub, **_kwargs: object) -> DispatchReport:
        in_flight.set()
        deadline = time.monotonic() + 30
        # shutdown() sets STATE_STOPPED and then takes the job store lock to wait for this job.
        while daemon.scheduler.state != STATE_STOPPED and time.monotonic() < deadline:
            time.sleep(0.01)
        return DispatchReport()

    monkeypatch.setattr(channel_services, "dispatch", dispatch_until_the_stop_has_begun)
    daemon.start()
    assert in_flight.wait(30), "the dispatch job never ran"
    stopper = threading.Thread(target=daemon.shutdown, daemon=True)
    started = time.monotonic()
    stopper.start()
    stopper.join(STOP_BOUND)
    assert not stopper.is_alive(), f"the daemon had not stopped {STOP_BOUND:g}s after it was asked"
    assert time.monotonic() - started < STOP_BOUND


def test_a_pull_in_flight_ends_at_its_next_page_when_the_daemon_stops(
    hub: Hub, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A long import is not waited out: it stops between two pages (every page before is committed)."""
    header = "order_id,order_date,line_id,sku,quantity,unit_price,currency\n"
    for n in range(6):
        (tmp_path / "files" / "inbox" / f"orders-{n}.csv").write_text(
            header + f"P-{n},2026-01-05 10:00:00,1,MUG,1,9.50,EUR\n"
        )
    from channelhub.sync import pull as pull_module

    real_apply = pull_module._apply_page
    pages = []
    stop_requested = threading.Event()

    def slow_page(*args: object, **kwargs: object) -> None:
        real_apply(*args, **kwargs)  # type: ignore[arg-type]
        pages.append(1)
        if len(pages) == 2:
            stop_requested.set()
            deadline = time.monotonic() + 30
            while not daemon.stopping() and time.monotonic() < deadline:
                time.sleep(0.01)

    monkeypatch.setattr(pull_module, "_apply_page", slow_page)
    daemon = Daemon(hub)
    daemon.start()
    assert stop_requested.wait(30), "the pull never reached its second page"
    started = time.monotonic()
    daemon.shutdown()
    assert time.monotonic() - started < STOP_BOUND
    assert len(pages) == 2, "the pull went on reading pages after the daemon was asked to stop"
    assert sorted(p.name for p in (tmp_path / "files" / "processed").iterdir()) == ["orders-0.csv", "orders-1.csv"]
