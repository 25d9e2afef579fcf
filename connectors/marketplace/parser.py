"""Flat file bytes -> rows -> RawRecords, one record per order, streaming in bounded memory.

The file's physical lines are split into rows by `rows.RowSplitter` (strict decoding in the configured encoding,
a leading UTF-8 byte order mark dropped, CSV quoting where the layout has it, bounded rows: a stray quote makes
its own line malformed and the rows after it are read as they are). The first non-blank row is the header.
Every later row is checked against the layout: field count, required columns filled, whole numbers, decimal
amounts, currency codes, dates. A row that fails any check is malformed.

Rows are grouped by the layout's order id column into one record per order (an order's rows need not be
adjacent within a page). An order with any malformed row becomes ONE problem record holding all its rows, good
and bad: half an order is never imported. A row with no order id (or none that can be one: longer than the
store keeps) becomes a problem record of its own. A header that lacks a required column makes every row a
problem record naming the missing columns; nothing is dropped silently.

A record's `source` names the file and its lines ("inbox/a.csv lines 3-4"); its `problem` says only what is
wrong, since the engine shows it after the source. A problem names its line only when the record spans several
lines: "inbox/a.csv line 3: column 'quantity': 'two' is not a whole number", but "inbox/a.csv lines 3-4: line 4:
column 'quantity': ...; order M-2 is quarantined whole: ...".

Large files come as pages of at most `page_size` records, cut only where a new order starts. Rows of one order
must then be adjacent across the cut: rows of an order met again after its page was handed out become a
problem record of their own (with the reason), never a silent second half.

Bodies are in the form `body` describes: the header once per record, each row's fields; a problem record also
keeps the raw text of every line it covers (and of the header), so it can be split again after a layout fix.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence

from channelhub_connectors.marketplace import body
from channelhub_connectors.marketplace.layouts import Layout
from channelhub_connectors.marketplace.rows import Problem, Raw, Row, RowSplitter, read_lines
from channelhub_connectors.marketplace.values import checker

from channelhub.ports import RawRecord

STREAM = "orders"
MAX_REASONS = 10  # per record; the body keeps every row for whoever fixes the file
MAX_ORDER_ID = 200  # the store keeps external ids of at most 200 characters; a longer one is no order id

Page = list[RawRecord]
_Check = tuple[int, str, Callable[[str], object] | None, bool]  # (field index, column, check, required?)


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


class _Group:
    """The rows of one order so far, with each row's raw lines; `bad` holds the first lines of its malformed
    rows and `problems` what is wrong with them, by line."""

    __slots__ = ("bad", "problems", "raws", "rows", "spans")

    def __init__(self) -> None:
        self.rows: list[tuple[int, list[str]]] = []
        self.raws: list[list[Raw]] = []
        self.spans: list[tuple[int, int]] = []
        self.problems: list[Problem] = []
        self.bad: set[int] = set()

    def add(self, start: int, end: int, fields: list[str], raw: list[Raw]) -> None:
        self.rows.append((start, fields))
        self.raws.append(raw)
        self.spans.append((start, end))


class FileParser:
    """Parses one file. Use `pages()` (a generator that yields full pages and returns the last one)."""

    def __init__(self, *, label: str, layout: Layout, encoding: str = "utf-8", page_size: int = 5000) -> None:
        self.label = label
        self.layout = layout
        self.encoding = encoding
        self.page_size = page_size
        self.splitter = RowSplitter(layout, encoding)
        # Set from the header row by _read_header:
        self._width = 0
        self._file_problem: str | None = None
        self._checks: list[_Check] = []
        self._head = self._problem_head = ""

    # -- pages ------------------------------------------------------------------------------------------------

    def pages(self, lines: Iterable[bytes]) -> Generator[Page, None, Page]:
        rows = self.splitter.rows(lines)
        first = next(rows, None)
        if first is None:
            return []  # an empty file: nothing to import
        header = first[2]
        self._read_header(first)
        group_index = header.index(self.layout.group_by) if self.layout.group_by in header else None
        groups: dict[str, _Group] = {}
        loose: list[RawRecord] = []
        handed_out: set[int] = set()  # hash() of order ids already in an earlier page: memory stays bounded

        width, checks = self._width, self._checks if self._file_problem is None else []
        for start, end, fields, raw, problem in rows:
            # What is wrong with the row, inline (once per row): the splitter's problem, else its field count,
            # else each check of a column.
            problems: list[Problem] = []
            if problem is not None:
                problems.append(problem)
            elif len(fields) != width:
                problems.append((start, f"expected {width} fields, found {len(fields)}"))
            else:
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
            key = fields[group_index] if group_index is not None and group_index < len(fields) else ""
            if group_index is None:
                key = f"#{start}"  # rows of files without order ids (stock, shipments) are records of their own
            if not key or len(key) > MAX_ORDER_ID or (handed_out and hash(key) in handed_out):
                loose.append(self._loose(key, start, end, fields, raw, problems))
                if len(loose) >= self.page_size:
                    yield loose
                    loose = []
                continue
            group = groups.get(key)
            if group is None:
                if len(groups) + len(loose) >= self.page_size:
                    page = self._page(groups, loose)
                    handed_out.update(hash(k) for k in groups)
                    # Dropped before the yield: the page's parsed rows must not stay alive while it is applied.
                    groups, loose = {}, []
                    yield page
                    del page
                group = groups[key] = _Group()
            group.rows.append((start, fields))  # group.add, inline: once per row
            group.raws.append(raw)
            group.spans.append((start, end))
            if problems:
                group.problems.extend(problems)
                group.bad.add(start)
        return self._page(groups, loose)

    def _read_header(self, row: Row) -> None:
        """Take in the header row: the file's problem (if any), the checks and the bodies' common start."""
        line, _end, header, raw, problem = row
        self.splitter.width = self._width = len(header)
        if problem is not None:
            self._file_problem = f"header (line {line}): {problem[1]}; no row of this file can be read"
        else:
            self._file_problem = self._check_header(header, line)
        self._checks = self._checks_for(header)
        # Every body of this file starts alike: the file, the layout and the header, once per record.
        self._head = body.head(self.label, self.layout.name, header)
        self._problem_head = body.head(self.label, self.layout.name, header, raw[0] if len(raw) == 1 else None)

    def _loose(
        self, key: str, start: int, end: int, fields: list[str], raw: list[Raw], problems: list[Problem]
    ) -> RawRecord:
        """A problem record of one row that cannot join an order: no order id (or none that can be one), or its
        order's page is gone."""
        if len(key) > MAX_ORDER_ID:
            problems.append((start, f"order id column {self.layout.group_by!r} holds {len(key)} characters, more "
                             f"than an order id may ({MAX_ORDER_ID})"))  # fmt: skip
            key = ""
        elif key:
            problems.append((start, f"order {key} was already read in an earlier page of this large file; rows of "
                             f"one order must be adjacent in files of more than {self.page_size} orders"))  # fmt: skip
        elif not problems:
            problems.append((start, f"order id column {self.layout.group_by!r} is empty"))
        lone = _Group()
        lone.add(start, end, fields, raw)
        lone.problems.extend(problems)
        return self._problem_record(key or None, lone)

    def _checks_for(self, header: list[str]) -> list[_Check]:
        """(field index, column, check or None, required?) for each header column that needs a look."""
        layout = self.layout
        index = {column: i for i, column in enumerate(header)}
        required = set(layout.required)
        checks = []
        for column in layout.columns:
            if column in index:
                check = checker(layout.field_type(column), layout.date_formats, layout.timezone)
                if check is not None or column in required:
                    checks.append((index[column], column, check, column in required))
        return checks

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

    # -- records ----------------------------------------------------------------------------------------------

    def _page(self, groups: dict[str, _Group], loose: list[RawRecord]) -> Page:
        page = loose
        for key, group in groups.items():
            if group.problems or self._file_problem:
                page.append(self._problem_record(key, group))
            else:
                page.append(self._record(key, group))
        return page

    def _record(self, key: str, group: _Group) -> RawRecord:
        external_id = key if self.layout.group_by else None
        source = f"{self.label} {describe_lines(group.spans)}"
        return RawRecord(stream=STREAM, source=source, body=self._head + body.encode(group.rows) + "}",
                         external_id=external_id)  # fmt: skip

    def _problem_record(self, key: str | None, group: _Group) -> RawRecord:
        spans, problems, file_problem = group.spans, group.problems, self._file_problem
        several = len(spans) > 1 or spans[0][0] != spans[0][1]  # only then does a reason name its line
        reasons = [file_problem] if file_problem else []
        reasons += [f"line {line}: {text}" if several else text for line, text in problems[:MAX_REASONS]]
        if len(problems) > MAX_REASONS:
            reasons.append(f"and {len(problems) - MAX_REASONS} more")
        good = [span for span in spans if span[0] not in group.bad]
        if good and group.bad and not file_problem and self.layout.group_by and key:
            reasons.append(
                f"order {key} is quarantined whole: its other rows ({describe_lines(good)}) are not imported alone"
            )
        rows = [[line, fields, body.raw_to_json(raw)] for (line, fields), raw in zip(group.rows, group.raws,
                                                                                        strict=True)]  # fmt: skip
        return RawRecord(
            stream=STREAM,
            source=f"{self.label} {describe_lines(spans)}",
            body=self._problem_head + body.encode(rows) + "}",
            external_id=key if self.layout.group_by and key else None,
            problem="; ".join(reasons),
        )


def parse_all(data: bytes, *, label: str, layout: Layout, encoding: str) -> Iterator[RawRecord]:
    """Every record of a file held in memory (for `channelhub inspect`)."""
    parser = FileParser(label=label, layout=layout, encoding=encoding, page_size=1 << 30)
    pages = parser.pages(read_lines(io.BytesIO(data)))
    while True:
        try:
            yield from next(pages)
        except StopIteration as done:
            yield from done.value
            return
