"""Server time of the funders' dashboard page at the 1M-event scale.

    python bench/dashboard.py [--dsn URL] [--schema NAME] [--project ID] [--scale N]
                              [--requests N] [--appends N] [--drop]

The demo project at ``--scale 100`` (1,142,064 events) is loaded once into ``--schema`` (kept for
the next run unless ``--drop``; loading takes ~3 minutes), then the dashboard is requested
in-process through Litestar's ASGI interface, so the figures are the server's own time: token
lookup, log read, KPI engine, charts, template. The projection runners are not started (the
page does not read their tables). Scenarios:

- cold:          the first page after start-up: the log decoded from PostgreSQL, every KPI
                 evaluated per reporting period and per quarter, every chart rendered
- warm:          the same page again (log unchanged): p50 / p99 over ``--requests``
- warm as-of:    the page as of a snapshot published at half the log, once computed
- after append:  pages while the log moves: one more event, then the live page at once (the
                 newest view, its header showing a lag of one event) while the view at the new
                 position is computed in the background; "refresh" is the time until a page
                 shows it (the engine re-evaluating the log; unchanged charts are reused)

The last line of output is one JSON object with every figure, for the docs to quote.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import json
import resource
import statistics
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import httpx

from events.admission import WriteModelAdmission
from events.read import read_head, read_log
from events.store import EventStore
from projections.decoded_log import DecodedLog
from service.app import create_app
from service.auth import TokenStore
from service.commands import EventCommand
from service.database import create_pool, migrate_pool
from service.demo import DEMO_ACTOR, load_demo
from service.indicators_api import ResultCache
from service.recording import Recorder
from service.settings import ROOT, Settings

DEFAULT_DSN = "postgresql://postgres@127.0.0.1:5432/test"
SNAPSHOT_ID = "BENCH-HALF"
HTML = {"Accept": "text/html"}


def _settings(dsn: str) -> Settings:
    return Settings(
        database_url=dsn,
        data_dir=Path("/nonexistent"),
        migrations_dir=ROOT / "migrations",
        host="127.0.0.1",
        port=0,
        pool_min=1,
        pool_max=8,
        log_level="WARNING",
        max_body_bytes=1024 * 1024,
    )


@contextlib.asynccontextmanager
async def _no_services(app: Any) -> AsyncIterator[None]:
    """The service's lifespan, replaced: the benchmark puts on app.state what the page reads."""
    yield


