"""A marketplace RawRecord (the rows of one order, as parsed) -> the canonical Order. Pure: no I/O.

Rules, in the words of the layouts:

- The rows are read from the record's body (`body.BodyRows`): a problem record being replayed is split again
  from the raw lines it keeps, with the layout as it is now, and a row the parser would refuse (a field count
  that is not the header's, an empty required column) is a MappingError, never a short order.
- One OrderLine per row. Its external id is the row's `line_id`, else the SKU (or `<sku>#<n>` when an order
  repeats a SKU). Its SKU is the channel SKU mapped through the channel's SKU map.
- Unit price: `unit_price`; else `line_price / quantity` (Amazon's item-price is the line's price); else 0 (the
  unshipped-orders report carries no prices). `line_tax` and `line_discount` are the line's. Shipping is the sum of
  the rows' `shipping_price` (Amazon repeats shipping per item) with `shipping_tax`.
- Totals are the channel's `order_total` when the file has it, else subtotal + shipping - discount, plus tax
  unless the layout's prices include tax.
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
from channelhub.ports import RawRecord

ZERO = Decimal(0)


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

    def date(text: str) -> datetime:
        return parse_datetime(text, layout.date_formats, layout.timezone)

    order_id = rows.first("order_id")
    placed_text = rows.first("placed_at")
    if not placed_text:
        raise ValueError("no order date (placed_at)")
    placed_at = date(placed_text)
    updated_text = rows.first("updated_at")
    updated_at = (placed_at if updated_text == placed_text else date(updated_text)) if updated_text else placed_at

    lines: list[dict[str, Any]] = []
    subtotal = line_tax_total = discount_total = shipping_total = shipping_tax_total = ZERO
    has_shipping = False
    sku_count: dict[str, int] = {}
    for line_number, values in zip(rows.lines, rows.values, strict=True):
        channel_sku = values.get("sku", "")
        if not channel_sku:
            raise ValueError(f"{rows.at(line_number)}no sku")
        try:
            quantity = parse_int(values.get("quantity", "") or "0")
        except ValueError as exc:
            raise ValueError(f"{rows.at(line_number)}quantity: {exc}") from None
        if quantity <= 0:
            raise ValueError(f"{rows.at(line_number)}quantity must be positive, not {quantity}")
        # Empty cells (most optional amounts of most rows) are skipped without a call.
        get = values.get
        line_price = _amount(text, "line_price", rows, line_number) if (text := get("line_price")) else None
        unit_price = _amount(text, "unit_price", rows, line_number) if (text := get("unit_price")) else None
        if unit_price is None:
            unit_price = line_price / quantity if line_price is not None else ZERO
        line_total = line_price if line_price is not None else unit_price * quantity
        tax = _amount(text, "line_tax", rows, line_number) if (text := get("line_tax")) else None
        discount = _amount(text, "line_discount", rows, line_number) if (text := get("line_discount")) else None
        shipping = _amount(text, "shipping_price", rows, line_number) if (text := get("shipping_price")) else None
        shipping_tax = _amount(text, "shipping_tax", rows, line_number) if (text := get("shipping_tax")) else None
        subtotal += line_total
        if tax is not None:
            line_tax_total += tax
        if discount is not None:
            discount_total += discount
        if shipping is not None or shipping_tax is not None:
            has_shipping = True
            shipping_total += shipping or ZERO
            shipping_tax_total += shipping_tax or ZERO
        seen = sku_count[channel_sku] = sku_count.get(channel_sku, 0) + 1
        external_id = values.get("line_id") or (channel_sku if seen == 1 else f"{channel_sku}#{seen}")
        lines.append(
            {
                "external_id": external_id,
                "sku": sku_map.get(channel_sku, channel_sku),
                "title": values.get("title", ""),
                "quantity": quantity,
                "unit_price": bag(unit_price),
                "total_discount": bag(discount) if discount is not None else None,
                "taxes": ({"title": "tax", "amount": bag(tax)},) if tax is not None else (),
                "variant_id": channel_sku,
            }
        )

    shipping_lines: tuple[dict[str, Any], ...] = ()
    if has_shipping:
        taxes = ({"title": "shipping tax", "amount": bag(shipping_tax_total)},) if shipping_tax_total else ()
        shipping_lines = ({"title": rows.first("ship_service"), "price": bag(shipping_total), "taxes": taxes},)
    tax_total = line_tax_total + shipping_tax_total
    total_text = rows.values[0].get("order_total")
    order_total = _amount(total_text, "order_total", rows, rows.lines[0]) if total_text else None
    if order_total is None:
        order_total = subtotal + shipping_total - discount_total + (ZERO if layout.prices_include_tax else tax_total)

    status_word = rows.first("status")
    financial, cancelled, hold_reason = _status(status_word, layout)
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
            "customer": _customer(rows),
            "shipping_address": _address(rows),
            "lines": lines,
            "shipping_lines": shipping_lines,
            "totals": {
                "subtotal": bag(subtotal),
                "shipping": bag(shipping_total) if has_shipping else None,
                "tax": bag(tax_total),
                "discount": bag(discount_total) if discount_total else None,
                "total": bag(order_total),
            },
            "hold_reason": hold_reason,
            "extra": _extra(rows, lines),
        }
    )


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
