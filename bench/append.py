"""Append throughput: impactlog's event store against the raw limits of the same database.

    python bench/append.py [--dsn URL] [--events N | --events SCENARIO=N ...] [--scenarios a,b]
                           [--repeat N] [--timeout SECONDS]

Every scenario runs in its own freshly migrated schema (dropped afterwards) and reports
events/s and per-request p50/p99 latency; impactlog's scenarios also report their ratio to the
raw limit they are judged against and verify the hash chain they wrote:

- raw-insert  (A): plain asyncpg, one single-INSERT transaction per event, 32 callers each holding
                   one of 32 connections
- raw-copy    (B): one COPY (copy_records_to_table) of precomputed rows
- single-32/128:   EventStore.append of one event per call from 32 / 128 tasks, against A
- batch-1/2:       EventStore.append of 1,000 events per call, one or two calls in flight, against B

The last line of output is one JSON object with every figure, for the docs to quote.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime as dt
import functools
import gc
import hashlib
import math
import os
import random
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from importlib import metadata
from typing import Any
from urllib.parse import urlsplit

import asyncpg
import msgspec
import uvloop
from _common import DEFAULT_DSN, LOOPBACK_HOSTS, MIGRATIONS, bench_parser, scratch_schema_name

from events.append import EVENT_COLUMNS
from events.canonical import GENESIS_HASH, encode_canonical
from events.connection import Connection
from events.envelope import NewEvent
from events.store import EventStore
from service.database import create_pool, migrate_pool

PROJECT = "bench-project"
STREAMS = 2_000  # training sessions the generated events are spread over
BATCH_SIZE = 1_000
RAW_CALLERS = 32

INSERT_EVENT = (
    f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) "
    f"VALUES ({', '.join(f'${i}' for i in range(1, len(EVENT_COLUMNS) + 1))})"
)
PG_SETTINGS = "SELECT current_setting('server_version'), current_setting('synchronous_commit')"


# --- the workload ---------------------------------------------------------------------------


def training_delivered(rng: random.Random, session: int) -> NewEvent:
    """One TrainingDelivered event with 5–15 attendees, as a partner's staff would record it."""
    day = dt.date(2025, 1, 6) + dt.timedelta(days=rng.randrange(365))
    hours = rng.choice(("1.5", "2", "3.5", "6", "7.5"))
    attendees = [
        {
            "participant_id": f"P-{rng.randrange(100_000):06d}",
            "org_id": f"ORG-{rng.randrange(4_000):05d}",
            "role": rng.choice(("owner", "manager", "employee", "researcher")),
            "gender": rng.choice(("F", "M", "X")),
            "first_time": rng.random() < 0.4,
            "attended_hours": hours,
        }
        for _ in range(rng.randint(5, 15))
    ]
    return NewEvent(
        stream_id=f"activity-S-{session:05d}",
        type="TrainingDelivered",
        occurred_on=day,
        data={
            "session_id": f"S-{session:05d}",
            "dates": [day.isoformat()],
            "title": "Digital readiness for manufacturing SMEs",
            "topic": rng.choice(("digital", "export", "green", "finance", "skills")),
            "format": rng.choice(("in_person", "online", "hybrid")),
            "organiser_org_id": f"ORG-{rng.randrange(40):05d}",
            "venue_nuts2": rng.choice(("DE21", "EL30", "UKI3", "ES51", "PL91")),
            "duration_hours": hours,
            "attendees": attendees,
        },
        metadata={
            "actor": f"staff-{rng.randrange(60)}",
            "request_id": str(uuid.UUID(int=rng.getrandbits(128))),
        },
    )


def workload(count: int, seed: int) -> list[NewEvent]:
    """`count` events spread over STREAMS streams, the same for the same seed."""
    rng = random.Random(seed)
    return [training_delivered(rng, rng.randrange(STREAMS)) for _ in range(count)]


