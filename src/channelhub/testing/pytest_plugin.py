"""pytest plugin of the connector contract kit, auto-loaded through the `pytest11` entry point "channelhub".

Kept cheap and failure-proof: it imports nothing from the hub at load time (the kit itself lives in
`channelhub.testing.contract`, imported by the test modules that use it). It registers the `contract` marker the
kit puts on every contract test, and a `connector_context` fixture for connector tests outside the kit.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "contract: a connector contract test from channelhub.testing.contract")


@pytest.fixture
def connector_context(tmp_path: Path) -> Callable[..., Any]:
    """A factory of `ConnectorContext(channel="test", base_dir=tmp_path, ...)`; keyword arguments override."""

    def make(**overrides: Any) -> Any:
        from channelhub.ports import ConnectorContext

        values: dict[str, Any] = {"channel": "test", "base_dir": tmp_path}
        values.update(overrides)
        return ConnectorContext(**values)

    return make
