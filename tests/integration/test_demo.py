"""`channelhub demo` end to end, as a merchant runs it: a subprocess, no environment variables, exit 0."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from process_helpers import channelhub_command

pytestmark = pytest.mark.slow


def test_demo_runs_every_stage_and_leaves_the_channel_files(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    env = {"PATH": "/usr/bin:/bin"}  # nothing from the caller's environment is needed
    result = subprocess.run(
        [*channelhub_command(), "demo", "--dir", str(folder)],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "Traceback" not in result.stderr

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
