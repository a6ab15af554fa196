"""The Litestar application: lifespan (database, migrations, event store), routes, errors."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import msgspec
from litestar import Litestar, Response, get
from litestar.datastructures import State
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import JsonRenderPlugin, YamlRenderPlugin
from litestar.openapi.spec import Components, SecurityScheme

from events.admission import WriteModelAdmission
from events.notifications import LogNotifications
from events.read import read_heads
from events.store import EventStore
from projections import ProjectionService, ProjectionStatus
from projections.decoded_log import DecodedLog
from projections.metrics import ProjectionMetrics
from service.audit_api import AuditController
from service.auth import PUBLIC_PATHS, TokenAuthenticationMiddleware, TokenStore
from service.dashboard import PAGE_PATHS, TEMPLATE_CONFIG, SecurityHeadersMiddleware, dashboard_router
from service.database import create_pool, database_url, migrate_pool
from service.imports.api import ImportsController, import_template
from service.indicators_api import IndicatorsController, ResultCache
from service.log_api import LogController
from service.metrics import LogMetrics
from service.migrate import migration_level
from service.participants_api import ParticipantsController
from service.personal_data import VaultCheckedRecorder
from service.problems import EXCEPTION_HANDLERS
from service.projects_api import ProjectsController
from service.request_log import request_logging
from service.scheduler import SchedulerSettings, run_snapshot_services
from service.settings import Settings
from service.snapshots_api import SnapshotsController

__version__ = "0.1.0"

API_DESCRIPTION = """Event-sourced impact monitoring for cluster partnership grants.

Every call but /health, /metrics and /schema needs `Authorization: Bearer <token>` (tokens are
made with `impactlog token create`). Errors are RFC 9457 problem+json naming the offending field.
"""


class ProjectHead(msgspec.Struct, frozen=True, kw_only=True):
    """One project's log head, as /health shows it."""

    project_id: str
    position: int
    hash: str


class DatabaseHealth(msgspec.Struct, frozen=True, kw_only=True):
    """Which database the service runs on."""

    reachable: bool
    embedded: bool
    server_version: str | None = None
    error: str | None = None


class Health(msgspec.Struct, frozen=True, kw_only=True):
    """The answer of GET /health."""

    status: str
    database: DatabaseHealth
    migration_level: int
    projects: list[ProjectHead]
    projections: list[ProjectionStatus] = []


@get("/health", tags=["operations"], summary="Service and log health")
async def health(state: State) -> Response[Health]:
    """Database reachability, migration level and every project's log head."""
    pool: asyncpg.Pool = state.pool
    settings: Settings = state.settings
    try:
        async with pool.acquire(timeout=5) as connection:
            version = await connection.fetchval("SHOW server_version")
            level = await migration_level(connection)
            heads = await read_heads(connection)
        statuses = await state.projections.status()
    except (OSError, asyncpg.PostgresError, TimeoutError) as error:
        body = Health(
            status="unavailable",
            database=DatabaseHealth(
                reachable=False, embedded=settings.database_url is None, error=str(error)
            ),
            migration_level=0,
            projects=[],
        )
        return Response(body, status_code=503)
    stalled = any(s.stalled for s in statuses)
    body = Health(
        status="degraded" if stalled else "ok",
        database=DatabaseHealth(
            reachable=True, embedded=settings.database_url is None, server_version=version
        ),
        migration_level=level,
        projects=[ProjectHead(project_id=h.project_id, position=h.position, hash=h.hash) for h in heads],
        projections=statuses,
    )
    return Response(body, status_code=503 if stalled else 200)


@get("/metrics", media_type="text/plain; version=0.0.4", tags=["operations"], summary="Prometheus metrics")
async def metrics(state: State) -> bytes:
    """Prometheus text exposition of the event log's counters and histograms."""
    registry: LogMetrics = state.metrics
    with contextlib.suppress(OSError, asyncpg.PostgresError, TimeoutError):
        state.projection_metrics.observe(await state.projections.status())
    return registry.render()


def _lifespan(settings: Settings, pool: asyncpg.Pool | None) -> Any:
    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        with contextlib.ExitStack() as embedded:
            dsn = None if pool is not None else embedded.enter_context(database_url(settings))
            async with run_services(app, settings, pool, dsn):
                yield

    return lifespan


@contextlib.asynccontextmanager
async def run_services(
    app: Litestar,
    settings: Settings,
    pool: asyncpg.Pool | None,
    dsn: str | None,
    scheduler_settings: SchedulerSettings | None = None,
) -> AsyncIterator[None]:
    """Pool (given or made from `dsn`), migrations, event store, notifications, projections and
    the snapshot publisher (and scheduler, when IMPACTLOG_SCHEDULER=1) on app.state."""
    own_pool = pool is None
    active = pool or await create_pool(dsn or "", min_size=settings.pool_min, max_size=settings.pool_max)
    try:
        if own_pool:
            await migrate_pool(active, settings.migrations_dir)
        metrics_registry = LogMetrics()
        notifications = LogNotifications(active)
        await notifications.start()
        projection_service = ProjectionService(active)
        await projection_service.start()
        app.state.projections = projection_service
        app.state.projection_metrics = ProjectionMetrics(metrics_registry.registry)
        app.state.pool = active
        app.state.settings = settings
        app.state.metrics = metrics_registry
        app.state.notifications = notifications
        store = EventStore(active, observer=metrics_registry, admission=WriteModelAdmission())
        app.state.store = store
        app.state.recorder = VaultCheckedRecorder(store)
        app.state.tokens = TokenStore(active)
        app.state.decoded_log = DecodedLog(active)
        app.state.indicator_cache = ResultCache()
        try:
            async with run_snapshot_services(app.state, settings, scheduler_settings):
                yield
        finally:
            await projection_service.stop()
            await notifications.stop()
    finally:
        if own_pool:
            await active.close()


def create_app(
    settings: Settings | None = None, pool: asyncpg.Pool | None = None, lifespan: Any = None
) -> Litestar:
    """Build the app; a given pool is used as is (tests), else one is made from settings. A
    given `lifespan` (a context manager factory taking the app) replaces the standard one: tests
    serving on a real socket start the services on the server's own event loop with it."""
    settings = settings or Settings.from_env()
    return Litestar(
        route_handlers=[
            health,
            metrics,
            ProjectsController,
            LogController,
            IndicatorsController,
            ParticipantsController,
            ImportsController,
            import_template,
            SnapshotsController,
            AuditController,
            dashboard_router,
        ],
        middleware=[
            SecurityHeadersMiddleware,
            # Pages sign people in themselves (session cookie or bearer; a browser without one
            # is sent to /login rather than handed a 401 document).
            DefineMiddleware(TokenAuthenticationMiddleware, exclude=[*PUBLIC_PATHS, *PAGE_PATHS]),
            request_logging,
        ],
        template_config=TEMPLATE_CONFIG,
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=OpenAPIConfig(
            title="impactlog",
            version=__version__,
            description=API_DESCRIPTION,
            path="/schema",
            # JSON and YAML only: the HTML renderers load scripts from CDNs our users cannot reach.
            render_plugins=[JsonRenderPlugin(), YamlRenderPlugin()],
            security=[{"BearerToken": []}],
            components=Components(
                security_schemes={"BearerToken": SecurityScheme(type="http", scheme="bearer")}
            ),
        ),
        lifespan=[lifespan or _lifespan(settings, pool)],
        request_max_body_size=settings.max_body_bytes,
        logging_config=None,
        debug=False,
    )