async def _ensure_demo(recorder: Recorder, pool: asyncpg.Pool, project: str, scale: int) -> int:
    """Load the demo at `scale` into `project` unless it is there; the head position."""
    head = await read_head(pool, project)
    if head is None or head.position < 1000:
        started = time.perf_counter()
        print(f"loading the demo ×{scale} into {project!r} (once; kept for later runs)…", file=sys.stderr)
        await load_demo(recorder, project, scale=scale)
        print(f"  loaded in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    head = await read_head(pool, project)
    assert head is not None
    return head.position


async def _snapshot(recorder: Recorder, pool: asyncpg.Pool, project: str, position: int) -> None:
    """Publish (once) a snapshot pinned at `position`, as the snapshots API would."""
    rows = await pool.fetch(
        "SELECT 1 FROM events WHERE project_id = $1 AND type = 'SnapshotPublished' AND data::text LIKE $2",
        project,
        f'%"{SNAPSHOT_ID}"%',
    )
    if rows:
        return
    (pinned,) = await read_log(pool, project, after=position - 1, limit=1)
    command = EventCommand(
        type="SnapshotPublished",
        occurred_on=pinned.occurred_on or dt.date(2025, 12, 31),
        data={
            "snapshot_id": SNAPSHOT_ID,
            "kind": "adhoc",
            "as_of_seq": position,
            "log_head_hash": pinned.hash,
            "definitions_version": "2025.1",
            "code_version": "bench",
            "signature": "bench:unsigned",
        },
    )
    await recorder.record(project, [command], actor=DEMO_ACTOR)


async def _one_more_event(recorder: Recorder, project: str, number: int) -> None:
    """Move the log by one event that changes a figure (an outreach event: O9, O10)."""
    command = EventCommand(
        type="OutreachEventHeld",
        occurred_on=dt.date(2026, 6, 15),
        partner_org_id="mobitech-de",
        data={
            "outreach_id": f"BENCH-OUT-{number}-{time.time_ns()}",
            "event_type": "webinar",
            "attendees": 12,
            "orgs_reached": [],
            "sme_count": 0,
            "countries": ["DE"],
            "b2b_meetings": 0,
            "country": "DE",
        },
    )
    await recorder.record(project, [command], actor=DEMO_ACTOR)


async def _refreshed(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> float:
    """When (perf_counter) a live page first shows no lag, polling once a second."""
    while True:
        answer = await client.get(url, headers=headers)
        if "data-behind-head" not in answer.text:
            return time.perf_counter()
        await asyncio.sleep(1)


async def _timed(client: httpx.AsyncClient, url: str, headers: dict[str, str]) -> float:
    started = time.perf_counter()
    answer = await client.get(url, headers=headers)
    elapsed = (time.perf_counter() - started) * 1000
    if answer.status_code != 200:
        raise RuntimeError(f"GET {url}: {answer.status_code} {answer.text[:300]}")
    return elapsed


T = TypeVar("T")


def _progress(label: str, value: T) -> T:
    """Say a figure as soon as it is measured (the 1M-event scenarios take minutes each)."""
    print(f"  {label}: {value}", file=sys.stderr, flush=True)
    return value


def _percentiles(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"n": len(ordered), "p50_ms": round(statistics.median(ordered), 1), "p99_ms": round(p99, 1)}


@contextlib.asynccontextmanager
async def _service(dsn: str, schema: str) -> AsyncIterator[tuple[httpx.AsyncClient, asyncpg.Pool, Recorder]]:
    pool = await create_pool(dsn, schema=schema, min_size=2, max_size=8)
    try:
        await migrate_pool(pool, ROOT / "migrations")
        # The whole service as create_app builds it (routes, middleware, templates), and on
        # app.state what the dashboard reads, as run_services sets it, without the projection
        # runners: the page does not read their tables, and at steady state they are idle, while
        # catching 1M events up here would share the CPU with the pages being timed.
        app = create_app(_settings(dsn), lifespan=_no_services)
        app.state.pool = pool
        app.state.tokens = TokenStore(pool)
        app.state.decoded_log = DecodedLog(pool)
        app.state.indicator_cache = ResultCache()
        # One recorder: its write model catches up with the log once, not once per event.
        recorder = Recorder(EventStore(pool, admission=WriteModelAdmission()))
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url="http://bench", timeout=3600) as client:
            yield client, pool, recorder
    finally:
        await pool.close()


async def main() -> None:
    """Load (once), then measure each scenario; print a table and a JSON line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dsn", default=DEFAULT_DSN)
    parser.add_argument("--schema", default="bench_dashboard")
    parser.add_argument("--project", default="demo-x100")
    parser.add_argument("--scale", type=int, default=100)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--appends", type=int, default=1, help="pages measured after one more event each")
    parser.add_argument("--drop", action="store_true", help="drop the schema at the end")
    args = parser.parse_args()
    admin = await asyncpg.connect(args.dsn)
    await admin.execute(f'CREATE SCHEMA IF NOT EXISTS "{args.schema}"')
    results: dict[str, Any] = {"project": args.project}
    try:
        async with _service(args.dsn, args.schema) as (client, pool, recorder):
            head = await _ensure_demo(recorder, pool, args.project, args.scale)
            await _snapshot(recorder, pool, args.project, head // 2)
            _, secret = await TokenStore(pool).create("funder", [args.project])
            headers = {"Authorization": f"Bearer {secret}", **HTML}
            page = f"/projects/{args.project}/dashboard"
            results["events"] = (await read_head(pool, args.project)).position  # type: ignore[union-attr]
            results["cold_ms"] = _progress("cold", round(await _timed(client, page, headers), 1))
            results["warm"] = _progress(
                "warm", _percentiles([await _timed(client, page, headers) for _ in range(args.requests)])
            )
            as_of = f"{page}?snapshot={SNAPSHOT_ID}"
            results["as_of_first_ms"] = _progress(
                "as of, first", round(await _timed(client, as_of, headers), 1)
            )
            results["warm_as_of"] = _progress(
                "as of, warm",
                _percentiles([await _timed(client, as_of, headers) for _ in range(args.requests)]),
            )
            after: list[float] = []
            refresh: list[float] = []
            for number in range(args.appends):
                await _one_more_event(recorder, args.project, number)
                moved = time.perf_counter()
                after.append(_progress("after an append", await _timed(client, page, headers)))
                refresh.append(
                    _progress("refreshed after (s)", await _refreshed(client, page, headers) - moved)
                )
            results["after_append_ms"] = [round(x, 1) for x in after]
            results["refresh_s"] = [round(x, 1) for x in refresh]
            size = len((await client.get(page, headers=headers)).content)
            results["page_bytes"] = size
            # The decoded log and the cached views live in the service's memory: what one
            # process holds at this scale (kilobytes on Linux).
            results["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    finally:
        if args.drop:
            await admin.execute(f'DROP SCHEMA "{args.schema}" CASCADE')
        await admin.close()
    warm, warm_as_of = results["warm"], results["warm_as_of"]
    after_text = ", ".join(f"{x:,.0f}" for x in results["after_append_ms"])
    print(
        f"dashboard of {results['project']} ({results['events']:,} events, {results['page_bytes']:,} bytes)"
    )
    print(f"  cold (decode + evaluate + charts)    {results['cold_ms']:>10,.1f} ms")
    print(f"  warm, live           p50 {warm['p50_ms']:>7,.1f} ms   p99 {warm['p99_ms']:>8,.1f} ms")
    print(f"  as of snapshot, first                {results['as_of_first_ms']:>10,.1f} ms")
    print(
        f"  warm, as of snapshot p50 {warm_as_of['p50_ms']:>7,.1f} ms   p99 {warm_as_of['p99_ms']:>8,.1f} ms"
    )
    print(f"  live page after one more event       {after_text} ms (stale by one event)")
    print(f"  until the page shows that event      {', '.join(f'{x:,.1f}' for x in results['refresh_s'])} s")
    print(f"  peak memory of the process           {results['max_rss_mb']:>10,} MB")
    print(json.dumps(results))


if __name__ == "__main__":
    asyncio.run(main())
