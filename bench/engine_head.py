"""The KPI tables at the head of a growing log: what a dashboard recomputes after each append.

    python bench/engine_head.py [--dsn URL] [--schema bench_dashboard] [--project demo-x100]
                                [--events 40]

Reads a demo already loaded into ``--schema`` (``python bench/dashboard.py --scale 100`` loads one
into ``bench_dashboard``), decodes it, evaluates both dashboard tables (per reporting period and
per quarter, ``evaluate_tables``) at the head less ``--events`` events, then appends the last
``--events`` entries one at a time to the same list (as the service's decoded log grows) and
times both tables after each. A figure is reused from the previous head when no appended entry
feeds it (indicators/figure_memo.py), so the time depends on the appended event's type: per type,
the median and the maximum, and which figures were recomputed how often.

The last line of output is one JSON object with every figure.
"""

from __future__ import annotations

import collections
import json
import statistics
import sys
import time
from collections.abc import Sequence
from typing import Any

import uvloop
from _common import bench_parser, loopback_dsn

import indicators.figure_memo as figure_memo
from events.read import read_head
from indicators import evaluate_tables
from indicators.periods import PeriodKind
from indicators.snapshot_publisher import fresh_entries
from service.database import create_pool

PERIODS: tuple[PeriodKind, ...] = ("reporting_period", "quarter")


async def main(argv: Sequence[str]) -> None:
    """Time both tables after each appended event; print per-type figures."""
    parser = bench_parser(__doc__)
    parser.add_argument("--schema", default="bench_dashboard")
    parser.add_argument("--project", default="demo-x100")
    parser.add_argument("--events", type=int, default=40, help="events appended one at a time")
    args = parser.parse_args(argv)
    pool = await create_pool(loopback_dsn(args.dsn), schema=args.schema, min_size=1, max_size=2)
    try:
        head = await read_head(pool, args.project)
        if head is None:
            raise SystemExit(f"no project {args.project!r} in schema {args.schema!r}: load it first")
        entries = await fresh_entries(pool, args.project, head.position)
    finally:
        await pool.close()
    growing = entries[: len(entries) - args.events]
    started = time.perf_counter()
    evaluate_tables(growing, None, PERIODS)
    cold = time.perf_counter() - started
    print(f"{len(growing):,} events: both tables from cold {cold:.1f} s", flush=True)

    recomputed: collections.Counter[str] = collections.Counter()
    keep = figure_memo.FigureMemo.keep

    def counted_keep(memo: figure_memo.FigureMemo, key: tuple[str, ...], *rest: Any) -> None:
        if key[2] == PERIODS[0]:
            recomputed[key[1]] += 1
        keep(memo, key, *rest)

    figure_memo.FigureMemo.keep = counted_keep  # type: ignore[method-assign,assignment]
    by_type: dict[str, list[float]] = collections.defaultdict(list)
    for entry in entries[len(growing) :]:
        growing.append(entry)
        started = time.perf_counter()
        evaluate_tables(growing, None, PERIODS)
        by_type[entry.type].append(time.perf_counter() - started)
        print(f"  +{entry.type}: {by_type[entry.type][-1]:.2f} s", flush=True)
    figures = {
        event_type: {
            "n": len(times),
            "median_s": round(statistics.median(times), 2),
            "max_s": round(max(times), 2),
        }
        for event_type, times in sorted(by_type.items())
    }
    for event_type, figure in figures.items():
        median, most = figure["median_s"], figure["max_s"]
        print(f"{event_type:32} n={figure['n']:3}  median {median:6.2f} s  max {most:6.2f} s")
    print(f"recomputed (times): {dict(recomputed.most_common())}")
    print(json.dumps({"events": len(entries), "cold_s": round(cold, 1), "after_append": figures}))


if __name__ == "__main__":
    uvloop.run(main(sys.argv[1:]))
