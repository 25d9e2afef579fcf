"""Flat-file layouts: YAML files that say which column is which canonical field, loaded and checked here.

A layout file (`<name>.yaml`, the name is the file's stem) declares:

    kind: orders | stock | shipments
    delimiter: "\\t"            one character
    quoting: false             true: CSV quoting ('"' encloses values); false: a '"' is plain data (Amazon)
    group_by: order-id         orders: the column holding the order id (rows sharing it are one order)
    columns: {column: field}   file column -> canonical field (the fields below, or `extra.<name>` for orders,
                               kept in Order.extra); for stock and shipments the order is the file's column order
    required: [column, ...]    the header must have these and every row must fill them (leave the SKU out: a row
                               without one maps, and the core holds its order naming the line)
    date_formats: [...]        strptime formats tried after ISO 8601
    timezone: UTC              the zone of dates that carry none
    default_currency: EUR      for files whose rows carry no currency (the channel's `currency` setting wins)
    default_status: paid       the financial status when a row has no status value
    status_map: {word: status} the file's status word (case-insensitive) -> paid, authorized, pending, refunded,
                               partially_refunded, voided or cancelled; a word not listed puts the order on hold
    prices_include_tax: false  whether item prices already include item tax: Order.taxes_included, and whether
                               the computed total adds the tax
    defaults: {column: value}  stock/shipments: the value written in a column the hub has nothing for
    carrier_codes: {name: code} shipments: the hub's carrier name (lower case) -> the channel's carrier code

Every problem is a ConfigError naming the YAML file and the key, so a merchant can fix the file.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import tzinfo
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from channelhub.errors import ConfigError
from channelhub.model.money import ISO_4217_CODES

LayoutKind = Literal["orders", "stock", "shipments"]

# Canonical fields per layout kind and how a value is checked when a row is parsed.
ORDER_FIELDS: dict[str, str] = {
    "order_id": "str",
    "order_number": "str",
    "line_id": "str",
    "placed_at": "datetime",
    "updated_at": "datetime",
    "paid_at": "datetime",
    "sku": "str",
    "title": "str",
    "quantity": "int",
    "unit_price": "decimal",
    "line_price": "decimal",
    "line_tax": "decimal",
    "line_discount": "decimal",
    "shipping_price": "decimal",
    "shipping_tax": "decimal",
    "order_total": "decimal",
    "currency": "currency",
    "status": "str",
    "buyer_name": "str",
    "buyer_email": "str",
    "buyer_phone": "str",
    "ship_name": "str",
    "ship_company": "str",
    "ship_address1": "str",
    "ship_address2": "str",
    "ship_address3": "str",
    "ship_city": "str",
    "ship_region": "str",
    "ship_postcode": "str",
    "ship_country": "str",
    "ship_phone": "str",
    "ship_service": "str",
}
STOCK_FIELDS: dict[str, str] = {
    "sku": "str",
    "price": "decimal",
    "quantity": "int",
    "handling_time": "int",
    "fulfillment_channel": "str",
}
SHIPMENT_FIELDS: dict[str, str] = {
    "order_id": "str",
    "line_id": "str",
    "quantity": "int",
    "ship_date": "datetime",
    "carrier_code": "str",
    "carrier_name": "str",
    "tracking_number": "str",
    "ship_method": "str",
}
FIELDS_BY_KIND: dict[str, dict[str, str]] = {
    "orders": ORDER_FIELDS,
    "stock": STOCK_FIELDS,
    "shipments": SHIPMENT_FIELDS,
}
# Fields a layout of each kind must map, or nothing useful can be read or written.
MANDATORY_FIELDS: dict[str, tuple[str, ...]] = {
    "orders": ("order_id", "placed_at", "sku", "quantity"),
    "stock": ("sku", "quantity"),
    "shipments": ("order_id", "ship_date", "tracking_number"),
}
STATUS_VALUES = frozenset({"paid", "authorized", "pending", "partially_paid", "refunded", "partially_refunded",
                           "voided", "cancelled"})  # fmt: skip
EXTRA_PREFIX = "extra."


class _LayoutFile(BaseModel):
    """The YAML document as written; unknown keys are refused (a typo must not be ignored)."""

    model_config = ConfigDict(extra="forbid")

    kind: LayoutKind
    description: str = ""
    delimiter: str = "\t"
    quoting: bool = False
    group_by: str | None = None
    columns: dict[str, str]
    required: list[str] = []
    date_formats: list[str] = []
    timezone: str = "UTC"
    default_currency: str | None = None
    default_status: str = "paid"
    status_map: dict[str, str] = {}
    prices_include_tax: bool = False
    defaults: dict[str, str] = {}
    carrier_codes: dict[str, str] = {}


@dataclass(frozen=True)
class Layout:
    """A checked layout. `columns` keeps the YAML order (the column order of files the hub writes)."""

    name: str
    path: Path
    kind: str
    description: str
    delimiter: str
    quoting: bool
    group_by: str | None
    columns: dict[str, str]
    required: tuple[str, ...]
    date_formats: tuple[str, ...]
    timezone: tzinfo
    default_currency: str | None
    default_status: str
    status_map: dict[str, str]
    prices_include_tax: bool
    defaults: dict[str, str] = field(default_factory=dict)
    carrier_codes: dict[str, str] = field(default_factory=dict)

    def field_type(self, column: str) -> str:
        """How values of `column` are checked: str, int, decimal, datetime or currency."""
        name = self.columns.get(column, "")
        return FIELDS_BY_KIND[self.kind].get(name, "str")

    def column_for(self, field_name: str) -> str | None:
        """The file column that carries a canonical field, or None when the layout does not map it."""
        for column, mapped in self.columns.items():
            if mapped == field_name:
                return column
        return None


def layout_search_path(mapping_dirs: Sequence[Path] = ()) -> list[Path]:
    """The folders searched for layouts: the channel's own first, then the shipped ones."""
    from channelhub_mappings import MAPPINGS_DIR

    return [*mapping_dirs, MAPPINGS_DIR]


