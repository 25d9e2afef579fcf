"""Physical lines -> rows of fields, with bounds, so that one stray quote costs one line and never the file.

A row is read from physical lines by the csv module (the layout's delimiter; CSV quoting when the layout has
it). A quoted field may hold line breaks (an address on two lines), so a row may span several lines, but only
within bounds: at most `max_lines` lines and `max_bytes` bytes. A row is BROKEN when

- it would run past either bound, or past the end of the file, with a quoted field still open;
- it spans several lines and its field count differs from the header's (`width`): a quote opened by mistake
  that happened to close on a later line;
- the csv module refuses it (csv.Error), or its single line is longer than `max_bytes`.

Only the FIRST line of a broken row is malformed ("unbalanced quote: ..."): reading starts again at the next line
with a fresh reader, so the good rows after the stray quote are read as they are. Every row comes with the raw
text of each physical line it covers (`Raw`: the line as decoded, or its exact bytes when it is not valid in the
encoding), so a malformed one can be kept whole and split again once its layout is fixed.

Lines are decoded strictly, one at a time; a line that is not valid in the encoding is still split (its bad
bytes shown as \\xNN) and its row carries the problem. Blank rows are skipped. Memory stays bounded: a physical
line longer than 16 MiB is read (and kept) as its first 16 MiB only (`read_lines`); the file itself stays whole
where it is moved.
"""

from __future__ import annotations

import codecs
import csv
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO, Literal

from channelhub_connectors.marketplace.layouts import Layout

MAX_LINES = 100  # a quoted field may break lines (addresses, gift notes), never for a hundred lines
MAX_BYTES = 128 * 1024  # csv's own default field limit, now counted per row by us with a clear reason

MAX_LINE_KEPT = 16 * 1024 * 1024  # of a longer physical line, only this much is read into memory and kept

Raw = str | bytes  # a physical line as decoded, or its exact bytes when it is not valid in the encoding
Problem = tuple[int, str]  # (line number, what is wrong there)
# (first line, last line, fields as split and stripped, raw lines, problem or None)
Row = tuple[int, int, list[str], list[Raw], Problem | None]


