"""Reading a project's log: by position, by stream, and its head."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import msgspec

from events.connection import Executor
from events.envelope import LogHead, RecordedEvent

_COLUMNS = """project_id, position, event_id, stream_id, stream_version, type, schema_version,
    occurred_on, recorded_at, data::text AS data, metadata::text AS metadata,
    encode(prev_hash, 'hex') AS prev_hash, encode(hash, 'hex') AS hash,
    tx_id::text::bigint AS tx_id"""

READ_LOG = f"""
SELECT {_COLUMNS} FROM events
 WHERE project_id = $1 AND position > $2 AND position <= $3
 ORDER BY position LIMIT $4
"""

READ_STREAM = f"""
SELECT {_COLUMNS} FROM events
 WHERE project_id = $1 AND stream_id = $2 AND stream_version >= $3
 ORDER BY stream_version LIMIT $4
"""

READ_HEAD = """
SELECT project_id, position, encode(hash, 'hex') AS hash, last_recorded_at
  FROM log_heads WHERE project_id = $1
"""

READ_HEADS = """
SELECT project_id, position, encode(hash, 'hex') AS hash, last_recorded_at
  FROM log_heads ORDER BY project_id
"""

MAX_POSITION = 2**62


def recorded_event(row: asyncpg.Record) -> RecordedEvent:
    """A row of `events` (every column, data and metadata as text) as a RecordedEvent."""
    return RecordedEvent(
        project_id=row["project_id"],
        position=row["position"],
        event_id=row["event_id"],
        stream_id=row["stream_id"],
        stream_version=row["stream_version"],
        type=row["type"],
        schema_version=row["schema_version"],
        occurred_on=row["occurred_on"],
        recorded_at=row["recorded_at"],
        data=msgspec.Raw(row["data"].encode()),
        metadata=msgspec.Raw(row["metadata"].encode()),
        prev_hash=row["prev_hash"],
        hash=row["hash"],
        tx_id=row["tx_id"],
    )


async def read_log(
    connection: Executor,
    project_id: str,
    *,
    after: int = 0,
    limit: int = 1000,
    up_to: int = MAX_POSITION,
) -> list[RecordedEvent]:
    """Events of a project with position > `after` (and ≤ `up_to`), in position order."""
    rows = await connection.fetch(READ_LOG, project_id, after, up_to, limit)
    return [recorded_event(r) for r in rows]


async def iterate_log(
    connection: Executor,
    project_id: str,
    *,
    after: int = 0,
    up_to: int = MAX_POSITION,
    batch_size: int = 5000,
) -> AsyncIterator[list[RecordedEvent]]:
    """The whole log after `after` in ordered batches (keyset paging, never OFFSET)."""
    while True:
        batch = await read_log(connection, project_id, after=after, limit=batch_size, up_to=up_to)
        if not batch:
            return
        yield batch
        after = batch[-1].position


async def read_stream(
    connection: Executor,
    project_id: str,
    stream_id: str,
    *,
    from_version: int = 1,
    limit: int = 1000,
) -> list[RecordedEvent]:
    """Events of one stream from `from_version`, in stream order."""
    rows = await connection.fetch(READ_STREAM, project_id, stream_id, from_version, limit)
    return [recorded_event(r) for r in rows]


def _head(row: asyncpg.Record) -> LogHead:
    return LogHead(
        project_id=row["project_id"],
        position=row["position"],
        hash=row["hash"],
        last_recorded_at=row["last_recorded_at"],
    )


async def read_head(connection: Executor, project_id: str) -> LogHead | None:
    """The head of one project's log, or None when the project does not exist."""
    row = await connection.fetchrow(READ_HEAD, project_id)
    return _head(row) if row is not None else None


async def read_heads(connection: Executor) -> list[LogHead]:
    """The heads of every project's log (for /health and operators)."""
    return [_head(r) for r in await connection.fetch(READ_HEADS)]
