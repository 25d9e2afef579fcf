"""Reading the two Shopify order shapes (GraphQL node, REST/webhook) into one neutral form for the mapper."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from channelhub.errors import MappingError
from channelhub.model.money import ISO_4217_CODES, Money, MoneyBag
from channelhub.model.orders import Address, Customer, OrderLine, Refund, ShippingLine, TaxLine, Totals


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
    """One order's fields, read from either shape, ready for `_build`."""

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
    applications: dict[int, tuple[str, str]] = field(default_factory=dict)  # index -> (kind, code or title)
    allocations: dict[int, list[MoneyBag]] = field(default_factory=dict)  # index -> allocated amounts


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def _nodes(value: Any) -> list[Any]:
    """A connection's nodes ({nodes: [...]} or {edges: [{node}]}) or a plain list."""
    if isinstance(value, list):
        return value
    if isinstance(value, Mapping):
        if isinstance(value.get("nodes"), list):
            return list(value["nodes"])
        if isinstance(value.get("edges"), list):
            return [edge.get("node") for edge in value["edges"]]
    return []


def _name(first: Any, last: Any) -> str:
    return " ".join(part for part in (_text(first).strip(), _text(last).strip()) if part)


@dataclass(frozen=True)
class _Keys:
    """Field names of one shape."""

    rest: bool

    def k(self, graphql: str, rest: str) -> str:
        return rest if self.rest else graphql


def _address(r: Reader, data: Any, path: str, keys: _Keys) -> Address | None:
    if not isinstance(data, Mapping) or not data:
        return None
    k = keys.k
    country = r.need(data, k("countryCodeV2", "country_code"), f"{path}.")
    try:
        return Address(
            name=_text(data.get("name"))
            or _name(data.get(k("firstName", "first_name")), data.get(k("lastName", "last_name"))),
            company=_text(data.get("company")),
            line1=_text(data.get("address1")),
            line2=_text(data.get("address2")),
            city=_text(data.get("city")),
            region=_text(data.get(k("provinceCode", "province_code"))),
            postal_code=_text(data.get("zip")),
            country=str(country),
            phone=_text(data.get("phone")),
        )
    except ValueError as exc:
        raise MappingError(f"bad address at {path}: {str(exc).splitlines()[-1].strip()}", where=r.where) from None


def _taxes(r: Reader, items: Any, path: str, keys: _Keys) -> list[TaxLine]:
    out = []
    for i, tax in enumerate(_nodes(items)):
        rate = tax.get("rate")
        out.append(
            TaxLine(
                title=_text(tax.get("title")),
                rate=None if rate is None else Decimal(str(rate)),
                amount=r.bag(tax.get(keys.k("priceSet", "price_set")), f"{path}[{i}].priceSet", rest=keys.rest),
            )
        )
    return out


def _allocations(r: Reader, items: Any, path: str, keys: _Keys, into: dict[int, list[MoneyBag]]) -> list[MoneyBag]:
    mine = []
    for i, alloc in enumerate(_nodes(items)):
        if keys.rest:
            bag = r.bag(alloc.get("amount_set"), f"{path}[{i}].amount_set", rest=True)
            index = int(alloc.get("discount_application_index", 0))
        else:
            bag = r.bag(alloc.get("allocatedAmountSet"), f"{path}[{i}].allocatedAmountSet", rest=False)
            index = int((alloc.get("discountApplication") or {}).get("index", 0))
        mine.append(bag)
        into.setdefault(index, []).append(bag)
    return mine


