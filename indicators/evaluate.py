"""The KPI engine's entry points: every figure of a project, or one figure as a series, as of a
log position.

    table = evaluate_all(entries, as_of=1842, period="reporting_period")
    series = kpi_series(entries, "O3", period="quarter", by="gender")

`as_of` is a log position (only entries at positions ≤ it are read, so the result equals
evaluating the truncated log), a date or datetime (the last position recorded on or before it),
or None (the whole log). Both functions are pure: same entries and arguments, same bytes from
``canonical_json``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence

from indicators import impact, outcomes, outputs
from indicators.aggregation import Contribution, Measured, measure, measure_cells
from indicators.impact import panel_summary
from indicators.kpi_catalog import (
    CATALOG_VERSION,
    FIGURES,
    INDICATOR_OF,
    STATE_AGGREGATIONS,
    FigureSheet,
    figure_sheet,
)
from indicators.log_view import LogEntry, LogState, fold_log, resolve_as_of
from indicators.periods import PERIOD_KINDS, Bucket, PeriodKind, period_buckets
from indicators.results import (
    Breakdown,
    Cell,
    FigureResult,
    Period,
    ProjectIndicators,
    Series,
    SeriesPoint,
)
from indicators.targets import baseline_of, target_progress

FLOW_FORMULAS: dict[str, Callable[[LogState], list[Contribution]]] = {**outputs.FORMULAS, **outcomes.FORMULAS}
STATE_FORMULAS: dict[str, Callable[[LogState, dt.date | None], list[Contribution]]] = {
    **outcomes.STATE_FORMULAS,
    **impact.STATE_FORMULAS,
}


class IndicatorQueryError(ValueError):
    """A KPI id, period kind or dimension the catalog does not have; the message names it."""


def evaluate_all(
    entries: Iterable[LogEntry], as_of: int | dt.date | None = None, period: PeriodKind = "reporting_period"
) -> ProjectIndicators:
    """Every figure of the catalog: project to date, per period, and split by each of its dimensions."""
    _check_period(period)
    state = state_as_of(entries, as_of)
    return ProjectIndicators(
        catalog_version=CATALOG_VERSION,
        grant_no=state.project.grant_no if state.project is not None else None,
        as_of_position=state.position,
        as_of_recorded_at=state.recorded_at,
        as_of_date=state.as_of_date,
        period_kind=period,
        periods=tuple(bucket.period for bucket in period_buckets(state, period)),
        panel=panel_summary(state),
        figures=tuple(
            _figure_result(_Figure(state, sheet), period, breakdowns=sheet.disaggregations, by=None)
            for sheet in FIGURES
        ),
    )


def kpi_series(
    entries: Iterable[LogEntry],
    kpi_id: str,
    period: PeriodKind = "reporting_period",
    by: str | None = None,
    as_of: int | dt.date | None = None,
) -> Series:
    """One figure per period (its own and cumulative value, target progress for reporting periods),
    split by dimension `by` when given. `kpi_id` is a figure id ("O9.orgs") or an indicator id
    (its first figure)."""
    sheet = query_sheet(kpi_id, period, by)
    figure = _Figure(state_as_of(entries, as_of), sheet)
    return Series(
        catalog_version=CATALOG_VERSION,
        period_kind=period,
        by=by,
        as_of_position=figure.state.position,
        as_of_date=figure.state.as_of_date,
        figure=_figure_result(figure, period, breakdowns=() if by is None else (by,), by=by),
    )


def query_sheet(kpi_id: str, period: str, by: str | None) -> FigureSheet:
    """The sheet of the figure a query names, once its period kind and dimension are checked."""
    sheet = figure_sheet(kpi_id)
    if sheet is None:
        raise IndicatorQueryError(f"unknown KPI {kpi_id!r}; known: {', '.join(f.figure_id for f in FIGURES)}")
    _check_period(period)
    if by is not None and by not in sheet.disaggregations:
        allowed = ", ".join(sheet.disaggregations) or "none"
        raise IndicatorQueryError(f"{sheet.figure_id} cannot be split by {by!r}; its dimensions: {allowed}")
    return sheet


def _check_period(period: str) -> None:
    if period not in PERIOD_KINDS:
        raise IndicatorQueryError(
            f"unknown period {period!r}; use one of {', '.join(PERIOD_KINDS)} (every point also carries "
            "its cumulative figure)"
        )


def state_as_of(entries: Iterable[LogEntry], as_of: int | dt.date | None) -> LogState:
    """The fold of the log as of a position, date or time (None: the whole log)."""
    log = list(entries)
    return fold_log(log, resolve_as_of(log, as_of))


def _name(sheet: FigureSheet) -> str:
    indicator = INDICATOR_OF[sheet.figure_id]
    return indicator.name if len(indicator.figures) == 1 else f"{indicator.name}: {sheet.name}"


class _Figure:
    """One figure's contributions over one log state, read per span of days."""

    def __init__(self, state: LogState, sheet: FigureSheet) -> None:
        self.state = state
        self.sheet = sheet
        # A flow's contributions are dated once and filtered per period; a state is re-read at
        # the end of each period (and cached, as periods share their ends with cumulative spans).
        is_state = sheet.time_aggregation in STATE_AGGREGATIONS
        self._flow = None if is_state else FLOW_FORMULAS[sheet.figure_id](state)
        self._states: dict[dt.date | None, list[Contribution]] = {}

    def within(self, low: dt.date | None, high: dt.date | None) -> list[Contribution]:
        """The contributions dated in [low, high] (None: open); a state is read as of `high`."""
        if self._flow is None:
            if high not in self._states:
                self._states[high] = STATE_FORMULAS[self.sheet.figure_id](self.state, high)
            return self._states[high]
        return [c for c in self._flow if (low is None or c.on >= low) and (high is None or c.on <= high)]


