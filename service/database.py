"""The database the service talks to: DATABASE_URL, or the embedded default; the pool."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg

from service.embedded_db import start_embedded
from service.migrate import migrate
from service.settings import Settings


@contextlib.contextmanager
def database_url(settings: Settings) -> Iterator[str]:
    """DATABASE_URL when set, else the embedded server's URI (started, and released after)."""
    if settings.database_url:
        yield settings.database_url
        return
    server = start_embedded(settings.data_dir)
    try:
        yield server.get_uri()
    finally:
        server.cleanup()


async def create_pool(
    dsn: str, *, min_size: int = 2, max_size: int = 10, schema: str | None = None
) -> asyncpg.Pool:
    """A pool whose connections see `schema` first (tests isolate themselves that way)."""
    server_settings = {"application_name": "impactlog"}
    if schema is not None:
        server_settings["search_path"] = schema
    pool = await asyncpg.create_pool(
        dsn, min_size=min_size, max_size=max_size, server_settings=server_settings
    )
    assert pool is not None
    return pool


async def migrate_pool(pool: asyncpg.Pool, migrations_dir: Path) -> int:
    """Run migrations on one of the pool's connections."""
    async with pool.acquire() as connection:
        return await migrate(connection, migrations_dir)


@contextlib.asynccontextmanager
async def migrated_pool(settings: Settings, max_size: int = 4) -> AsyncIterator[asyncpg.Pool]:
    """A pool on the configured database with every migration applied (for CLI commands)."""
    with database_url(settings) as dsn:
        pool = await create_pool(dsn, min_size=1, max_size=max_size)
        try:
            await migrate_pool(pool, settings.migrations_dir)
            yield pool
        finally:
            await pool.close()
