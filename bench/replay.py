"""Replay speed: a full rebuild of every projection against the raw read + decode limit.

    python bench/replay.py [--events 1000000] [--dsn URL] [--schema bench_replay] [--drop]
                           [--projection NAME] [--batch-size N] [--repeat N]
    python bench/replay.py --catch-up [--events 1000000] [--fast-path-after N]

Loads the deterministic demo (``--events 1000000`` is ``demo --scale 88``; scale 100 is
1,142,064 events) through the validating Recorder into ``--schema`` (kept for the next run unless
``--drop``; loading takes 2–3 minutes), then measures on the whole log:

- **raw limit**: the project's events fetched in position order with asyncpg and decoded with
  msgspec into the KPI engine's LogEntry rows (what any replay must at least do), rows/s;
- **replay**: ``projections.replay`` of every projection (or ``--projection``), as
  ``impactlog replay`` runs it: rebuilt from zero beside the live tables and swapped in —
  events/s (log events per second of wall time, each projection reading the whole log) and
  the ratio to the raw limit measured in this run.

With ``--catch-up``, instead: the project's checkpoints are deleted and its read models emptied
(as after restoring a pg_dump of the log), then a freshly started ``ProjectionService`` (its own
pool, the service's default size) is timed until every projection reaches the head — what the
first start of a service on that log costs. ``--fast-path-after N`` sets the lag from which a
runner rebuilds from zero instead of folding batch by batch (0: the service's default).

Goal on the 2-core machine: replay ≥ 70,000 events/s. The last line of output is one JSON object
with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import math
import os
import resource
import sys
import time
from collections.abc import Sequence
from typing import Any

import asyncpg
import msgspec
import uvloop
from _common import DEMO_PROJECT, bench_parser, head_position, loopback_dsn, migrated_schema, record_demo

from events.entries import log_entry
from events.read import iterate_log, read_head
from projections import ProjectionService, default_projections, replay
from projections.replay import DEFAULT_BATCH_SIZE, select_projections
from projections.runner import DEFAULT_FAST_PATH_AFTER
from service.database import create_pool

SCHEMA = "bench_replay"
# Events per unit of demo scale (scale 100 is 1,142,064 events).
EVENTS_PER_SCALE = 11_420
GOAL_EVENTS_PER_SECOND = 70_000
RAW_BATCH = 10_000
# The service's own pool size (IMPACTLOG_POOL_MAX's default) for the catch-up run.
SERVICE_POOL_MAX = 16
CATCH_UP_REPORT_EVERY = 15.0


async def load(pool: asyncpg.Pool, scale: int, figures: dict[str, Any]) -> int:
    """The demo at `scale` (skipped when the schema holds it already); the head position."""
    if await read_head(pool, DEMO_PROJECT) is None:
        started = time.perf_counter()
        await record_demo(pool, DEMO_PROJECT, scale)
        figures["load_s"] = round(time.perf_counter() - started, 1)
        print(f"loaded the demo at scale {scale} in {figures['load_s']:.0f} s", flush=True)
    return await head_position(pool, DEMO_PROJECT)


async def raw_limit(pool: asyncpg.Pool, head: int) -> float:
    """Rows/s of fetching the log in position order and decoding every row into a LogEntry."""
    gc.disable()
    try:
        started = time.perf_counter()
        decoded = 0
        async with pool.acquire() as connection:
            async for batch in iterate_log(connection, DEMO_PROJECT, batch_size=RAW_BATCH):
                decoded += sum(1 for _ in map(log_entry, batch))
        seconds = time.perf_counter() - started
    finally:
        gc.enable()
    assert decoded == head, (decoded, head)
    return head / seconds


async def full_replay(
    pool: asyncpg.Pool, name: str | None, batch_size: int
) -> tuple[float, dict[str, float]]:
    """Seconds of a replay of every projection (or the one named), and each one's seconds."""
    started = time.perf_counter()
    results = await replay(pool, DEMO_PROJECT, name, batch_size=batch_size)
    seconds = time.perf_counter() - started
    return seconds, {r.projection: round(r.seconds, 2) for r in results}


async def reset_read_models(pool: asyncpg.Pool) -> None:
    """Empty every read model and forget the checkpoints: the state of a freshly restored log."""
    tables = ", ".join(table for p in default_projections() for table in p.tables)
    async with pool.acquire() as connection, connection.transaction():
        await connection.execute("DELETE FROM projection_checkpoints")
        await connection.execute(f"TRUNCATE {tables}")


