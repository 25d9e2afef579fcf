"""Customs: what an international parcel declares, from the SKU master data (HS code, origin, description, value,
weight) and the order (quantities, the currency, who pays the duties)."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from channelhub.model.money import Money
from channelhub.model.orders import Quantity, StoredSku


class DutiesPaidBy(StrEnum):
    SENDER = "sender"  # DDP: the shop paid them (the channel charged the customer a duty line, or chose to)
    RECIPIENT = "recipient"  # DAP: the customer pays on delivery


class CustomsItem(BaseModel):
    """One declared line: a SKU's customs data times the quantity shipped."""

    model_config = ConfigDict(frozen=True)

    sku: StoredSku
    description: str = Field(min_length=1, max_length=200)
    quantity: Quantity
    value: Money  # per unit, as declared
    hs_code: str = Field(pattern=r"^\d{6,10}$")  # the tariff number: 6 digits (HS), up to 10 (national)
    origin_country: str = Field(pattern=r"^[A-Z]{2}$")  # ISO 3166-1 alpha-2
    weight_grams: int = Field(ge=0)  # per unit


class CustomsDeclaration(BaseModel):
    """What an order shipping to another country carries to its shipping platform."""

    model_config = ConfigDict(frozen=True)

    items: tuple[CustomsItem, ...]
    contents: str = "merchandise"  # merchandise | documents | gift | returned_goods | sample
    non_delivery: str = "return_to_sender"  # return_to_sender | treat_as_abandoned
    duties_paid_by: DutiesPaidBy = DutiesPaidBy.RECIPIENT
