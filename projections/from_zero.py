"""Rebuild keyed projections from zero in one pass over the log, folded in memory.

A rebuild from zero needs none of the live runner's per-batch round trips (load the touched
keys' sources back, re-decode them, delete and re-insert their rows): starting from nothing,
every source of every key is already in the ledger. So:

1. Outside any transaction, read the log up to the head seen at the start, only the event types
   the projections read (the others — most of a real log — never leave the server), a window of
   positions at a time, the next window in flight on another connection while this one is
   decoded (once, for every projection) and folded into each projection's in-memory Ledger.
   Python's garbage collector is paused meanwhile: the fold allocates millions of objects
   and frees none, so every collection would be wasted work.
2. Outside any transaction, derive every key's rows and COPY them, with the sources, into new
   plain tables (projections/partitions.py): no index to maintain while they fill, each index
   built in one sort afterwards. With a pool, each projection builds on its own connection, so
   the server loads one projection's tables while this process derives the next one's rows.
3. In one transaction on the rebuild's connection: lock the projections' checkpoint rows (a live
   runner's batch locks its row first, so it waits), fold the tail of the log into the ledgers
   and the new tables, swap the new tables in as the project's partitions, and move the
   checkpoints to the last position folded. Readers see the old model or the new one, never a
   half-built one; other projects' rows are never touched. A failed rebuild drops its tables;
   a process killed mid-way leaves `<table>_p<id>` tables no partition uses, which
   `partitions.drop_abandoned_builds` drops once the build's claim (held by the rebuild's
   session throughout) has died with it.

The rows are those of `KeyedProjection.rows_from_zero`, the reference the tests hold every
database-built model to.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator, Sequence

import asyncpg
import msgspec

from events.collector import collector_paused
from events.connection import Connection, Executor
from events.entries import LogEntry, log_entry
from events.read import read_head, recorded_event
from projections.checkpoints import lock_checkpoint, set_checkpoint
from projections.keyed import KeyedProjection
from projections.ledger import Ledger
from projections.partitions import claimed_build
from projections.sessions import connection_lost
from projections.sources import EVENT_COLUMNS

# The rows of some event types in a window of positions, in log order.
READ_WINDOW = f"""
SELECT {EVENT_COLUMNS}
  FROM events e
 WHERE e.project_id = $1 AND e.position > $2 AND e.position <= $3 AND e.type = ANY($4::text[])
 ORDER BY e.position