async def catch_up(dsn: str, schema: str, head: int, fast_path_after: int) -> tuple[float, dict[str, float]]:
    """Seconds for a freshly started ProjectionService to bring every projection to the head,
    and when each one got there."""
    pool = await create_pool(dsn, schema=schema, min_size=2, max_size=SERVICE_POOL_MAX)
    service = ProjectionService(pool, fast_path_after=fast_path_after or DEFAULT_FAST_PATH_AFTER)
    reached: dict[str, float] = {}
    try:
        started = time.perf_counter()
        await service.start()
        reported = started
        while len(reached) < len(service.runners):
            await asyncio.sleep(0.2)
            now = time.perf_counter()
            for status in await service.status():
                if status.project_id == DEMO_PROJECT and status.checkpoint >= head:
                    reached.setdefault(status.projection, round(now - started, 2))
            if now - reported >= CATCH_UP_REPORT_EVERY:
                reported = now
                behind = {s.projection: s.checkpoint for s in await service.status() if s.checkpoint < head}
                print(f"  {now - started:6.0f} s: checkpoints {behind} of {head:,}", flush=True)
        seconds = max(reached.values())
    finally:
        await service.stop()
        await pool.close()
    return seconds, reached


async def main(argv: Sequence[str]) -> None:
    """Load, measure, print the figures and the JSON line."""
    args = parse_args(argv)
    scale = max(1, math.ceil(args.events / EVENTS_PER_SCALE))
    chosen = [p.name for p in select_projections(default_projections(), args.projection)]
    figures: dict[str, Any] = {
        "bench": "replay",
        "scale": scale,
        "cpus": os.cpu_count(),
        "projections": chosen,
    }
    async with migrated_schema(loopback_dsn(args.dsn), args.schema, drop=args.drop) as pool:
        head = await load(pool, scale, figures)
        figures["events"] = head
        print(f"{head:,} events in the log (schema {args.schema})", flush=True)
        if args.catch_up:
            await catch_up_figures(pool, loopback_dsn(args.dsn), args, head, figures)
            return
        raw = await raw_limit(pool, head)
        figures["raw_rows_per_s"] = round(raw)
        print(f"raw limit (fetch + decode)  {raw:12,.0f} rows/s", flush=True)
        runs = []
        for _ in range(args.repeat):
            seconds, each = await full_replay(pool, args.projection, args.batch_size)
            rate = head / seconds
            runs.append(rate)
            print(
                f"replay {'+'.join(chosen) if args.projection else 'all'}: {seconds:8.2f} s  {each}",
                flush=True,
            )
            print(
                f"replay                      {rate:12,.0f} events/s  ({rate / raw:.2f}× the raw limit)",
                flush=True,
            )
            figures.setdefault("replay_s", []).append(round(seconds, 2))
            figures.setdefault("replay_per_projection_s", []).append(each)
    best = max(runs)
    figures["replay_events_per_s"] = round(best)
    figures["replay_vs_raw"] = round(best / raw, 3)
    figures["goal_met"] = best >= GOAL_EVENTS_PER_SECOND
    print(
        f"best replay {best:,.0f} events/s = {best / raw:.2f}× raw;"
        f" goal ≥ {GOAL_EVENTS_PER_SECOND:,}: {figures['goal_met']}"
    )
    print(msgspec.json.encode(figures).decode())


async def catch_up_figures(
    pool: asyncpg.Pool, dsn: str, args: argparse.Namespace, head: int, figures: dict[str, Any]
) -> None:
    """Reset the read models, time the service catching up, print the figures and the JSON line."""
    figures["bench"] = "replay --catch-up"
    figures["loadavg_before"] = os.getloadavg()
    for _ in range(args.repeat):
        await reset_read_models(pool)
        seconds, each = await catch_up(dsn, args.schema, head, args.fast_path_after)
        print(f"catch-up from empty: {seconds:8.1f} s  ({head / seconds:,.0f} events/s)  {each}", flush=True)
        figures.setdefault("catch_up_s", []).append(seconds)
        figures.setdefault("catch_up_per_projection_s", []).append(each)
    figures["loadavg_after"] = os.getloadavg()
    figures["max_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    print(msgspec.json.encode(figures).decode())


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The command line."""
    parser = bench_parser(__doc__)
    parser.add_argument("--events", type=int, default=1_000_000, help="log size, as a demo scale")
    parser.add_argument("--schema", default=SCHEMA, help="keep (and reuse) the loaded demo in this schema")
    parser.add_argument("--drop", action="store_true", help="drop the schema afterwards")
    parser.add_argument("--projection", default=None, help="one projection (default: every one)")
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument(
        "--catch-up", action="store_true", help="time a fresh service catching up from empty read models"
    )
    parser.add_argument(
        "--fast-path-after", type=int, default=0, help="lag from which runners rebuild (0: the default)"
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    uvloop.run(main(sys.argv[1:]))
