"""What the engine serves: figures, cells, series and the project's indicator table.

Every result is a frozen msgspec Struct. ``canonical_json`` is the one encoding snapshots hash:
msgspec JSON with keys sorted, Decimals as strings, dates ISO 8601 and UTC times with "Z" (the
same encoder as the event log's canonical bytes). Decimals are served at a fixed number of places
per measure (0 for counts and yes/no, 2 for hours, EUR, FTE and percentages) with no negative
zero, so their text never depends on how the inputs were written.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Literal

import msgspec

from events.canonical import encode_canonical

Status = Literal["on_track", "at_risk", "off_track"]


class Figure(msgspec.Struct, frozen=True, kw_only=True):
    """One served value and the number n of distinct persons or organisations behind it."""

    # A count, sum, mean, median, percentage (100·numerator/denominator) or yes (1) / no (0);
    # null when undefined: a zero denominator, an empty impact panel, a mean of nothing.
    value: Decimal | None
    n: int
    # Percentages only: the Σ numerator and Σ denominator the value is recomputed from.
    numerator: Decimal | None = None
    denominator: Decimal | None = None
    # Yes/no only: the day it became yes.
    since: dt.date | None = None


class TargetProgress(msgspec.Struct, frozen=True, kw_only=True):
    """The target in force for a figure, period and disaggregation key, and progress towards it."""

    period_id: str
    disaggregation_key: str | None
    target: Decimal
    cumulative: bool
    baseline: Decimal | None
    # The value compared: the cumulative figure for a cumulative target, else the period's own.
    actual: Decimal | None
    progress: Decimal | None
    # Share of the target's time window elapsed at the as-of date, in percent.
    expected: Decimal | None
    status: Status | None


class Period(msgspec.Struct, frozen=True, kw_only=True):
    """A month ("2025-03"), calendar quarter ("2025-Q1") or reporting period ("RP1")."""

    period_id: str
    start: dt.date
    end: dt.date


class Cell(msgspec.Struct, frozen=True, kw_only=True):
    """One category of a disaggregation; the figure is withheld when suppressed for funders."""

    category: str
    figure: Figure | None
    target: TargetProgress | None = None
    suppressed: bool = False


class Breakdown(msgspec.Struct, frozen=True, kw_only=True):
    """A figure split by one dimension."""

    by: str
    cells: tuple[Cell, ...]


class SeriesPoint(msgspec.Struct, frozen=True, kw_only=True):
    """One period: its own figure and the cumulative figure from the start to its end."""

    period: Period
    value: Figure
    cumulative: Figure
    target: TargetProgress | None = None
    cells: tuple[Cell, ...] = ()
    cumulative_cells: tuple[Cell, ...] = ()


class FigureSummary(msgspec.Struct, frozen=True, kw_only=True):
    """One figure project to date: its value, life-of-project baseline and target with progress."""

    figure_id: str
    indicator_id: str
    name: str
    unit: str
    measure: str
    self_reported: bool
    total: Figure
    baseline: Decimal | None
    target: TargetProgress | None


class FigureResult(FigureSummary, frozen=True, kw_only=True):
    """One figure: project to date (with its life-of-project baseline and target), split by
    dimensions, and per period."""

    breakdowns: tuple[Breakdown, ...]
    points: tuple[SeriesPoint, ...]


def figure_result(
    summary: FigureSummary, breakdowns: tuple[Breakdown, ...], points: tuple[SeriesPoint, ...]
) -> FigureResult:
    """A figure's full result: its summary, its breakdowns and its periods."""
    return FigureResult(**_summary_fields(summary), breakdowns=breakdowns, points=points)


def _summary_fields(summary: FigureSummary) -> dict[str, Any]:
    return {name: getattr(summary, name) for name in FigureSummary.__struct_fields__}


class Series(msgspec.Struct, frozen=True, kw_only=True):
    """One figure over time; split by one dimension (`by`) its breakdown and every point carry
    that dimension's cells."""

    catalog_version: str
    period_kind: str
    by: str | None
    as_of_position: int
    as_of_date: dt.date | None
    figure: FigureResult


class PanelSummary(msgspec.Struct, frozen=True, kw_only=True):
    """The SME survey panel behind I1–I6: its size and the response rate (panel / baseline respondents)."""

    baseline_respondents: int
    panel_size: int
    response_rate: Figure


class ProjectIndicators(msgspec.Struct, frozen=True, kw_only=True):
    """Every KPI of a project as of one log position."""

    catalog_version: str
    grant_no: str | None
    as_of_position: int
    as_of_recorded_at: dt.datetime | None
    as_of_date: dt.date | None
    period_kind: str
    periods: tuple[Period, ...]
    panel: PanelSummary
    figures: tuple[FigureResult, ...]

    def figure(self, figure_id: str) -> FigureResult:
        """The result of one figure ("O1", "O9.orgs"…); KeyError when the catalog has none."""
        for result in self.figures:
            if result.figure_id == figure_id:
                return result
        raise KeyError(figure_id)


class IndicatorsSummary(msgspec.Struct, frozen=True, kw_only=True):
    """Every KPI of a project as of one log position, project to date (the indicators list's
    summary view): a ``ProjectIndicators`` without its breakdowns and periods."""

    catalog_version: str
    grant_no: str | None
    as_of_position: int
    as_of_recorded_at: dt.datetime | None
    as_of_date: dt.date | None
    panel: PanelSummary
    figures: tuple[FigureSummary, ...]


def summary_of(table: ProjectIndicators) -> IndicatorsSummary:
    """The summary view of a full table (the same figures, without breakdowns and periods)."""
    return IndicatorsSummary(
        catalog_version=table.catalog_version,
        grant_no=table.grant_no,
        as_of_position=table.as_of_position,
        as_of_recorded_at=table.as_of_recorded_at,
        as_of_date=table.as_of_date,
        panel=table.panel,
        figures=tuple(FigureSummary(**_summary_fields(figure)) for figure in table.figures),
    )


def canonical_json(result: ProjectIndicators | Series | IndicatorsSummary) -> bytes:
    """The bytes a snapshot hashes: sorted keys, Decimals as strings, no whitespace."""
    return encode_canonical(result)
