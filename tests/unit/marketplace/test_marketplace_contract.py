"""The shared connector contract suite, run against the marketplace connector over a local folder."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

from channelhub_connectors.marketplace.connector import MarketplaceConnector

from channelhub.ports import RawRecord
from channelhub.testing.contract import ConnectorContract

from .conftest import FIXTURES

# Orders of generic_messy.csv the parser flags (`problem` set) whose rows the mapper must refuse on its own too:
# a replay of the quarantine (sync.pull.replay_quarantined) hands map_order the stored body with no `problem`.
REFUSED_ON_REPLAY = {
    "M-2": "quantity 'two'",
    "M-5": "currency 'ZZZ'",
    "M-6": "date 20/13/2026",
    "M-9": "unit price 'abc'",
}


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
        """The parser's quarantine as it is, the same bodies replayed without `problem`, and stored bodies the
        mapper cannot read (another layout, no rows, not JSON)."""
        messy = self._records("generic_messy.csv")
        flagged = [r for r in messy if r.problem is not None]
        replayed = [
            replace(r, problem=None, source=f"{r.source} replayed ({REFUSED_ON_REPLAY[r.external_id]})")
            for r in flagged
            if r.external_id in REFUSED_ON_REPLAY
        ]
        assert len(replayed) == len(REFUSED_ON_REPLAY), "generic_messy.csv no longer holds the orders named here"
        good = next(iter(self.sample_order_records()))
        body = json.loads(good.body)

        def stored(label: str, text: str) -> RawRecord:
            return RawRecord(good.stream, f"{good.source} stored {label}", text, good.external_id)

        crafted = [
            stored("with an unknown layout", json.dumps({**body, "layout": "no_such_layout"})),
            stored("with a stock layout", json.dumps({**body, "layout": "amazon_price_quantity"})),
            stored("with no rows", json.dumps({**body, "rows": []})),
            stored("as CSV text, not JSON", "order_id,sku,quantity\nG-1001,MUG-RED,2\n"),
        ]
        return [*flagged, *replayed, *crafted]

    def count_effects(self, connector: Any) -> Any:
        outbox = self.tmp_path / "root" / "outbox"
        return sorted((p.name, p.read_bytes()) for p in outbox.iterdir()) if outbox.exists() else []
