"""Flat file bytes -> rows -> RawRecords, one record per order, streaming in bounded memory.

The file is read as raw lines, each decoded strictly in the configured encoding (a leading UTF-8 byte order
mark is dropped), then split into fields by the csv module. The first non-blank row is the header. Every later
row is checked against the layout: field count, required columns filled, whole numbers, decimal amounts,
currency codes, dates. A row that fails any check is malformed.

Rows are grouped by the layout's order id column into one record per order (an order's rows need not be
adjacent within a page). An order with any malformed row becomes ONE problem record holding all its rows, good
and bad: half an order is never imported. A malformed row with no order id becomes a problem record of its own.
A header that lacks a required column makes every row a problem record naming the missing columns; nothing is
dropped silently.

A record's `source` names the file and its lines ("inbox/a.csv lines 3-4"); its `problem` says only what is
wrong, since the engine shows it after the source. A problem names its line only when the record spans several
lines: "inbox/a.csv line 3: column 'quantity': 'two' is not a whole number", but "inbox/a.csv lines 3-4: line 4:
column 'quantity': ...; order M-2 is quarantined whole: ...".

Large files come as pages of at most `page_size` records, cut only where a new order starts. Rows of one order
must then be adjacent across the cut: rows of an order met again after its page was handed out become a
problem record of their own (with the reason), never a silent second half.

A record's body is what was read, compactly, enough to map (or replay) it alone:
`{"file": label, "layout": name, "columns": [header fields], "rows": [[line, [fields as split and stripped]], ...]}`
- the header once per record rather than every column name per row. A row keeps all its fields, so one with
too many or too few shows exactly that.
"""

from __future__ import annotations

import codecs
import csv
import io
import json
from collections.abc import Generator, Iterable, Iterator, Sequence

from channelhub_connectors.marketplace.layouts import Layout
from channelhub_connectors.marketplace.values import checker

from channelhub.ports import RawRecord

STREAM = "orders"
# One encoder for every body: json.dumps with options builds a new encoder per call, which shows in the hot path.
_encode_body = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
MAX_REASONS = 10  # per record; the body keeps every row for whoever fixes the file

Page = list[RawRecord]


def describe_lines(spans: Sequence[tuple[int, int]]) -> str:
    """(2, 2), (3, 4), (9, 9) -> "lines 2-4, 9"; a single line -> "line 2"."""
    if len(spans) == 1:  # the common case, kept cheap
        start, end = spans[0]
        return f"line {start}" if start == end else f"lines {start}-{end}"
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    parts = [f"{a}" if a == b else f"{a}-{b}" for a, b in merged]
    single = len(merged) == 1 and merged[0][0] == merged[0][1]
    return ("line " if single else "lines ") + ", ".join(parts)


def _decode_error(raw: bytes, encoding: str, exc: UnicodeDecodeError) -> str:
    column = len(raw[: exc.start].decode(encoding, errors="replace")) + 1
    return f"not valid {encoding} (byte 0x{raw[exc.start]:02x} at column {column})"


Problem = tuple[int, str]  # (line number, what is wrong there)


class _Group:
    """The rows of one order so far; `bad` holds the first lines of its malformed rows and `problems` what is
    wrong with them, by line."""

    __slots__ = ("bad", "problems", "rows", "spans")

    def __init__(self) -> None:
        self.rows: list[tuple[int, list[str]]] = []
        self.spans: list[tuple[int, int]] = []
        self.problems: list[Problem] = []
        self.bad: set[int] = set()


