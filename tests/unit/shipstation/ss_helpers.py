"""ShipStation test helpers: a hand-driven clock and connectors wired to the fake account (the `build` fixture is
re-exported by conftest.py)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from channelhub_connectors.shipstation.connector import ShipStationConnector

from channelhub.ports import ConnectorContext
from doubles.shipstation.fake_server import FakeShipStation

KEY, SECRET, URL_SECRET = "ss_key_test", "ss_secret_test", "url-secret-0123456789"
SETTINGS = {"api_key": KEY, "api_secret": SECRET, "webhook_secret": URL_SECRET}
NOW = datetime(2024, 6, 1, 19, 0, tzinfo=UTC)


class FakeClock:
    """Monotonic seconds that move only when slept (or advanced) by hand."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


Build = Callable[..., tuple[ShipStationConnector, FakeShipStation, FakeClock]]


@pytest.fixture
def build() -> Build:
    def make(
        fake: FakeShipStation | None = None, **settings: Any
    ) -> tuple[ShipStationConnector, FakeShipStation, FakeClock]:
        if fake is None:
            fake = FakeShipStation(KEY, SECRET, clock=FakeClock(), now=lambda: NOW)
        clock = fake.clock
        assert isinstance(clock, FakeClock), "build a fake with clock=FakeClock()"
        http = httpx.Client(transport=fake.mock_transport())
        context = ConnectorContext(channel="shipstation", transport=http)
        connector = ShipStationConnector({**SETTINGS, **settings}, context, clock=clock, sleep=clock.sleep)
        return connector, fake, clock

    return make
