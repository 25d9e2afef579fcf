"""Helpers (imported by name, the folder is on sys.path) for tests that run `channelhub` as a real process."""

from __future__ import annotations

import sys
from pathlib import Path


def channelhub_command() -> list[str]:
    """The installed console script of this interpreter's environment, else the same entry point through -c."""
    script = Path(sys.executable).parent / "channelhub"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from channelhub.cli import app; app()"]


# Appended to the config of every test that starts a long-running `channelhub run`: [http] is on by default, and
# daemons started together (or by test runs in parallel on one machine) must not fight over 127.0.0.1:8787.
HTTP_ON_A_FREE_PORT = '\n[http]\nlisten = "127.0.0.1:0"\n'
