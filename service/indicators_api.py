"""KPIs over HTTP: every indicator with its reference sheet, and any one as a time series.

Figures come from the pure KPI engine (indicators/) over the decoded-log projection. Funders get
small cells (n < 5) suppressed; auditors, staff and admins see them. `as_of` (a position or a
date) recomputes from positions 1..P only; `min_position` waits (bounded) for the append that
returned P, so a writer reads its own writes.
"""

from __future__ import annotations

import asyncio
import collections
import csv
import datetime as dt
import io
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar, cast

import msgspec
from litestar import Controller, Request, Response, get
from litestar.datastructures import State
from litestar.exceptions import PermissionDeniedException, ValidationException
from litestar.params import FromPath, Parameter

from indicators import (
    INDICATORS,
    IndicatorQueryError,
    IndicatorsSummary,
    evaluate_all,
    evaluate_summary,
    kpi_series,
    suppress_for_funders,
)
from indicators.evidence import figure_evidence
from indicators.periods import PERIOD_KINDS
from indicators.periods import PeriodKind as EnginePeriod
from indicators.results import Cell, Figure, ProjectIndicators, Series
from indicators.spreadsheet_cells import inert_row
from projections.decoded_log import DecodedLog
from service.auth import Role, allow, principal_of
from service.kpi_entries import kpi_entries
from service.projects_api import ProjectInPath, project_head

R = TypeVar("R")

READ_YOUR_WRITES_TIMEOUT = 5.0
CSV_MEDIA = "text/csv"

AsOf = Annotated[
    str | None,
    Parameter(
        description="A log position (e.g. 1842) or a date (YYYY-MM-DD: the last position recorded that day)"
    ),
]
MinPosition = Annotated[
    int | None,
    Parameter(
        ge=0,
        le=2**62,
        description="Wait (up to 5 s) until the log has reached this position (read your writes)",
    ),
]
View = Annotated[
    Literal["full", "summary"],
    Parameter(
        description="full (default): every figure with its breakdowns and periods; summary: each "
        "figure project to date with its baseline, target, progress and status (no breakdowns)"
    ),
]
PeriodKind = Annotated[
    str,
    Parameter(
        description="month | quarter | reporting_period | cumulative (reporting periods, running totals)"
    ),
]


class ResultCache:
    """The last few evaluations, keyed by what determines them (the log position included).

    Single-flight: requests asking for a value being computed wait for that computation rather
    than starting their own (at 1M events one KPI table costs seconds of CPU; a dashboard and a
    few API clients arriving together would otherwise each pay it). A waiter that goes away
    (a client disconnecting) does not cancel the computation for the others. A computation that
    fails is not kept: each waiter gets the error, the next request tries again.
    """

    def __init__(self, size: int = 64) -> None:
        self._size = size
        self._items: collections.OrderedDict[tuple[Any, ...], Any] = collections.OrderedDict()
        self._pending: dict[tuple[Any, ...], asyncio.Task[Any]] = {}

    async def get(self, key: tuple[Any, ...], compute: Callable[[], R]) -> R:
        """The cached value, else compute it once in a worker thread and keep it."""
        if key in self._items:
            self._items.move_to_end(key)
            value: R = self._items[key]
            return value
        task = self._pending.get(key)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._compute(key, compute))
            task.add_done_callback(_retrieve_exception)
            self._pending[key] = task
        result: R = await asyncio.shield(task)
        return result

    def put(self, key: tuple[Any, ...], value: Any) -> None:
        """Keep a value computed along with another (one evaluation giving several results)."""
        self._items[key] = value
        self._items.move_to_end(key)
        if len(self._items) > self._size:
            self._items.popitem(last=False)

    async def _compute(self, key: tuple[Any, ...], compute: Callable[[], R]) -> R:
        try:
            value = await asyncio.to_thread(compute)
        finally:
            self._pending.pop(key, None)
        self.put(key, value)
        return value


def _retrieve_exception(task: asyncio.Task[Any]) -> None:
    """Mark a failed computation's error as seen when every waiter has gone away."""
    if not task.cancelled():
        task.exception()


def _as_of(text: str | None) -> int | dt.date | None:
    if text is None or text == "":
        return None
    if text.isascii() and text.isdigit():
        return int(text)
    try:
        return dt.date.fromisoformat(text)
    except ValueError as error:
        raise ValidationException(
            detail=f"as_of: {text!r} is neither a log position nor a YYYY-MM-DD date",
            extra=[{"key": "as_of", "message": "expected a log position or a YYYY-MM-DD date"}],
        ) from error


