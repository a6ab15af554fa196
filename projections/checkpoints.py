"""The SQL of projection checkpoints, runner locks and projection status.

A batch locks its checkpoint row first (`lock_checkpoint`), so two writers of one projection and
project — a runner that lost its advisory lock without noticing, a replay swapping its rebuild
in — take turns, and each reads the checkpoint the previous one committed.
"""

from __future__ import annotations

import datetime as dt

import asyncpg
import msgspec

from events.connection import Connection, Executor

CREATE_CHECKPOINT = """
INSERT INTO projection_checkpoints (projection, project_id, position, version)
VALUES ($1, $2, 0, $3)
ON CONFLICT (projection, project_id) DO NOTHING
"""

LOCK_CHECKPOINT = """
SELECT position, version FROM projection_checkpoints
 WHERE projection = $1 AND project_id = $2
   FOR UPDATE
"""

SET_CHECKPOINT = """
UPDATE projection_checkpoints SET position = $3, version = $4, updated_at = clock_timestamp()
 WHERE projection = $1 AND project_id = $2
"""

# The projects a runner has work for: behind the head, or built by another version of the code.
LAGGING_PROJECTS = """
SELECT h.project_id, h.position - coalesce(c.position, 0) AS lag
  FROM log_heads h
  LEFT JOIN projection_checkpoints c ON c.projection = $1 AND c.project_id = h.project_id
 WHERE h.position > coalesce(c.position, 0) OR c.version <> $2
 ORDER BY h.project_id
"""

# Per project: head, checkpoint, and for how long the projection has been behind without
# progress — since the later of its last batch and the recording of the first event it has not
# read (so a project quiet for a week is not "stalled" the moment an event arrives); and how long
# ago a rebuild from zero, in whichever process, last made progress. Ages are measured on the
# database's clock, the one every process shares.
STATUS = """
SELECT h.project_id, h.position AS head, coalesce(c.position, 0) AS checkpoint, c.version,
       c.updated_at,
       CASE WHEN h.position > coalesce(c.position, 0) THEN
            extract(epoch FROM clock_timestamp() - greatest(c.updated_at, (
                SELECT e.recorded_at FROM events e
                 WHERE e.project_id = h.project_id AND e.position = coalesce(c.position, 0) + 1)))
       ELSE 0 END::float8 AS behind_seconds,
       extract(epoch FROM clock_timestamp() - c.rebuild_progress_at)::float8 AS rebuild_progress_seconds
  FROM log_heads h
  LEFT JOIN projection_checkpoints c ON c.projection = $1 AND c.project_id = h.project_id
 ORDER BY h.project_id
"""

# A rebuild from zero's heartbeat: it made progress `$4` seconds ago. The rebuild commits nothing
# until its swap, so this is written beside it, in a transaction of its own, for the processes
# not running it. The row is created as a batch would create it when the rebuild is the
# projection's first work on the project (a restored log). The swap holds the row until it
# commits: a heartbeat gives way (lock timeout) rather than wait for it, or hold it up.
RECORD_REBUILD_PROGRESS = """
INSERT INTO projection_checkpoints (projection, project_id, position, version, rebuild_progress_at)
VALUES ($1, $2, 0, $3, clock_timestamp() - make_interval(secs => $4))
ON CONFLICT (projection, project_id) DO UPDATE SET rebuild_progress_at = excluded.rebuild_progress_at
"""
CLEAR_REBUILD_PROGRESS = """
UPDATE projection_checkpoints SET rebuild_progress_at = NULL
 WHERE projection = $1 AND project_id = $2
"""
HEARTBEAT_LOCK_TIMEOUT = "SET LOCAL lock_timeout = '100ms'"

# One runner per projection and database schema (test schemas do not contend), held for the
# session of the runner's connection: when its process dies, the lock is free for another.
_LOCK_KEY = "hashtext('impactlog.projection.' || current_schema() || '.' || $1)"
TRY_LOCK = f"SELECT pg_try_advisory_lock({_LOCK_KEY})"
UNLOCK = f"SELECT pg_advisory_unlock({_LOCK_KEY})"

