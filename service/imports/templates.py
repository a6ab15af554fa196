"""Blank import templates: an XLSX with the data sheet's headers, data validation (lists for the
catalog's enumerations, dates, number ranges), and an instructions sheet, all from columns.py.

Excel checks what it can as staff type (a topic from the list, a date, hours ≥ 0); impactlog
checks everything again on import, so a template edited in another program is no risk.
"""

from __future__ import annotations

import io
from typing import Literal

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.datavalidation import DataValidation
from openpyxl.worksheet.worksheet import Worksheet

from service.imports.columns import LAYOUTS, Column, ImportKind, SheetLayout

# Rows the validations cover; more rows can be added, Excel extends the rules when rows are inserted.
TEMPLATE_ROWS = 10_000
_REQUIRED_FILL = PatternFill(start_color="DDEBF7", end_color="DDEBF7", fill_type="solid")


def template_workbook(kind: ImportKind) -> bytes:
    """The blank template for one kind of import, as XLSX bytes."""
    layout = LAYOUTS[kind]
    workbook = Workbook()
    data = workbook.active
    assert isinstance(data, Worksheet)
    data.title = layout.sheet_name
    lists = workbook.create_sheet("lists")
    _write_headers(data, layout)
    _add_validations(data, lists, layout)
    _write_instructions(workbook.create_sheet("instructions"), layout)
    lists.sheet_state = "hidden"
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _write_headers(sheet: Worksheet, layout: SheetLayout) -> None:
    for index, column in enumerate(layout.columns, start=1):
        cell = sheet.cell(1, index, column.name)
        cell.font = Font(bold=column.required)
        if column.required:
            cell.fill = _REQUIRED_FILL
        letter = get_column_letter(index)
        sheet.column_dimensions[letter].width = max(14, len(column.name) + 4)
        if column.kind == "date":
            # A column style, not 10,000 formatted cells: the template stays small and blank.
            sheet.column_dimensions[letter].number_format = "yyyy-mm-dd"
    sheet.freeze_panes = "A2"


def _add_validations(sheet: Worksheet, lists: Worksheet, layout: SheetLayout) -> None:
    list_column = 0
    for index, column in enumerate(layout.columns, start=1):
        letter = get_column_letter(index)
        area = f"{letter}2:{letter}{TEMPLATE_ROWS + 1}"
        rule = None
        if column.choices and column.kind != "list":
            # Values live on the hidden `lists` sheet: an inline list is capped at 255 characters.
            list_column += 1
            source = get_column_letter(list_column)
            lists.cell(1, list_column, column.name)
            for row, choice in enumerate(column.choices, start=2):
                lists.cell(row, list_column, choice)
            last = len(column.choices) + 1
            rule = DataValidation(type="list", formula1=f"lists!${source}$2:${source}${last}")
        elif column.kind == "bool":
            rule = DataValidation(type="list", formula1='"TRUE,FALSE"')
        elif column.kind == "date":
            rule = DataValidation(type="date", operator="greaterThan", formula1="DATE(1990,1,1)")
        elif column.kind in ("decimal", "int") and column.bounds is not None:
            low, high = column.bounds
            kind: Literal["whole", "decimal"] = "whole" if column.kind == "int" else "decimal"
            rule = DataValidation(
                type=kind, operator="between", formula1=_number(low), formula2=_number(high)
            )
        if rule is None:
            continue
        rule.allow_blank = not column.required
        rule.error = _rule_message(column)
        rule.errorTitle = column.name
        rule.showErrorMessage = True
        rule.prompt = column.help
        rule.showInputMessage = True
        sheet.add_data_validation(rule)
        rule.add(area)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _rule_message(column: Column) -> str:
    if column.choices:
        return f"Choose one of: {', '.join(column.choices)}"
    if column.kind == "date":
        return "Enter a date (YYYY-MM-DD)"
    if column.bounds is not None:
        low, high = column.bounds
        return f"Enter a number from {_number(low)} to {_number(high)}"
    return "Enter TRUE or FALSE"


def _write_instructions(sheet: Worksheet, layout: SheetLayout) -> None:
    sheet["A1"] = f"{layout.title} — impactlog import template"
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A2"] = layout.how
    sheet["A3"] = (
        f"Fill in the '{layout.sheet_name}' sheet (row 1 holds the column names: keep them). Blue columns "
        "are required. Import with `impactlog import --project P FILE.xlsx` or POST "
        "/api/v1/projects/{project}/imports. A file with any bad row imports nothing and comes back "
        "annotated; importing the same file again changes nothing. Never write names or e-mails here."
    )
    for cell in ("A2", "A3"):
        sheet[cell].alignment = Alignment(wrap_text=True, vertical="top")
    sheet.merge_cells("A2:E2")
    sheet.merge_cells("A3:E3")
    sheet.row_dimensions[2].height = 60
    sheet.row_dimensions[3].height = 75
    headers = ("column", "required", "what", "format", "allowed values")
    for index, header in enumerate(headers, start=1):
        sheet.cell(5, index, header).font = Font(bold=True)
    for row, column in enumerate(layout.columns, start=6):
        sheet.cell(row, 1, column.name)
        sheet.cell(row, 2, "yes" if column.required else "no")
        sheet.cell(row, 3, column.help)
        sheet.cell(row, 4, _FORMATS[column.kind])
        sheet.cell(row, 5, ", ".join(column.choices))
    for letter, width in zip("ABCDE", (22, 10, 60, 34, 60), strict=True):
        sheet.column_dimensions[letter].width = width


_FORMATS = {
    "id": "identifier without spaces",
    "text": "text",
    "date": "date cell (or text YYYY-MM-DD)",
    "dates": "YYYY-MM-DD; YYYY-MM-DD; …",
    "decimal": "number, decimal point (6.5)",
    "int": "whole number",
    "bool": "TRUE or FALSE",
    "list": "values separated by ';'",
}
