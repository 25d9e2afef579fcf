"""What each channel may list: the per-channel rules the ledger applies when it publishes quantities."""

from __future__ import annotations

from dataclasses import dataclass, field

from channelhub.model.stock import BufferRules


@dataclass(frozen=True)
class ChannelStockPolicy:
    """A channel that receives stock levels.

    `locations`: the locations whose stock this channel sells (None: all). `skus`: the SKUs it lists (None: every
    SKU in the ledger).
    """

    channel: str
    buffers: BufferRules = field(default_factory=BufferRules)
    locations: tuple[str, ...] | None = None
    skus: frozenset[str] | None = None

    def lists(self, sku: str) -> bool:
        return self.skus is None or sku in self.skus