def contributions_within(
    state: LogState, sheet: FigureSheet
) -> Callable[[dt.date | None, dt.date | None], list[Contribution]]:
    """What a figure's value over the days [low, high] is computed from, as `within(low, high)`
    (None: open); a state figure (R5, R7, impact) is read as of `high`."""
    return _Figure(state, sheet).within


def _figure_result(
    figure: _Figure, period: PeriodKind, breakdowns: Sequence[str], by: str | None
) -> FigureResult:
    """The figure to date split by each of `breakdowns`, and per period (split by `by`)."""
    sheet, state = figure.sheet, figure.state
    everything = figure.within(None, None)
    total = measure(everything, sheet)
    targeted = period == "reporting_period"  # targets name reporting periods (or the LoP)
    return FigureResult(
        figure_id=sheet.figure_id,
        indicator_id=INDICATOR_OF[sheet.figure_id].indicator_id,
        name=_name(sheet),
        unit=sheet.unit,
        measure=sheet.measure,
        self_reported=sheet.self_reported,
        total=total.figure,
        baseline=baseline_of(state, sheet, "LoP", None),
        target=target_progress(state, sheet, None, None, total, total),
        breakdowns=tuple(
            Breakdown(by=dimension, cells=_cells(figure, everything, everything, dimension, None)[0])
            for dimension in breakdowns
        ),
        points=tuple(_point(figure, bucket, by, targeted) for bucket in period_buckets(state, period)),
    )


def _point(figure: _Figure, bucket: Bucket, by: str | None, targeted: bool) -> SeriesPoint:
    own_contributions = figure.within(bucket.low, bucket.high)
    running_contributions = figure.within(None, bucket.high)
    own = measure(own_contributions, figure.sheet)
    running = measure(running_contributions, figure.sheet)
    cells, cumulative_cells = (
        _cells(figure, own_contributions, running_contributions, by, bucket.period, targeted)
        if by is not None
        else ((), ())
    )
    return SeriesPoint(
        period=bucket.period,
        value=own.figure,
        cumulative=running.figure,
        target=target_progress(figure.state, figure.sheet, bucket.period, None, own, running)
        if targeted
        else None,
        cells=cells,
        cumulative_cells=cumulative_cells,
    )


def _cells(
    figure: _Figure,
    own_contributions: list[Contribution],
    running_contributions: list[Contribution],
    by: str,
    period: Period | None,
    targeted: bool = True,
) -> tuple[tuple[Cell, ...], tuple[Cell, ...]]:
    """A period's cells and its cumulative cells over the same categories (all seen up to its end),
    with, when `targeted`, the target in force for "<by>=<category>" of `period` (None: the life
    of the project)."""
    sheet = figure.sheet
    own = measure_cells(own_contributions, sheet, by)
    running = measure_cells(running_contributions, sheet, by)
    nothing = measure([], sheet)
    period_cells: list[Cell] = []
    cumulative_cells: list[Cell] = []
    for category in sorted(running.keys() | own.keys()):
        in_period: Measured = own.get(category, nothing)
        so_far = running.get(category, in_period)
        key = f"{by}={category}"
        target = target_progress(figure.state, sheet, period, key, in_period, so_far) if targeted else None
        period_cells.append(Cell(category=category, figure=in_period.figure, target=target))
        cumulative_cells.append(Cell(category=category, figure=so_far.figure))
    return tuple(period_cells), tuple(cumulative_cells)
