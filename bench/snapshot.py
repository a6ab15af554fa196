"""Snapshot speed at the demo's scale: publish time and reproduce time against a plain replay.

    python bench/snapshot.py [--dsn URL] [--scale 100] [--schema NAME]

Loads the deterministic demo (``--scale 100`` is over a million events) through the validating
Recorder into a fresh schema, then measures, each on the whole log:

- **plain replay**: read log rows 1..P from the database, decode them, evaluate every KPI as of P
  (what any replay must do; the yardstick of "reproduce ≤ 2× a plain replay");
- **publish (service)**: a snapshot as the service publishes it, from the decoded-log projection
  and write model it keeps warm (their catch-up is timed separately);
- **publish (cold)**, with ``--cold``: another as the CLI publishes it, reading the log afresh;
- **republish**: the first one again, by a fresh publisher (found, nothing computed);
- **reproduce**: replay rows 1..P fresh with the hash chain recomputed, evaluate, re-encode and
  compare byte for byte.

Goals: publish ≤ 5 s, reproduce ≤ 2× the plain replay. ``--schema NAME`` keeps the loaded schema
(and reuses it when it exists), so a second run skips the load (``--reload`` resumes one cut
short); without it the schema is dropped. ``--warm-engine`` first folds the decoded log at the head,
timed apart, as a running service's indicator queries leave the engine (indicators/warm_fold.py).
The last line of output is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

import asyncpg
import msgspec
import uvloop
from _common import (
    DEMO_PROJECT,
    bench_parser,
    head_position,
    loopback_dsn,
    migrated_schema,
    record_demo,
    scratch_schema_name,
)

from events.admission import WriteModelAdmission
from events.read import read_head
from events.store import EventStore
from indicators import evaluate_all
from indicators.evaluate import state_as_of
from indicators.snapshot import snapshot_id_for
from indicators.snapshot_audit import reproduce_snapshot
from indicators.snapshot_publisher import Published, SnapshotPublisher, fresh_entries, read_registration
from indicators.snapshot_schedule import calendar_periods
from indicators.snapshot_signing import SnapshotSigner
from indicators.snapshot_store import list_snapshots
from projections.decoded_log import DecodedLog
from service.scheduler import decoded_log_entries

ACTOR = {"actor": "bench", "actor_role": "admin"}
PUBLISH_GOAL_S = 5.0
REPRODUCE_GOAL_RATIO = 2.0

T = TypeVar("T")


async def timed(label: str, work: Callable[[], Awaitable[T]], figures: dict[str, Any]) -> T:
    """Run `work`, print and keep how long it took (as `<label in snake case>_s`)."""
    started = time.perf_counter()
    result = await work()
    seconds = time.perf_counter() - started
    figures[_key(label)] = round(seconds, 3)
    print(f"{label:<28} {seconds:9.2f} s", flush=True)
    return result


def _key(label: str) -> str:
    words = "".join(c if c.isalnum() else " " for c in label).split()
    return "_".join(words) + "_s"


async def load(pool: asyncpg.Pool, scale: int, figures: dict[str, Any], reload: bool) -> int:
    """The demo at `scale` (resumed when `reload`, else skipped when the project is there already);
    the head position."""
    head = await read_head(pool, DEMO_PROJECT)
    if head is not None and not reload:
        print("load demo: skipped (the kept schema has it; --reload resumes a load cut short)", flush=True)
        return head.position

    await timed("load demo", lambda: record_demo(pool, DEMO_PROJECT, scale), figures)
    return await head_position(pool, DEMO_PROJECT)


async def plain_replay(pool: asyncpg.Pool, head: int, figures: dict[str, Any]) -> None:
    """Read, decode and evaluate positions 1..head: the yardstick."""
    started = time.perf_counter()
    entries = await timed("replay: read + decode", lambda: fresh_entries(pool, DEMO_PROJECT, head), figures)

    async def evaluate() -> Any:
        return evaluate_all(entries, as_of=head)

    await timed("replay: evaluate", evaluate, figures)
    figures["plain_replay_s"] = round(time.perf_counter() - started, 3)
    print(f"{'plain replay':<28} {figures['plain_replay_s']:9.2f} s", flush=True)


async def unpublished_months(pool: asyncpg.Pool) -> list[str]:
    """The project's calendar months without a periodic snapshot yet."""
    registration = await read_registration(pool, DEMO_PROJECT)
    taken = {record.snapshot_id for record in await list_snapshots(pool, DEMO_PROJECT)}
    months = calendar_periods(registration.start_date, registration.end_date, "monthly")
    return [
        m.period_id for m in months if snapshot_id_for(DEMO_PROJECT, "periodic", m.period_id) not in taken
    ]


