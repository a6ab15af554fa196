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

import bisect
import collections
import contextlib
import datetime as dt
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, cast

from events.collector import collector_paused
from events.entries import LogEntry
from indicators import impact, outcomes, outputs, timeline_store
from indicators.aggregation import (
    Contribution,
    Measured,
    Tally,
    group_by_category,
    measure,
    measure_breakdowns,
    measure_cells,
)
from indicators.figure_memo import FigureMemo, StateReads, memo_for
from indicators.impact import panel_summary
from indicators.kpi_catalog import (
    CATALOG_VERSION,
    FIGURES,
    STATE_AGGREGATIONS,
    FigureSheet,
    figure_sheet,
)
from indicators.log_view import LogState, resolve_as_of
from indicators.periods import PERIOD_KINDS, Bucket, PeriodKind, period_buckets
from indicators.results import (
    Breakdown,
    Cell,
    FigureResult,
    FigureSummary,
    IndicatorsSummary,
    PanelSummary,
    Period,
    ProjectIndicators,
    Series,
    SeriesPoint,
    figure_result,
    summary_of,
)
from indicators.targets import figure_summary, target_progress
from indicators.timelines import STATE_KINDS, STATE_STAMP_KINDS, TimelineBuilder
from indicators.warm_fold import is_warm, state_of

FLOW_FORMULAS: dict[str, Callable[[LogState], list[Contribution]]] = {**outputs.FORMULAS, **outcomes.FORMULAS}
STATE_FORMULAS: dict[str, Callable[[LogState, dt.date | None], list[Contribution]]] = {
    **outcomes.STATE_FORMULAS,
    **impact.STATE_FORMULAS,
}


# The flow formulas behind two figures (O11's sum and mean), run once per evaluation.
_SHARED_FORMULAS = frozenset(
    formula for formula in FLOW_FORMULAS.values() if list(FLOW_FORMULAS.values()).count(formula) > 1
)


class IndicatorQueryError(ValueError):
    """A KPI id, period kind or dimension the catalog does not have; the message names it."""


def evaluate_all(
    entries: Iterable[LogEntry], as_of: int | dt.date | None = None, period: PeriodKind = "reporting_period"
) -> ProjectIndicators:
    """Every figure of the catalog: project to date, per period, and split by each of its dimensions."""
    return evaluate_tables(entries, as_of, (period,))[period]


def evaluate_tables(
    entries: Iterable[LogEntry], as_of: int | dt.date | None, periods: Sequence[PeriodKind]
) -> dict[PeriodKind, ProjectIndicators]:
    """``evaluate_all`` for several period kinds at once: each figure's formula runs once for all
    of them (a dashboard shows reporting periods and quarters of one state)."""
    for period in periods:
        _check_period(period)
    log = entries if isinstance(entries, list) else list(entries)
    fast = _tables_off_timelines(log, as_of, periods)
    if fast is not None:
        return fast
    with collector_paused():
        state = state_as_of(log, as_of)
        tables = {period: _RECENT.get(state, period) for period in periods}
        missing = [period for period, table in tables.items() if table is None]
        if missing:
            for period, table in _all_figures(state, missing).items():
                # Only a warm fold's states come back: a state of the past, folded apart, is not kept.
                tables[period] = _RECENT.keep(state, period, table) if is_warm(state) else table
        return {period: table for period, table in tables.items() if table is not None}


def evaluate_summary(entries: Iterable[LogEntry], as_of: int | dt.date | None = None) -> IndicatorsSummary:
    """Every figure project to date with its life-of-project baseline and target (the indicators
    list's summary view): ``summary_of(evaluate_all(...))``, read off the log's timelines when
    they reach the position."""
    log = entries if isinstance(entries, list) else list(entries)
    fast = _summary_off_timelines(log, as_of)
    return fast if fast is not None else summary_of(evaluate_all(log, as_of))


class _RecentTables:
    """The last few tables, by the very state object they were computed from: a warm fold hands
    out one state per position, so the dashboard, the API and a snapshot publisher evaluating
    the head share one computation (a pure function of the state and the period kind)."""

    def __init__(self, size: int = 4) -> None:
        self._size = size
        self._lock = threading.Lock()
        # The state is kept with its table, so its id cannot be reused by another while here.
        self._tables: collections.OrderedDict[tuple[int, str], tuple[LogState, ProjectIndicators]] = (
            collections.OrderedDict()
        )

    def get(self, state: LogState, period: str) -> ProjectIndicators | None:
        """The table computed from this very state for `period`, if still kept."""
        with self._lock:
            found = self._tables.get((id(state), period))
            return found[1] if found is not None and found[0] is state else None

    def keep(self, state: LogState, period: str, table: ProjectIndicators) -> ProjectIndicators:
        """Remember a table; the least recent one goes when there are too many."""
        with self._lock:
            self._tables[(id(state), period)] = (state, table)
            while len(self._tables) > self._size:
                self._tables.popitem(last=False)
        return table


