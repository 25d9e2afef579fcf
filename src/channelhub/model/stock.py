"""Stock figures and per-channel listing rules."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class BufferRules(BaseModel):
    """How much of the sellable pool a channel may list.

    Applied in order: take `percentage` of the pool (rounded down), cap at `max_listed`, and list 0 when the
    result is below `zero_below` (so a channel never lists the last few units).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    percentage: int = Field(default=100, ge=0, le=100)
    max_listed: int | None = Field(default=None, ge=0)
    zero_below: int = Field(default=0, ge=0)

    def apply(self, pool: int) -> int:
        quantity = max(pool, 0) * self.percentage // 100
        if self.max_listed is not None:
            quantity = min(quantity, self.max_listed)
        if quantity < self.zero_below:
            return 0
        return quantity


class StockLevel(BaseModel):
    model_config = ConfigDict(frozen=True)

    sku: str
    location: str
    on_hand: int
    reserved: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


def sellable_quantity(on_hand: int, reserved: int, safety_stock: int, rules: BufferRules) -> int:
    """Sellable = on_hand - reserved - safety stock (never below 0), then the channel's buffer rules."""
    return rules.apply(max(on_hand - reserved - safety_stock, 0))