def _line(r: Reader, data: Mapping[str, Any], i: int, keys: _Keys, allocs: dict[int, list[MoneyBag]]) -> OrderLine:
    k, path = keys.k, f"{keys.k('lineItems', 'line_items')}[{i}]"
    line_id = numeric_id(r.need(data, "id", f"{path}."))
    sku = _text(data.get("sku")).strip()
    if not sku:
        raise MappingError(f"line {line_id} ({_text(data.get('title'))!r}) has no SKU", where=r.where)
    quantity = r.need(data, "quantity", f"{path}.")
    if keys.rest:
        variant, product = data.get("variant_id"), data.get("product_id")
    else:
        variant, product = (data.get("variant") or {}).get("id"), (data.get("product") or {}).get("id")
    mine = _allocations(
        r, data.get(k("discountAllocations", "discount_allocations")), f"{path}.discountAllocations", keys, allocs
    )
    return OrderLine(
        external_id=line_id,
        sku=sku,
        title=_text(data.get("title")),
        quantity=int(quantity),
        unit_price=r.bag(data.get(k("originalUnitPriceSet", "price_set")), f"{path}.unitPrice", rest=keys.rest),
        total_discount=_sum_bags(mine) if mine else None,
        taxes=tuple(_taxes(r, data.get(k("taxLines", "tax_lines")), f"{path}.taxLines", keys)),
        variant_id="" if variant is None else numeric_id(variant),
        product_id="" if product is None else numeric_id(product),
    )


def _sum_bags(bags: list[MoneyBag]) -> MoneyBag:
    total = bags[0]
    for bag in bags[1:]:
        pres = total.presentment + bag.presentment if total.presentment and bag.presentment else None
        total = MoneyBag(shop=total.shop + bag.shop, presentment=pres)
    return total


def _rest_refund(r: Reader, data: Mapping[str, Any], i: int, shop_currency: str) -> Refund:
    path = f"refunds[{i}]"
    paid = [
        t
        for t in data.get("transactions") or []
        if t.get("kind") == "refund" and t.get("status", "success") == "success"
    ]
    lines = data.get("refund_line_items") or []
    if paid:
        pres = r.money(
            sum((Decimal(str(t.get("amount", "0"))) for t in paid), Decimal(0)), paid[0].get("currency"), path
        )
    else:
        pres = None
    if pres is not None and pres.currency == shop_currency:
        shop = pres
    else:  # transactions in the customer's currency: the shop money is the refund lines' sets
        sets = [
            r.bag(ln.get(key), f"{path}.refund_line_items.{key}", rest=True)
            for ln in lines
            for key in ("subtotal_set", "total_tax_set")
            if ln.get(key)
        ]
        if not sets:
            raise MappingError(f"refund {data.get('id')} has no amount in the shop currency", where=r.where)
        shop = _sum_bags(sets).shop
    return Refund(
        external_id=numeric_id(r.need(data, "id", f"{path}.")),
        created_at=r.time(r.need(data, "created_at", f"{path}."), f"{path}.created_at"),
        amount=MoneyBag(shop=shop, presentment=pres),
        reason=_text(data.get("note")),
        lines=tuple((numeric_id(ln.get("line_item_id")), int(ln.get("quantity", 0))) for ln in lines),
    )


def _graphql_refund(r: Reader, data: Mapping[str, Any], i: int) -> Refund:
    path = f"refunds[{i}]"
    return Refund(
        external_id=numeric_id(r.need(data, "id", f"{path}.")),
        created_at=r.time(r.need(data, "createdAt", f"{path}."), f"{path}.createdAt"),
        amount=r.bag(data.get("totalRefundedSet"), f"{path}.totalRefundedSet", rest=False),
        reason=_text(data.get("note")),
        lines=tuple(
            (numeric_id((ln.get("lineItem") or {}).get("id")), int(ln.get("quantity", 0)))
            for ln in _nodes(data.get("refundLineItems"))
        ),
    )