_RECENT = _RecentTables()


def _all_figures(state: LogState, periods: Sequence[PeriodKind]) -> dict[PeriodKind, ProjectIndicators]:
    buckets = {period: period_buckets(state, period) for period in periods}
    memo = memo_for(state)
    figures = _figures_with_memo(memo, state, buckets) if memo is not None else _figures(state, buckets)
    return {
        period: _table(
            state, period, buckets[period], [figures[period][sheet.figure_id] for sheet in FIGURES]
        )
        for period in periods
    }


def _as_of(state: LogState) -> dict[str, Any]:
    """What every indicator table says of the log state it was computed from."""
    return {
        "catalog_version": CATALOG_VERSION,
        "grant_no": state.project.grant_no if state.project is not None else None,
        "as_of_position": state.position,
        "as_of_recorded_at": state.recorded_at,
        "as_of_date": state.as_of_date,
    }


def _table(
    state: LogState,
    period: PeriodKind,
    buckets: list[Bucket],
    figures: list[FigureResult],
    panel: PanelSummary | None = None,
) -> ProjectIndicators:
    return ProjectIndicators(
        **_as_of(state),
        period_kind=period,
        periods=tuple(bucket.period for bucket in buckets),
        panel=panel if panel is not None else panel_summary(state),
        figures=tuple(figures),
    )


# Per period kind, figure id → its result; and the period kind's buckets.
_Results = dict[PeriodKind, dict[str, FigureResult]]
_Buckets = dict[PeriodKind, list[Bucket]]


def _figures(state: LogState, buckets: _Buckets) -> _Results:
    """Every figure for each period kind, one _Figure (one formula run) per figure."""
    flows: dict[Callable[[LogState], list[Contribution]], list[Contribution]] = {}
    found: _Results = {period: {} for period in buckets}
    for sheet in FIGURES:
        figure = _Figure(state, sheet, flows)
        for period, period_buckets_ in buckets.items():
            found[period][sheet.figure_id] = _figure_result(
                figure, period, period_buckets_, breakdowns=sheet.disaggregations, by=None
            )
    return found


def _figures_with_memo(memo: FigureMemo, state: LogState, buckets: _Buckets) -> _Results:
    """Every figure for each period kind, each reused from another position of the same log where
    nothing it read changed in between (figure_memo.py), else computed over the state with its
    reads noted (one formula run for the period kinds that need it)."""
    flows: dict[Callable[[LogState], list[Contribution]], list[Contribution]] = {}
    found: _Results = {period: {} for period in buckets}
    computed: dict[str, tuple[list[StateReads], list[PeriodKind]]] = {}
    for sheet in FIGURES:
        figure: _Figure | None = None
        for period, period_buckets_ in buckets.items():
            kept = memo.reuse(("all", sheet.figure_id, period), period_buckets_)
            if kept is not None:
                found[period][sheet.figure_id] = kept
                continue
            if figure is None:
                reads = StateReads(state)
                figure = _Figure(cast(LogState, reads), sheet, flows)
                computed[sheet.figure_id] = ([reads], [])
            found[period][sheet.figure_id] = _figure_result(
                figure, period, period_buckets_, breakdowns=sheet.disaggregations, by=None
            )
            computed[sheet.figure_id][1].append(period)
    # A flow shared by two figures is run once, under the first one's reads: each of them depends
    # on what both read (parts and values).
    for formula in _SHARED_FORMULAS:
        sharing = [figure for figure, f in FLOW_FORMULAS.items() if f is formula and figure in computed]
        shared = [read for figure_id in sharing for read in computed[figure_id][0]]
        for figure_id in sharing:
            computed[figure_id] = (shared, computed[figure_id][1])
    for figure_id, (reads_of_figure, periods) in computed.items():
        for period in periods:
            key = ("all", figure_id, period)
            memo.keep(key, reads_of_figure, buckets[period], found[period][figure_id])
    return found


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
    log = entries if isinstance(entries, list) else list(entries)
    fast = _series_off_timelines(log, sheet, period, by, as_of)
    if fast is not None:
        return fast
    with collector_paused():
        state = state_as_of(log, as_of)
        buckets = period_buckets(state, period)
        memo = memo_for(state)
        key = ("series", sheet.figure_id, period, by or "")
        result = memo.reuse(key, buckets) if memo is not None else None
        if result is None:
            reads = StateReads(state)
            breakdowns = () if by is None else (by,)
            result = _figure_result(_Figure(cast(LogState, reads), sheet), period, buckets, breakdowns, by)
            if memo is not None:
                memo.keep(key, [reads], buckets, result)
        return _series(state, sheet, period, by, result)


