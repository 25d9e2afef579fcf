"""`channelhub run` as a real process: imports what is dropped, survives bad files and a channel that breaks
while it runs, and stops cleanly within 10 s of SIGTERM (a hang is reported with every thread's stack, not hidden
behind a kill)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from process_helpers import HTTP_ON_A_FREE_PORT, channelhub_command
from sqlalchemy import select
from typer.testing import CliRunner

from channelhub.cli import app
from channelhub.store import open_database
from channelhub.store.tables import ChannelStateRow, InboxRow, OrderRow
from waiting import wait_until

pytestmark = pytest.mark.slow

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
orders_layout = "generic_orders"

[[channels]]
name = "broken"
kind = "marketplace"
[channels.schedule]
pull_seconds = 1
push_seconds = 1
[channels.settings]
root = "broken"
orders_layout = "generic_orders"
"""
CONFIG += HTTP_ON_A_FREE_PORT
STOP_BOUND = 10.0  # seconds from SIGTERM to exit: the daemon's contract

HEADER = "order_id,order_date,line_id,sku,quantity,unit_price,currency,ship_country\n"


@pytest.fixture
def hub_dir(tmp_path: Path) -> Path:
    for sub in ("inbox", "processed", "outbox"):
        (tmp_path / "files" / sub).mkdir(parents=True)
    (tmp_path / "broken" / "inbox").mkdir(parents=True)
    (tmp_path / "channelhub.toml").write_text(CONFIG)
    result = CliRunner().invoke(
        app, ["--config", str(tmp_path / "channelhub.toml"), "stock", "set", "MUG-1", "5", "--reason", "count"]
    )
    assert result.exit_code == 0, result.output
    return tmp_path


