"""What the benchmarks in bench/ share: the local database they may use, migrated schemas, the
deterministic demo, and the service served in-process for the page and API timings.

Imported as ``_common``: each script runs as ``python bench/<name>.py``, which puts bench/ first
on sys.path. The leading underscore keeps it from being taken for a benchmark.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import asyncpg

from events.admission import WriteModelAdmission
from events.read import read_head
from events.store import EventStore
from service.database import create_pool, migrate_pool
from service.demo import load_demo
from service.recording import Recorder
from service.settings import ROOT, Settings

if TYPE_CHECKING:
    import httpx

    from projections.decoded_log import DecodedLog

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
MIGRATIONS = ROOT / "migrations"
# The project `impactlog demo` data is loaded into by the benches that load it themselves.
DEMO_PROJECT = "demo"


# --- command line ---------------------------------------------------------------------------


def loopback_dsn(dsn: str) -> str:
    """Refuse anything but a database on this machine: a benchmark sends traffic nowhere else."""
    host = urlsplit(dsn).hostname or "localhost"
    if host not in LOOPBACK_HOSTS and not host.startswith("/"):
        raise SystemExit(f"--dsn: {host} is not this machine; run the bench against a local PostgreSQL")
    return dsn


def bench_parser(doc: str | None, *, dsn_help: str | None = None) -> argparse.ArgumentParser:
    """A parser described by the first paragraph of the script's docstring, with ``--dsn``
    ($DATABASE_URL, else DEFAULT_DSN)."""
    parser = argparse.ArgumentParser(description=(doc or "").split("\n\n")[0])
    parser.add_argument("--dsn", default=os.environ.get("DATABASE_URL") or DEFAULT_DSN, help=dsn_help)
    return parser


# --- schemas and the demo -------------------------------------------------------------------


def scratch_schema_name(label: str) -> str:
    """A schema name no other run uses: ``bench_<label>_<8 hex digits>``."""
    return f"bench_{label}_{uuid.uuid4().hex[:8]}"


@contextlib.asynccontextmanager
async def migrated_schema(
    dsn: str, schema: str, *, drop: bool, min_size: int = 2, max_size: int = 6
) -> AsyncIterator[asyncpg.Pool]:
    """`schema` (created when missing) migrated, with a pool on it; dropped on the way out if `drop`."""
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        pool = await create_pool(dsn, schema=schema, min_size=min_size, max_size=max_size)
        try:
            await migrate_pool(pool, MIGRATIONS)
            yield pool
        finally:
            await pool.close()
            if drop:
                await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        await admin.close()


async def record_demo(pool: asyncpg.Pool, project: str, scale: int) -> int:
    """Load the deterministic demo at `scale` into `project` through the validating Recorder, as
    ``impactlog demo`` does; what load_demo returns."""
    return await load_demo(Recorder(EventStore(pool, admission=WriteModelAdmission())), project, scale=scale)


async def head_position(pool: asyncpg.Pool, project: str) -> int:
    """The position of the project's last event; the project must have one."""
    head = await read_head(pool, project)
    assert head is not None, f"no events in project {project!r}"
    return head.position


# --- the service in-process -----------------------------------------------------------------


def _settings(dsn: str) -> Settings:
    return Settings(
        database_url=dsn,
        data_dir=Path("/nonexistent"),
        migrations_dir=MIGRATIONS,
        host="127.0.0.1",
        port=0,
        pool_min=1,
        pool_max=8,
        log_level="WARNING",
        max_body_bytes=1024 * 1024,
    )


@contextlib.asynccontextmanager
async def _no_services(app: Any) -> AsyncIterator[None]:
    """The service's lifespan, replaced: the benchmark puts on app.state what the routes read."""
    yield


@contextlib.asynccontextmanager
async def in_process_client(
    dsn: str, pool: asyncpg.Pool
) -> AsyncIterator[tuple[httpx.AsyncClient, DecodedLog]]:
    """A client of the whole service, served in-process through Litestar's ASGI interface, so
    timings are the server's own; and the decoded log its routes read."""
    # Imported here: Litestar adds ~70 MB and a second to every bench that imports this module,
    # and some of them report their peak memory.
    import httpx

    from projections.decoded_log import DecodedLog
    from service.app import create_app
    from service.auth import TokenStore
    from service.indicators_api import ResultCache

    # The service as create_app builds it (routes, middleware, templates), and on app.state what
    # the pages and the API read, as run_services sets it, without the projection runners: those
    # routes do not read their tables, and at steady state they are idle, while catching 1M events
    # up here would share the CPU with the requests being timed.
    app = create_app(_settings(dsn), lifespan=_no_services)
    decoded = DecodedLog(pool)
    app.state.pool = pool
    app.state.tokens = TokenStore(pool)
    app.state.decoded_log = decoded
    app.state.indicator_cache = ResultCache()
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=3600) as client:
        yield client, decoded


async def timed_get(
    client: httpx.AsyncClient, url: str, headers: dict[str, str], params: dict[str, Any] | None = None
) -> float:
    """Milliseconds one GET took; a RuntimeError unless it answered 200."""
    started = time.perf_counter()
    answer = await client.get(url, headers=headers, params=params)
    elapsed = (time.perf_counter() - started) * 1000
    if answer.status_code != 200:
        asked = url if params is None else f"{url} {params}"
        raise RuntimeError(f"GET {asked}: {answer.status_code} {answer.text[:300]}")
    return elapsed


def median_and_p99(samples: Sequence[float]) -> tuple[float, float]:
    """The median and the 99th percentile (the sample nearest 99% of the way up), to 0.1."""
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return round(statistics.median(ordered), 1), round(p99, 1)
