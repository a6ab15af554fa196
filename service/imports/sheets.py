"""Reading a CSV or XLSX file into rows of raw cells, refusing what cannot be read reliably.

Whole-file problems (too large, not a spreadsheet, not UTF-8) raise ImportFileError. Problems of
the sheet's shape (wrong or repeated headers, merged cells) are RowProblems on the Sheet, and the
rows are not interpreted at all then. Values are kept as the file holds them (text from CSV;
text, numbers, dates or booleans from XLSX): mapping.py interprets them per column.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import re
import zipfile
from collections.abc import Iterator
from typing import Any, Literal, NamedTuple

import msgspec
from openpyxl import load_workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.cell_range import CellRange

from service.imports.columns import (
    HELPER_SHEETS,
    LAYOUTS,
    PROBLEMS_COLUMN,
    ImportKind,
    SheetLayout,
    layout_for_headers,
)

# Larger uploads are refused before they are read (HTTP 413); 10,000 rows take ~0.5 MB.
MAX_FILE_BYTES = 20 * 1024 * 1024
# An XLSX is a zip: refuse one that would expand beyond this (a "zip bomb").
MAX_EXPANDED_BYTES = 256 * 1024 * 1024
MAX_DATA_ROWS = 100_000
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MEDIA_TYPE = "text/csv"
_ZIP_MAGIC = b"PK\x03\x04"

FileFormat = Literal["csv", "xlsx"]


class ImportFileError(Exception):
    """The file as a whole cannot be imported; `status` is the HTTP status to answer."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class RowProblem(msgspec.Struct, frozen=True, kw_only=True):
    """Why one cell (or row) stops the import: row 1 is the header row, data starts at row 2."""

    row: int
    column: str | None
    value: str | None
    reason: str


class SheetRow(NamedTuple):
    """One non-empty data row: its number in the sheet and its cells by column name."""

    number: int
    cells: dict[str, Any]


@dataclasses.dataclass
class Sheet:
    """A file's data sheet, read but not yet interpreted."""

    file_format: FileFormat
    layout: SheetLayout | None
    headers: list[str]
    rows: list[SheetRow]
    problems: list[RowProblem]
    sheet_name: str | None = None
    delimiter: str = ","
    _by_number: dict[int, SheetRow] = dataclasses.field(default_factory=dict, repr=False)

    def cell(self, row: int, column: str | None) -> Any:
        """The raw value at (row, column), None when there is none."""
        if column is None:
            return None
        if len(self._by_number) != len(self.rows):
            self._by_number = {r.number: r for r in self.rows}
        found = self._by_number.get(row)
        return found.cells.get(column) if found is not None else None


def display(value: Any) -> str | None:
    """A cell's value as a report shows it (dates as ISO, numbers as written), at most 100 chars."""
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime) and value.time() == dt.time():
        value = value.date()
    text = value.isoformat() if isinstance(value, dt.date) else str(value)
    return text if len(text) <= 100 else text[:99] + "…"


def file_format(content: bytes, file_name: str | None) -> FileFormat:
    """XLSX when the bytes are a zip, else CSV; an old binary .xls is refused."""
    name = (file_name or "").lower()
    if content.startswith(_ZIP_MAGIC):
        return "xlsx"
    if name.endswith((".xls", ".ods")):
        raise ImportFileError(415, "only .xlsx and .csv files can be imported; save the sheet as .xlsx")
    if name.endswith(".xlsx"):
        raise ImportFileError(422, "the file is named .xlsx but is not an Excel workbook")
    return "csv"


def read_sheet(content: bytes, file_name: str | None = None, kind: ImportKind | None = None) -> Sheet:
    """The data sheet of a CSV or XLSX file, with its layout told from `kind` or the headers."""
    if len(content) > MAX_FILE_BYTES:
        raise ImportFileError(413, f"the file is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB")
    fmt = file_format(content, file_name)
    if fmt == "xlsx":
        sheet = _read_xlsx(content)
    else:
        sheet = _read_csv(content)
    if len(sheet.rows) > MAX_DATA_ROWS:
        raise ImportFileError(413, f"the sheet has more than {MAX_DATA_ROWS:,} data rows; split it")
    sheet.layout = LAYOUTS[kind] if kind is not None else layout_for_headers(sheet.headers)
    sheet.problems = _header_problems(sheet.headers, sheet.layout) + sheet.problems
    return sheet


def _normalised(header: Any) -> str:
    return "" if header is None else str(header).strip().lower().replace(" ", "_")


def _header_problems(headers: list[str], layout: SheetLayout | None) -> list[RowProblem]:
    if layout is None:
        return [
            RowProblem(
                row=1,
                column=None,
                value=None,
                reason="the header row names neither a training attendance list (session_id, …) nor an "
                "SME survey wave (survey_id, …); start from `impactlog import --template`",
            )
        ]
    problems = []
    seen: set[str] = set()
    for header in headers:
        if header == PROBLEMS_COLUMN:
            continue  # an annotated copy's own column: the corrected copy may keep it
        if header in seen:
            problems.append(
                RowProblem(row=1, column=header, value=header, reason="this column appears twice")
            )
        elif header and layout.column(header) is None:
            expected = ", ".join(layout.names)
            problems.append(
                RowProblem(
                    row=1, column=header, value=header, reason=f"unknown column; the columns are {expected}"
                )
            )
        seen.add(header)
    for column in layout.columns:
        if column.required and column.name not in seen:
            problems.append(
                RowProblem(row=1, column=column.name, value=None, reason="required column is missing")
            )
    return problems


