"""Shipments: what left the warehouse, by which carrier, with which tracking number."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from channelhub.model.orders import UtcDatetime


class ShipmentLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    sku: str = Field(min_length=1)
    quantity: int = Field(gt=0)


class Shipment(BaseModel):
    """A shipment of some or all of an order's lines. An empty `lines` means every unshipped unit."""

    model_config = ConfigDict(frozen=True)

    carrier: str = Field(min_length=1)
    service: str = ""
    tracking_number: str = Field(min_length=1)
    tracking_url: str = ""
    shipped_at: UtcDatetime
    lines: tuple[ShipmentLine, ...] = ()