# The backend holding a projection's lock, in any process (a single bigint advisory key shows in
# pg_locks as its high and low 32 bits, objsubid 1).
LOCK_HOLDER = f"""
WITH k AS (SELECT {_LOCK_KEY}::bigint AS key)
SELECT l.pid FROM pg_locks l, k
 WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
   AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database())
   AND l.classid = ((k.key >> 32) & 4294967295)::oid
   AND l.objid = (k.key & 4294967295)::oid
"""


class Checkpoint(msgspec.Struct, frozen=True, kw_only=True):
    """How far a projection has read a project's log, and which version of it wrote the rows."""

    position: int
    version: int


class Lagging(msgspec.Struct, frozen=True, kw_only=True):
    """A project a projection has work for, and how many events it is behind the head."""

    project_id: str
    lag: int


class CheckpointState(msgspec.Struct, frozen=True, kw_only=True):
    """One project's head and checkpoint, as status reads them."""

    project_id: str
    head: int
    checkpoint: int
    version: int | None
    updated_at: dt.datetime | None
    behind_seconds: float
    # Since a rebuild from zero last reported progress (None when none runs, or it ended).
    rebuild_progress_seconds: float | None


async def lock_checkpoint(
    connection: Connection, projection: str, project_id: str, version: int
) -> Checkpoint:
    """Create the checkpoint if missing and lock it until the transaction ends."""
    await connection.execute(CREATE_CHECKPOINT, projection, project_id, version)
    row = await connection.fetchrow(LOCK_CHECKPOINT, projection, project_id)
    assert row is not None
    return Checkpoint(position=row["position"], version=row["version"])


async def set_checkpoint(
    connection: Connection, projection: str, project_id: str, position: int, version: int
) -> None:
    """Move the (locked) checkpoint, in the transaction that wrote the rows up to `position`."""
    await connection.execute(SET_CHECKPOINT, projection, project_id, position, version)


async def lagging_projects(connection: Connection, projection: str, version: int) -> list[Lagging]:
    """The projects the projection has work for."""
    return [Lagging(**dict(r)) for r in await connection.fetch(LAGGING_PROJECTS, projection, version)]


async def checkpoint_states(connection: Executor, projection: str) -> list[CheckpointState]:
    """Every project's head and the projection's checkpoint on it."""
    rows: list[asyncpg.Record] = await connection.fetch(STATUS, projection)
    return [CheckpointState(**dict(r)) for r in rows]


async def record_rebuild_progress(
    connection: Connection, projection: str, project_id: str, version: int, seconds_ago: float
) -> None:
    """Note that a rebuild made progress `seconds_ago`, in a transaction of its own; raises
    LockNotAvailableError rather than wait for the swap."""
    async with connection.transaction():
        await connection.execute(HEARTBEAT_LOCK_TIMEOUT)
        await connection.execute(RECORD_REBUILD_PROGRESS, projection, project_id, version, seconds_ago)


async def clear_rebuild_progress(connection: Connection, projection: str, project_id: str) -> None:
    """The rebuild ended (swapped in or failed): no heartbeat any more."""
    async with connection.transaction():
        await connection.execute(HEARTBEAT_LOCK_TIMEOUT)
        await connection.execute(CLEAR_REBUILD_PROGRESS, projection, project_id)


async def try_lock(connection: Connection, projection: str) -> bool:
    """Take the projection's runner lock for this session, if free."""
    return bool(await connection.fetchval(TRY_LOCK, projection))


async def unlock(connection: Connection, projection: str) -> None:
    """Give the runner lock back."""
    await connection.fetchval(UNLOCK, projection)


async def lock_holder(connection: Executor, projection: str) -> int | None:
    """The backend pid running the projection, in whichever process, or None."""
    pid = await connection.fetchval(LOCK_HOLDER, projection)
    return int(pid) if pid is not None else None