def _data_rows(
    headers: list[str], rows: Iterator[tuple[Any, ...]], first: int
) -> tuple[list[SheetRow], list[RowProblem]]:
    """Rows with at least one value, as dicts; cells under no header are problems."""
    found: list[SheetRow] = []
    problems: list[RowProblem] = []
    for number, values in enumerate(rows, start=first):
        cells = [v.strip() if isinstance(v, str) else v for v in values]
        if all(v is None or v == "" for v in cells):
            continue  # empty rows, trailing ones included, are not data
        row: dict[str, Any] = {}
        for index, value in enumerate(cells):
            header = headers[index] if index < len(headers) else ""
            if header == PROBLEMS_COLUMN:
                continue
            if header:
                row.setdefault(header, value)
            elif value is not None and value != "":
                letter = get_column_letter(index + 1)
                problems.append(
                    RowProblem(
                        row=number,
                        column=letter,
                        value=display(value),
                        reason="a value in a column without header",
                    )
                )
        found.append(SheetRow(number, row))
    return found, problems


def _read_csv(content: bytes) -> Sheet:
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ImportFileError(
            422, f"the CSV is not UTF-8 text (byte {error.start}); save it as 'CSV UTF-8' or as .xlsx"
        ) from error
    first_line = text.split("\n", 1)[0]
    # Spreadsheets in many European locales write ';' between fields.
    delimiter = max((",", ";", "\t"), key=first_line.count)
    try:
        records = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True))
    except csv.Error as error:
        raise ImportFileError(422, f"the CSV cannot be read: {error}") from error
    if not records:
        raise ImportFileError(422, "the file is empty")
    headers = [_normalised(h) for h in records[0]]
    rows, problems = _data_rows(headers, iter(tuple(r) for r in records[1:]), first=2)
    return Sheet("csv", None, headers, rows, problems, delimiter=delimiter)


def _read_xlsx(content: bytes) -> Sheet:
    try:
        with zipfile.ZipFile(io.BytesIO(content)) as archive:
            expanded = sum(member.file_size for member in archive.infolist())
    except zipfile.BadZipFile as error:
        raise ImportFileError(422, "the file is not a readable .xlsx workbook") from error
    if expanded > MAX_EXPANDED_BYTES:
        raise ImportFileError(413, "the workbook expands to more than 256 MB; split it")
    try:
        # Read-only streams the sheet (~40% faster than a full load); data_only: formulas' values.
        workbook = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception as error:  # openpyxl raises many types for a broken workbook
        raise ImportFileError(
            422, f"the file is not a readable .xlsx workbook ({type(error).__name__})"
        ) from error
    try:
        worksheet = data_worksheet(workbook.worksheets)
        # Writers other than Excel may state a wrong sheet size; read what is there instead.
        worksheet.reset_dimensions()
        rows = worksheet.iter_rows(values_only=True)
        header_row = next(rows, ())
        headers = [_normalised(h) for h in header_row]
        while headers and not headers[-1]:
            headers.pop()
        data, problems = _data_rows(headers, rows, first=2)
        merged = _merged_ranges(content, worksheet)
    finally:
        workbook.close()
    problems = _merged_problems(merged, headers, data) + problems
    return Sheet("xlsx", None, headers, data, problems, sheet_name=worksheet.title)


def data_worksheet(worksheets: list[Any]) -> Any:
    """The first sheet that is not one of the template's helper sheets."""
    for worksheet in worksheets:
        if worksheet.title.strip().lower() not in HELPER_SHEETS and hasattr(worksheet, "iter_rows"):
            return worksheet
    raise ImportFileError(422, "the workbook has no data sheet (only instructions or lists)")


_MERGE_CELL = re.compile(rb'<(?:\w+:)?mergeCell\s+ref="([A-Z]+[0-9]+:[A-Z]+[0-9]+)"')


def _merged_ranges(content: bytes, worksheet: Any) -> list[CellRange]:
    """The sheet's merged ranges. A read-only worksheet does not parse them, so they are read from
    its XML part (the <mergeCells> list after the cell data)."""
    # openpyxl keeps the part's path on the read-only sheet; without it, assume no merges rather
    # than fail (a full load would find them, at ~40% more time for every import).
    path = getattr(worksheet, "_worksheet_path", None)
    if not isinstance(path, str):
        return []
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        xml = archive.read(path.lstrip("/"))
    return [CellRange(ref.decode()) for ref in _MERGE_CELL.findall(xml)]


def _merged_problems(merged: list[CellRange], headers: list[str], rows: list[SheetRow]) -> list[RowProblem]:
    """Merged cells leave every cell but the first empty: refuse them rather than guess."""
    firsts = {row.number: row for row in rows}
    problems = []
    for cells in sorted(merged, key=lambda r: (r.min_row, r.min_col)):
        index = cells.min_col - 1
        named = index < len(headers) and headers[index]
        column = headers[index] if named else get_column_letter(cells.min_col)
        row = firsts.get(cells.min_row)
        value = row.cells.get(column) if row is not None else None
        problems.append(
            RowProblem(
                row=cells.min_row,
                column=column,
                value=display(value),
                reason=f"merged cells {cells.coord}: unmerge them and repeat the value on each row",
            )
        )
    return problems