"""

# Positions per read: enough rows that round trips do not count, few enough to keep the
# pipeline (one window decoded while the next is read) smooth.
MIN_WINDOW = 20_000


class RebuildProgress(msgspec.Struct, frozen=True, kw_only=True):
    """Positions read so far out of the head the rebuild is heading for."""

    done: int
    total: int


Progress = Callable[[RebuildProgress], None]


class Rebuilt(msgspec.Struct, frozen=True, kw_only=True):
    """The position every projection of a rebuild was swapped in at."""

    position: int


async def rebuild_from_zero(
    connection: Connection,
    projections: Sequence[KeyedProjection],
    project_id: str,
    *,
    window: int = MIN_WINDOW,
    reader: Executor | None = None,
    progress: Progress | None = None,
) -> Rebuilt:
    """Rebuild the projections' rows of a project from zero and swap them in (module doc).

    `reader` (a pool) reads ahead on another connection; without it the rebuild's connection reads.
    """
    ledgers = [Ledger(projection) for projection in projections]
    scan = _LogScan(projections, ledgers, project_id, max(window, MIN_WINDOW))
    # Shared with the KPI engine's pause (one count for both: they may overlap in a process).
    with collector_paused():
        head = await read_head(connection, project_id)
        position = await scan.fold(
            reader or connection, 0, head.position if head is not None else 0, progress
        )
        async with claimed_build(connection) as build_id:
            builds: list[dict[str, str]] = []
            try:
                builds = await _build_all(connection, reader, projections, ledgers, project_id, build_id)
                position = await _swap_in(connection, project_id, scan, builds, position, progress)
            except BaseException:
                if not connection_lost(connection):
                    for projection, built in zip(projections, builds, strict=False):
                        await projection.drop_builds(connection, built)
                raise
    return Rebuilt(position=position)


async def _swap_in(
    connection: Connection,
    project_id: str,
    scan: _LogScan,
    builds: Sequence[dict[str, str]],
    position: int,
    progress: Progress | None,
) -> int:
    """In one transaction: fold the tail into the builds, swap them in, move the checkpoints;
    the position they moved to."""
    projections, ledgers = scan.projections, scan.ledgers
    async with connection.transaction():
        for projection in sorted(projections, key=lambda p: p.name):
            await lock_checkpoint(connection, projection.name, project_id, projection.version)
        tail = await read_head(connection, project_id)
        position = await scan.fold(connection, position, tail.position if tail else 0, progress)
        for projection, ledger, built in zip(projections, ledgers, builds, strict=True):
            await projection.build_tail(connection, project_id, ledger, built)
            await projection.swap_in_builds(connection, project_id, built)
            await set_checkpoint(connection, projection.name, project_id, position, projection.version)
    return position


async def _build_all(
    connection: Connection,
    pool: Executor | None,
    projections: Sequence[KeyedProjection],
    ledgers: Sequence[Ledger],
    project_id: str,
    build_id: str,
) -> list[dict[str, str]]:
    """Every projection's build tables; with a pool, each on its own connection, so the server
    COPYs and indexes one projection's tables while this process derives the next one's rows."""
    if not isinstance(pool, asyncpg.Pool):
        return [
            await p.build_from_zero(connection, project_id, ledger, build_id)
            for p, ledger in zip(projections, ledgers, strict=True)
        ]

    async def build(projection: KeyedProjection, ledger: Ledger) -> dict[str, str]:
        async with pool.acquire() as builder:
            return await projection.build_from_zero(builder, project_id, ledger, build_id)

    done = await asyncio.gather(
        *(build(p, ledger) for p, ledger in zip(projections, ledgers, strict=True)), return_exceptions=True
    )
    built = [b for b in done if isinstance(b, dict)]
    failed = [b for b in done if isinstance(b, BaseException)]
    if failed:
        for projection, builds in zip(projections, done, strict=True):
            if isinstance(builds, dict):
                await projection.drop_builds(connection, builds)
        raise failed[0]
    return built


class _LogScan:
    """Reads windows of the log and folds each event into the ledgers of the projections reading it."""

    def __init__(
        self, projections: Sequence[KeyedProjection], ledgers: Sequence[Ledger], project_id: str, window: int
    ) -> None:
        self.projections = projections
        self.ledgers = ledgers
        self._project_id = project_id
        self._window = window
        governance = {"CorrectionRecorded", "ActivityRetracted"}
        types = sorted({t for p in projections for t in p.event_types} | governance)
        self._types = types
        # Per event type, the ledgers folding it (corrections and retractions go to all).
        self._ledgers: dict[str, list[Ledger]] = {
            t: [ledger for p, ledger in zip(projections, ledgers, strict=True) if p.reads(t)] for t in types
        }

    async def fold(self, reader: Executor, after: int, up_to: int, progress: Progress | None) -> int:
        """Fold the positions after `after` up to `up_to` (all committed); returns `up_to`."""
        windows = self._windows(after, up_to)
        bounds = next(windows, None)
        pending = asyncio.ensure_future(self._read(reader, bounds)) if bounds is not None else None
        while pending is not None and bounds is not None:
            rows = await pending
            done = bounds[1]
            bounds = next(windows, None)
            # Read the next window while this one is decoded and folded (when `reader` is a pool).
            pending = asyncio.ensure_future(self._read(reader, bounds)) if bounds is not None else None
            try:
                self._fold_rows(rows)
                if progress is not None:
                    progress(RebuildProgress(done=done, total=up_to))
            except BaseException:
                if pending is not None:
                    pending.cancel()
                    with contextlib.suppress(asyncio.CancelledError, Exception):
                        await pending
                raise
        return max(after, up_to)

    def _windows(self, after: int, up_to: int) -> Iterator[tuple[int, int]]:
        start = after
        while start < up_to:
            end = min(start + self._window, up_to)
            yield start, end
            start = end

    async def _read(self, reader: Executor, bounds: tuple[int, int]) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await reader.fetch(READ_WINDOW, self._project_id, *bounds, self._types)
        return rows

    def _fold_rows(self, rows: Sequence[asyncpg.Record]) -> None:
        ledgers = self._ledgers
        for row in rows:
            entry: LogEntry = log_entry(recorded_event(row))
            for ledger in ledgers[entry.type]:
                ledger.fold(entry)
