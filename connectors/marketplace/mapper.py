"""A marketplace RawRecord (the rows of one order, as parsed) -> the canonical Order. Pure: no I/O.

Rules, in the words of the layouts:

- The rows are read from the record's body (`body.BodyRows`): a problem record being replayed is split again
  from the raw lines it keeps, with the layout as it is now, and a row the parser would refuse (a field count
  that is not the header's, an empty required column) is a MappingError, never a short order.
- One OrderLine per row. Its external id is the row's `line_id`, else the SKU (or `<sku>#<n>` when an order
  repeats a SKU), else (a row with no SKU) its position `#<n>`. Its SKU is `ports.hub_sku` of the channel SKU
  (a row without one maps by `title:<title>`); None when nothing gives one: the order maps, and the core holds
  it naming the line, until a SKU map entry is added and it is replayed.
- Figures are kept exactly as reported: a reported 0.00 stays Decimal("0.00"), a sub-cent tax (38.115) is not
  rounded, and a figure no row reports is None (never a made-up 0). Sums keep the exponent (0.00 + 0.00 = 0.00).
- Unit price: `unit_price`; else `line_price / quantity` (Amazon's item-price is the line's price, kept as the
  line's `subtotal`); else 0 (the unshipped-orders report carries no prices). `line_tax` and `line_discount`
  are the line's. Shipping is the sum of the rows' `shipping_price` (Amazon repeats shipping per item) with
  `shipping_tax`. Order.taxes holds one TaxLine per kind reported (item tax, shipping tax), summed over rows.
- Totals (read as `channelhub.model.totals` reads them): subtotal = the lines' reported totals (`line_price`,
  else unit price x quantity); the total is the channel's `order_total` when the file has it, else
  subtotal - discount + shipping, plus tax unless the layout's `prices_include_tax` (which is also
  Order.taxes_included).
- Dates: `placed_at` (required); `updated_at`, else placed_at; `paid_at` (Amazon's payments-date), else None.
- People: the buyer's email, name and phone (Customer), the ship-to address with its phone (Address).
- Currency: the rows' `currency` (all rows must agree), else the channel's `currency` setting, else the
  layout's `default_currency`; none of them is a MappingError.
- Status: the rows' `status` through the layout's status map; no status is the layout's `default_status` (paid
  for marketplace files: the marketplace took the payment). A word the map lacks puts the order on hold with the
  reason. "cancelled" means a voided payment and a cancelled order.
- Fields mapped to `extra.<name>` land in Order.extra: one value when every row agrees, else per line id.
- A reason names its line ("line 7: ...") only when the record has several rows; the engine shows it after the
  record's source, which names the lines.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from channelhub_connectors.marketplace import body as bodies
from channelhub_connectors.marketplace.body import BodyRows, RowRefused
from channelhub_connectors.marketplace.layouts import EXTRA_PREFIX, Layout
from channelhub_connectors.marketplace.values import parse_currency, parse_datetime, parse_decimal, parse_int
from pydantic import ValidationError

from channelhub.errors import ConfigError, MappingError
from channelhub.model import ChannelFulfillment, FinancialStatus, Order
from channelhub.ports import RawRecord, hub_sku

ZERO = Decimal(0)
ITEM_TAX = "item tax"
SHIPPING_TAX = "shipping tax"


def map_order(
    record: RawRecord,
    *,
    channel: str,
    layouts: Callable[[str], Layout],
    sku_map: Mapping[str, str],
    currency: str | None,
    encoding: str = "utf-8",
) -> Order:
    """Map one record; MappingError (where = the record's source) when it cannot be.

    `encoding` decodes the raw lines a problem record keeps as bytes (they were not valid in the encoding of the
    channel when it was read; a replay after fixing the setting reads them in the new one)."""
    where = record.source
    if record.problem:
        raise MappingError(record.problem, where=where)
    try:
        body = bodies.loads(record.body)
        layout = layouts(str(body["layout"]))
        if layout.kind != "orders":
            raise MappingError(f"layout {layout.name!r} describes {layout.kind}, not orders", where=where)
        rows = BodyRows(body, layout, encoding)
    except ConfigError as exc:
        raise MappingError(f"cannot map with this record's layout: {exc}", where=where) from None
    except RowRefused as exc:
        raise MappingError(str(exc), where=where) from None
    except (ValueError, KeyError, TypeError) as exc:
        raise MappingError(f"not a marketplace order record ({exc})", where=where) from None
    if not rows.values:
        raise MappingError("the record holds no rows", where=where)
    try:
        return _build(rows, layout, channel=channel, sku_map=sku_map, currency=currency)
    except ValidationError as exc:
        reasons = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'order'}: {err['msg']}" for err in exc.errors()[:5]
        )
        raise MappingError(reasons, where=where) from None
    except ValueError as exc:
        raise MappingError(str(exc), where=where) from None


def _build(rows: BodyRows, layout: Layout, *, channel: str, sku_map: Mapping[str, str], currency: str | None) -> Order:
    # The order is assembled as plain data and validated by ONE Order.model_validate call: the same checks as
    # constructing each nested model, without a Python-level constructor call per MoneyBag and line.
    code = _currency(rows, layout, currency)

    def bag(amount: Decimal) -> dict[str, Any]:
        return {"shop": {"amount": amount, "currency": code}}

    placed_at, updated_at, paid_at = _dates(rows, layout)
    lines, sums = _read_lines(rows, sku_map, bag)
    status_word = rows.first("status")
    financial, cancelled, hold_reason = _status(status_word, layout)
    order_id = rows.first("order_id")
    return Order.model_validate(
        {
            "channel": channel,
            "external_id": order_id,
            "number": rows.first("order_number") or order_id,
            "placed_at": placed_at,
            "updated_at": max(updated_at, placed_at),
            "currency": code,
            "financial_status": financial,
            "fulfillment": ChannelFulfillment.UNFULFILLED,
            "cancelled_at": updated_at if cancelled else None,
            "channel_status": status_word,
            "paid_at": paid_at,
            "customer": _customer(rows),
            "shipping_address": _address(rows),
            "lines": lines,
            "shipping_lines": _shipping_lines(sums, rows, bag),
            "taxes": _order_taxes(sums, bag),
            "taxes_included": layout.prices_include_tax,
            "totals": _totals(sums, rows, layout, bag),
            "hold_reason": hold_reason,
            "extra": _extra(rows, lines),
        }
    )


Bag = Callable[[Decimal], dict[str, Any]]


def _plus(total: Decimal | None, value: Decimal | None) -> Decimal | None:
    """`total` + `value`, where None is a figure never reported (None + None stays None). Decimal addition keeps
    the finer exponent: 0.00 + 0.00 is 0.00, 1.5 + 0.25 is 1.75."""
    if value is None:
        return total
    return value if total is None else total + value


@dataclass
class _Sums:
    """The order's figures summed over its rows; None where no row reported the figure."""

    subtotal: Decimal | None = None  # the lines' reported totals (line_price), else unit_price x quantity
    item_tax: Decimal | None = None
    discount: Decimal | None = None
    shipping: Decimal | None = None
    shipping_tax: Decimal | None = None


def _dates(rows: BodyRows, layout: Layout) -> tuple[datetime, datetime, datetime | None]:
    """(placed, updated, paid) of the order; updated is placed when the file has no update date."""

    def date(text: str) -> datetime:
        return parse_datetime(text, layout.date_formats, layout.timezone)

    placed_text = rows.first("placed_at")
    if not placed_text:
        raise ValueError("no order date (placed_at)")
    placed_at = date(placed_text)
    updated_text = rows.first("updated_at")
    updated_at = (placed_at if updated_text == placed_text else date(updated_text)) if updated_text else placed_at
    paid_text = rows.first("paid_at")
    paid_at = (placed_at if paid_text == placed_text else date(paid_text)) if paid_text else None
    return placed_at, updated_at, paid_at


def _read_lines(rows: BodyRows, sku_map: Mapping[str, str], bag: Bag) -> tuple[list[dict[str, Any]], _Sums]:
    """One line per row, and the figures of all of them summed as reported.

    A line's external id is the row's `line_id`; else its SKU (`<sku>#<n>` when the order repeats it); else,
    for a row with no SKU, its place in the order (`#<position>`, counted from 1)."""
    lines: list[dict[str, Any]] = []
    sums = _Sums()
    sku_count: dict[str, int] = {}
    for position, (line_number, values) in enumerate(zip(rows.lines, rows.values, strict=True), 1):
        channel_sku = values.get("sku", "")
        if channel_sku:
            seen = sku_count[channel_sku] = sku_count.get(channel_sku, 0) + 1
            fallback_id = channel_sku if seen == 1 else f"{channel_sku}#{seen}"
        else:
            fallback_id = f"#{position}"
        line = _read_line(values, rows, line_number, sums, bag)
        title = line["title"]
        line["external_id"] = values.get("line_id") or fallback_id
        line["sku"] = hub_sku(sku_map, channel_sku, title=title)  # None: the core holds the order, naming the line
        line["variant_id"] = channel_sku
        lines.append(line)
    return lines, sums


def _read_line(values: Mapping[str, str], rows: BodyRows, line_number: int, sums: _Sums, bag: Bag) -> dict[str, Any]:
    """A row's quantity and figures as an OrderLine's fields (all but its ids and SKU), added to `sums`.

    Unit price: `unit_price` as reported, else `line_price / quantity` (Amazon's item-price is the line's), else
    0 (the unshipped-orders report has no prices). The line's `subtotal` is `line_price` exactly as reported:
    a derived unit price (1.29 / 2 = 0.645) need not multiply back to it."""
    try:
        quantity = parse_int(values.get("quantity", "") or "0")
    except ValueError as exc:
        raise ValueError(f"{rows.at(line_number)}quantity: {exc}") from None
    if quantity <= 0:
        raise ValueError(f"{rows.at(line_number)}quantity must be positive, not {quantity}")
    line_price = _cell_amount(values, "line_price", rows, line_number)
    unit_price = _cell_amount(values, "unit_price", rows, line_number)
    if unit_price is None:
        line_total = line_price
        unit_price = line_price / quantity if line_price is not None else ZERO
    else:
        line_total = line_price if line_price is not None else unit_price * quantity
    tax = _cell_amount(values, "line_tax", rows, line_number)
    discount = _cell_amount(values, "line_discount", rows, line_number)
    sums.subtotal = _plus(sums.subtotal, line_total)
    sums.item_tax = _plus(sums.item_tax, tax)
    sums.discount = _plus(sums.discount, discount)
    sums.shipping = _plus(sums.shipping, _cell_amount(values, "shipping_price", rows, line_number))
    sums.shipping_tax = _plus(sums.shipping_tax, _cell_amount(values, "shipping_tax", rows, line_number))
    return {
        "title": values.get("title", ""),
        "quantity": quantity,
        "unit_price": bag(unit_price),
        "subtotal": bag(line_price) if line_price is not None else None,
        "total_discount": bag(discount) if discount is not None else None,
        "taxes": ({"title": ITEM_TAX, "amount": bag(tax)},) if tax is not None else (),
    }


def _shipping_lines(sums: _Sums, rows: BodyRows, bag: Bag) -> tuple[dict[str, Any], ...]:
    """One shipping line for the order when any row reports shipping (a price or a tax, a reported 0.00
    included), its tax as reported."""
    if sums.shipping is None and sums.shipping_tax is None:
        return ()
    taxes = ({"title": SHIPPING_TAX, "amount": bag(sums.shipping_tax)},) if sums.shipping_tax is not None else ()
    price = sums.shipping if sums.shipping is not None else ZERO
    return ({"title": rows.first("ship_service"), "price": bag(price), "taxes": taxes},)


def _order_taxes(sums: _Sums, bag: Bag) -> tuple[dict[str, Any], ...]:
    """The order's tax per kind (item tax, shipping tax), each summed over its rows; a kind no row reports is
    left out."""
    kinds = ((ITEM_TAX, sums.item_tax), (SHIPPING_TAX, sums.shipping_tax))
    return tuple({"title": title, "amount": bag(total)} for title, total in kinds if total is not None)


def _totals(sums: _Sums, rows: BodyRows, layout: Layout, bag: Bag) -> dict[str, Any]:
    """Totals as `channelhub.model.totals` reads them. The total is the file's `order_total` when it has one,
    else subtotal - discount + shipping (+ tax unless the layout's prices include it); a file with no prices at
    all (the unshipped-orders report) totals 0."""
    tax = _plus(sums.item_tax, sums.shipping_tax)
    total_text = rows.values[0].get("order_total")
    total = _amount(total_text, "order_total", rows, rows.lines[0]) if total_text else None
    if total is None:
        total = ZERO
        for figure in (sums.subtotal, sums.shipping, None if layout.prices_include_tax else tax):
            if figure is not None:
                total += figure
        if sums.discount is not None:
            total -= sums.discount

    def optional(amount: Decimal | None) -> dict[str, Any] | None:
        return bag(amount) if amount is not None else None

    return {
        "subtotal": optional(sums.subtotal),
        "shipping": optional(sums.shipping),
        "tax": optional(tax),
        "discount": optional(sums.discount),
        "total": bag(total),
    }


def _cell_amount(values: Mapping[str, str], name: str, rows: BodyRows, line_number: int) -> Decimal | None:
    """The amount in a row's cell `name`, or None when the cell is empty (most optional amounts of most rows,
    skipped without a parse). A reported 0.00 is Decimal("0.00"), exactly as written."""
    text = values.get(name)
    return _amount(text, name, rows, line_number) if text else None


def _amount(text: str, name: str, rows: BodyRows, line_number: int) -> Decimal:
    """The amount in `text`; ValueError naming the field (and the line, when the record has several)."""
    try:
        return parse_decimal(text)
    except ValueError as exc:
        raise ValueError(f"{rows.at(line_number)}{name}: {exc}") from None


def _currency(rows: BodyRows, layout: Layout, configured: str | None) -> str:
    found = {parse_currency(v["currency"]) for v in rows.values if v.get("currency")}
    if len(found) > 1:
        raise ValueError(f"rows of one order carry different currencies: {', '.join(sorted(found))}")
    if found:
        return found.pop()
    fallback = configured or layout.default_currency
    if fallback is None:
        raise ValueError(
            f"no currency: the rows carry none and neither the channel's `currency` setting nor layout "
            f"{layout.name!r} names a default"
        )
    return fallback


def _status(word: str, layout: Layout) -> tuple[FinancialStatus, bool, str]:
    """(financial status, cancelled?, hold reason) for the file's status word."""
    status = layout.default_status
    hold = ""
    if word:
        mapped = layout.status_map.get(word.lower())
        if mapped is None:
            return FinancialStatus.PENDING, False, f"unknown status {word!r} (not in status_map of {layout.name!r})"
        status = mapped
    if status == "cancelled":
        return FinancialStatus.VOIDED, True, hold
    return FinancialStatus(status), False, hold


def _customer(rows: BodyRows) -> dict[str, str] | None:
    email, name, phone = rows.first("buyer_email"), rows.first("buyer_name"), rows.first("buyer_phone")
    if not (email or name or phone):
        return None
    return {"email": email, "name": name, "phone": phone}


def _address(rows: BodyRows) -> dict[str, str] | None:
    country = rows.first("ship_country")
    if not country:
        return None
    first = rows.values[0]
    return {
        "name": first.get("ship_name", ""),
        "company": first.get("ship_company", ""),
        "line1": first.get("ship_address1", ""),
        "line2": first.get("ship_address2", ""),
        "line3": first.get("ship_address3", ""),
        "city": first.get("ship_city", ""),
        "region": first.get("ship_region", ""),
        "postal_code": first.get("ship_postcode", ""),
        "country": country,
        "phone": first.get("ship_phone", ""),
    }


def _extra(rows: BodyRows, lines: list[dict[str, Any]]) -> dict[str, Any]:
    extra: dict[str, Any] = {}
    if not rows.extras:
        return extra
    names = {name for values in rows.values for name in values if name.startswith(EXTRA_PREFIX)}
    for name in sorted(names):
        key = name.removeprefix(EXTRA_PREFIX)
        seen = [values.get(name, "") for values in rows.values]
        if len(set(seen)) == 1:
            if seen[0]:
                extra[key] = seen[0]
        else:
            extra[key] = {line["external_id"]: value for line, value in zip(lines, seen, strict=True) if value}
    return extra