@pytest.fixture
def daemon(hub_dir: Path) -> Iterator[subprocess.Popen[str]]:
    env = {k: v for k, v in os.environ.items() if k != "CHANNELHUB_CONFIG"}
    proc = subprocess.Popen(
        [*channelhub_command(), "--log-json", "--log-level", "INFO", "run", "--config", "channelhub.toml"],
        cwd=hub_dir,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    yield proc
    if proc.poll() is None:
        proc.kill()
        proc.communicate(timeout=10)


def test_daemon_imports_survives_bad_rows_and_a_broken_channel_and_stops_on_sigterm(
    hub_dir: Path, daemon: subprocess.Popen[str]
) -> None:
    inbox = hub_dir / "files" / "inbox"
    (inbox / ".orders-1.csv.part").write_text(HEADER + "W-1,2026-01-05 10:00:00,1,MUG-1,2,9.50,EUR,DE\n")
    (inbox / ".orders-1.csv.part").rename(inbox / "orders-1.csv")
    (inbox / ".orders-2.csv.part").write_text(
        HEADER
        + "W-2,2026-01-05 11:00:00,1,MUG-1,lots,9.50,EUR,DE\n"
        + "W-3,not a date,1,MUG-1,1,9.50,EUR,DE\n"
        + "W-4,2026-01-05 12:00:00,1,MUG-1,1,9.50,EUR,DE\n"
    )
    (inbox / ".orders-2.csv.part").rename(inbox / "orders-2.csv")

    db = open_database(f"sqlite:///{hub_dir / 'hub.db'}", migrate=False)

    def pulled_broken_once() -> bool:
        with db.transaction() as session:
            state = session.get(ChannelStateRow, "broken")
        return bool(state and state.last_pull_ok_at)

    # The channel breaks while the daemon runs (its folder goes away): that channel stops, the rest go on.
    assert wait_until(pulled_broken_once), "the daemon never pulled the second channel"
    import shutil

    shutil.rmtree(hub_dir / "broken")

    def settled() -> bool:
        with db.transaction() as session:
            orders = set(session.scalars(select(OrderRow.external_id)))
            quarantined = session.scalars(select(InboxRow.reason).where(InboxRow.status == "quarantined")).all()
            broken = session.get(ChannelStateRow, "broken")
        return orders == {"W-1", "W-4"} and len(quarantined) == 2 and bool(broken and broken.stopped_reason)

    try:
        assert wait_until(settled), "the daemon did not import the good rows and quarantine the bad ones in time"
        assert daemon.poll() is None, "the daemon died on a bad file or a broken channel"
        with db.transaction() as session:
            reasons = sorted(session.scalars(select(InboxRow.reason).where(InboxRow.status == "quarantined")))
            states = {ext: state for ext, state in session.execute(select(OrderRow.external_id, OrderRow.state))}
        assert any("orders-2.csv line 2" in r and "lots" in r for r in reasons), reasons
        assert any("orders-2.csv line 3" in r and "not a date" in r for r in reasons), reasons
        assert states == {"W-1": "confirmed", "W-4": "confirmed"}
        # Both files were moved out of the inbox once imported.
        assert wait_until(lambda: not list(inbox.glob("*.csv")), timeout=10)
    finally:
        db.dispose()

    stderr = stop_within_bound(daemon)
    assert daemon.returncode == 0, stderr
    events = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    names = [event.get("event") for event in events]
    assert "signal received" in names
    assert names[-1] == "daemon stopped cleanly", names[-5:]
    assert not [e for e in events if e.get("level") in {"error", "critical"} and e.get("event") == "job failed"]


def stop_within_bound(daemon: subprocess.Popen[str]) -> str:
    """SIGTERM, then the daemon must exit within STOP_BOUND seconds. On a hang, SIGUSR1 makes it write every
    thread's stack to stderr and the test fails with them: a hang is diagnosed, not hidden behind a kill."""
    started = time.monotonic()
    daemon.send_signal(signal.SIGTERM)
    try:
        _stdout, stderr = daemon.communicate(timeout=STOP_BOUND)
    except subprocess.TimeoutExpired:
        daemon.send_signal(signal.SIGUSR1)
        with contextlib.suppress(subprocess.TimeoutExpired):  # the stacks are written at once; it stays hung
            daemon.communicate(timeout=5)
        daemon.kill()
        _stdout, stderr = daemon.communicate(timeout=30)
        pytest.fail(f"the daemon had not exited {STOP_BOUND:g}s after SIGTERM; its threads:\n{stderr[-20000:]}")
    assert time.monotonic() - started < STOP_BOUND
    return stderr


def test_a_channel_broken_before_the_start_refuses_the_start_naming_it(hub_dir: Path) -> None:
    import shutil

    shutil.rmtree(hub_dir / "broken")
    result = subprocess.run(
        [*channelhub_command(), "run", "--config", "channelhub.toml"],
        cwd=hub_dir, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 2, result.stderr
    assert "channels[broken]" in result.stderr and str(hub_dir / "broken") in result.stderr
    assert "Traceback" not in result.stderr


def test_run_once_and_for_seconds_exit_by_themselves(hub_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "CHANNELHUB_CONFIG"}
    once = subprocess.run(
        [*channelhub_command(), "run", "--config", "channelhub.toml", "--once"],
        cwd=hub_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert once.returncode == 0, once.stderr
    timed = subprocess.run(
        [*channelhub_command(), "--log-json", "run", "--config", "channelhub.toml", "--for-seconds", "1"],
        cwd=hub_dir,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert timed.returncode == 0, timed.stderr
    assert "daemon stopped cleanly" in timed.stderr


def test_run_refuses_a_broken_config_with_exit_2(tmp_path: Path) -> None:
    (tmp_path / "channelhub.toml").write_text('[[channels]]\nname = "x"\nkind = "no-such-kind"\n')
    result = subprocess.run(
        [*channelhub_command(), "run", "--config", "channelhub.toml"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert "no-such-kind" in result.stderr
    assert "Traceback" not in result.stderr