def _period(text: str) -> EnginePeriod:
    kind = "reporting_period" if text == "cumulative" else text
    if kind not in PERIOD_KINDS:
        raise ValidationException(
            detail=f"period: {text!r} is not one of month, quarter, reporting_period, cumulative",
            extra=[{"key": "period", "message": "use month, quarter, reporting_period or cumulative"}],
        )
    return cast(EnginePeriod, kind)


def _suppressed(request: Request[Any, Any, Any]) -> bool:
    return principal_of(request).role is Role.FUNDER


async def _entries(state: State, project: str, min_position: int | None) -> Any:
    head = await project_head(state, project)
    if min_position is not None and head < min_position:
        await state.notifications.wait_for_position(project, min_position, READ_YOUR_WRITES_TIMEOUT)
    decoded: DecodedLog = state.decoded_log
    return await kpi_entries(decoded, project)


def _query_error(error: IndicatorQueryError, field: str) -> ValidationException:
    return ValidationException(detail=f"{field}: {error}", extra=[{"key": field, "message": str(error)}])


class IndicatorsController(Controller):
    """/api/v1/projects/{project}/indicators…"""

    path = "/api/v1/projects/{project:str}/indicators"
    tags = ("indicators",)
    guards = [allow(Role.FUNDER, Role.AUDITOR, Role.STAFF)]  # noqa: RUF012 - Litestar reads a list

    @get("/", summary="Every KPI: reference sheet, value, baseline, target, progress, status")
    async def list_indicators(
        self,
        request: Request[Any, Any, Any],
        state: State,
        project: ProjectInPath,
        period: PeriodKind = "reporting_period",
        as_of: AsOf = None,
        min_position: MinPosition = None,
        view: View = "full",
    ) -> Response[Any]:
        """The whole results framework as of a position (default: the head)."""
        entries = await _entries(state, project, min_position)
        cut, kind, hide = _as_of(as_of), _period(period), _suppressed(request)
        cache: ResultCache = state.indicator_cache
        result: ProjectIndicators | IndicatorsSummary
        try:
            if view == "summary":
                # Totals are never suppressed: the summary is the same for every role.
                result = await cache.get(
                    ("summary", project, len(entries), cut), lambda: evaluate_summary(entries, as_of=cut)
                )
            else:
                result = await cache.get(
                    ("all", project, len(entries), cut, kind, hide),
                    lambda: _maybe_suppressed(evaluate_all(entries, as_of=cut, period=kind), hide),
                )
        except IndicatorQueryError as error:
            raise _query_error(error, "period") from error
        sheets = {sheet.indicator_id: sheet for sheet in INDICATORS}
        return Response({"reference_sheets": list(sheets.values()), "indicators": result})

    @get("/{kpi:str}/series", summary="One KPI per period (JSON, or CSV with Accept: text/csv)")
    async def series(
        self,
        request: Request[Any, Any, Any],
        state: State,
        project: ProjectInPath,
        kpi: FromPath[str],
        period: PeriodKind = "reporting_period",
        by: Annotated[str | None, Parameter(description="A dimension of the KPI, e.g. country")] = None,
        as_of: AsOf = None,
        min_position: MinPosition = None,
    ) -> Response[Any]:
        """Values and cumulative values per period, split by `by`, with targets per reporting period."""
        entries = await _entries(state, project, min_position)
        cut, kind, hide = _as_of(as_of), _period(period), _suppressed(request)
        cache: ResultCache = state.indicator_cache
        try:
            result = await cache.get(
                ("series", project, len(entries), cut, kind, kpi, by, hide),
                lambda: _maybe_suppressed(kpi_series(entries, kpi, period=kind, by=by, as_of=cut), hide),
            )
        except IndicatorQueryError as error:
            field = "kpi" if "unknown KPI" in str(error) else ("by" if "split" in str(error) else "period")
            raise _query_error(error, field) from error
        if CSV_MEDIA in (request.headers.get("accept") or ""):
            return Response(
                series_csv(result),
                media_type=CSV_MEDIA,
                headers={"Content-Disposition": f'attachment; filename="{project}-{kpi}-{kind}.csv"'},
            )
        return Response(result)

    @get("/{kpi:str}/evidence", summary="The events behind one figure (drill-down)")
    async def evidence(
        self,
        request: Request[Any, Any, Any],
        state: State,
        project: ProjectInPath,
        kpi: FromPath[str],
        period: PeriodKind = "reporting_period",
        period_id: Annotated[
            str | None, Parameter(description="A period as served, e.g. RP1, 2025-Q1")
        ] = None,
        by: Annotated[str | None, Parameter(description="A dimension, with category")] = None,
        category: Annotated[str | None, Parameter(description="A cell of `by`, e.g. AT")] = None,
        cumulative: Annotated[bool, Parameter(description="Everything up to the period's end")] = False,
        as_of: AsOf = None,
        min_position: MinPosition = None,
    ) -> EvidenceAnswer:
        """Position, type, dates and recorder of every event counted in the figure."""
        figure_id = kpi.split(".")[0]
        if figure_id in PERSON_FIGURES and principal_of(request).role is Role.FUNDER:
            raise PermissionDeniedException(detail=f"{kpi} counts persons: its evidence is for auditors")
        entries = await _entries(state, project, min_position)
        cut, kind = _as_of(as_of), _period(period)
        try:
            found = await asyncio.to_thread(
                figure_evidence,
                entries,
                kpi,
                kind,
                period_id,
                by,
                category,
                cut,
                cumulative,
            )
        except IndicatorQueryError as error:
            raise _query_error(error, _evidence_field(str(error))) from error
        rows = await state.pool.fetch(EVIDENCE_EVENTS, project, found.positions)
        return EvidenceAnswer(
            figure_id=found.figure_id,
            period_id=found.period_id,
            cumulative=found.cumulative,
            by=found.by,
            category=found.category,
            as_of_position=found.as_of_position,
            count=found.count,
            events=[
                EvidenceEvent(
                    position=r["position"],
                    type=r["type"],
                    occurred_on=r["occurred_on"],
                    recorded_at=r["recorded_at"],
                    recorded_by=r["actor"],
                    partner_org_id=r["partner"],
                    reason=r["reason"],
                )
                for r in rows
            ],
        )


