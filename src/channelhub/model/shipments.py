"""Shipments: what left the warehouse, by which carrier, with which tracking number."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from channelhub.model.orders import Quantity, StoredSku, UtcDatetime


class ShipmentLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    sku: StoredSku
    quantity: Quantity


class Shipment(BaseModel):
    """A shipment of some or all of an order's lines. An empty `lines` means every unshipped unit.

    It is identified within its order by `external_id` (the id a channel or shipping platform gave it) when it
    has one, else by its tracking number: one of the two is required. `tracking_numbers` are the parcel's
    further numbers, when a fulfilment has several (the first is `tracking_number`)."""

    model_config = ConfigDict(frozen=True)

    carrier: str = Field(default="", max_length=100)
    service: str = Field(default="", max_length=100)
    tracking_number: str = Field(default="", max_length=200)
    tracking_url: str = ""
    tracking_numbers: tuple[str, ...] = ()
    tracking_urls: tuple[str, ...] = ()
    external_id: str = Field(default="", max_length=200)
    shipped_at: UtcDatetime
    lines: tuple[ShipmentLine, ...] = ()

    @model_validator(mode="after")
    def _identified(self) -> Shipment:
        if not (self.tracking_number or self.external_id):
            raise ValueError("a shipment needs a tracking number or the id its channel gave it")
        return self

    @property
    def identity(self) -> str:
        """What names the shipment within its order: the channel's id, else the tracking number."""
        return self.external_id or self.tracking_number
