"""The daemon dispatches as soon as a commit enqueues, not at its next tick (DESIGN.md flow 4), and never runs
two dispatches at once: the interval job (the safety net) and the woken loop share one lock.

The dispatch interval is 60 s here, so a write that arrives within the (generous) bound came by the wake-up.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

import waiting
from channelhub.daemon import Daemon
from channelhub.runtime import Hub
from channelhub.services import channels as channel_services
from channelhub.services import stock as stock_services
from channelhub.stock.policy import ChannelStockPolicy
from channelhub.testing.fakes import FakeOrderSource, make_order

BOUND = 20.0  # seconds; the tick is 60 s
wait_until = partial(waiting.wait_until, timeout=BOUND)  # the bound is what tells a wake-up from the tick

CONFIG = """
database = "{url}"
[sync]
dispatch_seconds = {dispatch_seconds}
wake_window_seconds = 0.05
[[locations]]
code = "main"
[[channels]]
name = "shop"
kind = "marketplace"
reconcile = "off"
[channels.schedule]
pull_seconds = 3600
push_seconds = 60
[channels.settings]
root = "shop"
"""


def open_hub(folder: Path, url: str, dispatch_seconds: float = 60) -> Hub:
    (folder / "shop" / "inbox").mkdir(parents=True, exist_ok=True)
    (folder / "channelhub.toml").write_text(CONFIG.format(url=url, dispatch_seconds=dispatch_seconds))
    hub = Hub.open(folder / "channelhub.toml")
    hub.channels["shop"].connector = FakeOrderSource("shop")  # records every write; pulls what it is given
    hub.policies = [ChannelStockPolicy("shop")]
    return hub


class Runs:
    """on_job: every dispatch run the daemon reported."""

    def __init__(self) -> None:
        self.dispatches = 0

    def __call__(self, job_id: str, _result: Any, _started: float) -> None:
        if job_id == "dispatch":
            self.dispatches += 1


@pytest.fixture
def hub(tmp_path: Path, db_url: str) -> Iterator[Hub]:
    hub = open_hub(tmp_path, db_url)
    yield hub
    hub.close()


def shop(hub: Hub) -> FakeOrderSource:
    connector = hub.channels["shop"].connector
    assert isinstance(connector, FakeOrderSource)
    return connector


def started(hub: Hub) -> tuple[Daemon, Runs]:
    runs = Runs()
    daemon = Daemon(hub, on_job=runs)
    daemon.start()
    # Every job runs once at the start; the stock set below must come after that first dispatch.
    assert wait_until(lambda: runs.dispatches >= 1), "the first dispatch never ran"
    return daemon, runs


def test_a_stock_set_while_the_daemon_runs_reaches_the_channel_long_before_the_next_tick(hub: Hub) -> None:
    daemon, _runs = started(hub)
    try:
        stock_services.set_stock(hub, "MUG-1", 7, location=None, reason="count")
        assert wait_until(lambda: shop(hub).listed.get("MUG-1") == 7), "the woken dispatcher never sent it"
    finally:
        daemon.shutdown()


def test_a_pull_that_finds_a_new_order_wakes_the_dispatcher(hub: Hub) -> None:
    stock_services.set_stock(hub, "MUG-1", 7, location=None, reason="count")
    daemon, _runs = started(hub)
    try:
        assert wait_until(lambda: shop(hub).listed.get("MUG-1") == 7)
        shop(hub).pages = [[make_order("A-1", [("MUG-1", 2)])]]
        channel_services.pull_channel(hub, "shop")  # what the pull job does; its commit reserves and publishes
        assert wait_until(lambda: shop(hub).listed.get("MUG-1") == 5), "the pull's commit did not wake dispatch"
    finally:
        daemon.shutdown()


@pytest.mark.postgres
def test_a_commit_by_another_process_wakes_the_daemon_through_postgres(
    tmp_path: Path, pg_url: str, pg_database: object
) -> None:
    del pg_database  # requested for its emptied tables
    hub = open_hub(tmp_path, pg_url)
    other = open_hub(tmp_path / "cli", pg_url)  # its own engine: only NOTIFY can reach the daemon's Waker
    try:
        daemon, _runs = started(hub)
        try:
            stock_services.set_stock(other, "MUG-1", 4, location=None, reason="count")
            assert wait_until(lambda: shop(hub).listed.get("MUG-1") == 4), "NOTIFY did not wake the daemon"
        finally:
            daemon.shutdown()
    finally:
        other.close()
        hub.close()


def test_the_interval_job_and_the_woken_loop_never_dispatch_at_once(
    tmp_path: Path, sqlite_template: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    shutil.copy(sqlite_template, tmp_path / "hub.db")
    hub = open_hub(tmp_path, f"sqlite:///{tmp_path / 'hub.db'}", dispatch_seconds=0.05)  # a busy safety net
    real_dispatch = channel_services.dispatch
    lock = threading.Lock()
    state = {"running": 0, "most": 0}
    threads: set[str] = set()

    def watched_dispatch(hub: Hub, **kwargs: Any) -> Any:
        with lock:
            state["running"] += 1
            state["most"] = max(state["most"], state["running"])
            threads.add(threading.current_thread().name)
        try:
            time.sleep(0.02)  # long enough for the other path to try its luck
            return real_dispatch(hub, **kwargs)
        finally:
            with lock:
                state["running"] -= 1

    monkeypatch.setattr(channel_services, "dispatch", watched_dispatch)
    daemon, _runs = started(hub)
    try:
        for quantity in range(1, 41):
            stock_services.set_stock(hub, "MUG-1", quantity, location=None, reason="count")
            time.sleep(0.01)
        assert wait_until(lambda: shop(hub).listed.get("MUG-1") == 40)
        assert wait_until(lambda: "channelhub-dispatch-wake" in threads and len(threads) > 1), threads
    finally:
        daemon.shutdown()
        hub.close()
    assert state["most"] == 1, f"{state['most']} dispatch runs overlapped"


def test_shutdown_stops_the_dispatch_loop_and_the_listener(hub: Hub) -> None:
    daemon, _runs = started(hub)
    thread, waker = daemon._dispatch_loop_thread, daemon.waker
    assert thread is not None and waker is not None
    daemon.shutdown()
    assert not thread.is_alive() and waker.closed
    if waker.listener is not None:
        assert waker.listener.backend_pid is None
