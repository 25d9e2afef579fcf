"""The canonical order: what every channel's payload is mapped to.

Figures are kept as the channel reported them (totals, tax, discounts, fees), each a `MoneyBag` in the shop
currency and, when known, the presentment currency. Times are timezone-aware UTC. `FinancialStatus` and
`ChannelFulfillment` are the channel's word on payment and fulfilment, normalised; the hub derives lifecycle
moves from them (see `channelhub.sync.apply`).

Lines: a line the ledger deals with (a stock line) has a SKU and `requires_stock`. A line the channel marks as
needing no stock (a gift card, a tip, a line that needs no shipping, a custom item the channel's
`unmapped_lines = "no_stock"` lets through) has `requires_stock=False`: it is kept with its title, quantity,
price and tax, and never reserved. A line with `requires_stock` and no SKU is unmapped: the order is held,
naming the line, until a SKU map entry gives it one and the order is replayed.
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


def check_country(value: str) -> str:
    """The ISO 3166-1 alpha-2 code `value` names, upper-cased; ValueError if it names none."""
    upper = value.strip().upper()
    if upper not in ISO_3166_ALPHA2:
        raise ValueError(f"unknown ISO 3166-1 alpha-2 country code: {value[:10]!r}")
    return upper


CountryCode = Annotated[str, AfterValidator(check_country)]


def _aware_utc(value: datetime) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("timestamps must carry a timezone")
    return value.astimezone(UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_aware_utc)]


def no_nul(value: str) -> str:
    # PostgreSQL text cannot hold NUL: a value carrying one would fail the page's transaction, not the record.
    if "\x00" in value:
        raise ValueError("must not contain a NUL character")
    return value


_no_nul = no_nul  # the name this module's own types use


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


class LineKind(StrEnum):
    """What a line sells, in the channel's words normalised."""

    PRODUCT = "product"
    CUSTOM = "custom"  # a custom item typed in at the channel, tied to no product
    GIFT_CARD = "gift_card"
    TIP = "tip"
    SERVICE = "service"  # needs no shipping: a digital good, shipping protection, an engraving fee


class OrderLine(BaseModel):
    """One line as sold. `sku` is the hub's SKU (channel SKU maps already applied by the mapper), None when the
    channel gives the line none. `unit_price` is the price of one unit; `subtotal`, when the channel reports
    the line's price as a whole, is that figure exactly (a unit price derived from it may not multiply back)."""

    model_config = ConfigDict(frozen=True)

    external_id: ExternalId
    sku: StoredSku | None = None
    requires_stock: bool = True
    kind: LineKind = LineKind.PRODUCT
    title: str = ""
    variant_title: str = ""
    quantity: Quantity
    unit_price: MoneyBag
    subtotal: MoneyBag | None = None  # the line before discounts, as reported
    total_discount: MoneyBag | None = None
    taxes: tuple[TaxLine, ...] = ()
    variant_id: str = ""
    product_id: str = ""

    @property
    def is_stock(self) -> bool:
        """True for a line the ledger reserves, commits and restocks."""
        return self.requires_stock and self.sku is not None

    @property
    def unmapped(self) -> bool:
        """True for a line that needs stock but has no SKU: its order waits for a SKU map entry."""
        return self.requires_stock and self.sku is None

    def label(self, position: int) -> str:
        """How a person finds the line: "line 2 'Purple Shirt - L'" (`position` counts from 1)."""
        name = self.display_name
        return f"line {position} {name!r}" if name else f"line {position} ({self.external_id})"

    @property
    def display_name(self) -> str:
        """The title with the variant's ("Guitar Pro3 - White"), as the customer saw it."""
        if self.variant_title and self.variant_title not in self.title:
            return f"{self.title} - {self.variant_title}" if self.title else self.variant_title
        return self.title


class Fee(BaseModel):
    """A charge on the order that is neither a product nor shipping: a WooCommerce fee line, a Shopify
    additional fee or duty. `kind` is "fee" or "duty"."""

    model_config = ConfigDict(frozen=True)

    external_id: str = ""
    kind: str = "fee"
    title: str = ""
    amount: MoneyBag
    taxes: tuple[TaxLine, ...] = ()


class ShippingLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    title: str = ""
    code: str = ""
    price: MoneyBag
    taxes: tuple[TaxLine, ...] = ()


