"""The shared connector contract suite, run against the marketplace connector over a local folder."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from channelhub_connectors.marketplace.connector import MarketplaceConnector

from channelhub.ports import RawRecord
from channelhub.testing.contract import ConnectorContract

from .conftest import FIXTURES


class TestMarketplaceContract(ConnectorContract):
    connector_class = MarketplaceConnector

    def settings(self) -> dict[str, Any]:
        root: Path = self.tmp_path / "root"
        if not (root / "inbox").exists():
            (root / "inbox").mkdir(parents=True)
            (root / "inbox" / "orders.csv").write_bytes((FIXTURES / "generic_orders.csv").read_bytes())
            (root / "inbox" / "messy.csv").write_bytes((FIXTURES / "generic_messy.csv").read_bytes())
        return {"transport": "local", "root": str(root)}

    def _records(self, name: str) -> list[RawRecord]:
        connector = MarketplaceConnector.for_inspection()
        return list(connector.inspect(f"inbox/{name}", (FIXTURES / name).read_bytes(), {}))

    def sample_order_records(self) -> Iterable[RawRecord]:
        return [r for r in self._records("generic_orders.csv") if r.problem is None]

    def bad_records(self) -> Iterable[RawRecord]:
        return [r for r in self._records("generic_messy.csv") if r.problem is not None]

    def count_effects(self, connector: Any) -> Any:
        outbox = self.tmp_path / "root" / "outbox"
        return sorted((p.name, p.read_bytes()) for p in outbox.iterdir()) if outbox.exists() else []
