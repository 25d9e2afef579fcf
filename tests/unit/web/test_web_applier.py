"""The applier: a pass at start, one per wake-up (coalesced), on its interval, through failures, stoppable."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from channelhub.runtime import Hub
from channelhub.web.applier import Applier
from waiting import wait_until


class Recorder:
    def __init__(self) -> None:
        self.calls = 0
        self.gate = threading.Event()
        self.gate.set()
        self.entered = threading.Event()
        self.fail = False

    def __call__(self, _hub: Hub) -> dict[str, object]:
        self.calls += 1
        self.entered.set()
        self.gate.wait(60)
        if self.fail:
            raise RuntimeError("database is locked")
        return {}


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def applier(hub: Hub, recorder: Recorder) -> Iterator[Applier]:
    applier = Applier(hub, apply=recorder, interval=3600)
    yield applier
    recorder.gate.set()
    applier.stop()


def test_a_pass_runs_at_start(applier: Applier) -> None:
    applier.start()
    assert applier.wait_for_pass(0, timeout=30)


def test_wake_ups_during_a_pass_coalesce_into_one_more(applier: Applier, recorder: Recorder) -> None:
    applier.start()
    assert applier.wait_for_pass(0, timeout=30)
    recorder.gate.clear()
    recorder.entered.clear()
    applier.wake()
    assert recorder.entered.wait(30)  # pass 2 is running, held at the gate
    for _ in range(20):
        applier.wake()
    recorder.gate.set()
    assert applier.wait_for_pass(2, timeout=30)  # pass 3: all twenty wake-ups
    assert not applier.wait_for_pass(3, timeout=0.5)
    assert recorder.calls == 3


def test_the_interval_is_the_safety_net(hub: Hub, recorder: Recorder) -> None:
    applier = Applier(hub, apply=recorder, interval=0.05)
    applier.start()
    try:
        assert wait_until(lambda: applier.passes >= 4, timeout=30)
    finally:
        applier.stop()


def test_a_failing_pass_is_logged_and_the_thread_goes_on(applier: Applier, recorder: Recorder) -> None:
    recorder.fail = True
    applier.start()
    assert applier.wait_for_pass(0, timeout=30)
    assert applier.failures == 1 and applier.running
    recorder.fail = False
    applier.wake()
    assert applier.wait_for_pass(1, timeout=30)
    assert applier.failures == 1


def test_stop_waits_for_the_pass_in_flight(applier: Applier, recorder: Recorder) -> None:
    recorder.gate.clear()
    applier.start()
    assert recorder.entered.wait(30)
    stopper = threading.Thread(target=applier.stop)
    stopper.start()
    stopper.join(0.2)
    assert stopper.is_alive()  # still waiting for the pass
    recorder.gate.set()
    stopper.join(30)
    assert not stopper.is_alive() and not applier.running and applier.passes == 1
