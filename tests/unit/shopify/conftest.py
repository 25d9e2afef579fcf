"""Shopify test helpers: cassette replay (record mode none, matched on the body) and connectors over the fake."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
import vcr
from channelhub_connectors.shopify.connector import ShopifyConnector

from channelhub.ports import ConnectorContext
from doubles.shopify.fake_shop import Bucket, FakeShop

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes" / "shopify"
sys.path.insert(0, str(CASSETTES))

from scenarios import SCENARIOS, SETTINGS, FakeClock  # noqa: E402

REPLAY = vcr.VCR(
    record_mode="none",
    match_on=["method", "scheme", "host", "port", "path", "query", "body"],
    filter_headers=[("x-shopify-access-token", "REDACTED")],
)


def replay(name: str) -> tuple[Any, ShopifyConnector, FakeClock, Any]:
    """Run scenario `name` against its cassette: (result or exception, connector, clock, cassette)."""
    scenario = SCENARIOS[name]
    clock = FakeClock()
    with REPLAY.use_cassette(str(CASSETTES / f"{name}.yaml"), allow_playback_repeats=False) as cassette:
        connector = ShopifyConnector(
            scenario.settings,
            ConnectorContext(channel="shopify", transport=httpx.Client()),
            clock=clock,
            sleep=clock.sleep,
        )
        try:
            result: Any = scenario.act(connector)
        except Exception as exc:
            result = exc
        assert cassette.all_played, f"{name}: {len(cassette.data) - cassette.play_count} recorded requests not made"
    return result, connector, clock, cassette


@pytest.fixture
def fake_connector() -> Callable[..., tuple[ShopifyConnector, FakeShop, FakeClock]]:
    def build(shop: FakeShop | None = None, **settings: Any) -> tuple[ShopifyConnector, FakeShop, FakeClock]:
        clock = FakeClock()
        shop = shop or FakeShop()
        shop.bucket = Bucket(clock=clock)
        http = httpx.Client(transport=shop.mock_transport())
        connector = ShopifyConnector(
            {**SETTINGS, **settings},
            ConnectorContext(channel="shopify", transport=http),
            clock=clock,
            sleep=clock.sleep,
        )
        return connector, shop, clock

    return build
