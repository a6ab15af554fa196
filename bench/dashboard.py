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
import datetime as dt
import json
import resource
import sys
import time
from typing import Any, TypeVar

import asyncpg
import httpx
from _common import DEFAULT_DSN, head_position, in_process_client, median_and_p99, migrated_schema, timed_get

from events.admission import WriteModelAdmission
from events.read import read_head, read_log
from events.store import EventStore
from service.auth import TokenStore
from service.commands import EventCommand
from service.demo import DEMO_ACTOR, load_demo
from service.recording import Recorder

SNAPSHOT_ID = "BENCH-HALF"
HTML = {"Accept": "text/html"}


async def _ensure_demo(recorder: Recorder, pool: asyncpg.Pool, project: str, scale: int) -> int:
    """Load the demo at `scale` into `project` unless it is there; the head position."""
    head = await read_head(pool, project)
    if head is None or head.position < 1000:
        started = time.perf_counter()
        print(f"loading the demo ×{scale} into {project!r} (once; kept for later runs)…", file=sys.stderr)
        await load_demo(recorder, project, scale=scale)
        print(f"  loaded in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return await head_position(pool, project)


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


T = TypeVar("T")


def _progress(label: str, value: T) -> T:
    """Say a figure as soon as it is measured (the 1M-event scenarios take minutes each)."""
    print(f"  {label}: {value}", file=sys.stderr, flush=True)
    return value


def _percentiles(samples: list[float]) -> dict[str, float]:
    p50, p99 = median_and_p99(samples)
    return {"n": len(samples), "p50_ms": p50, "p99_ms": p99}


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
    results: dict[str, Any] = {"project": args.project}
    async with (
        migrated_schema(args.dsn, args.schema, drop=args.drop, min_size=2, max_size=8) as pool,
        in_process_client(args.dsn, pool) as (client, _),
    ):
        # One recorder: its write model catches up with the log once, not once per event.
        recorder = Recorder(EventStore(pool, admission=WriteModelAdmission()))
        head = await _ensure_demo(recorder, pool, args.project, args.scale)
        await _snapshot(recorder, pool, args.project, head // 2)
        _, secret = await TokenStore(pool).create("funder", [args.project])
        headers = {"Authorization": f"Bearer {secret}", **HTML}
        page = f"/projects/{args.project}/dashboard"
        results["events"] = await head_position(pool, args.project)
        results["cold_ms"] = _progress("cold", round(await timed_get(client, page, headers), 1))
        results["warm"] = _progress(
            "warm", _percentiles([await timed_get(client, page, headers) for _ in range(args.requests)])
        )
        as_of = f"{page}?snapshot={SNAPSHOT_ID}"
        results["as_of_first_ms"] = _progress(
            "as of, first", round(await timed_get(client, as_of, headers), 1)
        )
        results["warm_as_of"] = _progress(
            "as of, warm",
            _percentiles([await timed_get(client, as_of, headers) for _ in range(args.requests)]),
        )
        after: list[float] = []
        refresh: list[float] = []
        for number in range(args.appends):
            await _one_more_event(recorder, args.project, number)
            moved = time.perf_counter()
            after.append(_progress("after an append", await timed_get(client, page, headers)))
            refresh.append(_progress("refreshed after (s)", await _refreshed(client, page, headers) - moved))
        results["after_append_ms"] = [round(x, 1) for x in after]
        results["refresh_s"] = [round(x, 1) for x in refresh]
        size = len((await client.get(page, headers=headers)).content)
        results["page_bytes"] = size
        # The decoded log and the cached views live in the service's memory: what one
        # process holds at this scale (kilobytes on Linux).
        results["max_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
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
