"""The body of a marketplace order record: written by the parser, read by the mapper; one definition of the form.

    {"file": label, "layout": name, "columns": [header fields], "rows": [[line, [fields]], ...]}

The header is named once per record; a row keeps all its fields as split and stripped, so one with too many or
too few shows exactly that. A problem record also keeps the raw text of every physical line it covers, so it can
be split again once its layout is fixed:

    "header": raw header line, and each row as [line, [fields], [raw line, ...]]

where a raw line is its text as decoded (line break included), or {"base64": "..."} holding its exact bytes when
it is not valid in the encoding (backslash escapes would be ambiguous). Bodies stored before either form named
every column in every row: {"file", "layout", "rows": [{"line": n, "values": {column: text}}, ...]}.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from typing import Any

from channelhub_connectors.marketplace.layouts import EXTRA_PREFIX, Layout
from channelhub_connectors.marketplace.rows import Raw, RowSplitter

# One encoder for every body: json.dumps with options builds a new encoder per call, which shows in the hot path.
encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode


def raw_to_json(raw: Sequence[Raw]) -> list[str | dict[str, str]]:
    return [line if isinstance(line, str) else {"base64": base64.b64encode(line).decode("ascii")} for line in raw]


def raw_from_json(items: Any) -> list[Raw]:
    """The raw lines of a stored row; ValueError when they are not in the form above."""
    if not isinstance(items, list):
        raise ValueError("raw lines must be a list")
    lines: list[Raw] = []
    for item in items:
        if isinstance(item, str):
            lines.append(item)
        elif isinstance(item, dict) and isinstance(item.get("base64"), str):
            lines.append(base64.b64decode(item["base64"], validate=True))
        else:
            raise ValueError(f"a raw line must be text or {{'base64': ...}}, not {type(item).__name__}")
    return lines


def head(label: str, layout: str, columns: list[str], header: Raw | None = None) -> str:
    """The start of every body of one file, up to the rows (the same for each of its records)."""
    fields: dict[str, Any] = {"file": label, "layout": layout, "columns": columns}
    if header is not None:
        fields["header"] = raw_to_json([header])[0]
    return encode(fields)[:-1] + ',"rows":'


def loads(text: str) -> dict[str, Any]:
    body = json.loads(text)
    if not isinstance(body, dict):
        raise ValueError("a record body must be a JSON object")
    return body


# -- reading (the mapper) ------------------------------------------------------------------------------------


class RowRefused(ValueError):
    """A stored row that the parser would refuse as it is now (field count, a required column, a broken line)."""


class BodyRows:
    """A record's rows as {canonical field: stripped text} (empty text where a row has none), with their lines.

    Reads every form above. A row that keeps its raw lines is split again from them with the layout as it is
    now (its delimiter and quoting; the header too, when kept), so a record quarantined under a wrong layout
    maps once the layout is fixed. In the compact forms a row must hold as many fields as the header and fill
    the layout's required columns, as the parser demands, so a replay never imports a row the parser would
    refuse: RowRefused otherwise (naming the line when the record has several rows).
    """

    def __init__(self, body: dict[str, Any], layout: Layout, encoding: str = "utf-8") -> None:
        self.lines: list[int] = []
        self.values: list[dict[str, str]] = []
        self.several = len(body["rows"]) > 1  # whether a reason must name its line
        # Whether the layout maps any column to Order.extra (most do not: then no row is searched for one).
        self.extras = _has_extras(layout)
        columns = body.get("columns")
        if columns is None:
            self._named_rows(body["rows"], layout)
            return
        if "header" in body:
            columns = _split_header(body["header"], layout, encoding)
        header = _header(layout, columns)
        if header.missing:
            raise RowRefused(f"header lacks required column(s) {', '.join(map(repr, header.missing))} of layout "
                             f"{layout.name!r}")  # fmt: skip
        width = len(columns)
        for row in body["rows"]:
            line, fields = int(row[0]), row[1]
            if len(row) > 2 and row[2]:
                for again_line, again in self._split_again(row[2], line, layout, encoding, width):
                    self._add(again_line, again, header)
                continue
            if len(fields) != width:
                raise RowRefused(f"{self.at(line)}expected {width} fields, found {len(fields)}")
            try:  # the parser's fields: text, already stripped ("".join refuses anything but text)
                "".join(fields)
            except TypeError:  # written some other way: take any value as text
                fields = [_text(field) for field in fields]
            self._add(line, fields, header)

    def at(self, line: int) -> str:
        """The prefix naming `line` in a reason ("line 7: ") when the record has several rows; else nothing, as
        the record's source names its line."""
        return f"line {line}: " if self.several else ""

    def _split_again(
        self, items: Any, line: int, layout: Layout, encoding: str, width: int
    ) -> list[tuple[int, list[str]]]:
        """A stored row's raw lines split with the layout as it is now: one row, or several (a row of several
        lines whose quoting the layout no longer has), each of `width` fields."""
        lines = raw_from_json(items)
        splitter = RowSplitter(layout, encoding)
        splitter.width = width
        rows = []
        for start, _end, fields, _raw, problem in splitter.rows(lines, first_line=line):
            where = f"line {start}: " if len(lines) > 1 else self.at(start)
            if problem is not None:
                raise RowRefused(f"{where}{problem[1]}")
            if len(fields) != width:
                raise RowRefused(f"{where}expected {width} fields, found {len(fields)}")
            rows.append((start, fields))
        return rows

    def _add(self, line: int, fields: list[str], header: _Header) -> None:
        values: dict[str | None, str] = dict(zip(header.names, fields))  # noqa: B905 - widths checked
        values.pop(None, None)  # the header's columns the layout does not map
        if not all(map(values.get, header.required_names)):  # the check, in C; the reason only when it fails
            for name, column in header.required:
                if not values.get(name):
                    raise RowRefused(f"{self.at(line)}required column {column!r} is empty")
        self.lines.append(line)
        self.values.append(values)  # type: ignore[arg-type]  # no None key left

    def _named_rows(self, rows: list[dict[str, Any]], layout: Layout) -> None:
        columns = layout.columns.items()
        for row in rows:
            raw = row["values"]
            self.lines.append(int(row["line"]))
            values = {name: _text(raw.get(column)) for column, name in columns}
            self.values.append({name: value for name, value in values.items() if value})

    def first(self, name: str) -> str:
        for values in self.values:
            if values.get(name):
                return values[name]
        return ""


