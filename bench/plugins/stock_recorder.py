"""A drop-in connector for bench/propagation.py: a channel whose `push_stock` POSTs what it was asked to list to a
recorder HTTP server (run by the bench process), which timestamps each SKU's arrival.

Loaded the way a third party's connector is: the bench's config names this folder in `connector_dirs`. It
declares only push_stock, so the hub plans no pull for it and dispatches to it like any other channel. A
recorder that cannot be reached is Retryable (the dispatcher retries), so a slow bench never loses a write.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import httpx
from pydantic import BaseModel, ConfigDict

from channelhub.errors import Retryable
from channelhub.ports import BatchLimits, Capability, Connector, ConnectorContext, StockUpdate, WriteResult, settings_as


class StockRecorderSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    recorder_url: str  # http://127.0.0.1:<port>/push


class StockRecorderConnector(Connector):
    kind = "stock_recorder"
    capabilities = frozenset({Capability.PUSH_STOCK})
    config_model = StockRecorderSettings
    limits = BatchLimits(stock_per_call=100)

    def __init__(self, config: BaseModel | Mapping[str, Any], context: ConnectorContext) -> None:
        settings = settings_as(StockRecorderSettings, config, context.channel)
        super().__init__(settings, context)
        self.url = settings.recorder_url
        self.client = httpx.Client(timeout=30.0)

    def push_stock(self, updates: Sequence[StockUpdate]) -> list[WriteResult]:
        body = {"channel": self.channel, "updates": [[u.sku, u.quantity] for u in updates]}
        try:
            answer = self.client.post(self.url, json=body)
        except httpx.HTTPError as exc:
            raise Retryable(f"recorder unreachable: {type(exc).__name__}", where=f"channel {self.channel}") from None
        if answer.status_code != 200:
            raise Retryable(f"recorder answered {answer.status_code}", where=f"channel {self.channel}")
        return [WriteResult(idempotency_key=u.idempotency_key, confirmed_quantity=u.quantity) for u in updates]

    def close(self) -> None:
        self.client.close()
