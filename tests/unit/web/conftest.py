"""A hub on a SQLite file with two marketplace channels, and the app on a real uvicorn on 127.0.0.1, port 0; for
the dashboard, a seeded hub (tests/dashboard_seed.py) and the app in a TestClient."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from web_helpers import FakeReceiver, Served

from channelhub.runtime import Hub
from channelhub.web.app import create_app
from channelhub.web.applier import Applier
from channelhub.web.server import WebServer
from dashboard_seed import Seeded, seed

CONFIG = """
database = "sqlite:///hub.db"

[http]
listen = "127.0.0.1:0"
max_body_bytes = 1024
token = "web-test-token-1234567890"

[[channels]]
name = "files"
kind = "marketplace"
[channels.settings]
root = "files"
orders_layout = "generic_orders"

[[channels]]
name = "other"
kind = "marketplace"
[channels.settings]
root = "other"
orders_layout = "generic_orders"
"""


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[Hub]:
    for root in ("files", "other"):
        for sub in ("inbox", "processed", "outbox"):
            (tmp_path / root / sub).mkdir(parents=True)
    (tmp_path / "channelhub.toml").write_text(CONFIG, encoding="utf-8")
    with Hub.open(tmp_path / "channelhub.toml", connect=True) as opened:
        yield opened


@pytest.fixture
def serve(hub: Hub) -> Iterator[Callable[..., Served]]:
    """Start the app on a real server; every server started is stopped at the end of the test."""
    started: list[WebServer] = []

    def start(*, scheduler: bool | None = None) -> Served:
        applied: list[int] = []
        applier = Applier(hub, apply=lambda _hub: applied.append(len(applied)), interval=3600)
        state = {"running": bool(scheduler)}
        receiver = FakeReceiver()
        app = create_app(
            hub,
            receiver=receiver,
            applier=applier,
            scheduler_running=None if scheduler is None else (lambda: state["running"]),
        )
        server = WebServer(app, "127.0.0.1", 0)
        server.start()
        started.append(server)
        return Served(hub, server, receiver, applier, applied, state)

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def seeded(tmp_path: Path) -> Iterator[Seeded]:
    """A hub with held orders, a dead write and a quarantined record (tests/dashboard_seed.py)."""
    made = seed(tmp_path / "dash")
    try:
        yield made
    finally:
        made.hub.close()


@pytest.fixture
def dash(seeded: Seeded) -> Iterator[TestClient]:
    """The whole app on the seeded hub, in process (its lifespan runs: the applier starts and stops)."""
    with TestClient(create_app(seeded.hub)) as client:
        yield client
