"""The funders' pages: the project list, a project's dashboard and its KPI table exports.

Figures come from the same place as the API's (the KPI engine over app.state.decoded_log) and
through the same cache under the same keys, so the page and ``GET …/indicators`` for the same
position and role are one computation and cannot disagree. Funders see small cells suppressed,
as in the API. Errors are HTML pages here, not problem+json, except a bad bearer token (401),
which scripts should see as such.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Annotated, Any
from urllib.parse import urlencode

import msgspec
from litestar import Controller, Request, Response, Router, get
from litestar.datastructures import State
from litestar.exceptions import NotFoundException, PermissionDeniedException, ValidationException
from litestar.params import QueryParameter

from events.entries import LogEntry, log_entry
from events.envelope import LogHead
from events.errors import ProjectNotFound
from events.read import read_head, read_heads, read_log
from indicators import (
    FIGURES,
    ProjectIndicators,
    Series,
    evaluate_all,
    evaluate_tables,
    kpi_series,
    suppress_for_funders,
)
from indicators.periods import PeriodKind
from projections.decoded_log import DecodedLog
from service.auth import Role, principal_of, view_dashboard
from service.dashboard import exports
from service.dashboard.assets import favicon, static_asset
from service.dashboard.charts import ChartRenderer
from service.dashboard.formatting import moment
from service.dashboard.live import LiveViews
from service.dashboard.rendering import PageError, render_page
from service.dashboard.session import (
    SignInRequired,
    login,
    login_page,
    logout,
    sign_in_response,
    signed_in,
)
from service.dashboard.snapshots import AsOf, PublishedSnapshot, choose_as_of, published_snapshots
from service.dashboard.view import Dashboard, ProjectHeader, build_dashboard, project_header
from service.indicators_api import ResultCache
from service.kpi_entries import kpi_entries
from service.projects_api import ProjectInPath

XLSX_MEDIA = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# The view a page or export shows: live unless one of these is given (a snapshot wins).
SnapshotQuery = Annotated[str | None, QueryParameter(description="a published snapshot's id: its figures")]
AsOfQuery = Annotated[
    str | None,
    QueryParameter(description="a day (YYYY-MM-DD) or a log position: the figures as recorded by then"),
]


def chart_renderer(state: State) -> ChartRenderer:
    """The app's chart cache, made on first use (it needs nothing from the lifespan)."""
    renderer = getattr(state, "dashboard_charts", None)
    if not isinstance(renderer, ChartRenderer):
        renderer = ChartRenderer()
        state.dashboard_charts = renderer
    return renderer


def live_views(state: State) -> LiveViews[LogRead]:
    """The app's newest live dashboards, made on first use."""
    views = getattr(state, "dashboard_live_views", None)
    if not isinstance(views, LiveViews):
        views = LiveViews[LogRead]()
        state.dashboard_live_views = views
    return views


class ProjectSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A line of the project list."""

    project_id: str
    grant_no: str | None
    call_id: str | None
    period: str
    position_display: str
    last_recorded: str


@dataclasses.dataclass(frozen=True)
class LogRead:
    """What one request read: the project's head and decoded log, its snapshots, the view asked."""

    head: LogHead
    entries: list[LogEntry]
    snapshots: tuple[PublishedSnapshot, ...]
    as_of: AsOf


@dataclasses.dataclass(frozen=True)
class Figures:
    """The engine's KPI table (per reporting period) for what a request read."""

    read: LogRead
    table: ProjectIndicators


def _hides_small_cells(request: Request[Any, Any, Any]) -> bool:
    return principal_of(request).role is Role.FUNDER


def _suppressed_if(result: Any, hide: bool) -> Any:
    return suppress_for_funders(result) if hide else result


# The page shows cards per reporting period and charts per quarter.
PAGE_PERIODS: tuple[PeriodKind, ...] = ("reporting_period", "quarter")


def _table_key(
    project: str, entries: list[LogEntry], as_of: AsOf, period: str, hide: bool
) -> tuple[Any, ...]:
    # The same key as GET …/indicators uses: the page and the API share one evaluation.
    return ("all", project, len(entries), as_of.cut, period, hide)


async def _table(
    cache: ResultCache, project: str, entries: list[LogEntry], as_of: AsOf, period: str, hide: bool
) -> ProjectIndicators:
    result: ProjectIndicators = await cache.get(
        _table_key(project, entries, as_of, period, hide),
        lambda: _suppressed_if(evaluate_all(entries, as_of=as_of.cut, period=period), hide),  # type: ignore[arg-type]
    )
    return result