def _evidence_field(message: str) -> str:
    for field, clue in (
        ("kpi", "unknown KPI"),
        ("by", "split"),
        ("period_id", "period_id"),
        ("category", "categor"),
        ("period", "period"),
    ):
        if clue in message:
            return field
    return "kpi"


Result = TypeVar("Result", ProjectIndicators, Series)


class EvidenceEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One event behind a figure: where it is in the log, what it is, who recorded it and when."""

    position: int
    type: str
    occurred_on: dt.date | None
    recorded_at: dt.datetime
    recorded_by: str | None
    partner_org_id: str | None
    reason: str | None = None


class EvidenceAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """The events that make up one figure (one period and cell when asked)."""

    figure_id: str
    period_id: str | None
    cumulative: bool
    by: str | None
    category: str | None
    as_of_position: int
    count: int
    events: list[EvidenceEvent]


# Figures about persons: listing their events hands out who attended what, so auditors only.
PERSON_FIGURES = frozenset({"O3"})

EVIDENCE_EVENTS = """
SELECT position, type, occurred_on, recorded_at, metadata->>'actor' AS actor,
       metadata->>'partner_org_id' AS partner, data->>'reason' AS reason
  FROM events WHERE project_id = $1 AND position = ANY($2::bigint[]) ORDER BY position
"""


def _maybe_suppressed(result: Result, hide: bool) -> Result:
    return suppress_for_funders(result) if hide else result


CSV_COLUMNS = [
    "figure_id",
    "period_id",
    "period_start",
    "period_end",
    "dimension",
    "category",
    "value",
    "numerator",
    "denominator",
    "n",
    "cumulative_value",
    "cumulative_n",
    "target",
    "progress_pct",
    "status",
    "suppressed",
    "as_of_position",
]


def series_csv(series: Series) -> str:
    """One row per period × cell (the total first), disaggregations in columns."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    figure = series.figure
    for point in figure.points:
        period = point.period
        head = [figure.figure_id, period.period_id, period.start.isoformat(), period.end.isoformat()]
        target = point.target
        writer.writerow(
            inert_row(
                [
                    *head,
                    "",
                    "total",
                    *_figure_columns(point.value),
                    *_cumulative(point.cumulative),
                    _text(target.target if target else None),
                    _text(target.progress if target else None),
                    target.status if target and target.status else "",
                    "false",
                    series.as_of_position,
                ]
            )
        )
        cumulative = {c.category: c for c in point.cumulative_cells}
        for cell in point.cells:
            total = cumulative.get(cell.category)
            writer.writerow(
                inert_row(
                    [
                        *head,
                        series.by or "",
                        cell.category,
                        *_cell_columns(cell),
                        *_cumulative(total.figure if total and total.figure else None),
                        "",
                        "",
                        "",
                        "true" if cell.suppressed else "false",
                        series.as_of_position,
                    ]
                )
            )
    return out.getvalue()


def _text(value: object) -> str:
    return "" if value is None else str(value)


def _figure_columns(figure: Figure | None) -> list[str]:
    if figure is None:
        return ["", "", "", ""]
    return [_text(figure.value), _text(figure.numerator), _text(figure.denominator), str(figure.n)]


def _cell_columns(cell: Cell) -> list[str]:
    return _figure_columns(cell.figure)


def _cumulative(figure: Figure | None) -> list[str]:
    return ["", ""] if figure is None else [_text(figure.value), str(figure.n)]
