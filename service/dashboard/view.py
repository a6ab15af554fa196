"""The dashboard's view model: the engine's results arranged as a funder reads them.

``build_dashboard`` is pure over its inputs (decoded log, the engine's indicator tables per
reporting period and per quarter, the published snapshots) apart from the chart cache, so the
page for one (project, log position, as-of, funder-or-not) is built once and served from the
indicator cache after that. Every figure keeps the engine's own text (``value`` fields) beside
the words shown (``display`` fields): the page carries the former in data attributes, which is
how tests check the page against the API.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from decimal import Decimal

import msgspec

from events.catalog import OrganisationRegistered, ProjectRegistered
from events.entries import LogEntry
from events.envelope import LogHead
from indicators import FIGURES, INDICATORS, FigureResult, FigureSheet, ProjectIndicators
from indicators.results import Cell, Figure, SeriesPoint, TargetProgress
from service.dashboard import formatting as fmt
from service.dashboard.charts import ChartPoint, ChartRenderer, ChartSeries, PeriodSpan
from service.dashboard.snapshots import AsOf, PublishedSnapshot

LEVELS: tuple[tuple[str, str, str], ...] = (
    ("impact", "Impact", "Change in the supported SMEs, measured on the survey panel (baseline, endline)."),
    ("outcome", "Outcomes", "Short-term effects of the activities on clusters, partners and participants."),
    ("output", "Outputs", "What the project delivered: trainings, exchanges, coaching and outreach."),
)
# Titles as they read after "By …" (so "SME" keeps its capitals).
BREAKDOWNS: tuple[tuple[str, str], ...] = (
    ("country", "country"),
    ("partner", "partner"),
    ("gender", "gender"),
    ("size_class", "SME size class"),
)
GENDER_LABELS = {"F": "Women", "M": "Men", "X": "X", "undisclosed": "Undisclosed", "unknown": "Unknown"}
# Rates and yes/no targets are levels to hold, not amounts to accumulate (charts.ChartSeries).
LEVEL_MEASURES = frozenset({"percent", "median_percent", "yes_no"})
UNKNOWN = "unknown"

_SHEETS = {sheet.indicator_id: sheet for sheet in INDICATORS}
_FIGURE_SHEETS = {figure.figure_id: figure for figure in FIGURES}


class Partner(msgspec.Struct, frozen=True, kw_only=True):
    """A consortium member as the header names it."""

    org_id: str
    name: str
    country: str


class ReportingPeriod(msgspec.Struct, frozen=True, kw_only=True):
    """One of the grant's reporting periods."""

    period_id: str
    kind: str
    start: dt.date
    end: dt.date


class ProjectHeader(msgspec.Struct, frozen=True, kw_only=True):
    """Who, what and when: the grant, its consortium and the log position the figures stand at."""

    project_id: str
    grant_no: str | None
    call_id: str | None
    start: dt.date | None
    end: dt.date | None
    periods: tuple[ReportingPeriod, ...]
    partners: tuple[Partner, ...]
    countries: tuple[str, ...]
    as_of_position: int
    as_of_recorded_at: dt.datetime | None
    head_position: int
    head_recorded_at: dt.datetime | None
    catalog_version: str

    @property
    def behind_head(self) -> int:
        """How many log positions the figures are behind the head read with the request."""
        return max(0, self.head_position - self.as_of_position)


class Bar(msgspec.Struct, frozen=True, kw_only=True):
    """A progress bar: filled share and where the project should be by now (both 0–100)."""

    filled: float
    expected: float | None
    overshoot: bool


class PeriodRow(msgspec.Struct, frozen=True, kw_only=True):
    """A reporting period of one figure: its own and cumulative value against the target."""

    period_id: str
    own: str
    cumulative: str
    target: str
    progress: str
    status: str | None
    standing: str
    status_label: str
    # The period in a sentence: the figure the target is judged on, the target, the status.
    summary: str