async def main(argv: Sequence[str]) -> None:
    """Load, measure, print the figures and the JSON line."""
    args = parse_args(argv)
    figures: dict[str, Any] = {"bench": "snapshot", "scale": args.scale, "cpus": os.cpu_count()}
    signer = SnapshotSigner.generate()
    # A named schema is kept (and reused); without one, a fresh schema is dropped afterwards.
    schema = args.schema or scratch_schema_name("snapshot")
    async with migrated_schema(loopback_dsn(args.dsn), schema, drop=args.schema is None) as pool:
        head = await load(pool, args.scale, figures, args.reload)
        figures["events"] = head
        print(f"{head:,} events in the log", flush=True)
        await plain_replay(pool, head, figures)

        admission = WriteModelAdmission()
        store = EventStore(pool, admission=admission)
        # The service keeps both warm; they are timed apart from the publishing they serve.
        await timed("write model catch-up", lambda: admission.catch_up(pool, DEMO_PROJECT), figures)
        decoded = DecodedLog(pool)
        await timed("projection catch-up", lambda: decoded.entries(DEMO_PROJECT), figures)
        if args.warm_engine:
            # What a running service's indicator and dashboard queries leave behind: the KPI
            # engine's fold of the decoded log at the head (indicators/warm_fold.py).
            async def fold() -> Any:
                return await asyncio.to_thread(state_as_of, await decoded.entries(DEMO_PROJECT), None)

            await timed("engine catch-up", fold, figures)
        service = SnapshotPublisher(store, signer, entries=decoded_log_entries(decoded))
        # Periodic snapshots of months nobody published yet: each is computed afresh, even on a
        # kept schema (all as of the head: the demo is recorded long after its months ended).
        months = await unpublished_months(pool)

        async def publish(publisher: SnapshotPublisher, month: str) -> Published:
            return await publisher.publish(DEMO_PROJECT, "periodic", month, actor=ACTOR)

        first = await timed("publish (service)", lambda: publish(service, months[0]), figures)
        cold = SnapshotPublisher(store, signer)
        if args.cold:
            await timed("publish (cold)", lambda: publish(cold, months[1]), figures)
        await timed("republish", lambda: publish(cold, months[0]), figures)
        snapshot_id = first.record.snapshot_id
        result = await timed(
            "reproduce", lambda: reproduce_snapshot(pool, DEMO_PROJECT, snapshot_id), figures
        )
        figures["reproduced"] = result.reproduced
    ratio = figures["reproduce_s"] / figures["plain_replay_s"]
    figures["reproduce_vs_replay"] = round(ratio, 2)
    figures["publish_goal_met"] = figures["publish_service_s"] <= PUBLISH_GOAL_S
    figures["reproduce_goal_met"] = ratio <= REPRODUCE_GOAL_RATIO
    print(f"reproduce / plain replay: {ratio:.2f}× (goal ≤ {REPRODUCE_GOAL_RATIO}×)")
    print(f"reproduced: {result.reproduced} ({result.verdict})")
    print(msgspec.json.encode(figures).decode())


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The command line."""
    parser = bench_parser(__doc__)
    parser.add_argument("--scale", type=int, default=100, help="demo scale (100: over a million events)")
    parser.add_argument("--schema", default=None, help="keep (and reuse) the loaded demo in this schema")
    parser.add_argument(
        "--cold", action="store_true", help="also publish as the CLI does, reading the log afresh"
    )
    parser.add_argument("--reload", action="store_true", help="resume loading the demo into a kept schema")
    parser.add_argument(
        "--warm-engine",
        action="store_true",
        help="fold the decoded log at the head before publishing, timed apart (as queries leave it)",
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    uvloop.run(main(sys.argv[1:]))
