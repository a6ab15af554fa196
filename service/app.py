"""The Litestar application: lifespan (database, migrations, event store), routes, errors."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import msgspec
from litestar import Litestar, Response, get
from litestar.datastructures import State

from events.notifications import LogNotifications
from events.read import read_heads
from events.store import EventStore
from service.database import create_pool, database_url, migrate_pool
from service.metrics import LogMetrics
from service.migrate import migration_level
from service.settings import Settings


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
    body = Health(
        status="ok",
        database=DatabaseHealth(
            reachable=True, embedded=settings.database_url is None, server_version=version
        ),
        migration_level=level,
        projects=[ProjectHead(project_id=h.project_id, position=h.position, hash=h.hash) for h in heads],
    )
    return Response(body)


@get("/metrics", media_type="text/plain; version=0.0.4", tags=["operations"], summary="Prometheus metrics")
async def metrics(state: State) -> bytes:
    """Prometheus text exposition of the event log's counters and histograms."""
    registry: LogMetrics = state.metrics
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
    app: Litestar, settings: Settings, pool: asyncpg.Pool | None, dsn: str | None
) -> AsyncIterator[None]:
    """Pool (given or made from `dsn`), migrations, event store and notifications on app.state."""
    own_pool = pool is None
    active = pool or await create_pool(dsn or "", min_size=settings.pool_min, max_size=settings.pool_max)
    try:
        if own_pool:
            await migrate_pool(active, settings.migrations_dir)
        metrics_registry = LogMetrics()
        notifications = LogNotifications(active)
        await notifications.start()
        app.state.pool = active
        app.state.settings = settings
        app.state.metrics = metrics_registry
        app.state.notifications = notifications
        app.state.store = EventStore(active, observer=metrics_registry)
        try:
            yield
        finally:
            await notifications.stop()
    finally:
        if own_pool:
            await active.close()


def create_app(settings: Settings | None = None, pool: asyncpg.Pool | None = None) -> Litestar:
    """Build the app; a given pool is used as is (tests), else one is made from settings."""
    settings = settings or Settings.from_env()
    return Litestar(
        route_handlers=[health, metrics],
        lifespan=[_lifespan(settings, pool)],
        request_max_body_size=settings.max_body_bytes,
        logging_config=None,
        debug=False,
    )