async def _page_tables(
    cache: ResultCache, project: str, entries: list[LogEntry], as_of: AsOf, hide: bool
) -> tuple[ProjectIndicators, ProjectIndicators]:
    """The tables per reporting period and per quarter, in one evaluation (each formula runs once),
    kept under the keys the API and the exports read too."""
    keys = [_table_key(project, entries, as_of, period, hide) for period in PAGE_PERIODS]

    def evaluate() -> list[ProjectIndicators]:
        tables = evaluate_tables(entries, as_of.cut, PAGE_PERIODS)
        return [_suppressed_if(tables[period], hide) for period in PAGE_PERIODS]

    tables: list[ProjectIndicators] = await cache.get(
        ("page tables", project, len(entries), as_of.cut, hide), evaluate
    )
    for key, table in zip(keys, tables, strict=True):
        cache.put(key, table)
    return tables[0], tables[1]


async def read_project(state: State, project: str, snapshot: str | None, as_of_text: str | None) -> LogRead:
    """The project's log as decoded so far and the view asked for: live, a snapshot, a date or a
    position; 404 for an unknown project or snapshot, 400 for a malformed date."""
    head = await read_head(state.pool, project)
    if head is None:
        raise ProjectNotFound(project)
    decoded: DecodedLog = state.decoded_log
    entries = await kpi_entries(decoded, project)
    cache: ResultCache = state.indicator_cache
    snapshots = await cache.get(("snapshots", project, len(entries)), lambda: published_snapshots(entries))
    return LogRead(
        head=head, entries=entries, snapshots=snapshots, as_of=choose_as_of(snapshot, as_of_text, snapshots)
    )


async def project_figures(
    state: State, project: str, snapshot: str | None, as_of_text: str | None, hide: bool
) -> Figures:
    """The KPI table of a project for a view, computed now (exports must be exact)."""
    read = await read_project(state, project, snapshot, as_of_text)
    table = await _table(state.indicator_cache, project, read.entries, read.as_of, "reporting_period", hide)
    return Figures(read=read, table=table)


async def _computed_dashboard(state: State, project: str, read: LogRead, hide: bool) -> Dashboard:
    """The dashboard for what was read: both KPI tables, then cards, charts and breakdowns."""
    cache: ResultCache = state.indicator_cache
    table, quarters = await _page_tables(cache, project, read.entries, read.as_of, hide)
    charts = chart_renderer(state)
    dashboard: Dashboard = await cache.get(
        ("dashboard", project, len(read.entries), read.as_of.cut, hide),
        lambda: build_dashboard(
            project, read.head, read.entries, table, quarters, read.snapshots, read.as_of, hide, charts
        ),
    )
    if dashboard.as_of != read.as_of:
        # A snapshot and a position naming the same cut share the figures, not the banner.
        dashboard = msgspec.structs.replace(dashboard, as_of=read.as_of)
    return dashboard


async def dashboard_data(
    state: State, project: str, snapshot: str | None, as_of_text: str | None, hide: bool
) -> Dashboard:
    """The dashboard of a project for a view. A past view is computed (once: it never changes);
    the live view is the newest one computed, refreshed in the background when the log moved."""
    read = await read_project(state, project, snapshot, as_of_text)
    if read.as_of.kind != "live":
        return await _computed_dashboard(state, project, read, hide)
    return await live_views(state).view(
        project, hide, len(read.entries), read, lambda r: _computed_dashboard(state, project, r, hide)
    )


def _query(as_of: AsOf) -> str:
    return f"?{urlencode(as_of.query)}" if as_of.query else ""


class DashboardController(Controller):
    """/projects/{project}/dashboard: the page and its exports."""

    path = "/projects/{project:str}/dashboard"
    guards = [signed_in, view_dashboard]  # noqa: RUF012 - Litestar reads a list
    include_in_schema = False

    @get("/", name="dashboard")
    async def dashboard(
        self,
        request: Request[Any, Any, Any],
        state: State,
        project: ProjectInPath,
        snapshot: SnapshotQuery = None,
        as_of: AsOfQuery = None,
    ) -> Response[str]:
        """The funders' dashboard of one project."""
        dashboard = await dashboard_data(state, project, snapshot, as_of, _hides_small_cells(request))
        return render_page(
            request,
            "dashboard.html",
            {
                "d": dashboard,
                "principal": principal_of(request),
                "query": _query(dashboard.as_of),
                "generated_at": moment(dt.datetime.now(dt.UTC)),
            },
        )

    @get("/indicators.csv")
    async def indicators_csv(
        self,
        request: Request[Any, Any, Any],
        state: State,
        project: ProjectInPath,
        snapshot: SnapshotQuery = None,
        as_of: AsOfQuery = None,
    ) -> Response[str]:
        """The KPI table in the donor layout, as CSV."""
        _, table, columns, rows, _ = await _donor_table(request, state, project, snapshot, as_of)
        return Response(
            exports.as_csv(columns, rows),
            # Litestar adds "; charset=utf-8" to every text/* type itself.
            media_type="text/csv",
            headers=_attachment(f"{project}-indicators-{table.as_of_position}.csv"),
        )

    @get("/indicators.xlsx")
    async def indicators_xlsx(
        self,
        request: Request[Any, Any, Any],
        state: State,
        project: ProjectInPath,
        snapshot: SnapshotQuery = None,
        as_of: AsOfQuery = None,
    ) -> Response[bytes]:
        """The KPI table in the donor layout, as an Excel workbook."""
        header, table, columns, rows, view = await _donor_table(request, state, project, snapshot, as_of)
        hide = _hides_small_cells(request)
        about = exports.about_rows(header, table, view.label, hide)
        return Response(
            exports.as_xlsx(columns, rows, about),
            media_type=XLSX_MEDIA,
            headers=_attachment(f"{project}-indicators-{table.as_of_position}.xlsx"),
        )


