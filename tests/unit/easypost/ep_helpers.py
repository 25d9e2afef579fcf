"""EasyPost test helpers: where the cassettes are, a strict replay (record mode none), and a connector over it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import httpx
import pytest
import vcr
from channelhub_connectors.easypost.connector import EasyPostConnector

from channelhub.ports import ConnectorContext

HERE = Path(__file__).resolve()
CASSETTES = HERE.parents[2] / "cassettes" / "easypost"
API_KEY = "EZTK_test_key_never_sent_anywhere"
WEBHOOK_SECRET = "whsec_unit_0123456789"


REFERENCE_ENV = "CHANNELHUB_REFERENCE"  # the team's shared/reference folder, where it is not beside the checkout


def reference_dir() -> Path:
    """EasyPost's own recordings, read where they lie (the payloads are never copied into the project):
    `$CHANNELHUB_REFERENCE/easypost`, else shared/reference/easypost in a folder above the checkout. Absent:
    skipped with the reason. Not failed under CI: CI runs a clean clone wherever it puts it, which may have no
    shared folder above it, and a missing reference must not stop a landing (the hand-written cassettes of
    tests/cassettes/easypost run everywhere)."""
    explicit = os.environ.get(REFERENCE_ENV)
    folders = [Path(explicit)] if explicit else [folder / "shared" / "reference" for folder in HERE.parents]
    for folder in folders:
        candidate = folder / "easypost"
        if (candidate / "test_tracker_create.yaml").is_file():
            return candidate
    where = f"${REFERENCE_ENV}" if explicit else f"shared/reference above {HERE.parent}"
    pytest.skip(f"EasyPost's reference cassettes were not found in {where} (set ${REFERENCE_ENV})")


def _bytes(body: Any) -> bytes:
    if body is None:
        return b""
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


def same_body(r1: Any, r2: Any) -> None:
    """Bodies equal byte for byte; no body and an empty one are the same (requests records a GET's body as
    null, httpx sends b"")."""
    assert _bytes(r1.body) == _bytes(r2.body), f"bodies differ: {_bytes(r1.body)!r} != {_bytes(r2.body)!r}"


REPLAY = vcr.VCR(
    record_mode="none",
    match_on=["method", "scheme", "host", "port", "path", "query", "same_body"],
    filter_headers=["authorization"],
)
REPLAY.register_matcher("same_body", same_body)


def cassette(path: Path) -> Any:
    return REPLAY.use_cassette(str(path), allow_playback_repeats=False)


def connector(**settings: Any) -> EasyPostConnector:
    """A connector on a plain httpx.Client (vcrpy intercepts it), with the unit test key and secret."""
    values = {"api_key": API_KEY, "webhook_secret": WEBHOOK_SECRET, **settings}
    return EasyPostConnector(values, ConnectorContext(channel="easypost", transport=httpx.Client()))
