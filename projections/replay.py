"""Rebuild a projection for one project from position 0 beside the live one, then swap it in.

Keyed projections (every read model the service keeps) rebuild through projections/from_zero.py:
one pass over the log for all of them, folded in memory, written into new tables that become the
project's partitions in one transaction. `replay` rebuilds all of them in that one pass.

Any other Projection rebuilds through its own `apply`, batch by batch, like this:

- The rebuild writes into **session temp tables** named like the live ones
  (`CREATE TEMP TABLE organisations (LIKE <schema>.organisations INCLUDING ALL)`). PostgreSQL
  looks up unqualified names in the session's temp schema first, so the projection's own SQL,
  unchanged, writes the shadow copy: replay runs the very code the live runner runs. Temp tables
  are private to the rebuilding session (two replays never clash) and vanish with it (a
  crashed replay leaves nothing behind). asyncpg's cached statements are dropped when the shadows
  appear and when they go, so none prepared against the live tables writes there meanwhile, and
  every shadow is checked to resolve to a temp table before anything is written.
- The live runner keeps going meanwhile. The rebuild reads the log in batches up to near the
  head, then in **one transaction** locks the projection's checkpoint row (which every live
  batch locks first, so the live runner waits), folds the last events, replaces the project's
  rows in every live table (DELETE the project's rows, INSERT them from the shadow) and sets
  the checkpoint to the rebuilt position. Readers see the old model or the new one, never a
  half-built one; other projects' rows are never touched.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import asyncpg
import msgspec

from events.connection import Connection, Executor
from events.read import iterate_log, read_head, read_log
from projections.checkpoints import lock_checkpoint, set_checkpoint
from projections.from_zero import RebuildProgress, rebuild_from_zero
from projections.keyed import KeyedProjection
from projections.partitions import drop_abandoned_builds
from projections.sessions import connection_lost

if TYPE_CHECKING:
    from projections.runner import Projection

DEFAULT_BATCH_SIZE = 2000

# Where a live table is, before a temp table of the same name hides it.
QUALIFIED_NAME = """
SELECT format('%I.%I', n.nspname, c.relname)
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE c.oid = to_regclass($1)
"""
IS_TEMP = "SELECT c.relpersistence = 't' FROM pg_class c WHERE c.oid = to_regclass($1)"
CREATE_SHADOW = "CREATE TEMP TABLE {table} (LIKE {live} INCLUDING ALL)"
DROP_SHADOW = "DROP TABLE IF EXISTS pg_temp.{table}"
SWAP_DELETE = "DELETE FROM {live} WHERE project_id = $1"
SWAP_INSERT = "INSERT INTO {live} SELECT * FROM pg_temp.{table} WHERE project_id = $1"


class ReplayProgress(msgspec.Struct, frozen=True, kw_only=True):
    """How far a rebuild is: events folded so far out of the head it is heading for."""

    projection: str
    done: int
    total: int
    events_per_second: float


class ReplayResult(msgspec.Struct, frozen=True, kw_only=True):
    """A finished rebuild: the position it swapped in at, and how long it took."""

    projection: str
    project_id: str
    position: int
    seconds: float


Progress = Callable[[ReplayProgress], None]


class UnknownProject(LookupError):
    """Replay of a project that has no log."""


async def replay(
    pool: asyncpg.Pool,
    project_id: str,
    projection_name: str | None = None,
    progress: Progress | None = None,
    *,
    projections: Sequence[Projection] | None = None,
    batch_size: int = DEFAULT_BATCH_SIZE,
) -> list[ReplayResult]:
    """Rebuild one projection (or every one) of a project from zero and swap it in atomically."""
    from projections import default_projections

    known = projections or default_projections()
    chosen = select_projections(known, projection_name)
    keyed = [p for p in chosen if isinstance(p, KeyedProjection)]
    async with pool.acquire() as connection:
        if await read_head(connection, project_id) is None:
            raise UnknownProject(f"no project {project_id!r}")
        # What rebuilds killed mid-way left behind, before this one adds its own tables.
        await drop_abandoned_builds(connection, [t for p in known for t in p.tables])
        # Every keyed projection in one pass over the log, read ahead on another pool connection.
        results = (
            await _rebuild_keyed(connection, keyed, project_id, batch_size, progress, reader=pool)
            if keyed
            else []
        )
        for projection in chosen:
            if not isinstance(projection, KeyedProjection):
                results.append(
                    await rebuild(
                        connection, projection, project_id, batch_size=batch_size, progress=progress
                    )
                )
    order = [p.name for p in chosen]
    return sorted(results, key=lambda r: order.index(r.projection))


def select_projections(projections: Sequence[Projection], name: str | None) -> list[Projection]:
    """All projections, or the one named (ValueError listing the names otherwise)."""
    if name is None:
        return list(projections)
    found = [p for p in projections if p.name == name]
    if not found:
        raise ValueError(f"no projection {name!r}; known: {', '.join(p.name for p in projections)}")
    return found


async def rebuild(
    connection: Connection,
    projection: Projection,
    project_id: str,
    *,
    batch_size: int = DEFAULT_BATCH_SIZE,
    progress: Progress | None = None,
    reader: Executor | None = None,
) -> ReplayResult:
    """Rebuild from zero on this connection and swap into the live tables (module doc); a keyed
    projection reads ahead on `reader` when given (another connection, or a pool: from_zero.py)."""
    if isinstance(projection, KeyedProjection):
        (result,) = await _rebuild_keyed(
            connection, [projection], project_id, batch_size, progress, reader=reader
        )
        return result
    started = time.perf_counter()
    live = await _create_shadows(connection, projection.tables)
    try:
        meter = _Meter(projection.name, started, progress)
        position = await _build(connection, projection, project_id, batch_size, meter)
        async with connection.transaction():
            await lock_checkpoint(connection, projection.name, project_id, projection.version)
            async for batch in iterate_log(connection, project_id, after=position, batch_size=batch_size):
                await projection.apply(connection, project_id, batch)
                position = batch[-1].position
                meter.report(position, position)
            await _check_shadowed(connection, projection.tables)
            await _swap(connection, live, project_id)
            await set_checkpoint(connection, projection.name, project_id, position, projection.version)
    finally:
        await _drop_shadows(connection, live)
    return ReplayResult(
        projection=projection.name,
        project_id=project_id,
        position=position,
        seconds=time.perf_counter() - started,
    )


async def _rebuild_keyed(
    connection: Connection,
    projections: Sequence[KeyedProjection],
    project_id: str,
    batch_size: int,
    progress: Progress | None,
    reader: Executor | None = None,
) -> list[ReplayResult]:
    """Keyed projections folded in memory from zero in one pass, then swapped in (from_zero.py)."""
    started = time.perf_counter()
    meters = [_Meter(p.name, started, progress) for p in projections]

    def report(step: RebuildProgress) -> None:
        for meter in meters:
            meter.report(step.done, step.total)

    rebuilt = await rebuild_from_zero(
        connection, projections, project_id, window=batch_size, reader=reader, progress=report
    )
    seconds = time.perf_counter() - started
    return [
        ReplayResult(projection=p.name, project_id=project_id, position=rebuilt.position, seconds=seconds)
        for p in projections
    ]


async def _build(
    connection: Connection, projection: Projection, project_id: str, batch_size: int, meter: _Meter
) -> int:
    """Fold the log into the shadows, batch by batch, until at most one batch from the head."""
    position = 0
    while True:
        head = await read_head(connection, project_id)
        total = head.position if head is not None else 0
        if total - position <= batch_size:
            return position
        async with connection.transaction():
            batch = await read_log(connection, project_id, after=position, limit=batch_size)
            await projection.apply(connection, project_id, batch)
        position = batch[-1].position
        meter.report(position, total)


async def _create_shadows(connection: Connection, tables: Sequence[str]) -> dict[str, str]:
    """Temp tables shaped like the live ones; returns table → schema-qualified live name."""
    live: dict[str, str] = {}
    for table in tables:
        qualified = await connection.fetchval(QUALIFIED_NAME, table)
        if qualified is None:
            raise LookupError(f"no table {table!r} (are the migrations applied?)")
        live[table] = qualified
    try:
        for table, qualified in live.items():
            await connection.execute(CREATE_SHADOW.format(table=table, live=qualified))
        # Statements cached before the shadows existed still name the live tables.
        await connection.reload_schema_state()
        await _check_shadowed(connection, tables)
    except BaseException:
        await _drop_shadows(connection, live)
        raise
    return live


async def _check_shadowed(connection: Connection, tables: Sequence[str]) -> None:
    for table in tables:
        if not await connection.fetchval(IS_TEMP, table):
            raise RuntimeError(f"{table} does not resolve to its rebuild table; refusing to write")


async def _swap(connection: Connection, live: dict[str, str], project_id: str) -> None:
    for table, qualified in live.items():
        await connection.execute(SWAP_DELETE.format(live=qualified), project_id)
        await connection.execute(SWAP_INSERT.format(live=qualified, table=table), project_id)


async def _drop_shadows(connection: Connection, live: dict[str, str]) -> None:
    if connection_lost(connection):
        return  # the session, and its temp tables, are gone already
    try:
        for table in live:
            await connection.execute(DROP_SHADOW.format(table=table))
        # Statements prepared against the shadows must not outlive them.
        await connection.reload_schema_state()
    except BaseException:
        # A pooled session must never keep tables that hide the live ones: end it instead.
        with contextlib.suppress(asyncpg.InterfaceError):
            connection.terminate()
        raise


class _Meter:
    """Progress reports with the rebuild's events/s."""

    def __init__(self, projection: str, started: float, progress: Progress | None) -> None:
        self._projection = projection
        self._started = started
        self._progress = progress

    def report(self, done: int, total: int) -> None:
        if self._progress is None:
            return
        elapsed = time.perf_counter() - self._started
        self._progress(
            ReplayProgress(
                projection=self._projection,
                done=done,
                total=max(total, done),
                events_per_second=done / elapsed if elapsed > 0 else 0.0,
            )
        )
