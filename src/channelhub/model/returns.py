"""Returns: units coming back, where they go, and the refund they lead to."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from channelhub.model.money import MoneyBag
from channelhub.model.orders import UtcDatetime
from channelhub.model.shipments import ShipmentLine


class Return(BaseModel):
    model_config = ConfigDict(frozen=True)

    lines: tuple[ShipmentLine, ...] = Field(min_length=1)
    restock_location: str
    reason: str = ""
    received_at: UtcDatetime
    refund: MoneyBag | None = None
