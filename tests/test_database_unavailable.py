"""When the database cannot be reached the service answers 503 problem+json with Retry-After
(nothing was written, a retry is safe), never a 500; a fault of its own stays a 500."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest
from litestar import Litestar, get

from service.problems import EXCEPTION_HANDLERS


@get("/unreachable")
async def unreachable() -> None:
    # A real failed connect: nothing listens on port 1.
    await asyncpg.connect("postgresql://postgres@127.0.0.1:1/impactlog", timeout=2)


@get("/shutting-down")
async def shutting_down() -> None:
    raise asyncpg.exceptions.CannotConnectNowError("the database system is shutting down")


@get("/database-dropped")
async def database_dropped() -> None:
    raise asyncpg.InvalidCatalogNameError('database "impactlog" does not exist')


@get("/pool-exhausted")
async def pool_exhausted() -> None:
    raise TimeoutError  # what pool.acquire(timeout=…) raises when no connection frees up


@get("/missing-file")
async def missing_file() -> None:
    open("/nonexistent/impactlog/template.html")  # noqa: ASYNC230 - a fault of the code, not the database


@pytest.fixture
async def app_client() -> AsyncIterator[httpx.AsyncClient]:
    app = Litestar(
        [unreachable, shutting_down, database_dropped, pool_exhausted, missing_file],
        exception_handlers=EXCEPTION_HANDLERS,
    )
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client


@pytest.mark.parametrize("path", ["/unreachable", "/shutting-down", "/database-dropped", "/pool-exhausted"])
async def test_an_unreachable_database_is_a_503_with_retry_after(
    app_client: httpx.AsyncClient, path: str
) -> None:
    answer = await app_client.get(path)
    assert answer.status_code == 503
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.headers["retry-after"] == "5"
    body = answer.json()
    assert body["type"].endswith("/database-unavailable") and "nothing was written" in body["detail"]


async def test_a_fault_of_the_code_stays_a_500(app_client: httpx.AsyncClient) -> None:
    answer = await app_client.get("/missing-file")
    assert answer.status_code == 500 and answer.json()["type"].endswith("/internal")
