"""Fixtures: a real PostgreSQL (DATABASE_URL, else the embedded server) and a schema per test."""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from events.store import EventStore
from service.app import create_app, run_services
from service.database import create_pool, migrate_pool
from service.embedded_db import start_embedded
from service.settings import ROOT, Settings

MIGRATIONS = ROOT / "migrations"


@pytest.fixture(scope="session")
def database_dsn() -> Iterator[str]:
    """DATABASE_URL when set; else an embedded PostgreSQL in a throwaway folder under /tmp."""
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
        return
    with tempfile.TemporaryDirectory(prefix="impactlog-test-db-") as folder:
        os.chmod(folder, 0o755)
        server = start_embedded(Path(folder))
        try:
            yield server.get_uri()
        finally:
            server.cleanup()


class Database:
    """A fresh schema with the migrations applied, dropped after the test."""

    def __init__(self, dsn: str, schema: str, pool: asyncpg.Pool) -> None:
        self.dsn = dsn
        self.schema = schema
        self.pool = pool

    async def connect(self) -> asyncpg.Connection:
        """A separate connection that sees this test's schema."""
        connection = await asyncpg.connect(self.dsn, server_settings={"search_path": self.schema})
        return connection

    async def new_pool(self, **kwargs: int) -> asyncpg.Pool:
        """Another pool on the same schema (a second "process")."""
        return await create_pool(self.dsn, schema=self.schema, **kwargs)


@pytest.fixture
async def db(database_dsn: str) -> AsyncIterator[Database]:
    """A private schema for one test, migrated; dropped afterwards."""
    schema = f"t_{uuid.uuid4().hex[:16]}"
    admin = await asyncpg.connect(database_dsn)
    try:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        pool = await create_pool(database_dsn, schema=schema, min_size=1, max_size=12)
        try:
            await migrate_pool(pool, MIGRATIONS)
            yield Database(database_dsn, schema, pool)
        finally:
            await pool.close()
            await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        await admin.close()


@pytest.fixture
async def store(db: Database) -> EventStore:
    """An event store on the test's schema, with its own notification channel."""
    return EventStore(db.pool, channel=f"impactlog_{db.schema}")


@contextlib.asynccontextmanager
async def running_service(db: Database, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The real app on the test's schema, in this event loop, with an HTTP client to it."""
    settings = Settings(
        database_url=db.dsn,
        data_dir=Path("/nonexistent"),
        migrations_dir=MIGRATIONS,
        host="127.0.0.1",
        port=0,
        pool_min=1,
        pool_max=4,
        log_level="INFO",
        max_body_bytes=overrides.pop("max_body_bytes", 1024 * 1024),
    )
    app = create_app(settings, pool=db.pool)
    # Litestar's own lifespan runs in an anyio task group that pytest-asyncio's fixtures (set up
    # and torn down in different tasks) cannot hold open; the services it starts are these.
    async with run_services(app, settings, db.pool, None):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://impactlog.test") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


@pytest.fixture
async def service(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client to the running service on this test's schema."""
    async with running_service(db) as client:
        yield client


async def bearer(db: Database, role: str, *projects: str, name: str | None = None) -> dict[str, str]:
    """Authorization headers for a new token of `role` on `projects`."""
    from service.auth import TokenStore

    _, secret = await TokenStore(db.pool).create(role, projects, name=name)
    return {"Authorization": f"Bearer {secret}"}