class QuarterRow(msgspec.Struct, frozen=True, kw_only=True):
    """A calendar quarter of one figure (the chart's points, as text)."""

    period_id: str
    own: str
    cumulative: str


class Card(msgspec.Struct, frozen=True, kw_only=True):
    """One KPI figure: headline value, target, progress, status, n, chart and its data table."""

    figure_id: str
    indicator_id: str
    level: str
    name: str
    unit: str
    measure: str
    definition: str
    means_of_verification: str
    self_reported: bool
    value: str | None
    display: str
    n: int
    n_of: str
    ratio: str | None
    since: str | None
    target: str | None
    target_display: str
    baseline_display: str
    progress: str | None
    progress_display: str
    expected_display: str
    # The engine's status (as the API serves it) and where the figure stands in words.
    status: str | None
    standing: str
    status_label: str
    bar: Bar | None
    current_period: PeriodRow | None
    period_rows: tuple[PeriodRow, ...]
    quarter_rows: tuple[QuarterRow, ...]
    chart_svg: str
    chart_summary: str


class LevelGroup(msgspec.Struct, frozen=True, kw_only=True):
    """The cards of one level of the results chain."""

    level: str
    title: str
    blurb: str
    cards: tuple[Card, ...]


class BreakdownCell(msgspec.Struct, frozen=True, kw_only=True):
    """One figure in one category; withheld (suppressed) for funders when n < 5."""

    category: str
    value: str | None
    display: str
    n: int | None
    suppressed: bool


class BreakdownRow(msgspec.Struct, frozen=True, kw_only=True):
    """A figure split by the table's dimension; cells align with the table's categories (None:
    the figure has nothing in that category)."""

    figure_id: str
    name: str
    unit: str
    total: str
    cells: tuple[BreakdownCell | None, ...]


class BreakdownTable(msgspec.Struct, frozen=True, kw_only=True):
    """Every figure that can be split by one dimension, split by it (project to date)."""

    dimension: str
    title: str
    categories: tuple[str, ...]
    labels: tuple[str, ...]
    rows: tuple[BreakdownRow, ...]


class Dashboard(msgspec.Struct, frozen=True, kw_only=True):
    """Everything the dashboard page shows for one project and one as-of view."""

    header: ProjectHeader
    as_of: AsOf
    as_of_date: dt.date | None
    suppressed: bool
    groups: tuple[LevelGroup, ...]
    status_counts: dict[str, int]
    breakdowns: tuple[BreakdownTable, ...]
    snapshots: tuple[PublishedSnapshot, ...]


def build_dashboard(
    project_id: str,
    head: LogHead,
    entries: Sequence[LogEntry],
    table: ProjectIndicators,
    quarters: ProjectIndicators,
    snapshots: Sequence[PublishedSnapshot],
    as_of: AsOf,
    suppressed: bool,
    charts: ChartRenderer,
) -> Dashboard:
    """The page's content from the engine's tables: `table` per reporting period (cards, targets,
    breakdowns), `quarters` per calendar quarter (the charts), both as of the same position."""
    header, names = project_header(project_id, head, entries, table)
    cards = [_card(sheet, table, quarters, header, charts) for sheet in FIGURES]
    groups = tuple(
        LevelGroup(level=level, title=title, blurb=blurb, cards=tuple(c for c in cards if c.level == level))
        for level, title, blurb in LEVELS
    )
    counts = {standing: sum(1 for c in cards if c.standing == standing) for standing in fmt.STANDING_LABELS}
    return Dashboard(
        header=header,
        as_of=as_of,
        as_of_date=table.as_of_date,
        suppressed=suppressed,
        groups=groups,
        status_counts=counts,
        breakdowns=tuple(_breakdown(dimension, title, table, names) for dimension, title in BREAKDOWNS),
        snapshots=tuple(snapshots),
    )