class Totals(BaseModel):
    """Order figures as the channel reported them; none is recomputed by the hub.

    They are read as: `subtotal` (the lines before discounts) - `discount` (every discount, lines and shipping)
    + `shipping` (before discounts) + `fees` (+ `tax` unless the order's prices include tax) = `total`, what the
    customer pays. `outstanding` is what is still to be paid, when the channel says. The hub checks the sum on
    import (`channelhub.model.totals`) and records a mismatch as a warning on the order.
    """

    model_config = ConfigDict(frozen=True)

    subtotal: MoneyBag | None = None
    shipping: MoneyBag | None = None
    tax: MoneyBag | None = None
    discount: MoneyBag | None = None
    fees: MoneyBag | None = None
    total: MoneyBag
    outstanding: MoneyBag | None = None


class Refund(BaseModel):
    model_config = ConfigDict(frozen=True)

    external_id: str
    created_at: UtcDatetime
    amount: MoneyBag
    reason: str = ""
    lines: tuple[tuple[str, int], ...] = ()  # (line external_id, quantity)


class FulfilmentLine(BaseModel):
    model_config = ConfigDict(frozen=True)

    line_id: ExternalId  # the order line's external id
    quantity: Quantity


class ChannelShipment(BaseModel):
    """A fulfilment the channel reports it made itself (Shopify `fulfillments`, WooCommerce Shipment Tracking).
    The hub records it as a shipment (committing the stock of exactly those units) and never pushes it back.
    An empty `lines` means every unit of the order not yet shipped."""

    model_config = ConfigDict(frozen=True)

    external_id: ExternalId
    shipped_at: UtcDatetime
    carrier: str = ""
    service: str = ""
    tracking_numbers: tuple[str, ...] = ()
    tracking_urls: tuple[str, ...] = ()
    lines: tuple[FulfilmentLine, ...] = ()


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
    paid_at: UtcDatetime | None = None
    payment_method: str = ""  # the channel's id of the method (WooCommerce "cod", a Shopify gateway name)
    customer: Customer | None = None
    shipping_address: Address | None = None
    billing_address: Address | None = None
    lines: tuple[OrderLine, ...] = Field(min_length=1)
    shipping_lines: tuple[ShippingLine, ...] = ()
    fees: tuple[Fee, ...] = ()
    discounts: tuple[Discount, ...] = ()
    taxes: tuple[TaxLine, ...] = ()
    taxes_included: bool | None = None  # the channel's word: do its prices include tax? (None: not said)
    totals: Totals
    refunds: tuple[Refund, ...] = ()
    fulfillments: tuple[ChannelShipment, ...] = ()
    note: str = ""  # the merchant's note on the order
    customer_note: str = ""  # what the customer wrote at checkout
    tags: tuple[str, ...] = ()
    hold_reason: str = ""  # set by a mapper when the channel's status itself means "hold" (unknown status...)
    warnings: tuple[str, ...] = ()  # set by the hub on import: figures that do not add up, kept for people
    extra: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _lines_unique(self) -> Order:
        ids = [line.external_id for line in self.lines]
        if len(ids) != len(set(ids)):
            raise ValueError("order lines must have distinct external ids")
        return self

    @property
    def stock_lines(self) -> tuple[OrderLine, ...]:
        """The lines the ledger deals with (a SKU, stock required), in the order's order."""
        return tuple(line for line in self.lines if line.is_stock)

    def unmapped_reason(self) -> str:
        """Why the order must wait for a SKU map entry ("line 2 'Purple Shirt' has no SKU"), or ""."""
        missing = [line.label(i) for i, line in enumerate(self.lines, 1) if line.unmapped]
        if not missing:
            return ""
        shown = ", ".join(missing[:5]) + (f" (+{len(missing) - 5} more)" if len(missing) > 5 else "")
        verb = "has" if len(missing) == 1 else "have"
        return f"{shown} {verb} no SKU"

    def quantity_by_sku(self) -> dict[str, int]:
        """Units per SKU over the stock lines."""
        out: dict[str, int] = {}
        for line in self.lines:
            if line.sku is not None and line.requires_stock:
                out[line.sku] = out.get(line.sku, 0) + line.quantity
        return out

    @property
    def total_amount(self) -> Decimal:
        return self.totals.total.shop.amount
