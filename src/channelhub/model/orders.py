"""The canonical order: what every channel's payload is mapped to.

Figures are kept as the channel reported them (totals, tax, discounts), each a `MoneyBag` in the shop currency
and, when known, the presentment currency. Times are timezone-aware UTC. `FinancialStatus` and
`ChannelFulfillment` are the channel's word on payment and fulfilment, normalised; the hub derives lifecycle
moves from them (see `channelhub.sync.apply`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any

import pycountry
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator, model_validator

from channelhub.model.limits import MAX_CHANNEL_LENGTH, MAX_ID_LENGTH, MAX_NUMBER_LENGTH, MAX_QUANTITY
from channelhub.model.money import CurrencyCode, DecimalAmount, MoneyBag

ISO_3166_ALPHA2: frozenset[str] = frozenset(c.alpha_2 for c in pycountry.countries)


def _aware_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamps must carry a timezone")
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_aware_utc)]


def _no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL: a value carrying one would fail the page's transaction, not the record.
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    return value


# Identifiers stored in their own columns: bounded by the column and free of NUL.
ExternalId = Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH), AfterValidator(_no_nul)]
StoredSku = Annotated[str, Field(min_length=1, max_length=MAX_ID_LENGTH), AfterValidator(_no_nul)]
ChannelName = Annotated[str, Field(max_length=MAX_CHANNEL_LENGTH), AfterValidator(_no_nul)]
OrderNumber = Annotated[str, Field(max_length=MAX_NUMBER_LENGTH), AfterValidator(_no_nul)]
Quantity = Annotated[int, Field(gt=0, le=MAX_QUANTITY)]


class FinancialStatus(StrEnum):
    PENDING = "pending"
    AUTHORIZED = "authorized"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    PARTIALLY_REFUNDED = "partially_refunded"
    REFUNDED = "refunded"
    VOIDED = "voided"

    @property
    def settled(self) -> bool:
        """True when payment is authorised or captured, which a confirmed order needs."""
        return self in {
            FinancialStatus.AUTHORIZED,
            FinancialStatus.PAID,
            FinancialStatus.PARTIALLY_REFUNDED,
        }


class ChannelFulfillment(StrEnum):
    """What the channel says about shipping, when the channel ships (or reports shipping) itself."""

    UNFULFILLED = "unfulfilled"
    PARTIALLY_FULFILLED = "partially_fulfilled"
    FULFILLED = "fulfilled"
    DELIVERED = "delivered"


class Address(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str = ""
    company: str = ""
    line1: str = ""
    line2: str = ""
    line3: str = ""
    city: str = ""
    region: str = ""
    postal_code: str = ""
    country: str  # ISO 3166-1 alpha-2
    phone: str = ""

    @field_validator("country")
    @classmethod
    def _country(cls, value: str) -> str:
        upper = value.strip().upper()
        if upper not in ISO_3166_ALPHA2:
            raise ValueError(f"unknown ISO 3166 country code: {value!r}")
        return upper


class Customer(BaseModel):
    model_config = ConfigDict(frozen=True)

    external_id: str = ""
    email: str = ""
    name: str = ""
    phone: str = ""


class TaxLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    title: str
    rate: DecimalAmount | None = None
    amount: MoneyBag


class Discount(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str = ""
    kind: str = ""  # the channel's word: discount_code, automatic, manual, promotion...
    amount: MoneyBag


class OrderLine(BaseModel):
    """One line as sold. `sku` is the hub's SKU (channel SKU maps already applied by the mapper)."""

    model_config = ConfigDict(frozen=True)

    external_id: ExternalId
    sku: StoredSku
    title: str = ""
    quantity: Quantity
    unit_price: MoneyBag
    total_discount: MoneyBag | None = None
    taxes: tuple[TaxLine, ...] = ()
    variant_id: str = ""
    product_id: str = ""


class ShippingLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    title: str = ""
    code: str = ""
    price: MoneyBag
    taxes: tuple[TaxLine, ...] = ()


class Totals(BaseModel):
    """Order figures as the channel reported them; none is recomputed by the hub."""

    model_config = ConfigDict(frozen=True)

    subtotal: MoneyBag | None = None
    shipping: MoneyBag | None = None
    tax: MoneyBag | None = None
    discount: MoneyBag | None = None
    total: MoneyBag


class Refund(BaseModel):
    model_config = ConfigDict(frozen=True)

    external_id: str
    created_at: UtcDatetime
    amount: MoneyBag
    reason: str = ""
    lines: tuple[tuple[str, int], ...] = ()  # (line external_id, quantity)


class Order(BaseModel):
    """The canonical order. Identity is (channel, external_id); `updated_at` decides which version is newer."""

    model_config = ConfigDict(frozen=True)

    channel: ChannelName
    external_id: ExternalId
    number: OrderNumber = ""
    placed_at: UtcDatetime
    updated_at: UtcDatetime
    currency: CurrencyCode  # shop currency
    presentment_currency: CurrencyCode | None = None
    financial_status: FinancialStatus
    fulfillment: ChannelFulfillment = ChannelFulfillment.UNFULFILLED
    cancelled_at: UtcDatetime | None = None
    channel_status: str = ""  # the channel's own status word, kept for people
    customer: Customer | None = None
    shipping_address: Address | None = None
    billing_address: Address | None = None
    lines: tuple[OrderLine, ...] = Field(min_length=1)
    shipping_lines: tuple[ShippingLine, ...] = ()
    discounts: tuple[Discount, ...] = ()
    taxes: tuple[TaxLine, ...] = ()
    totals: Totals
    refunds: tuple[Refund, ...] = ()
    hold_reason: str = ""  # set by a mapper when the channel's status itself means "hold" (unknown status...)
    extra: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _lines_unique(self) -> Order:
        ids = [line.external_id for line in self.lines]
        if len(ids) != len(set(ids)):
            raise ValueError("order lines must have distinct external ids")
        return self

    def quantity_by_sku(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for line in self.lines:
            out[line.sku] = out.get(line.sku, 0) + line.quantity
        return out

    @property
    def total_amount(self) -> Decimal:
        return self.totals.total.shop.amount