class _Broken(Exception):
    """The row being read cannot be a row: its first line is malformed for `reason`."""

    def __init__(self, reason: str, overflow: tuple[int, Raw] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.overflow = overflow  # the line that was refused for the row, to be read again after it


def _decode_error(raw: bytes, encoding: str, exc: UnicodeDecodeError) -> str:
    column = len(raw[: exc.start].decode(encoding, errors="replace")) + 1
    return f"not valid {encoding} (byte 0x{raw[exc.start]:02x} at column {column})"


def read_lines(
    stream: BinaryIO, seen: Callable[[bytes], object] = lambda chunk: None, limit: int = MAX_LINE_KEPT
) -> Iterator[bytes]:
    """The stream's physical lines (line break kept), each at most `limit` bytes, so memory stays bounded even
    for a file without line breaks: of a longer line only its first `limit` bytes come (the rest is read and
    passed over). `seen` gets every byte read, in order, the passed-over ones too (for the file's hash)."""
    readline = stream.readline
    while True:
        line = readline(limit)
        if not line:
            return
        seen(line)
        if len(line) == limit and not line.endswith(b"\n"):
            while True:  # the rest of an over-long line
                rest = readline(limit)
                seen(rest)
                if not rest or rest.endswith(b"\n"):
                    break
        yield line


def ensure_field_limit(max_bytes: int) -> None:
    """Let csv hold a field as large as a row may be (its text: a bad byte shows as 4 characters, \\xNN), so
    that the bound which refuses a row is ours, with our reason, never csv's "field larger than field limit"."""
    wanted = 4 * max_bytes + 1
    if csv.field_size_limit() < wanted:
        csv.field_size_limit(wanted)


class RowSplitter:
    """Splits lines into rows for one layout and encoding. `width` (the header's field count, once known) is read
    at every multi-line row; set it after the header row."""

    def __init__(
        self, layout: Layout, encoding: str = "utf-8", *, max_lines: int = MAX_LINES, max_bytes: int = MAX_BYTES
    ) -> None:
        self.delimiter = layout.delimiter
        self.quoting: Literal[0, 3] = csv.QUOTE_MINIMAL if layout.quoting else csv.QUOTE_NONE
        self.encoding = encoding
        self.max_lines = max_lines
        self.max_bytes = max_bytes
        self.width: int | None = None
        ensure_field_limit(max_bytes)

    def rows(self, lines: Iterable[Raw], first_line: int = 1) -> Iterator[Row]:
        """Every non-blank row of `lines` (bytes from a file, or raw lines kept in a record), in order."""
        feed = _Feed(self, lines, first_line)
        strip = str.strip
        while True:
            reader = csv.reader(feed.lines(), delimiter=self.delimiter, quoting=self.quoting)
            try:
                for fields in reader:
                    current = feed.current
                    if len(current) > 1:
                        row = feed.multi_line_row(fields)  # checked against the header's width
                    else:  # one line, nearly every row: inline
                        feed.current = []
                        start = feed.start
                        problem = (start, feed.bad.pop(start)) if feed.bad and start in feed.bad else None
                        if problem is None and (not fields or (len(fields) == 1 and not fields[0].strip())):
                            continue  # a blank line
                        row = start, start, list(map(strip, fields)), current, problem
                    if row is not None:
                        yield row
                return
            except (_Broken, csv.Error) as exc:
                reason = exc.reason if isinstance(exc, _Broken) else f"cannot split into fields ({exc})"
                overflow = exc.overflow if isinstance(exc, _Broken) else None
                yield feed.broken(reason, overflow, self._split_alone)

    def _split_alone(self, text: str) -> list[str]:
        """A broken row's first line split on its own, as far as it goes (an open quote runs to its end)."""
        try:
            fields = next(csv.reader([text[: self.max_bytes]], delimiter=self.delimiter, quoting=self.quoting), [])
        except csv.Error:
            return []
        return [field.strip() for field in fields]


class _Feed:
    """The lines of one pass, handed to csv readers one at a time, with the raw lines of the row being read.

    A reader pulls the next line only to finish a row (a quoted field open at a line break) or to start the
    next one; so `current` holds exactly the lines of the row it is reading, and the bounds are checked as a
    line is handed over. After a broken row, the lines after its first are handed over again, to a new reader.
    """

    __slots__ = ("again", "bad", "current", "encoding", "numbered", "size", "splitter", "start", "strip_bom")

    def __init__(self, splitter: RowSplitter, lines: Iterable[Raw], first_line: int) -> None:
        self.splitter = splitter
        self.encoding = splitter.encoding
        self.strip_bom = self.encoding == "utf-8" and first_line == 1
        self.numbered = enumerate(lines, start=first_line)
        self.again: deque[tuple[int, Raw]] = deque()  # lines of a broken row after its first, to read again
        self.current: list[Raw] = []  # raw lines of the row being read
        self.bad: dict[int, str] = {}  # line number -> decoding problem, until its row is yielded
        self.start = first_line  # the first line of the row being read
        self.size = 0  # its bytes so far

    def lines(self) -> Iterator[str]:
        while self.again:
            yield self._take(*self.again.popleft())
        encoding, limit, take = self.encoding, self.splitter.max_bytes, self._take
        for number, raw in self.numbered:
            # The first line of a row that decodes and fits (nearly every line) is taken inline.
            if self.current or number == 1 or not isinstance(raw, bytes) or len(raw) > limit:
                yield take(number, raw)
                continue
            try:
                text = raw.decode(encoding)
            except UnicodeDecodeError:
                yield take(number, raw)
                continue
            self.start, self.size = number, len(raw)
            self.current.append(text)
            yield text
        if self.current:  # the reader asks for more with a row begun: a quote is open at the end of the file
            raise _Broken("unbalanced quote: a quoted field opened on this line is still open at the end of the file")

    def _take(self, number: int, raw: Raw) -> str:
        length = len(raw)
        current = self.current
        if current:
            splitter = self.splitter
            if len(current) >= splitter.max_lines:
                raise _Broken(f"unbalanced quote: a quoted field opened on this line is still open after "
                              f"{splitter.max_lines} lines", (number, raw))  # fmt: skip
            if self.size + length > splitter.max_bytes:
                raise _Broken(f"unbalanced quote: a quoted field opened on this line is still open after "
                              f"{splitter.max_bytes} bytes", (number, raw))  # fmt: skip
            self.size += length
        else:
            self.start, self.size = number, length
        if isinstance(raw, bytes):
            if number == 1 and self.strip_bom and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8) :]
            try:
                text = raw.decode(self.encoding)
                current.append(text)
            except UnicodeDecodeError as exc:
                self.bad[number] = _decode_error(raw, self.encoding, exc)
                current.append(raw)  # its exact bytes; the reader sees them as \xNN
                text = raw.decode(self.encoding, errors="backslashreplace")
        else:
            text = raw
            current.append(text)
        if length > self.splitter.max_bytes:
            raise _Broken(f"the line is longer than {self.splitter.max_bytes} bytes, the most a row may hold")
        return text

    def multi_line_row(self, fields: list[str]) -> Row | None:
        """The row of several lines the reader just finished (None: blank); _Broken when its field count is not
        the header's."""
        current, start = self.current, self.start
        end = start + len(current) - 1
        width = self.splitter.width
        if width is not None and len(fields) != width:
            raise _Broken(
                f"unbalanced quote: a quoted field opened on this line closes on line {end}, leaving "
                f"{len(fields)} fields instead of {width}"
            )
        self.current = []
        problem = None
        if self.bad:
            for number in range(start, end + 1):
                if number in self.bad:
                    problem = (number, self.bad.pop(number))
                    break
        if problem is None and (not fields or (len(fields) == 1 and not fields[0].strip())):
            return None  # blank lines (an empty quoted field broken over them)
        return start, end, [field.strip() for field in fields], current, problem

    def broken(self, reason: str, overflow: tuple[int, Raw] | None, split: Callable[[str], list[str]]) -> Row:
        """The row being read is broken: its first line, alone and malformed; its other lines (and `overflow`,
        the line refused for it) are handed over again."""
        current, start = self.current, self.start
        if not current:  # nothing was handed over for this row: nothing can be blamed on a line
            raise AssertionError(f"csv refused a row before reading it: {reason}")
        self.current = []
        rest = [(start + i, raw) for i, raw in enumerate(current[1:], start=1)]
        if overflow is not None:
            rest.append(overflow)
        self.again.extendleft(reversed(rest))
        for number, _raw in rest:
            self.bad.pop(number, None)  # decoded again when read again
        first = current[0]
        if start in self.bad:
            reason = f"{reason}; {self.bad.pop(start)}"
        text = first if isinstance(first, str) else first.decode(self.encoding, errors="backslashreplace")
        return start, start, split(text), [first], (start, reason)