def _read(
    data: Mapping[str, Any], r: Reader, keys: _Keys, refund: Callable[[Mapping[str, Any], int], Refund]
) -> Neutral:
    k, rest = keys.k, keys.rest
    need = r.need
    currency = str(need(data, k("currencyCode", "currency"))).upper()
    if currency not in ISO_4217_CODES:
        raise MappingError(f"unknown currency {currency!r}", where=r.where)
    pres_currency = data.get(k("presentmentCurrencyCode", "presentment_currency"))
    allocations: dict[int, list[MoneyBag]] = {}
    line_data = _nodes(need(data, k("lineItems", "line_items")))
    if not line_data:
        raise MappingError("an order without line items", where=r.where)
    lines = [_line(r, line, i, keys, allocations) for i, line in enumerate(line_data)]
    shipping = []
    for i, ship in enumerate(_nodes(data.get(k("shippingLines", "shipping_lines")))):
        path = f"shippingLines[{i}]"
        _allocations(
            r,
            ship.get(k("discountAllocations", "discount_allocations")),
            f"{path}.discountAllocations",
            keys,
            allocations,
        )
        shipping.append(
            ShippingLine(
                title=_text(ship.get("title")),
                code=_text(ship.get("code")),
                price=r.bag(ship.get(k("originalPriceSet", "price_set")), f"{path}.price", rest=rest),
                taxes=tuple(_taxes(r, ship.get(k("taxLines", "tax_lines")), f"{path}.taxLines", keys)),
            )
        )
    applications: dict[int, tuple[str, str]] = {}
    for i, app in enumerate(_nodes(data.get(k("discountApplications", "discount_applications")))):
        if rest:
            applications[i] = (_text(app.get("type")), _text(app.get("code") or app.get("title")))
        else:
            kind = DISCOUNT_KINDS.get(_text(app.get("__typename")), _text(app.get("__typename")))
            applications[int(app.get("index", i))] = (kind, _text(app.get("code") or app.get("title")))
    cust = data.get("customer")
    customer = None
    if isinstance(cust, Mapping) and cust.get("id") is not None:
        customer = Customer(
            external_id=numeric_id(cust["id"]),
            email=_text(cust.get("email") or data.get("email")),
            name=_name(cust.get(k("firstName", "first_name")), cust.get(k("lastName", "last_name"))),
            phone=_text(cust.get("phone")),
        )

    def bag(name: str, rest_name: str) -> MoneyBag | None:
        value = data.get(k(name, rest_name))
        return None if value is None else r.bag(value, name, rest=rest)

    total = bag("totalPriceSet", "total_price_set")
    if total is None:
        raise MappingError(f"missing field {k('totalPriceSet', 'total_price_set')}", where=r.where)
    cancelled = data.get(k("cancelledAt", "cancelled_at"))
    return Neutral(
        id=numeric_id(need(data, "id")),
        number=_text(data.get("name")),
        placed_at=r.time(need(data, k("createdAt", "created_at")), "createdAt"),
        updated_at=r.time(need(data, k("updatedAt", "updated_at")), "updatedAt"),
        cancelled_at=None if not cancelled else r.time(cancelled, "cancelledAt"),
        currency=currency,
        presentment_currency=None if pres_currency is None else str(pres_currency).upper(),
        financial=_text(need(data, k("displayFinancialStatus", "financial_status"))),
        fulfillment=_text(data.get(k("displayFulfillmentStatus", "fulfillment_status"))) or "unfulfilled",
        email=_text(data.get("email")),
        customer=customer,
        shipping_address=_address(r, data.get(k("shippingAddress", "shipping_address")), "shippingAddress", keys),
        billing_address=_address(r, data.get(k("billingAddress", "billing_address")), "billingAddress", keys),
        lines=lines,
        shipping_lines=shipping,
        taxes=_taxes(r, data.get(k("taxLines", "tax_lines")), "taxLines", keys),
        totals=Totals(
            subtotal=bag("subtotalPriceSet", "subtotal_price_set"),
            shipping=bag("totalShippingPriceSet", "total_shipping_price_set"),
            tax=bag("totalTaxSet", "total_tax_set"),
            discount=bag("totalDiscountsSet", "total_discounts_set"),
            total=total,
        ),
        refunds=[refund(item, i) for i, item in enumerate(data.get("refunds") or [])],
        applications=applications,
        allocations=allocations,
    )


DISCOUNT_KINDS = {
    "DiscountCodeApplication": "discount_code",
    "AutomaticDiscountApplication": "automatic",
    "ManualDiscountApplication": "manual",
    "ScriptDiscountApplication": "script",
}


def read_graphql(data: Mapping[str, Any], reader: Reader) -> Neutral:
    """A GraphQL Order node (connections as {nodes: [...]} or edges, or plain lists from a bulk result)."""
    return _read(data, reader, _Keys(rest=False), lambda item, i: _graphql_refund(reader, item, i))


def read_rest(data: Mapping[str, Any], reader: Reader) -> Neutral:
    """A REST / webhook order (snake_case)."""
    shop_currency = str(data.get("currency") or "").upper()
    return _read(data, reader, _Keys(rest=True), lambda item, i: _rest_refund(reader, item, i, shop_currency))