class FileParser:
    """Parses one file. Use `pages()` (a generator that yields full pages and returns the last one)."""

    def __init__(self, *, label: str, layout: Layout, encoding: str = "utf-8", page_size: int = 5000) -> None:
        self.label = label
        self.layout = layout
        self.encoding = encoding
        self.page_size = page_size
        self._bad_lines: dict[int, str] = {}
        self._body_head = ""

    # -- lines and rows ---------------------------------------------------------------------------------------

    def _decoded(self, lines: Iterable[bytes]) -> Iterator[str]:
        encoding, bad = self.encoding, self._bad_lines
        strip_bom = encoding == "utf-8"
        for number, line in enumerate(lines, start=1):
            raw = line
            if number == 1 and strip_bom and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            try:
                yield raw.decode(encoding)
            except UnicodeDecodeError as exc:
                bad[number] = _decode_error(raw, encoding, exc)
                # backslashreplace keeps the offending bytes visible in the quarantined body (\xe9)
                yield raw.decode(encoding, errors="backslashreplace")

    def _rows(self, lines: Iterable[bytes]) -> Iterator[tuple[int, int, list[str], Problem | None]]:
        """(first line, last line, stripped fields, problem) for each non-blank row."""
        layout = self.layout
        reader = csv.reader(
            self._decoded(lines),
            delimiter=layout.delimiter,
            quoting=csv.QUOTE_MINIMAL if layout.quoting else csv.QUOTE_NONE,
        )
        bad = self._bad_lines
        previous = 0
        while True:
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                start, previous = previous + 1, reader.line_num
                yield start, previous, [], (start, f"cannot split into fields ({exc})")
                continue
            start, previous = previous + 1, reader.line_num
            problem = None
            if bad:
                for number in range(start, previous + 1):
                    if number in bad:
                        problem = (number, bad.pop(number))
                        break
            if problem is None and (not fields or (len(fields) == 1 and not fields[0].strip())):
                continue  # a blank line
            yield start, previous, list(map(str.strip, fields)), problem

    # -- pages ------------------------------------------------------------------------------------------------

    def pages(self, lines: Iterable[bytes]) -> Generator[Page, None, Page]:
        layout = self.layout
        rows = self._rows(lines)
        header: list[str] = []
        file_problem: str | None = None
        start = 1
        for start, _end, fields, problem in rows:  # noqa: B007 - `start` is the header's line, used below
            header = fields
            if problem is not None:
                file_problem = f"header (line {problem[0]}): {problem[1]}; no row of this file can be read"
            break
        else:
            return []  # an empty file: nothing to import
        if file_problem is None:
            file_problem = self._check_header(header, start)
        # Every body of this file starts alike: the file, the layout and the header, once per record.
        self._body_head = _encode_body({"file": self.label, "layout": layout.name, "columns": header})[:-1] + ',"rows":'
        width = len(header)
        index = {column: i for i, column in enumerate(header)}
        checks = []
        required = set(layout.required)
        for column in layout.columns:
            if column in index:
                check = checker(layout.field_type(column), layout.date_formats, layout.timezone)
                if check is not None or column in required:
                    checks.append((index[column], column, check, column in required))
        group_index = index.get(layout.group_by) if layout.group_by else None

        groups: dict[str, _Group] = {}
        loose: list[RawRecord] = []
        handed_out: set[int] = set()  # hash() of order ids already in an earlier page: memory stays bounded

        for start, end, fields, problem in rows:
            problems: list[Problem] = []
            if problem is not None:
                problems.append(problem)
            elif len(fields) != width:
                problems.append((start, f"expected {width} fields, found {len(fields)}"))
            elif file_problem is None:
                for i, column, check, is_required in checks:
                    value = fields[i]
                    if not value:
                        if is_required:
                            problems.append((start, f"required column {column!r} is empty"))
                    elif check is not None:
                        try:
                            check(value)
                        except ValueError as exc:
                            problems.append((start, f"column {column!r}: {exc}"))
            row = (start, fields)

            key = fields[group_index] if group_index is not None and group_index < len(fields) else ""
            if group_index is None:
                key = f"#{start}"
            if not key or (handed_out and hash(key) in handed_out):
                if key:
                    problems.append((start, f"order {key} was already read in an earlier page of this large "
                                     f"file; rows of one order must be adjacent in files of more than "
                                     f"{self.page_size} orders"))  # fmt: skip
                elif group_index is not None and not problems:
                    problems.append((start, f"order id column {layout.group_by!r} is empty"))
                lone = _Group()
                lone.rows.append(row)
                lone.spans.append((start, end))
                lone.problems.extend(problems)
                loose.append(self._problem_record(key or None, lone, file_problem))
                if len(loose) >= self.page_size:
                    yield loose
                    loose = []
                continue
            group = groups.get(key)
            if group is None:
                if len(groups) + len(loose) >= self.page_size:
                    page = self._page(groups, loose, file_problem)
                    handed_out.update(hash(k) for k in groups)
                    # Dropped before the yield: the page's parsed rows must not stay alive while it is applied.
                    groups, loose = {}, []
                    yield page
                    del page
                group = groups[key] = _Group()
            group.rows.append(row)
            group.spans.append((start, end))
            if problems:
                group.problems.extend(problems)
                group.bad.add(start)
        return self._page(groups, loose, file_problem)

    def _check_header(self, header: list[str], line: int) -> str | None:
        counts: dict[str, int] = {}
        for column in header:
            counts[column] = counts.get(column, 0) + 1
        repeated = sorted(c for c, n in counts.items() if n > 1)
        if repeated:
            return f"header (line {line}) repeats column(s) {', '.join(map(repr, repeated))}"
        missing = [c for c in self.layout.required if c not in counts]
        if missing:
            return (
                f"header (line {line}) lacks required column(s) {', '.join(map(repr, missing))} of layout "
                f"{self.layout.name!r}"
            )
        return None

    def _page(self, groups: dict[str, _Group], loose: list[RawRecord], file_problem: str | None) -> Page:
        page = loose
        for key, group in groups.items():
            if group.problems or file_problem:
                page.append(self._problem_record(key, group, file_problem))
            else:
                page.append(self._record(key, group.rows, group.spans))
        return page

    def _body(self, rows: list[tuple[int, list[str]]]) -> str:
        return self._body_head + _encode_body(rows) + "}"

    def _record(self, key: str, rows: list[tuple[int, list[str]]], spans: list[tuple[int, int]]) -> RawRecord:
        external_id = key if self.layout.group_by else None
        source = f"{self.label} {describe_lines(spans)}"
        return RawRecord(stream=STREAM, source=source, body=self._body(rows), external_id=external_id)

    def _problem_record(self, key: str | None, group: _Group, file_problem: str | None) -> RawRecord:
        spans, problems = group.spans, group.problems
        several = len(spans) > 1 or spans[0][0] != spans[0][1]  # only then does a reason name its line
        reasons = [file_problem] if file_problem else []
        reasons += [f"line {line}: {text}" if several else text for line, text in problems[:MAX_REASONS]]
        if len(problems) > MAX_REASONS:
            reasons.append(f"and {len(problems) - MAX_REASONS} more")
        good = [span for span in group.spans if span[0] not in group.bad]
        if good and group.bad and not file_problem and self.layout.group_by and key:
            reasons.append(
                f"order {key} is quarantined whole: its other rows ({describe_lines(good)}) are not imported alone"
            )
        return RawRecord(
            stream=STREAM,
            source=f"{self.label} {describe_lines(group.spans)}",
            body=self._body(group.rows),
            external_id=key if self.layout.group_by and key else None,
            problem="; ".join(reasons),
        )


def parse_all(data: bytes, *, label: str, layout: Layout, encoding: str) -> Iterator[RawRecord]:
    """Every record of a file held in memory (for `channelhub inspect`)."""
    parser = FileParser(label=label, layout=layout, encoding=encoding, page_size=1 << 30)
    pages = parser.pages(io.BytesIO(data))
    while True:
        try:
            yield from next(pages)
        except StopIteration as done:
            yield from done.value
            return