def _series(
    state: LogState, sheet: FigureSheet, period: PeriodKind, by: str | None, result: FigureResult
) -> Series:
    return Series(
        catalog_version=CATALOG_VERSION,
        period_kind=period,
        by=by,
        as_of_position=state.position,
        as_of_date=state.as_of_date,
        figure=result,
    )


def _series_off_timelines(
    log: list[LogEntry], sheet: FigureSheet, period: PeriodKind, by: str | None, as_of: int | dt.date | None
) -> Series | None:
    """The series read off the log's timelines (timeline_store.py) when they reach the position
    (None: they do not, or the columns cannot compute it exactly; the engine answers)."""
    with _timelines_at(log, as_of) as held:
        if held is None:
            return None
        builder, position = held
        # A flow figure reads only the project, targets and baselines beside its timeline.
        kinds = STATE_KINDS if sheet.time_aggregation in STATE_AGGREGATIONS else ()
        state = builder.state_at(position, kinds)
        buckets = period_buckets(state, period, lambda: builder.result_days(state.position))
        breakdowns = () if by is None else (by,)
        result = _figure_off_timelines(builder, state, sheet, period, buckets, breakdowns, by)
    return _series(state, sheet, period, by, result) if result is not None else None


@contextlib.contextmanager
def _timelines_at(
    log: list[LogEntry], as_of: int | dt.date | None
) -> Iterator[tuple[TimelineBuilder[timeline_store.FigureTimeline], int] | None]:
    """The log's timelines, held, with the position an as-of names, when they reach it (None:
    a short log, or timelines not kept or not there yet; the engine answers)."""
    if not log or len(log) < timeline_store.TIMELINES_FROM:
        yield None  # no position resolved: a date would cost a scan of the log for nothing
        return
    position = _position_of(log, as_of)
    with timeline_store.reading(log, position) as builder:
        yield (builder, position) if builder is not None else None


def _position_of(log: list[LogEntry], as_of: int | dt.date | None) -> int:
    """The log position an as-of names, at most the log's last."""
    cut = resolve_as_of(log, as_of)
    return log[-1].position if cut is None else min(cut, log[-1].position)


def _tables_off_timelines(
    log: list[LogEntry], as_of: int | dt.date | None, periods: Sequence[PeriodKind]
) -> dict[PeriodKind, ProjectIndicators] | None:
    """``evaluate_tables`` read off the log's timelines when they reach the position (None: the
    engine answers)."""
    with _timelines_at(log, as_of) as held:
        if held is None:
            return None
        builder, position = held
        state = builder.state_at(position, STATE_KINDS)
        tables: dict[PeriodKind, ProjectIndicators] = {}
        for period in periods:
            buckets = period_buckets(state, period, lambda: builder.result_days(state.position))
            figures: list[FigureResult] = []
            for sheet in FIGURES:
                found = _figure_off_timelines(
                    builder, state, sheet, period, buckets, sheet.disaggregations, None
                )
                if found is None:
                    return None
                figures.append(found)
            panel = builder.remember(
                ("panel", builder.stamp(state.position, STATE_STAMP_KINDS)), lambda: panel_summary(state)
            )
            tables[period] = _table(state, period, buckets, figures, panel)
        return tables


def _summary_off_timelines(log: list[LogEntry], as_of: int | dt.date | None) -> IndicatorsSummary | None:
    """``evaluate_summary`` off the timelines: each flow figure's total from its columns' index
    (flow_columns.py: a few searches, not an aggregation); None when they cannot answer."""
    with _timelines_at(log, as_of) as held:
        if held is None:
            return None
        builder, position = held
        state = builder.state_at(position, STATE_KINDS)
        figures: list[FigureSummary] = []
        for sheet in FIGURES:
            if sheet.time_aggregation in STATE_AGGREGATIONS:
                total = measure(_remembered_state_formula(builder, state, sheet)(state, None), sheet)
            else:
                found = builder.timelines[sheet.figure_id].total_at(state.position)
                if found is None:
                    return None
                total = found
            figures.append(figure_summary(state, sheet, total))
        return IndicatorsSummary(
            **_as_of(state),
            panel=builder.remember(
                ("panel", builder.stamp(state.position, STATE_STAMP_KINDS)), lambda: panel_summary(state)
            ),
            figures=tuple(figures),
        )


