"""The `snapshots` table (migrations/0005) and the log positions a snapshot pins: every SQL
statement snapshots run, beside the code that runs it, each keyed by project_id.

A row is *published* once the SnapshotPublished event it names is in the log; until then it is
*pending* (a publisher stopped between its two steps) and no reader lists it.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import uuid
from collections.abc import AsyncIterator

import asyncpg
import msgspec

from events.connection import Connection, Executor

_RECORD_COLUMNS = """s.project_id, s.snapshot_id, s.kind, s.period_id, s.as_of_position,
    encode(s.head_hash, 'hex') AS head_hash, encode(s.content_hash, 'hex') AS content_hash,
    s.signature, s.event_id, s.created_at, e.position AS event_position, e.recorded_at AS published_at"""

_JOIN_EVENT = "LEFT JOIN events e ON e.project_id = s.project_id AND e.event_id = s.event_id"

SELECT_SNAPSHOT = f"""
SELECT {_RECORD_COLUMNS}, s.document::text AS document
  FROM snapshots s {_JOIN_EVENT}
 WHERE s.project_id = $1 AND s.snapshot_id = $2
"""

LIST_SNAPSHOTS = f"""
SELECT {_RECORD_COLUMNS}
  FROM snapshots s {_JOIN_EVENT}
 WHERE s.project_id = $1
 ORDER BY s.as_of_position, s.created_at, s.snapshot_id
"""

INSERT_SNAPSHOT = """
INSERT INTO snapshots (project_id, snapshot_id, kind, period_id, as_of_position, head_hash,
                       content_hash, signature, document, event_id)
VALUES ($1, $2, $3, $4, $5, decode($6, 'hex'), decode($7, 'hex'), $8, $9::text::json, $10)
ON CONFLICT DO NOTHING
"""

# Serialises publishers of one snapshot across processes; keyed by schema too, so test schemas
# never wait for each other. A session lock, not a transaction's: the document is computed while
# it is held (minutes on a huge log), and no transaction should stay open that long.
_LOCK_KEY = "hashtextextended('impactlog.snapshot.' || current_schema() || '.' || $1, 0)"
LOCK_SNAPSHOT = f"SELECT pg_advisory_lock({_LOCK_KEY})"
UNLOCK_SNAPSHOT = f"SELECT pg_advisory_unlock({_LOCK_KEY})"

# recorded_at never goes back along the log, so the newest row recorded before a moment is read
# backwards from the head along the primary key and stops at the first match.
LAST_POSITION_BEFORE = """
SELECT position FROM events
 WHERE project_id = $1 AND recorded_at < $2
 ORDER BY position DESC LIMIT 1
"""

# The newest event that can change a figure: snapshots themselves never do, so publishing an
# ad-hoc snapshot again with nothing new in between finds the same position (and snapshot).
LAST_SUBSTANTIVE_POSITION = """
SELECT position FROM events
 WHERE project_id = $1 AND type <> 'SnapshotPublished'
 ORDER BY position DESC LIMIT 1
"""

HASH_AT = """
SELECT encode(hash, 'hex') AS hash FROM events WHERE project_id = $1 AND position = $2
"""

# Corrections and retractions name their target by event id; a diff shows what they changed.
EVENTS_BY_ID = """
SELECT event_id, position, type, occurred_on FROM events
 WHERE project_id = $1 AND event_id = ANY ($2::uuid[])
"""


class SnapshotRecord(msgspec.Struct, frozen=True, kw_only=True):
    """A stored snapshot without its document: what lists show and what pins it."""

    project_id: str
    snapshot_id: str
    kind: str
    period_id: str | None
    as_of_position: int
    head_hash: str
    content_hash: str
    signature: str
    event_id: uuid.UUID
    created_at: dt.datetime
    # Where its SnapshotPublished event sits and when it was recorded; None while pending.
    event_position: int | None
    published_at: dt.datetime | None

    @property
    def published(self) -> bool:
        """Whether its SnapshotPublished event is in the log (only then do readers see it)."""
        return self.event_position is not None


class StoredSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """A stored snapshot with its document's canonical bytes, exactly as hashed."""

    record: SnapshotRecord
    document: bytes


class TargetEvent(msgspec.Struct, frozen=True, kw_only=True):
    """Where an event a correction or retraction names sits in the log."""

    event_id: uuid.UUID
    position: int
    type: str
    occurred_on: dt.date | None


def _record(row: asyncpg.Record) -> SnapshotRecord:
    return SnapshotRecord(**{name: row[name] for name in SnapshotRecord.__struct_fields__})


async def fetch_snapshot(db: Executor, project_id: str, snapshot_id: str) -> StoredSnapshot | None:
    """One snapshot with its document, published or pending; None when there is none."""
    row = await db.fetchrow(SELECT_SNAPSHOT, project_id, snapshot_id)
    if row is None:
        return None
    return StoredSnapshot(record=_record(row), document=row["document"].encode())


async def list_snapshots(db: Executor, project_id: str, *, pending: bool = False) -> list[SnapshotRecord]:
    """A project's published snapshots in position order (or, with `pending`, only the pending)."""
    records = [_record(row) for row in await db.fetch(LIST_SNAPSHOTS, project_id)]
    return [r for r in records if r.published != pending]


async def insert_snapshot(db: Executor, record: SnapshotRecord, document: bytes) -> bool:
    """Store a snapshot unless its id (or its kind and period) is taken; True when stored."""
    status = await db.execute(
        INSERT_SNAPSHOT,
        record.project_id,
        record.snapshot_id,
        record.kind,
        record.period_id,
        record.as_of_position,
        record.head_hash,
        record.content_hash,
        record.signature,
        document.decode(),
        record.event_id,
    )
    return bool(status == "INSERT 0 1")


@contextlib.asynccontextmanager
async def snapshot_lock(connection: Connection, snapshot_id: str) -> AsyncIterator[None]:
    """Hold the snapshot's advisory lock on this connection for the block (a dropped connection
    releases it, and so does the pool's reset of a returned one)."""
    await connection.execute(LOCK_SNAPSHOT, snapshot_id)
    try:
        yield
    finally:
        if not connection.is_closed():
            await connection.execute(UNLOCK_SNAPSHOT, snapshot_id)


async def last_position_before(db: Executor, project_id: str, moment: dt.datetime) -> int:
    """The last log position recorded strictly before `moment` (0: none)."""
    position = await db.fetchval(LAST_POSITION_BEFORE, project_id, moment)
    return int(position or 0)


async def last_substantive_position(db: Executor, project_id: str) -> int:
    """The last log position that is not a SnapshotPublished event (0: none)."""
    position = await db.fetchval(LAST_SUBSTANTIVE_POSITION, project_id)
    return int(position or 0)


async def hash_at(db: Executor, project_id: str, position: int) -> str | None:
    """The chain hash (hex) of the event at a position."""
    value = await db.fetchval(HASH_AT, project_id, position)
    return str(value) if value is not None else None


async def events_by_id(
    db: Executor, project_id: str, event_ids: list[uuid.UUID]
) -> dict[uuid.UUID, TargetEvent]:
    """Position, type and date of the named events of a project."""
    if not event_ids:
        return {}
    rows = await db.fetch(EVENTS_BY_ID, project_id, event_ids)
    return {
        row["event_id"]: TargetEvent(
            event_id=row["event_id"],
            position=row["position"],
            type=row["type"],
            occurred_on=row["occurred_on"],
        )
        for row in rows
    }
