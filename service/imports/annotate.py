"""The annotated copy of a refused file: the same sheet, each bad cell marked red with its reason
as a comment, and a last column that lists every problem of the row (CSV: that column only).

Staff fix the copy they are given and upload it again; the annotations are not read back (the
extra column is ignored by name, the comments and colours are not data).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict

from openpyxl import load_workbook
from openpyxl.comments import Comment
from openpyxl.styles import Font, PatternFill
from openpyxl.utils import column_index_from_string

from service.imports.columns import PROBLEMS_COLUMN
from service.imports.sheets import CSV_MEDIA_TYPE, XLSX_MEDIA_TYPE, RowProblem, Sheet, data_worksheet

_BAD = PatternFill(start_color="FFC7CE", end_color="FFC7CE", fill_type="solid")


class AnnotatedCopy:
    """The bytes of an annotated copy, its media type and the file-name suffix to give it."""

    def __init__(self, content: bytes, media_type: str, suffix: str) -> None:
        self.content = content
        self.media_type = media_type
        self.suffix = suffix


def annotated_copy(content: bytes, sheet: Sheet | None, problems: list[RowProblem]) -> AnnotatedCopy | None:
    """The file with its problems marked, or None when the file could not be read as a sheet."""
    if sheet is None:
        return None
    by_row: dict[int, list[RowProblem]] = defaultdict(list)
    for problem in problems:
        by_row[problem.row].append(problem)
    if sheet.file_format == "xlsx":
        return AnnotatedCopy(_xlsx(content, sheet, by_row), XLSX_MEDIA_TYPE, ".problems.xlsx")
    return AnnotatedCopy(_csv(content, sheet, by_row), CSV_MEDIA_TYPE, ".problems.csv")


def _summary(problems: list[RowProblem]) -> str:
    return "; ".join(f"{p.column}: {p.reason}" if p.column else p.reason for p in problems)


def _column_index(sheet: Sheet, column: str | None) -> int | None:
    if column is None:
        return None
    if column in sheet.headers:
        return sheet.headers.index(column) + 1
    if column.isalpha() and column.isupper():  # a column without header, named by its letter
        return column_index_from_string(column)
    return None


def _xlsx(content: bytes, sheet: Sheet, by_row: dict[int, list[RowProblem]]) -> bytes:
    workbook = load_workbook(io.BytesIO(content))  # formulas kept as they are
    worksheet = data_worksheet(workbook.worksheets)
    # A copy annotated before and still refused reuses its problems column.
    extra = _column_index(sheet, PROBLEMS_COLUMN) or len(sheet.headers) + 1
    worksheet.cell(1, extra, PROBLEMS_COLUMN).font = Font(bold=True, color="9C0006")
    for row in range(2, worksheet.max_row + 1):
        worksheet.cell(row, extra).value = None
    for row, problems in by_row.items():
        target_row = max(row, 1)
        for problem in problems:
            index = _column_index(sheet, problem.column)
            if index is None:
                continue
            cell = worksheet.cell(target_row, index)
            try:
                cell.fill = _BAD
                note = f"{cell.comment.text}\n{problem.reason}" if cell.comment else problem.reason
                cell.comment = Comment(note, "impactlog")
            except AttributeError:
                continue  # inside a merged range: the problems column still says it
        worksheet.cell(target_row, extra, _summary(problems))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _csv(content: bytes, sheet: Sheet, by_row: dict[int, list[RowProblem]]) -> bytes:
    records = list(
        csv.reader(io.StringIO(content.decode("utf-8-sig"), newline=""), delimiter=sheet.delimiter)
    )
    out = io.StringIO(newline="")
    writer = csv.writer(out, delimiter=sheet.delimiter, lineterminator="\r\n")
    extra = _column_index(sheet, PROBLEMS_COLUMN)
    for number, record in enumerate(records, start=1):
        padded = record + [""] * (len(sheet.headers) - len(record))
        if extra is not None:
            del padded[extra - 1]  # a copy annotated before: its old notes are replaced
        note = PROBLEMS_COLUMN if number == 1 else _summary(by_row.get(number, []))
        writer.writerow([*padded, note])
    return out.getvalue().encode("utf-8")