def _remembered_state_formula(
    builder: TimelineBuilder[timeline_store.FigureTimeline], state: LogState, sheet: FigureSheet
) -> Callable[[LogState, dt.date | None], list[Contribution]]:
    """A state figure's formula over the state beside the timelines, each result kept for the
    positions whose live events of the kinds it reads are the same (TimelineBuilder.stamp)."""
    stamp = builder.stamp(state.position, STATE_STAMP_KINDS)
    formula = STATE_FORMULAS[sheet.figure_id]
    return lambda at, until: builder.remember(
        ("figure", sheet.figure_id, stamp, until), lambda: formula(at, until)
    )


def _figure_off_timelines(
    builder: TimelineBuilder[timeline_store.FigureTimeline],
    state: LogState,
    sheet: FigureSheet,
    period: PeriodKind,
    buckets: list[Bucket],
    breakdowns: Sequence[str],
    by: str | None,
) -> FigureResult | None:
    """One figure at the state's position: a state figure over the state kept beside the
    timelines, a flow figure off its columns, or over its live contributions where those are kept."""
    if sheet.time_aggregation in STATE_AGGREGATIONS:
        formula = _remembered_state_formula(builder, state, sheet)
        return _figure_result(_Figure(state, sheet, state_formula=formula), period, buckets, breakdowns, by)
    timeline = builder.timelines[sheet.figure_id]
    found = timeline.columns.figure_result(state.position, state, period, buckets, breakdowns, by)
    if found is not None:
        return found
    flow = timeline.live_at(state.position)
    if flow is None:
        return None
    return _figure_result(_Figure(state, sheet, flow=flow), period, buckets, breakdowns, by)


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
    """The fold of the log as of a position, date or time (None: the whole log); carried forward
    from the last fold of the same log when it can be (warm_fold.py)."""
    log = entries if isinstance(entries, list) else list(entries)
    return state_of(log, resolve_as_of(log, as_of))


class _Figure:
    """One figure's contributions over one log state, read per span of days."""

    def __init__(
        self,
        state: LogState,
        sheet: FigureSheet,
        flows: dict[Callable[[LogState], list[Contribution]], list[Contribution]] | None = None,
        flow: list[Contribution] | None = None,
        state_formula: Callable[[LogState, dt.date | None], list[Contribution]] | None = None,
    ) -> None:
        """`flows`: the flow formulas already run over `state` (two figures may share one);
        `flow`: the figure's contributions, found already (read off its timeline);
        `state_formula`: a state figure's formula (default: the catalog's)."""
        self.state = state
        self.sheet = sheet
        self._state_formula = state_formula or STATE_FORMULAS.get(sheet.figure_id)
        # A flow's contributions are dated once, sorted by day and sliced per period (a figure
        # does not depend on the order of its contributions: aggregation.Tally); a state is
        # re-read at the end of each period (and cached, as periods share their ends with
        # cumulative spans).
        self.is_state = sheet.time_aggregation in STATE_AGGREGATIONS
        if flow is None and self.is_state:
            flow = []
        elif flow is None:
            formula = FLOW_FORMULAS[sheet.figure_id]
            if flows is None or formula not in _SHARED_FORMULAS:
                flow = formula(state)
            else:
                if formula not in flows:
                    flows[formula] = formula(state)
                flow = flows[formula]
        self._flow = sorted(flow, key=_day)
        self._days = [c.on for c in self._flow]
        self._states: dict[dt.date | None, list[Contribution]] = {}

    def within(self, low: dt.date | None, high: dt.date | None) -> list[Contribution]:
        """The contributions dated in [low, high] (None: open); a state is read as of `high`."""
        if self.is_state:
            if high not in self._states:
                assert self._state_formula is not None
                self._states[high] = self._state_formula(self.state, high)
            return self._states[high]
        first = 0 if low is None else bisect.bisect_left(self._days, low)
        return self._flow[first : self.up_to(high)]

    def up_to(self, high: dt.date | None) -> int:
        """How many of a flow's contributions are dated up to `high` (None: all)."""
        return len(self._flow) if high is None else bisect.bisect_right(self._days, high)