def _attachment(filename: str) -> dict[str, str]:
    return {"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"}


async def _donor_table(
    request: Request[Any, Any, Any], state: State, project: str, snapshot: str | None, as_of: str | None
) -> tuple[ProjectHeader, ProjectIndicators, list[str], list[list[exports.Value]], AsOf]:
    hide = _hides_small_cells(request)
    figures = await project_figures(state, project, snapshot, as_of, hide)
    entries, view, table = figures.read.entries, figures.read.as_of, figures.table
    header, _ = project_header(project, figures.read.head, entries, table)

    def compute() -> tuple[list[str], list[list[exports.Value]]]:
        splits: dict[tuple[str, str], Series] = {
            (sheet.figure_id, dimension): _suppressed_if(
                kpi_series(entries, sheet.figure_id, "reporting_period", by=dimension, as_of=view.cut), hide
            )
            for sheet in FIGURES
            for dimension in exports.EXPORT_DIMENSIONS
            if dimension in sheet.disaggregations
        }
        return exports.donor_table(header, table, splits)

    # One cache entry for the whole table: its ~70 series would otherwise crowd the API's out.
    cache: ResultCache = state.indicator_cache
    columns, rows = await cache.get(("donor-table", project, len(entries), view.cut, hide), compute)
    return header, table, columns, rows, view


@get("/projects", guards=[signed_in], include_in_schema=False)
async def project_list(request: Request[Any, Any, Any], state: State) -> Response[str]:
    """The projects the signed-in token reaches, with a link to each dashboard."""
    principal = principal_of(request)
    summaries: list[ProjectSummary] = []
    for head in await read_heads(state.pool):
        if not principal.can_access(head.project_id):
            continue
        first = await read_log(state.pool, head.project_id, limit=1)
        registration = log_entry(first[0]).payload if first else None
        grant_no = getattr(registration, "grant_no", None)
        start, end = getattr(registration, "start_date", None), getattr(registration, "end_date", None)
        summaries.append(
            ProjectSummary(
                project_id=head.project_id,
                grant_no=grant_no,
                call_id=getattr(registration, "call_id", None),
                period=f"{start} to {end}" if start and end else "—",
                position_display=f"{head.position:,}",
                last_recorded=moment(head.last_recorded_at),
            )
        )
    return render_page(request, "projects.html", {"projects": summaries, "principal": principal})


def _error_page(request: Request[Any, Any, Any], status: int, title: str, message: str) -> Response[str]:
    principal = request.scope.get("user")
    context = {"status": status, "title": title, "message": message, "principal": principal}
    return render_page(request, "error.html", context, status)


def _page_error(request: Request[Any, Any, Any], error: PageError) -> Response[str]:
    return _error_page(request, error.status, error.title, error.message)


def _forbidden(request: Request[Any, Any, Any], error: PermissionDeniedException) -> Response[str]:
    return _error_page(request, 403, "Access refused", str(error.detail))


def _not_found(request: Request[Any, Any, Any], error: Exception) -> Response[str]:
    project = request.path_params.get("project")
    message = f"There is no project {project!r}." if project else "There is no such page."
    return _error_page(request, 404, "Not found", message)


def _bad_request(request: Request[Any, Any, Any], error: ValidationException) -> Response[str]:
    return _error_page(request, 400, "Bad request", str(error.detail))


# Every page route, with page-style answers to the errors a person can meet.
dashboard_router = Router(
    path="/",
    route_handlers=[
        login_page,
        login,
        logout,
        static_asset,
        favicon,
        project_list,
        DashboardController,
    ],
    exception_handlers={
        SignInRequired: sign_in_response,
        PageError: _page_error,
        PermissionDeniedException: _forbidden,
        ProjectNotFound: _not_found,
        NotFoundException: _not_found,
        ValidationException: _bad_request,
    },
    include_in_schema=False,
)
