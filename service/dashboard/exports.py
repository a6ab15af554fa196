"""The KPI table for donors' reporting templates, as CSV and XLSX.

Donor layout (DOMAIN.md §2 and (c) 9): one row per indicator × reporting period, then one
"LoP" row per indicator with the figure to date against the life-of-project target; indicators
grouped impact → outcome → output; the disaggregations the dashboard shows (country, partner,
gender, SME size class) in columns named ``<dimension>=<category>``, holding that period's value
of the cell. The funder view withholds cells with n < 5 exactly as the API does: such a cell
reads "suppressed". Figures are the engine's text, so a spreadsheet total equals the API's.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from events.catalog import LIFE_OF_PROJECT
from indicators import INDICATORS, Cell, FigureResult, ProjectIndicators, Series
from indicators.results import Figure, TargetProgress
from indicators.spreadsheet_cells import inert, inert_row
from service.dashboard.view import BREAKDOWNS, LEVELS, ProjectHeader

EXPORT_DIMENSIONS: tuple[str, ...] = tuple(dimension for dimension, _ in BREAKDOWNS)
SUPPRESSED = "suppressed"

BASE_COLUMNS = [
    "level",
    "indicator_id",
    "figure_id",
    "indicator",
    "unit",
    "period_id",
    "period_kind",
    "period_start",
    "period_end",
    "baseline",
    "target",
    "target_type",
    "actual",
    "actual_cumulative",
    "numerator",
    "denominator",
    "n",
    "progress_pct",
    "expected_pct",
    "status",
    "self_reported",
]

Value = str | int | Decimal | None
_LEVEL_OF = {sheet.indicator_id: sheet.level for sheet in INDICATORS}


def donor_table(
    header: ProjectHeader, table: ProjectIndicators, splits: Mapping[tuple[str, str], Series]
) -> tuple[list[str], list[list[Value]]]:
    """Columns and rows of the donor layout. `table` is evaluated per reporting period; `splits`
    holds, per (figure id, dimension), the same figure's reporting-period series split by it."""
    categories = {
        dimension: sorted(
            {
                cell.category
                for (_, by), series in splits.items()
                if by == dimension
                for point in series.figure.points
                for cell in point.cells
            }
            | {
                cell.category
                for result in table.figures
                for breakdown in result.breakdowns
                if breakdown.by == dimension
                for cell in breakdown.cells
            }
        )
        for dimension in EXPORT_DIMENSIONS
    }
    split_columns = [(d, c) for d in EXPORT_DIMENSIONS for c in categories[d]]
    columns = [*BASE_COLUMNS, *(f"{d}={c}" for d, c in split_columns), "as_of_position"]
    kinds = {p.period_id: p.kind for p in header.periods}
    rows: list[list[Value]] = []
    for level, _, _ in LEVELS:
        for result in table.figures:
            if _LEVEL_OF[result.indicator_id] != level:
                continue
            for index, point in enumerate(result.points):
                cells = {
                    (d, cell.category): cell
                    for d in EXPORT_DIMENSIONS
                    if (result.figure_id, d) in splits
                    for cell in splits[result.figure_id, d].figure.points[index].cells
                }
                period = point.period
                rows.append(
                    [
                        *_figure_columns(result, level),
                        period.period_id,
                        kinds.get(period.period_id, ""),
                        period.start.isoformat(),
                        period.end.isoformat(),
                        *_target_columns(result, point.target, point.value, point.cumulative),
                        *(_cell(cells.get(key)) for key in split_columns),
                        table.as_of_position,
                    ]
                )
            to_date = {(b.by, cell.category): cell for b in result.breakdowns for cell in b.cells}
            rows.append(
                [
                    *_figure_columns(result, level),
                    LIFE_OF_PROJECT,
                    "life of project (to date)",
                    header.start.isoformat() if header.start else "",
                    header.end.isoformat() if header.end else "",
                    *_target_columns(result, result.target, result.total, result.total),
                    *(_cell(to_date.get(key)) for key in split_columns),
                    table.as_of_position,
                ]
            )
    return columns, rows


def _figure_columns(result: FigureResult, level: str) -> list[Value]:
    return [level, result.indicator_id, result.figure_id, result.name, result.unit]


def _target_columns(
    result: FigureResult, target: TargetProgress | None, own: Figure, cumulative: Figure
) -> list[Value]:
    return [
        target.baseline if target is not None else result.baseline,
        target.target if target is not None else None,
        ("cumulative" if target.cumulative else "incremental") if target is not None else None,
        own.value,
        cumulative.value,
        own.numerator,
        own.denominator,
        own.n,
        target.progress if target is not None else None,
        target.expected if target is not None else None,
        target.status if target is not None else None,
        "yes" if result.self_reported else "no",
    ]


def _cell(cell: Cell | None) -> Value:
    if cell is None:
        return None
    if cell.suppressed or cell.figure is None:
        return SUPPRESSED
    return cell.figure.value


def as_csv(columns: Sequence[str], rows: Sequence[Sequence[Value]]) -> str:
    """The table as CSV (RFC 4180, comma-separated, empty for "no value")."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(inert_row("" if value is None else str(value) for value in row))
    return out.getvalue()


def as_xlsx(
    columns: Sequence[str], rows: Sequence[Sequence[Value]], about: Sequence[tuple[str, str]]
) -> bytes:
    """The table as an Excel workbook: numbers as numbers, a frozen header, and an "About" sheet
    saying what the figures are (project, log position, catalog version, suppression)."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None  # a new workbook always has its first sheet
    sheet.title = "Indicators"
    sheet.append(list(columns))
    for row in rows:
        sheet.append([_excel(value) for value in row])
    bold = Font(bold=True, color="FFFFFF")
    fill = PatternFill("solid", fgColor="1D3557")
    for cell in sheet[1]:
        cell.font = bold
        cell.fill = fill
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    sheet.freeze_panes = "F2"
    sheet.auto_filter.ref = sheet.dimensions
    for index, name in enumerate(columns, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = 40 if name == "indicator" else 14
    notes = workbook.create_sheet("About")
    for key, value in about:
        notes.append([key, value])
    notes.column_dimensions["A"].width = 28
    notes.column_dimensions["B"].width = 100
    for cell in notes["A"]:
        cell.font = Font(bold=True)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def _excel(value: Value) -> Any:
    # Decimals become Excel numbers (a double: 15 significant digits, ample for these figures);
    # the CSV keeps the exact text.
    if isinstance(value, Decimal):
        return float(value)
    return inert(value) if isinstance(value, str) else value  # never a formula


def about_rows(
    header: ProjectHeader, table: ProjectIndicators, view: str, suppressed: bool
) -> list[tuple[str, str]]:
    """What the workbook's "About" sheet says."""
    return [
        ("Project", header.project_id),
        ("Grant agreement", header.grant_no or ""),
        ("Call", header.call_id or ""),
        ("Project period", f"{header.start} to {header.end}"),
        ("Figures as of", f"log position {table.as_of_position} ({view})"),
        ("Last event recorded at", table.as_of_recorded_at.isoformat() if table.as_of_recorded_at else ""),
        ("Indicator catalog version", table.catalog_version),
        ("Exported at", dt.datetime.now(dt.UTC).isoformat(timespec="seconds")),
        (
            "Layout",
            "One row per indicator and reporting period, then one LoP row (life of project, to date); "
            "disaggregations in columns named dimension=category, holding that period's value.",
        ),
        (
            "Small cells",
            "Cells with fewer than 5 distinct persons or organisations are withheld ('suppressed')."
            if suppressed
            else "No cells are withheld in this view (not a funder view).",
        ),
    ]