def project_header(
    project_id: str, head: LogHead, entries: Sequence[LogEntry], table: ProjectIndicators
) -> tuple[ProjectHeader, dict[str, str]]:
    """The page header, and every organisation's name by id (for the partner breakdown), as the
    log stood at the table's position."""
    registration: ProjectRegistered | None = None
    organisations: dict[str, OrganisationRegistered] = {}
    for entry in entries:
        if entry.position > table.as_of_position:
            break
        payload = entry.payload
        if isinstance(payload, OrganisationRegistered):
            organisations[payload.org_id] = payload
        elif isinstance(payload, ProjectRegistered):
            registration = payload
    partners = tuple(
        Partner(
            org_id=org_id,
            name=organisations[org_id].name if org_id in organisations else org_id,
            country=organisations[org_id].country if org_id in organisations else UNKNOWN,
        )
        for org_id in (registration.partners if registration is not None else [])
    )
    header = ProjectHeader(
        project_id=project_id,
        grant_no=registration.grant_no if registration is not None else None,
        call_id=registration.call_id if registration is not None else None,
        start=registration.start_date if registration is not None else None,
        end=registration.end_date if registration is not None else None,
        periods=tuple(
            ReportingPeriod(period_id=p.period_id, kind=p.kind, start=p.start, end=p.end)
            for p in (registration.reporting_periods if registration is not None else [])
        ),
        partners=partners,
        countries=tuple(sorted({fmt.country_name(p.country) for p in partners if p.country != UNKNOWN})),
        as_of_position=table.as_of_position,
        as_of_recorded_at=table.as_of_recorded_at,
        head_position=head.position,
        head_recorded_at=head.last_recorded_at,
        catalog_version=table.catalog_version,
    )
    return header, {org_id: org.name for org_id, org in organisations.items()}


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _card(
    sheet: FigureSheet,
    table: ProjectIndicators,
    quarters: ProjectIndicators,
    header: ProjectHeader,
    charts: ChartRenderer,
) -> Card:
    result = table.figure(sheet.figure_id)
    indicator = _SHEETS[result.indicator_id]
    total, target = result.total, result.target
    as_of_date = table.as_of_date
    period_rows = tuple(_period_row(result, point) for point in result.points)
    quarter_points = _reached(quarters.figure(sheet.figure_id).points, as_of_date)
    series = _chart_series(result, quarter_points, header, as_of_date)
    return Card(
        figure_id=result.figure_id,
        indicator_id=result.indicator_id,
        level=indicator.level,
        name=result.name,
        unit=result.unit,
        measure=result.measure,
        definition=indicator.definition,
        means_of_verification=indicator.means_of_verification,
        self_reported=result.self_reported,
        value=_text(total.value),
        display=fmt.quantity(total.value, result.measure, result.unit),
        n=total.n,
        n_of=sheet.n_of,
        ratio=_ratio(total),
        since=fmt.day(total.since) if total.since is not None else None,
        target=_text(target.target) if target is not None else None,
        target_display=fmt.quantity(target.target, result.measure, result.unit) if target else "none set",
        baseline_display=fmt.quantity(result.baseline, result.measure, result.unit)
        if result.baseline is not None
        else "none recorded",
        progress=_text(target.progress) if target is not None else None,
        progress_display=fmt.percent(target.progress) if target is not None else "—",
        expected_display=fmt.percent(target.expected) if target is not None else "—",
        status=target.status if target is not None else None,
        standing=fmt.standing(target is not None, target.status if target is not None else None),
        status_label=fmt.status_label(target.status if target is not None else None, target is not None),
        bar=_bar(target),
        current_period=_current(result.points, period_rows, as_of_date),
        period_rows=period_rows,
        quarter_rows=tuple(
            QuarterRow(
                period_id=p.period.period_id,
                own=fmt.bare(p.value.value, result.measure),
                cumulative=fmt.bare(p.cumulative.value, result.measure),
            )
            for p in quarter_points
        ),
        chart_svg=charts.svg(series),
        chart_summary=_summary(result, series),
    )


