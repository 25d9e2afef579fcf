"""`channelhub demo` end to end, as a merchant runs it: a subprocess, no environment variables, exit 0."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import httpx
import pytest
from process_helpers import channelhub_command

pytestmark = pytest.mark.slow


def test_demo_runs_every_stage_and_leaves_the_channel_files(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    env = {"PATH": "/usr/bin:/bin"}  # nothing from the caller's environment is needed
    process = subprocess.Popen(
        [*channelhub_command(), "demo", "--dir", str(folder)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert process.stdout is not None
    lines: list[str] = []
    answered = None
    for line in process.stdout:  # the dashboard is served while the demo runs: ask it as the line appears
        lines.append(line)
        found = re.search(r"dashboard: (http://\S+)", line)
        if found:
            answered = httpx.get(found.group(1) + "/healthz", timeout=30).status_code
    stderr = process.stderr.read() if process.stderr else ""
    returncode = process.wait(timeout=120)
    out = "".join(lines)
    assert returncode == 0, out + stderr
    assert "Traceback" not in stderr
    assert answered == 200, out
    token = (folder / "http-token").read_text().strip()
    assert len(token) >= 16 and (folder / "http-token").stat().st_mode & 0o077 == 0
    assert token not in out and token not in stderr  # the address and the token's file are printed, never it
    assert "log in with the token in" in out

    assert "orders imported from amazon: 2" in out
    assert "POSTER-A2 available after the reservation: 1 (of 3)" in out
    assert "held: amazon:302-1000003-1000003: short stock for 'POSTER-A2'" in out
    assert "quarantined: ebay-files: inbox/orders-2.csv line 3" in out and "'two' is not a whole number" in out
    assert "shipped amazon:302-1000002-1000002" in out and "order is now shipped" in out
    assert "daemon stopped cleanly" in out
    assert "demo finished" in out

    # What the daemon left for the channels: Amazon was told 0 posters, and got the shipping confirmation.
    amazon_out = [p.read_text() for p in (folder / "amazon" / "outbox").iterdir()]
    feeds = [text for text in amazon_out if text.startswith("sku\t")]
    assert any("POSTER-A2\t\t0\t" in text for text in feeds), feeds
    confirmations = [text for text in amazon_out if text.startswith("order-id\t")]
    assert len(confirmations) == 1
    assert "302-1000002-1000002\t12001\t1\t" in confirmations[0] and "00340434161234567890" in confirmations[0]
    # The imported files moved out of the inboxes.
    for channel in ("amazon", "ebay-files"):
        assert not list((folder / channel / "inbox").iterdir())
        assert list((folder / channel / "processed").iterdir())


def test_demo_refuses_to_wipe_a_folder_it_did_not_create(tmp_path: Path) -> None:
    precious = tmp_path / "precious"
    precious.mkdir()
    (precious / "orders.db").write_text("keep me")
    result = subprocess.run(
        [*channelhub_command(), "demo", "--dir", str(precious)],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode != 0
    assert (precious / "orders.db").read_text() == "keep me"
    assert "refusing to wipe" in result.stdout + result.stderr
