"""Reading the two Shopify order shapes (GraphQL node, REST/webhook) into one neutral form for the mapper: the
parts both shapes share (JSON, ids, money, addresses, tax lines, discount allocations). Lines are read in
`read_lines`, fees, fulfilments and refunds in `read_extras`, the order itself in `read_order`."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from channelhub.errors import MappingError
from channelhub.model.money import ISO_4217_CODES, Money, MoneyBag
from channelhub.model.orders import (
    Address,
    ChannelShipment,
    Customer,
    Fee,
    OrderLine,
    Refund,
    ShippingLine,
    TaxLine,
    Totals,
)


def loads(body: str | bytes) -> Any:
    """JSON with every non-integer number as Decimal (money and rates never pass through float)."""
    return json.loads(body, parse_float=Decimal)


def numeric_id(value: Any) -> str:
    """'gid://shopify/Order/450789469' or 450789469 -> '450789469'."""
    text = str(value)
    return text.rsplit("/", 1)[-1].split("?", 1)[0]


class Reader:
    """Reads one payload's fields, raising MappingError that names the order and the field."""

    def __init__(self, where: str) -> None:
        self.where = where

    def need(self, data: Mapping[str, Any] | None, key: str, path: str = "") -> Any:
        value = None if data is None else data.get(key)
        if value is None or value == "":
            raise MappingError(f"missing field {path + key}", where=self.where)
        return value

    def money(self, amount: Any, currency: Any, path: str) -> Money:
        code = str(currency or "").upper()
        if code not in ISO_4217_CODES:
            raise MappingError(f"unknown currency {currency!r} at {path}", where=self.where)
        try:
            return Money(amount=str(amount), currency=code)
        except ValueError as exc:
            raise MappingError(f"bad amount {amount!r} at {path}: {exc}", where=self.where) from None

    def bag(self, data: Any, path: str, *, rest: bool) -> MoneyBag:
        if not isinstance(data, Mapping):
            raise MappingError(f"missing field {path}", where=self.where)
        shop_key, pres_key, cur_key = (
            ("shop_money", "presentment_money", "currency_code")
            if rest
            else ("shopMoney", "presentmentMoney", "currencyCode")
        )
        shop = data.get(shop_key)
        if not isinstance(shop, Mapping):
            raise MappingError(f"missing field {path}.{shop_key}", where=self.where)
        out_shop = self.money(shop.get("amount"), shop.get(cur_key), f"{path}.{shop_key}")
        pres = data.get(pres_key)
        out_pres = (
            self.money(pres.get("amount"), pres.get(cur_key), f"{path}.{pres_key}")
            if isinstance(pres, Mapping)
            else None
        )
        return MoneyBag(shop=out_shop, presentment=out_pres)

    def time(self, value: Any, path: str) -> datetime:
        try:
            parsed = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError:
            raise MappingError(f"not a timestamp at {path}: {value!r}", where=self.where) from None
        if parsed.tzinfo is None:
            raise MappingError(f"timestamp without timezone at {path}: {value!r}", where=self.where)
        return parsed


@dataclass
class Neutral:
    """One order's fields, read from either shape, ready for the mapper's `_build`."""

    id: str
    number: str
    placed_at: datetime
    updated_at: datetime
    cancelled_at: datetime | None
    currency: str
    presentment_currency: str | None
    financial: str
    fulfillment: str
    email: str
    customer: Customer | None
    shipping_address: Address | None
    billing_address: Address | None
    lines: list[OrderLine]
    shipping_lines: list[ShippingLine]
    taxes: list[TaxLine]
    totals: Totals
    refunds: list[Refund]
    fees: list[Fee] = field(default_factory=list)
    fulfillments: list[ChannelShipment] = field(default_factory=list)
    taxes_included: bool | None = None
    note: str = ""
    tags: tuple[str, ...] = ()
    payment_method: str = ""
    applications: dict[int, tuple[str, str]] = field(default_factory=dict)  # index -> (kind, code or title)
    allocations: dict[int, list[MoneyBag]] = field(default_factory=dict)  # index -> allocated amounts


def text(value: Any) -> str:
    return "" if value is None else str(value)


def nodes(value: Any) -> list[Any]:
    """A connection's nodes ({nodes: [...]} or {edges: [{node}]}) or a plain list."""
    if isinstance(value, list):
        return value
    if isinstance(value, Mapping):
        if isinstance(value.get("nodes"), list):
            return list(value["nodes"])
        if isinstance(value.get("edges"), list):
            return [edge.get("node") for edge in value["edges"]]
    return []


def full_name(first: Any, last: Any) -> str:
    return " ".join(part for part in (text(first).strip(), text(last).strip()) if part)


@dataclass(frozen=True)
class Keys:
    """Field names of one shape."""

    rest: bool

    def k(self, graphql: str, rest: str) -> str:
        return rest if self.rest else graphql


def address(r: Reader, data: Any, path: str, keys: Keys) -> Address | None:
    if not isinstance(data, Mapping) or not data:
        return None
    k = keys.k
    country = r.need(data, k("countryCodeV2", "country_code"), f"{path}.")
    try:
        return Address(
            name=text(data.get("name"))
            or full_name(data.get(k("firstName", "first_name")), data.get(k("lastName", "last_name"))),
            company=text(data.get("company")),
            line1=text(data.get("address1")),
            line2=text(data.get("address2")),
            city=text(data.get("city")),
            region=text(data.get(k("provinceCode", "province_code"))),
            postal_code=text(data.get("zip")),
            country=str(country),
            phone=text(data.get("phone")),
        )
    except ValueError as exc:
        raise MappingError(f"bad address at {path}: {str(exc).splitlines()[-1].strip()}", where=r.where) from None


def taxes(r: Reader, items: Any, path: str, keys: Keys) -> list[TaxLine]:
    out = []
    for i, tax in enumerate(nodes(items)):
        rate = tax.get("rate")
        out.append(
            TaxLine(
                title=text(tax.get("title")),
                rate=None if rate is None else Decimal(str(rate)),
                amount=r.bag(tax.get(keys.k("priceSet", "price_set")), f"{path}[{i}].priceSet", rest=keys.rest),
            )
        )
    return out


def allocations(r: Reader, items: Any, path: str, keys: Keys, into: dict[int, list[MoneyBag]]) -> list[MoneyBag]:
    mine = []
    for i, alloc in enumerate(nodes(items)):
        if keys.rest:
            bag = r.bag(alloc.get("amount_set"), f"{path}[{i}].amount_set", rest=True)
            index = int(alloc.get("discount_application_index", 0))
        else:
            bag = r.bag(alloc.get("allocatedAmountSet"), f"{path}[{i}].allocatedAmountSet", rest=False)
            index = int((alloc.get("discountApplication") or {}).get("index", 0))
        mine.append(bag)
        into.setdefault(index, []).append(bag)
    return mine


def sum_bags(bags: list[MoneyBag]) -> MoneyBag:
    total = bags[0]
    for bag in bags[1:]:
        pres = total.presentment + bag.presentment if total.presentment and bag.presentment else None
        total = MoneyBag(shop=total.shop + bag.shop, presentment=pres)
    return total


def times(bag: MoneyBag, quantity: int) -> MoneyBag:
    """A unit price times a quantity, in both currencies."""
    pres = None if bag.presentment is None else bag.presentment * quantity
    return MoneyBag(shop=bag.shop * quantity, presentment=pres)


def is_zero(bag: MoneyBag | None) -> bool:
    return bag is None or bag.shop.amount == 0