def _ratio(figure: Figure) -> str | None:
    if figure.numerator is None or figure.denominator is None:
        return None
    return f"{fmt.grouped(figure.numerator)} of {fmt.grouped(figure.denominator)}"


def _bar(target: TargetProgress | None) -> Bar | None:
    if target is None or target.progress is None:
        return None
    progress = float(target.progress)
    return Bar(
        filled=max(0.0, min(progress, 100.0)),
        expected=None if target.expected is None else max(0.0, min(float(target.expected), 100.0)),
        overshoot=progress > 100.0,
    )


def _period_row(result: FigureResult, point: SeriesPoint) -> PeriodRow:
    target, period_id = point.target, point.period.period_id
    measure, unit = result.measure, result.unit
    if target is None:
        target_text = "—"
        summary = f"{period_id}: {fmt.quantity(point.cumulative.value, measure, unit)} cumulative; no target"
    else:
        kind = "cumulative" if target.cumulative else "in the period"
        target_text = f"{fmt.bare(target.target, measure)} ({kind})"
        # An incremental target is judged on the period's own figure, a cumulative one on the
        # running figure: say the one the status was computed from.
        compared = point.cumulative.value if target.cumulative else point.value.value
        aim = f"target {fmt.quantity(target.target, measure, unit)}"
        summary = (
            f"{period_id}: no data yet; {aim} ({kind})"
            if compared is None
            else f"{period_id}: {fmt.quantity(compared, measure, unit)} {kind}, {aim} — "
            f"{fmt.status_label(target.status, True)}"
        )
    return PeriodRow(
        period_id=point.period.period_id,
        own=fmt.bare(point.value.value, result.measure),
        cumulative=fmt.bare(point.cumulative.value, result.measure),
        target=target_text,
        progress=fmt.percent(target.progress) if target is not None else "—",
        status=target.status if target is not None else None,
        standing=fmt.standing(target is not None, target.status if target is not None else None),
        status_label=fmt.status_label(target.status if target is not None else None, target is not None),
        summary=summary,
    )


def _current(
    points: Sequence[SeriesPoint], rows: Sequence[PeriodRow], as_of_date: dt.date | None
) -> PeriodRow | None:
    """The reporting period the as-of day falls in (the last one after the end)."""
    if not rows or as_of_date is None:
        return None
    for point, row in zip(points, rows, strict=True):
        if as_of_date <= point.period.end:
            return row
    return rows[-1]


def _reached(points: Sequence[SeriesPoint], as_of_date: dt.date | None) -> tuple[SeriesPoint, ...]:
    """The periods that had begun by the as-of day: later ones only repeat the last figure."""
    if as_of_date is None:
        return tuple(points)
    return tuple(p for p in points if p.period.start <= as_of_date)


def _chart_series(
    result: FigureResult,
    quarter_points: Sequence[SeriesPoint],
    header: ProjectHeader,
    as_of_date: dt.date | None,
) -> ChartSeries:
    periods = tuple(PeriodSpan(p.period_id, p.start, p.end) for p in header.periods)
    start = header.start or (periods[0].start if periods else dt.date.today())
    end = max([header.end or start, *(p.end for p in periods)])
    actual = tuple(
        ChartPoint(
            min(p.period.end, as_of_date) if as_of_date else p.period.end,
            _float(p.cumulative.value),
        )
        for p in quarter_points
    )
    steps = result.measure in LEVEL_MEASURES
    return ChartSeries(
        figure_id=result.figure_id,
        title=result.name,
        unit=result.unit,
        percent=result.measure == "percent",
        target_steps=steps,
        window_start=start,
        window_end=end,
        periods=periods,
        actual=actual,
        target=_target_path(result, start, end, steps),
        as_of=as_of_date,
    )


def _float(value: Decimal | None) -> float | None:
    return None if value is None else float(value)


