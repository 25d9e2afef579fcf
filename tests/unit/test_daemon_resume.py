"""A channel resumed while the daemon runs (the dashboard's Resume button) gets its jobs back: the main thread
removed them when the channel stopped, and schedules them again, to run at once, when the stop is cleared."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

import waiting
from channelhub.daemon import Daemon
from channelhub.runtime import Hub
from channelhub.services import channels as channel_services
from channelhub.testing.fakes import FakeOrderSource

BOUND = 30.0  # seconds; the pull interval is an hour, so a pull within it came from the restored job
wait_until = partial(waiting.wait_until, timeout=BOUND)  # the bound is what tells a wake-up from the tick

CONFIG = """
database = "sqlite:///hub.db"
[[locations]]
code = "main"
[[channels]]
name = "shop"
kind = "marketplace"
reconcile = "off"
[channels.schedule]
pull_seconds = 3600
[channels.settings]
root = "shop"
"""


class Pulls:
    """on_job: the pull runs the daemon reported, counted under a lock (jobs run on scheduler threads)."""

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    def __call__(self, job_id: str, _result: Any, _started: float) -> None:
        if job_id == "pull:shop":
            with self.lock:
                self.count += 1


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    (tmp_path / "shop" / "inbox").mkdir(parents=True)
    (tmp_path / "channelhub.toml").write_text(CONFIG)
    opened = Hub.open(tmp_path / "channelhub.toml")
    opened.channels["shop"].connector = FakeOrderSource("shop")
    yield opened
    opened.close()


def test_a_resumed_channel_is_scheduled_again_and_pulls_at_once(hub: Hub) -> None:
    pulls = Pulls()
    daemon = Daemon(hub, on_job=pulls)
    daemon.start()
    try:
        assert wait_until(lambda: pulls.count >= 1), "the first pull never ran"
        channel_services.stop_channel(hub, "shop", "HTTP 401: bad credentials")
        daemon.remove_stopped_channel_jobs()
        assert daemon.scheduler.get_job("pull:shop") is None
        before = pulls.count

        assert channel_services.resume_one_channel(hub, "shop") == "HTTP 401: bad credentials"
        daemon.remove_stopped_channel_jobs()
        assert daemon.scheduler.get_job("pull:shop") is not None
        assert wait_until(lambda: pulls.count > before), "the restored pull job never ran"
        daemon.remove_stopped_channel_jobs()  # a second look changes nothing
        assert daemon.scheduler.get_job("pull:shop") is not None
    finally:
        daemon.shutdown()


def test_resume_refuses_a_channel_this_process_did_not_connect(hub: Hub) -> None:
    hub.channels["shop"].connector = None
    with pytest.raises(channel_services.ChannelhubError, match="not connected"):
        channel_services.resume_one_channel(hub, "shop")