def _day(contribution: Contribution) -> dt.date:
    return contribution.on


class _Running:
    """A flow's cumulative figure (and cells) at successive period ends, each carried on from
    the one before instead of recounted (recounted when an end comes before the previous one)."""

    def __init__(self, figure: _Figure, by: str | None) -> None:
        self.figure = figure
        self.by = by
        self._start(0)

    def _start(self, done: int) -> None:
        self.done = done
        self.total = Tally(self.figure.sheet)
        self.cells: dict[str, Tally] = {}

    def up_to(self, high: dt.date | None) -> tuple[Measured, dict[str, Measured]]:
        """The figure over everything dated up to `high`, and its cells by `by` (none without)."""
        figure, by = self.figure, self.by
        end = figure.up_to(high)
        if end < self.done:
            self._start(0)
        added = figure._flow[self.done : end]
        self.done = end
        self.total.extend(added)
        if by is None:
            return self.total.measured(), {}
        if by in figure.sheet.shared_denominator:
            return self.total.measured(), measure_cells(figure._flow[:end], figure.sheet, by)
        for category, members in group_by_category(added, by).items():
            tally = self.cells.get(category)
            if tally is None:
                self.cells[category] = tally = Tally(figure.sheet)
            tally.extend(members)
        return self.total.measured(), {
            category: self.cells[category].measured() for category in sorted(self.cells)
        }


def contributions_within(
    state: LogState, sheet: FigureSheet
) -> Callable[[dt.date | None, dt.date | None], list[Contribution]]:
    """What a figure's value over the days [low, high] is computed from, as `within(low, high)`
    (None: open); a state figure (R5, R7, impact) is read as of `high`."""
    return _Figure(state, sheet).within


def _figure_result(
    figure: _Figure, period: PeriodKind, buckets: list[Bucket], breakdowns: Sequence[str], by: str | None
) -> FigureResult:
    """The figure to date split by each of `breakdowns`, and per period (split by `by`)."""
    sheet, state = figure.sheet, figure.state
    targeted = period == "reporting_period"  # targets name reporting periods (or the LoP)
    running = None if figure.is_state else _Running(figure, by)
    points = tuple(_point(figure, running, bucket, by, targeted) for bucket in buckets)
    everything = figure.within(None, None)
    # The last period is open above, so a flow's running figure there is already the total.
    whole = running is not None and running.done == len(everything)
    total = running.total.measured() if running is not None and whole else measure(everything, sheet)
    split = measure_breakdowns(everything, sheet, breakdowns)
    return figure_result(
        figure_summary(state, sheet, total),
        breakdowns=tuple(
            Breakdown(by=dimension, cells=_cells(figure, split[dimension], {}, dimension, None)[0])
            for dimension in breakdowns
        ),
        points=points,
    )


def _point(
    figure: _Figure, running: _Running | None, bucket: Bucket, by: str | None, targeted: bool
) -> SeriesPoint:
    own_contributions = figure.within(bucket.low, bucket.high)
    own = measure(own_contributions, figure.sheet)
    own_cells = measure_cells(own_contributions, figure.sheet, by) if by is not None else {}
    if running is None:  # a state: read as of the period's end, its own figure is its cumulative one
        so_far, running_cells = own, own_cells
    else:
        so_far, running_cells = running.up_to(bucket.high)
    cells, cumulative_cells = (
        _cells(figure, own_cells, running_cells, by, bucket.period, targeted) if by is not None else ((), ())
    )
    return SeriesPoint(
        period=bucket.period,
        value=own.figure,
        cumulative=so_far.figure,
        target=target_progress(figure.state, figure.sheet, bucket.period, None, own, so_far)
        if targeted
        else None,
        cells=cells,
        cumulative_cells=cumulative_cells,
    )


def _cells(
    figure: _Figure,
    own: dict[str, Measured],
    running: dict[str, Measured],
    by: str,
    period: Period | None,
    targeted: bool = True,
) -> tuple[tuple[Cell, ...], tuple[Cell, ...]]:
    """A period's cells and its cumulative cells over the same categories (all seen up to its end),
    with, when `targeted`, the target in force for "<by>=<category>" of `period` (None: the life
    of the project). `running` empty: the period is everything, its cells are its cumulative cells."""
    sheet = figure.sheet
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