def _split_header(item: Any, layout: Layout, encoding: str) -> list[str]:
    for _start, _end, fields, _raw, problem in RowSplitter(layout, encoding).rows(raw_from_json([item])):
        if problem is not None:
            raise RowRefused(f"header: {problem[1]}")
        return fields
    raise RowRefused("header: the kept header line is blank")


def _text(value: Any) -> str:
    return "" if value is None else str(value).strip()


class _Header:
    """What a file's header means under a layout: each column's canonical name (None where the layout maps none
    or repeats it), the (name, column) pairs a row must fill, the required columns it lacks."""

    __slots__ = ("layout", "missing", "names", "required", "required_names")

    def __init__(self, layout: Layout, columns: list[str]) -> None:
        self.layout = layout  # kept so that a recycled id() never matches in the cache
        self.names: list[str | None] = []
        seen: set[str] = set()
        for column in columns:
            name = layout.columns.get(str(column))
            self.names.append(name if name is not None and name not in seen else None)  # repeated: the first
            if name is not None:
                seen.add(name)
        present = {str(column) for column in columns}
        self.missing = [column for column in layout.required if column not in present]
        self.required = [(layout.columns[column], column) for column in layout.required if column in present]
        self.required_names = [name for name, _column in self.required]


# (id(layout), header) -> its _Header: built once per file instead of once per row.
_HEADERS: dict[tuple[int, tuple[str, ...]], _Header] = {}


def _header(layout: Layout, columns: list[str]) -> _Header:
    key = (id(layout), tuple(columns))
    cached = _HEADERS.get(key)
    if cached is not None and cached.layout is layout:
        return cached
    if len(_HEADERS) > 64:
        _HEADERS.clear()
    header = _HEADERS[key] = _Header(layout, columns)
    return header


def _has_extras(layout: Layout) -> bool:
    found = _EXTRAS.get(id(layout))
    if found is None or found[0] is not layout:
        if len(_EXTRAS) > 64:
            _EXTRAS.clear()
        found = _EXTRAS[id(layout)] = (layout, any(name.startswith(EXTRA_PREFIX) for name in layout.columns.values()))
    return found[1]


_EXTRAS: dict[int, tuple[Layout, bool]] = {}