def raw_rows(events: Sequence[NewEvent]) -> list[tuple[Any, ...]]:
    """The `events` rows impactlog would write for these events, computed ahead of time."""
    recorded_at = dt.datetime.now(dt.UTC)
    versions: dict[str, int] = {}
    prev_hash = GENESIS_HASH
    rows = []
    for position, event in enumerate(events, start=1):
        version = versions[event.stream_id] = versions.get(event.stream_id, 0) + 1
        data = encode_canonical(event.data)
        this_hash = hashlib.sha256(prev_hash + data).digest()
        rows.append(
            (
                PROJECT,
                position,
                uuid.uuid4(),
                event.stream_id,
                version,
                event.type,
                event.schema_version,
                event.occurred_on,
                recorded_at,
                data.decode(),
                encode_canonical(event.metadata).decode(),
                prev_hash,
                this_hash,
            )
        )
        prev_hash = this_hash
    return rows


# --- measurement ----------------------------------------------------------------------------


class Run(msgspec.Struct, frozen=True, kw_only=True):
    """What one scenario measured: events written, wall time, per-request latencies."""

    events: int
    seconds: float
    latencies: list[float]
    commits: int
    chain_ok: bool | None = None
    chain_events: int | None = None


class Goal(msgspec.Struct, frozen=True, kw_only=True):
    """A target printed beside a figure: a minimum ratio to the reference, or a minimum rate."""

    min_ratio: float | None = None
    min_rate: float | None = None

    def describe(self) -> str:
        """How the goal reads in the table."""
        return f"≥ {self.min_ratio}×" if self.min_ratio is not None else f"≥ {self.min_rate:,.0f} ev/s"

    def met(self, rate: float, ratio: float | None) -> bool | None:
        """True/False, or None when the reference was not run."""
        if self.min_ratio is not None:
            return None if ratio is None else ratio >= self.min_ratio
        assert self.min_rate is not None
        return rate >= self.min_rate


class Figure(msgspec.Struct, frozen=True, kw_only=True):
    """One row of the report (and of the JSON line)."""

    scenario: str
    title: str
    events: int
    requests: int
    commits: int
    seconds: float
    events_per_s: float
    p50_ms: float
    p99_ms: float
    reference: str | None
    ratio: float | None
    goal: str | None
    goal_met: bool | None
    chain_ok: bool | None
    chain_events: int | None


@contextlib.contextmanager
def frozen_heap() -> Iterator[None]:
    """Keep the garbage collector off the precomputed workload while timing: a full collection
    over millions of payload objects stalls for ~0.5 s, a pause the service itself never has."""
    gc.collect()
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of already sorted values."""
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


async def timed_callers(
    senders: Sequence[Callable[[Any], Awaitable[object]]], requests: Iterator[Any]
) -> tuple[float, list[float]]:
    """One task per sender, each sending the next request until none is left; (seconds, latencies)."""
    latencies: list[float] = []

    async def caller(send: Callable[[Any], Awaitable[object]]) -> None:
        for request in requests:  # shared: each request is taken by exactly one caller
            started = time.perf_counter()
            await send(request)
            latencies.append(time.perf_counter() - started)

    with frozen_heap():
        started = time.perf_counter()
        await asyncio.gather(*(caller(send) for send in senders))
        return time.perf_counter() - started, latencies


# --- scenarios ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Scratch:
    """A freshly migrated schema and a pool whose connections see it."""

    schema: str
    pool: asyncpg.Pool


def inserter(connection: Connection) -> Callable[[tuple[Any, ...]], Awaitable[str]]:
    """Insert one row on this connection, in its own (implicit) transaction."""

    async def insert(row: tuple[Any, ...]) -> str:
        return await connection.execute(INSERT_EVENT, *row)

    return insert


async def raw_insert(scratch: Scratch, events: list[NewEvent]) -> Run:
    """Raw limit A: one autocommitted INSERT per event, RAW_CALLERS callers on as many connections."""
    rows = raw_rows(events)
    async with contextlib.AsyncExitStack() as held:
        # Each caller keeps its connection: no acquire/reset round trip in the raw limit.
        connections = [await held.enter_async_context(scratch.pool.acquire()) for _ in range(RAW_CALLERS)]
        seconds, latencies = await timed_callers([inserter(c) for c in connections], iter(rows))
    return Run(events=len(rows), seconds=seconds, latencies=latencies, commits=len(rows))


async def raw_copy(scratch: Scratch, events: list[NewEvent]) -> Run:
    """Raw limit B: all rows in one COPY on one connection."""
    rows = raw_rows(events)
    async with scratch.pool.acquire() as connection:
        with frozen_heap():
            started = time.perf_counter()
            await connection.copy_records_to_table("events", records=rows, columns=EVENT_COLUMNS)
            seconds = time.perf_counter() - started
    return Run(events=len(rows), seconds=seconds, latencies=[seconds], commits=1)


class CommitCounter:
    """An AppendObserver that counts the store's commit groups."""

    def __init__(self) -> None:
        self.groups = 0

    def observe_group(self, project: str, events: int, requests: int, seconds: float) -> None:
        """One more group committed."""
        self.groups += 1

    def observe_request(self, project: str, seconds: float) -> None:
        """Request latencies are timed by the callers themselves."""


