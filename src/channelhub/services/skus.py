"""SKU master data use cases: import a CSV of customs data, show one SKU's.

The CSV has a header row naming its columns (any order, any subset of CSV_COLUMNS, `sku` required). An empty
cell, or a column the header lacks, leaves that field as stored: a partial sheet never wipes data. A bad row is
refused with its file:line and the reason and never blocks the others; a SKU given twice takes the later row's
fields over the earlier's (the report says so). Stock quantities are never touched.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from pydantic import ValidationError

from channelhub.errors import UnknownSku
from channelhub.runtime import Hub
from channelhub.stock.master_data import (
    MasterDataUpdate,
    SkuMasterData,
    errors_of,
    master_data,
    upsert_master_data,
)

# The CSV columns are the update's fields, in its order: sku, title, then the customs data.
CSV_COLUMNS: tuple[str, ...] = tuple(MasterDataUpdate.model_fields)
# A CSV cell larger than this is a broken file (an unclosed quote swallowing the rest), not master data.
MAX_CELL = 64 * 1024


@dataclass(frozen=True)
class RefusedRow:
    path: Path
    line: int
    sku: str
    reason: str

    def __str__(self) -> str:
        named = f" '{self.sku[:60]}'" if self.sku else ""
        return f"{self.path}:{self.line}:{named} {self.reason}"


@dataclass
class ImportReport:
    """What an import did: rows applied (SKUs new and existing), rows refused, and SKUs the file gave twice."""

    path: Path
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    refused: list[RefusedRow] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def imported(self) -> int:
        return len(self.created) + len(self.updated)


@dataclass(frozen=True)
class _Row:
    line: int
    update: MasterDataUpdate


def import_master_data(hub: Hub, path: Path) -> ImportReport:
    """Read `path` (UTF-8, a BOM allowed) and write every valid row's master data in one transaction.

    A file that cannot be read as CSV with a known header (not UTF-8, no `sku` column, an unknown or repeated
    column) raises ValueError naming the problem and writes nothing; a bad row is refused in the report."""
    report = ImportReport(path=path)
    rows = _parse(path, report)
    _note_duplicates(rows, report)
    with hub.db.transaction() as session:
        upserted = upsert_master_data(session, [row.update for row in rows])
    report.created, report.updated = upserted.created, upserted.updated
    for index, reason in upserted.refused.items():
        row = rows[index]
        report.refused.append(RefusedRow(path, row.line, row.update.sku, reason))
    report.refused.sort(key=lambda refused: refused.line)
    return report


def show(hub: Hub, sku: str) -> SkuMasterData:
    """The stored master data of `sku` (fields not known are None); UnknownSku when the hub has no such SKU."""
    with hub.db.transaction() as session:
        found = master_data(session, [sku]).get(sku)
    if found is None:
        raise UnknownSku(f"unknown SKU {sku!r}")
    return found


def _parse(path: Path, report: ImportReport) -> list[_Row]:
    try:
        text = path.read_bytes().decode("utf-8-sig")  # a spreadsheet's BOM is not part of the first column
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not UTF-8 (byte {exc.start}); save the sheet as CSV UTF-8") from None
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    rows: list[_Row] = []
    header: list[str] | None = None
    end = 0  # the physical line the previous record ended on: a quoted cell may span lines
    while True:
        start = end + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            raise ValueError(f"{path}:{reader.line_num}: not readable as CSV ({exc})") from None
        end = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue  # a blank line, or a row of empty cells a spreadsheet left behind
        if header is None:
            header = _header(path, start, cells)
            continue
        row = _row(path, start, header, cells)
        if isinstance(row, RefusedRow):
            report.refused.append(row)
        else:
            rows.append(row)
    if header is None:
        raise ValueError(f"{path}: empty file (the first row must name the columns: {', '.join(CSV_COLUMNS)})")
    return rows


def _header(path: Path, line: int, cells: list[str]) -> list[str]:
    """The column names, checked: `sku` present, each known and given once (a typo must not be skipped)."""
    names = [cell.strip().lower() for cell in cells]
    unknown = [name for name in names if name not in CSV_COLUMNS]
    if unknown:
        raise ValueError(
            f"{path}:{line}: unknown column(s) {', '.join(repr(n[:40]) for n in unknown)} "
            f"(the columns are {', '.join(CSV_COLUMNS)})"
        )
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ValueError(f"{path}:{line}: column(s) given twice: {', '.join(repeated)}")
    if "sku" not in names:
        raise ValueError(f"{path}:{line}: the header has no 'sku' column")
    return names


def _row(path: Path, line: int, header: list[str], cells: list[str]) -> _Row | RefusedRow:
    values = dict(zip(header, (cell.strip() for cell in cells), strict=False))
    sku = values.get("sku", "")
    if len(cells) != len(header):
        return RefusedRow(path, line, sku, f"{len(cells)} cell(s), the header names {len(header)}")
    if any(len(cell) > MAX_CELL for cell in cells):
        return RefusedRow(path, line, sku[:200], f"a cell is longer than {MAX_CELL} characters")
    if not sku:
        return RefusedRow(path, line, "", "no SKU")
    given = {name: value for name, value in values.items() if value}  # empty: leave the field as stored
    try:
        return _Row(line, MasterDataUpdate.model_validate(given))
    except ValidationError as exc:
        return RefusedRow(path, line, sku, errors_of(exc))


def _note_duplicates(rows: list[_Row], report: ImportReport) -> None:
    first: dict[str, int] = {}
    for row in rows:
        sku = row.update.sku
        if sku in first:
            report.notes.append(
                f"{report.path}:{row.line}: '{sku}' also on line {first[sku]}; the later row's fields win"
            )
        else:
            first[sku] = row.line
