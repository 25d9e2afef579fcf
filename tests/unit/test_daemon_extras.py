"""What runs beside the scheduler (the HTTP server): started after it, stopped before it, and a failed start
stops the daemon with everything already started stopped."""

from __future__ import annotations

from pathlib import Path

import pytest

from channelhub.daemon import Daemon
from channelhub.runtime import Hub

CONFIG = """
database = "sqlite:///hub.db"
[[channels]]
name = "files"
kind = "marketplace"
[channels.settings]
root = "files"
"""


@pytest.fixture
def hub(tmp_path: Path):
    (tmp_path / "files" / "inbox").mkdir(parents=True)
    (tmp_path / "channelhub.toml").write_text(CONFIG)
    hub = Hub.open(tmp_path / "channelhub.toml", connect=True)
    yield hub
    hub.close()


class Extra:
    def __init__(self, name: str, daemon: Daemon, journal: list[tuple[str, str, bool]], fail: bool = False) -> None:
        self.name, self.daemon, self.journal, self.fail = name, daemon, journal, fail

    def start(self) -> None:
        self.journal.append(("start", self.name, self.daemon.scheduler.running))
        if self.fail:
            raise OSError("address already in use")

    def stop(self) -> None:
        self.journal.append(("stop", self.name, self.daemon.scheduler.running))


def test_extras_start_after_the_scheduler_and_stop_before_it_in_reverse(hub: Hub) -> None:
    daemon = Daemon(hub)
    journal: list[tuple[str, str, bool]] = []
    extras = [Extra("a", daemon, journal), Extra("b", daemon, journal)]
    assert daemon.run_forever(for_seconds=0.3, handle_signals=False, extras=extras) == 0
    assert journal == [("start", "a", True), ("start", "b", True), ("stop", "b", True), ("stop", "a", True)]
    assert not daemon.scheduler.running


def test_an_extra_that_cannot_start_stops_the_daemon(hub: Hub) -> None:
    daemon = Daemon(hub)
    journal: list[tuple[str, str, bool]] = []
    extras = [Extra("a", daemon, journal), Extra("b", daemon, journal, fail=True), Extra("c", daemon, journal)]
    with pytest.raises(OSError, match="address already in use"):
        daemon.run_forever(for_seconds=60, handle_signals=False, extras=extras)
    assert journal == [("start", "a", True), ("start", "b", True), ("stop", "a", True)]
    assert not daemon.scheduler.running