async def store_appends(scratch: Scratch, requests: list[list[NewEvent]], callers: int) -> Run:
    """EventStore.append of each request from `callers` tasks, then the chain verified."""
    commits = CommitCounter()
    store = EventStore(scratch.pool, channel=f"impactlog_{scratch.schema}", observer=commits)
    await store.create_project(PROJECT)
    seconds, latencies = await timed_callers(
        [functools.partial(store.append, PROJECT)] * callers, iter(requests)
    )
    report = await store.verify(PROJECT)
    appended = sum(len(r) for r in requests)
    return Run(
        events=appended,
        seconds=seconds,
        latencies=latencies,
        commits=commits.groups,
        chain_ok=report.ok and report.head_position == appended == report.events_checked,
        chain_events=report.events_checked,
    )


def single_appends(callers: int) -> Callable[[Scratch, list[NewEvent]], Awaitable[Run]]:
    """One event per EventStore.append call, from `callers` concurrent tasks."""
    return lambda scratch, events: store_appends(scratch, [[e] for e in events], callers)


def batched_appends(in_flight: int) -> Callable[[Scratch, list[NewEvent]], Awaitable[Run]]:
    """BATCH_SIZE events per EventStore.append call, `in_flight` calls at a time."""
    return lambda scratch, events: store_appends(
        scratch, [events[i : i + BATCH_SIZE] for i in range(0, len(events), BATCH_SIZE)], in_flight
    )


@dataclass(frozen=True)
class Scenario:
    """A named measurement, its default size, pool size, reference and goal.

    The store needs few connections: its writer runs at most `max_in_flight` (2) transactions.
    """

    name: str
    title: str
    default_events: int
    pool_size: int
    run: Callable[[Scratch, list[NewEvent]], Awaitable[Run]]
    reference: str | None = None
    goal: Goal | None = None


SCENARIOS = (
    Scenario(
        name="raw-insert",
        title="A  raw INSERT/txn, 32 conns",
        default_events=20_000,
        pool_size=RAW_CALLERS,
        run=raw_insert,
    ),
    Scenario(
        name="raw-copy",
        title="B  raw COPY, one call",
        default_events=100_000,
        pool_size=1,
        run=raw_copy,
    ),
    Scenario(
        name="single-32",
        title="impactlog 1 ev/call, 32 tasks",
        default_events=40_000,
        pool_size=4,
        run=single_appends(32),
        reference="raw-insert",
        goal=Goal(min_ratio=3.5),
    ),
    Scenario(
        name="single-128",
        title="impactlog 1 ev/call, 128 tasks",
        default_events=60_000,
        pool_size=4,
        run=single_appends(128),
        reference="raw-insert",
        goal=Goal(min_rate=30_000),
    ),
    Scenario(
        name="batch-1",
        title="impactlog 1000 ev/call, 1 in flight",
        default_events=100_000,
        pool_size=4,
        run=batched_appends(1),
        reference="raw-copy",
        goal=Goal(min_ratio=0.65),
    ),
    Scenario(
        name="batch-2",
        title="impactlog 1000 ev/call, 2 in flight",
        default_events=100_000,
        pool_size=4,
        run=batched_appends(2),
        reference="raw-copy",
        goal=Goal(min_ratio=0.75),
    ),
)