def available_layouts(search_path: Iterable[Path]) -> dict[str, Path]:
    """Layout name -> file, the first folder that has a name winning."""
    found: dict[str, Path] = {}
    for folder in search_path:
        if not folder.is_dir():
            continue
        for path in sorted(folder.glob("*.yaml")):
            found.setdefault(path.stem, path)
    return found


def find_layout(name: str, search_path: Sequence[Path]) -> Layout:
    """Load the layout called `name` from the first folder that has `<name>.yaml`; ConfigError when none does."""
    known = available_layouts(search_path)
    if name not in known:
        folders = ", ".join(str(p) for p in search_path)
        names = ", ".join(sorted(known)) or "none"
        raise ConfigError(f"no layout named {name!r} in {folders} (known layouts: {names})", where="layout")
    return load_layout(known[name])


def load_layout(path: Path) -> Layout:
    """Read and check one layout file. Every problem is a ConfigError with `where` = "<file>: <key>"."""
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"cannot read layout: {exc.strerror or exc}", where=str(path)) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"not valid YAML: {exc}", where=str(path)) from None
    if not isinstance(document, dict):
        raise ConfigError("a layout must be a mapping of keys (kind, delimiter, columns, ...)", where=str(path))
    try:
        raw = _LayoutFile.model_validate(document)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(part) for part in first["loc"]) or "(top)"
        raise ConfigError(first["msg"], where=f"{path}: {key}") from None
    return _check(path, raw)


def _check(path: Path, raw: _LayoutFile) -> Layout:
    def fail(key: str, message: str) -> ConfigError:
        return ConfigError(message, where=f"{path}: {key}")

    if len(raw.delimiter) != 1 or raw.delimiter in '\r\n"':
        raise fail("delimiter", f"must be one character other than a quote or newline, not {raw.delimiter!r}")
    fields = FIELDS_BY_KIND[raw.kind]
    seen: dict[str, str] = {}
    for column, name in raw.columns.items():
        if not column:
            raise fail("columns", "a column name is empty")
        if raw.kind == "orders" and name.startswith(EXTRA_PREFIX) and len(name) > len(EXTRA_PREFIX):
            continue
        if name not in fields:
            allowed = ", ".join(fields) + (", extra.<name>" if raw.kind == "orders" else "")
            raise fail(f"columns.{column}", f"unknown {raw.kind} field {name!r} (known: {allowed})")
        if name in seen:
            raise fail(f"columns.{column}", f"field {name!r} is already mapped from column {seen[name]!r}")
        seen[name] = column
    missing = [name for name in MANDATORY_FIELDS[raw.kind] if name not in seen]
    if missing:
        raise fail("columns", f"a {raw.kind} layout must map the field(s) {', '.join(missing)}")
    for column in raw.required:
        if column not in raw.columns:
            raise fail("required", f"required column {column!r} is not listed under columns")
    if raw.kind == "orders":
        if raw.group_by is None:
            raise fail("group_by", "an orders layout must name the order id column")
        if raw.columns.get(raw.group_by) != "order_id":
            raise fail("group_by", f"column {raw.group_by!r} must be mapped to order_id under columns")
    elif raw.group_by is not None and raw.group_by not in raw.columns:
        raise fail("group_by", f"column {raw.group_by!r} is not listed under columns")
    try:
        zone: tzinfo = ZoneInfo(raw.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise fail("timezone", f"unknown time zone {raw.timezone!r}") from None
    currency = raw.default_currency.strip().upper() if raw.default_currency else None
    if currency is not None and currency not in ISO_4217_CODES:
        raise fail("default_currency", f"unknown ISO 4217 currency code {raw.default_currency!r}")
    if raw.default_status not in STATUS_VALUES:
        raise fail("default_status", f"must be one of {', '.join(sorted(STATUS_VALUES))}")
    for word, status in raw.status_map.items():
        if status not in STATUS_VALUES:
            raise fail(f"status_map.{word}", f"{status!r} is not one of {', '.join(sorted(STATUS_VALUES))}")
    for column in raw.defaults:
        if column not in raw.columns:
            raise fail(f"defaults.{column}", f"column {column!r} is not listed under columns")
    return Layout(
        name=path.stem,
        path=path,
        kind=raw.kind,
        description=raw.description,
        delimiter=raw.delimiter,
        quoting=raw.quoting,
        group_by=raw.group_by,
        columns=dict(raw.columns),
        required=tuple(raw.required),
        date_formats=tuple(raw.date_formats),
        timezone=zone,
        default_currency=currency,
        default_status=raw.default_status,
        status_map={str(k).strip().lower(): v for k, v in raw.status_map.items()},
        prices_include_tax=raw.prices_include_tax,
        defaults=dict(raw.defaults),
        carrier_codes={str(k).strip().lower(): v for k, v in raw.carrier_codes.items()},
    )
