"""Latency of the indicators API at the 1M-event scale: the list and a series split by country,
at the head and as of random positions.

    python bench/indicators_latency.py [--dsn URL] [--schema bench100] [--project demo] [--requests N]

Reads a demo already loaded into ``--schema`` (``python bench/snapshot.py --scale 100 --schema
bench100`` loads one), and requests the API in-process through Litestar's ASGI interface, so the
figures are the server's own time (token lookup, log read, KPI engine, JSON). The projection
runners are not started: these routes read the decoded log only. Scenarios, each timed per
request (p50 / p99 over ``--requests``, or ``--as-of-requests`` for the as-of scenarios):

- catch-up:        the decoded log read and decoded once (what a running service keeps warm)
- timelines:       the contribution timelines read in the background, as the service's first
                   query of a long log starts them (indicators/timeline_store.py)
- list, head:      GET …/indicators (funder view), the first one and then repeated
- summary list:    GET …/indicators?view=summary (each KPI to date: value, baseline, target,
                   progress, status), at the head and as of random positions
- series, head:    GET …/indicators/{kpi}/series?by=country for each KPI with a country
                   dimension in turn (each KPI's first request computes it)
- list, as of P:   a different random position every request (seeded)
- series, as of P: the same, cycling through the KPIs

The last line of output is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sys
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import uvloop
from _common import DEFAULT_DSN, DEMO_PROJECT, in_process_client, median_and_p99, timed_get

from events.read import read_head
from indicators import FIGURES, timeline_store
from projections.decoded_log import DecodedLog
from service.auth import TokenStore
from service.database import create_pool

SERIES_KPIS = [sheet.figure_id for sheet in FIGURES if "country" in sheet.disaggregations]
LIST_GOAL_MS = 50.0
SERIES_GOAL_MS = 100.0


@contextlib.asynccontextmanager
async def _service(
    dsn: str, schema: str
) -> AsyncIterator[tuple[httpx.AsyncClient, asyncpg.Pool, DecodedLog]]:
    # Not migrated: the schema is read as a previous run loaded it (bench/snapshot.py --schema).
    pool = await create_pool(dsn, schema=schema, min_size=2, max_size=8)
    try:
        async with in_process_client(dsn, pool) as (client, decoded):
            yield client, pool, decoded
    finally:
        await pool.close()


async def _timelines_built(entries: list[Any]) -> float:
    """Start the timelines of the log (as the service's first query does) and wait for them."""
    started = time.perf_counter()
    kept = timeline_store.follow(entries)
    if kept is not None:
        await asyncio.to_thread(kept.join)
    return round(time.perf_counter() - started, 1)


def _percentiles(samples: list[float]) -> dict[str, float]:
    p50, p99 = median_and_p99(samples)
    return {
        "n": len(samples),
        "first_ms": round(samples[0], 1),
        "p50_ms": p50,
        "p99_ms": p99,
        "max_ms": round(max(samples), 1),
    }


def _say(label: str, figures: dict[str, float]) -> None:
    print(
        f"{label:<22} first {figures['first_ms']:>9,.1f} ms   p50 {figures['p50_ms']:>9,.1f} ms   "
        f"p99 {figures['p99_ms']:>9,.1f} ms   (n={figures['n']})",
        flush=True,
    )


async def main(argv: list[str]) -> None:
    """Measure each scenario; print a table and a JSON line."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--dsn", default=DEFAULT_DSN)
    parser.add_argument("--schema", default="bench100")
    parser.add_argument("--project", default=DEMO_PROJECT)
    parser.add_argument("--requests", type=int, default=20, help="requests per scenario at the head")
    parser.add_argument("--as-of-requests", type=int, default=5, help="requests per as-of scenario")
    parser.add_argument("--seed", type=int, default=2025)
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"bench": "indicators", "project": args.project}
    chance = random.Random(args.seed)
    async with _service(args.dsn, args.schema) as (client, pool, decoded):
        head = await read_head(pool, args.project)
        if head is None:
            raise SystemExit(f"no project {args.project!r} in schema {args.schema!r}: load the demo first")
        results["events"] = head.position
        _, secret = await TokenStore(pool).create("funder", [args.project])
        funder = {"Authorization": f"Bearer {secret}"}
        base = f"/api/v1/projects/{args.project}/indicators"
        started = time.perf_counter()
        await decoded.entries(args.project)
        results["catch_up_s"] = round(time.perf_counter() - started, 2)
        print(f"{head.position:,} events; decoded log caught up in {results['catch_up_s']} s", flush=True)
        results["timelines_s"] = await _timelines_built(await decoded.entries(args.project))
        print(f"timelines built in the background in {results['timelines_s']} s", flush=True)

        async def scenario(label: str, requests: list[tuple[str, dict[str, Any]]]) -> None:
            samples = [await timed_get(client, url, funder, params) for url, params in requests]
            results[label] = _percentiles(samples)
            _say(label, results[label])

        n, m = args.requests, args.as_of_requests
        kpis = [SERIES_KPIS[i % len(SERIES_KPIS)] for i in range(max(n, m))]
        positions = [chance.randint(1, head.position) for _ in range(2 * m)]
        summary = {"view": "summary"}
        await scenario("list, head", [(f"{base}/", {})] * n)
        await scenario("summary list, head", [(f"{base}/", summary)] * n)
        await scenario("series, head", [(f"{base}/{kpi}/series", {"by": "country"}) for kpi in kpis[:n]])
        await scenario("list, as of P", [(f"{base}/", {"as_of": p}) for p in positions[:m]])
        await scenario(
            "summary list, as of P", [(f"{base}/", {**summary, "as_of": p}) for p in positions[:m]]
        )
        await scenario(
            "series, as of P",
            [
                (f"{base}/{kpi}/series", {"by": "country", "as_of": p})
                for kpi, p in zip(kpis[:m], positions[m:], strict=True)
            ],
        )
    # The list (each KPI's value, baseline, target, progress, status) is the summary view;
    # the full view adds every breakdown and period of every figure.
    lists = [results[k]["p99_ms"] for k in ("summary list, head", "summary list, as of P")]
    series = [results[k]["p99_ms"] for k in ("series, head", "series, as of P")]
    results["list_goal_met"] = max(lists) <= LIST_GOAL_MS
    results["series_goal_met"] = max(series) <= SERIES_GOAL_MS
    print(f"goals: summary list p99 ≤ {LIST_GOAL_MS:.0f} ms, series p99 ≤ {SERIES_GOAL_MS:.0f} ms")
    print(json.dumps(results))


if __name__ == "__main__":
    uvloop.run(main(sys.argv[1:]))
