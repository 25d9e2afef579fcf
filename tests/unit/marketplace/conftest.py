"""Helpers for the marketplace connector's tests: a connector over a temporary local folder."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from channelhub_connectors.marketplace.connector import MarketplaceConnector

from channelhub.ports import ConnectorContext

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "marketplace"


@pytest.fixture
def make_connector(tmp_path: Path) -> Callable[..., MarketplaceConnector]:
    """make_connector(**settings) -> a connector whose root is tmp_path/root, with an existing empty inbox."""

    def build(sku_map: dict[str, str] | None = None, **settings: Any) -> MarketplaceConnector:
        root = tmp_path / "root"
        (root / settings.get("inbox", "inbox")).mkdir(parents=True, exist_ok=True)
        context = ConnectorContext(channel="mp", base_dir=tmp_path, sku_map=sku_map or {})
        return MarketplaceConnector({"root": "root", **settings}, context)

    return build


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """The connectors' root folder (inbox/, processed/, outbox/ live under it), with an empty inbox."""
    (tmp_path / "root" / "inbox").mkdir(parents=True, exist_ok=True)
    return tmp_path / "root"