def _target_path(result: FigureResult, start: dt.date, end: dt.date, steps: bool) -> tuple[ChartPoint, ...]:
    """The cumulative target over time: per reporting period (incremental targets added up),
    the life-of-project target at the end."""
    by_period: list[tuple[dt.date, dt.date, float]] = []
    running = Decimal(0)
    for point in result.points:
        target = point.target
        if target is None:
            continue
        running = target.target if target.cumulative else running + target.target
        by_period.append((point.period.start, point.period.end, float(running)))
    life = float(result.target.target) if result.target is not None else None
    if steps:
        if not by_period and life is not None:
            by_period = [(start, end, life)]
        path = [ChartPoint(first, value) for first, _, value in by_period]
        if by_period:
            path.append(ChartPoint(by_period[-1][1], by_period[-1][2]))
        return tuple(path)
    baseline = float(result.baseline) if result.baseline is not None else 0.0
    path = [ChartPoint(start, baseline)] + [ChartPoint(last, value) for _, last, value in by_period]
    if life is not None:
        # The card judges progress against the life-of-project target: the line ends there.
        if path[-1].day == end:
            path[-1] = ChartPoint(end, life)
        else:
            path.append(ChartPoint(end, life))
    return tuple(path) if len(path) > 1 else ()


def _summary(result: FigureResult, series: ChartSeries) -> str:
    """The chart in one sentence, for screen readers and anyone who cannot see it."""
    reached = [p for p in series.actual if p.value is not None]
    if not reached:
        said = f"{result.name}: no figure yet."
    else:
        last = reached[-1]
        said = (
            f"{result.name}: {fmt.quantity(result.total.value, result.measure, result.unit)} "
            f"cumulative by {fmt.day(last.day)}."
        )
    if result.target is not None:
        said += (
            f" Target {fmt.quantity(result.target.target, result.measure, result.unit)} "
            f"by {fmt.day(series.window_end)}."
        )
    return said + " The table below gives every point."


def _category_order(label: str) -> tuple[int, str]:
    return (1 if label.lower() == UNKNOWN else 0, label.lower())


def _label(dimension: str, category: str, names: dict[str, str]) -> str:
    if dimension == "partner":
        return names.get(category, category)
    if dimension == "country":
        return fmt.country_name(category)
    if dimension == "gender":
        return GENDER_LABELS.get(category, category)
    return category.replace("_", " ").capitalize()


def _breakdown(dimension: str, title: str, table: ProjectIndicators, names: dict[str, str]) -> BreakdownTable:
    splits: list[tuple[FigureResult, dict[str, Cell]]] = []
    for level, _, _ in LEVELS:
        for result in table.figures:
            if _SHEETS[result.indicator_id].level != level:
                continue
            for breakdown in result.breakdowns:
                if breakdown.by == dimension:
                    splits.append((result, {cell.category: cell for cell in breakdown.cells}))
    found = {c for _, cells in splits for c in cells}
    # Ordered as read (partners by name, countries by code), "unknown" last.
    categories = tuple(sorted(found, key=lambda c: _category_order(_label(dimension, c, names))))
    rows = tuple(
        BreakdownRow(
            figure_id=result.figure_id,
            name=result.name,
            unit=result.unit,
            total=fmt.bare(result.total.value, result.measure),
            cells=tuple(_breakdown_cell(cells.get(c), result.measure) for c in categories),
        )
        for result, cells in splits
    )
    return BreakdownTable(
        dimension=dimension,
        title=title,
        categories=categories,
        labels=tuple(_label(dimension, c, names) for c in categories),
        rows=rows,
    )


def _breakdown_cell(cell: Cell | None, measure: str) -> BreakdownCell | None:
    if cell is None:
        return None
    figure = cell.figure
    return BreakdownCell(
        category=cell.category,
        value=_text(figure.value) if figure is not None else None,
        display="n < 5" if cell.suppressed else fmt.bare(figure.value if figure else None, measure),
        n=figure.n if figure is not None else None,
        suppressed=cell.suppressed,
    )