@contextlib.asynccontextmanager
async def scratch_schema(dsn: str, name: str, pool_size: int) -> AsyncIterator[Scratch]:
    """A new schema, migrated, with a pool on it; the schema is dropped on the way out."""
    schema = scratch_schema_name(name.replace("-", "_"))
    admin = await asyncpg.connect(dsn)
    try:
        await admin.execute(f'CREATE SCHEMA "{schema}"')
        try:
            pool = await create_pool(dsn, schema=schema, min_size=pool_size, max_size=pool_size)
            try:
                await migrate_pool(pool, MIGRATIONS)
                # Start every scenario with no dirty pages left by the previous one.
                with contextlib.suppress(asyncpg.InsufficientPrivilegeError):
                    await admin.execute("CHECKPOINT")
                yield Scratch(schema, pool)
            finally:
                try:
                    await asyncio.wait_for(pool.close(), timeout=30)
                except TimeoutError:
                    pool.terminate()
        finally:
            await admin.execute(f'DROP SCHEMA "{schema}" CASCADE')
    finally:
        await admin.close()


def figure(scenario: Scenario, run: Run, done: dict[str, Figure]) -> Figure:
    """Summarise a run, with its ratio to the reference figure when that was measured."""
    latencies = sorted(run.latencies)
    rate = run.events / run.seconds
    reference = done.get(scenario.reference) if scenario.reference else None
    ratio = rate / reference.events_per_s if reference is not None else None
    return Figure(
        scenario=scenario.name,
        title=scenario.title,
        events=run.events,
        requests=len(latencies),
        commits=run.commits,
        seconds=round(run.seconds, 3),
        events_per_s=round(rate, 1),
        p50_ms=round(percentile(latencies, 50) * 1000, 3),
        p99_ms=round(percentile(latencies, 99) * 1000, 3),
        reference=scenario.reference,
        ratio=round(ratio, 3) if ratio is not None else None,
        goal=scenario.goal.describe() if scenario.goal else None,
        goal_met=scenario.goal.met(rate, ratio) if scenario.goal else None,
        chain_ok=run.chain_ok,
        chain_events=run.chain_events,
    )


# --- report ---------------------------------------------------------------------------------

HEADER = (
    f"{'scenario':<11} {'what':<37} {'events':>7} {'ev/commit':>9} {'s':>6} {'events/s':>8} "
    f"{'p50 ms':>8} {'p99 ms':>8} {'ratio':>8} {'goal':>14} {'':<4}  chain"
)


def row(f: Figure) -> str:
    """One line of the table."""
    ratio = f"{f.ratio:.2f}× {'A' if f.reference == 'raw-insert' else 'B'}" if f.ratio is not None else ""
    verdict = {True: "PASS", False: "MISS", None: "n/a" if f.goal else ""}[f.goal_met]
    chain = "" if f.chain_ok is None else f"{'ok' if f.chain_ok else 'BROKEN'}, {f.chain_events:,} verified"
    return (
        f"{f.scenario:<11} {f.title:<37} {f.events:>7,} {f.events / f.commits:>9,.0f} {f.seconds:>6.2f} "
        f"{f.events_per_s:>8,.0f} {f.p50_ms:>8.2f} {f.p99_ms:>8.2f} {ratio:>8} {f.goal or '':>14} "
        f"{verdict:<4}  {chain}"
    )


# --- command line ---------------------------------------------------------------------------


def loopback_dsn(dsn: str) -> str:
    """The DSN, refused unless it names a server on this machine."""
    host = urlsplit(dsn).hostname
    if host not in LOOPBACK_HOSTS:
        raise SystemExit(f"bench/append.py only talks to a local server (127.0.0.1), not {host!r}")
    return dsn


