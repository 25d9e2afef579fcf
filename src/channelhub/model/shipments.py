"""Shipments: what left the warehouse, by which carrier, with which tracking number."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from channelhub.model.orders import Quantity, StoredSku, UtcDatetime


class ShipmentLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    sku: StoredSku
    quantity: Quantity


class Shipment(BaseModel):
    """A shipment of some or all of an order's lines. An empty `lines` means every unshipped unit."""

    model_config = ConfigDict(frozen=True)

    carrier: str = Field(min_length=1, max_length=100)
    service: str = Field(default="", max_length=100)
    tracking_number: str = Field(min_length=1, max_length=200)
    tracking_url: str = ""
    shipped_at: UtcDatetime
    lines: tuple[ShipmentLine, ...] = ()