def event_counts(values: Sequence[str]) -> dict[str, int]:
    """`--events N` (every scenario) and `--events NAME=N` (one scenario) into name → count."""
    names = [s.name for s in SCENARIOS]
    counts = {s.name: s.default_events for s in SCENARIOS}
    for value in values:
        name, _, number = value.rpartition("=")
        if name and name not in counts:
            raise SystemExit(f"--events: unknown scenario {name!r} (one of {', '.join(names)})")
        if not number.isdigit() or int(number) < 1:
            raise SystemExit(f"--events: {value!r} is not a positive number of events")
        for target in [name] if name else names:
            counts[target] = int(number)
    return counts


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The command line."""
    parser = bench_parser(
        __doc__, dsn_help=f"a PostgreSQL on this machine (default: $DATABASE_URL, else {DEFAULT_DSN})"
    )
    parser.add_argument(
        "--events",
        action="append",
        default=[],
        metavar="[SCENARIO=]N",
        help="events per scenario (all, or one scenario; repeatable)",
    )
    parser.add_argument(
        "--scenarios",
        default=",".join(s.name for s in SCENARIOS),
        help="comma-separated subset of: " + ", ".join(s.name for s in SCENARIOS),
    )
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per scenario, each in a fresh schema; the median is shown"
    )
    parser.add_argument("--timeout", type=float, default=300.0, help="seconds allowed per scenario run")
    parser.add_argument("--seed", type=int, default=2025, help="seed of the generated workload")
    return parser.parse_args(argv)


async def measure(
    scenario: Scenario, dsn: str, events: list[NewEvent], repeat: int, time_limit: float
) -> Run:
    """Run a scenario `repeat` times, each in a fresh schema; the median run by events/s."""
    runs = []
    for _ in range(repeat):
        async with scratch_schema(dsn, scenario.name, scenario.pool_size) as scratch:
            try:
                async with asyncio.timeout(time_limit):
                    runs.append(await scenario.run(scratch, events))
            except TimeoutError:
                raise SystemExit(f"{scenario.name}: no result within {time_limit:.0f} s") from None
    runs.sort(key=lambda r: r.events / r.seconds)
    broken = [r for r in runs if r.chain_ok is False]
    return broken[0] if broken else runs[len(runs) // 2]


async def server_settings(dsn: str) -> tuple[str, str]:
    """The server's version and synchronous_commit, printed with the figures."""
    connection = await asyncpg.connect(dsn)
    try:
        found = await connection.fetchrow(PG_SETTINGS)
    finally:
        await connection.close()
    assert found is not None
    return str(found[0]), str(found[1])


async def main(argv: Sequence[str]) -> None:
    """Run the chosen scenarios in order and print the table and the JSON line."""
    args = parse_args(argv)
    dsn = loopback_dsn(args.dsn)
    counts = event_counts(args.events)
    if args.repeat < 1:
        raise SystemExit("--repeat: at least 1")
    chosen = {name.strip() for name in args.scenarios.split(",") if name.strip()}
    unknown = chosen - {s.name for s in SCENARIOS}
    if unknown:
        raise SystemExit(f"--scenarios: unknown {', '.join(sorted(unknown))}")
    server_version, synchronous_commit = await server_settings(dsn)
    # Other work on the machine skews every figure; the load average says how much there was.
    load_start = os.getloadavg()[0]
    print(
        f"impactlog append bench — PostgreSQL {server_version}, synchronous_commit={synchronous_commit}, "
        f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}, uvloop {metadata.version('uvloop')}, "
        f"median of {args.repeat} run(s), load average {load_start:.2f}"
    )
    print(HEADER)
    done: dict[str, Figure] = {}
    for scenario in (s for s in SCENARIOS if s.name in chosen):
        events = workload(counts[scenario.name], args.seed)
        run = await measure(scenario, dsn, events, args.repeat, args.timeout)
        done[scenario.name] = figure(scenario, run, done)
        print(row(done[scenario.name]), flush=True)
    load_end = os.getloadavg()[0]
    print(
        f"load average at the end: {load_end:.2f} (near {os.cpu_count()} or more: other work shared the CPUs)"
    )
    print(
        msgspec.json.encode(
            {
                "bench": "append",
                "postgres": server_version,
                "synchronous_commit": synchronous_commit,
                "cpus": os.cpu_count(),
                "load_average": [round(load_start, 2), round(load_end, 2)],
                "repeat": args.repeat,
                "figures": list(done.values()),
            }
        ).decode()
    )


if __name__ == "__main__":
    uvloop.run(main(sys.argv[1:]))
