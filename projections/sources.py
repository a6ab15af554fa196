"""The SQL of a keyed projection's sources table: load the sources of some keys (payloads read
back from the log, never copied), insert new ones, mark retracted ones not live.

Table names are formatted into the statements: they are the projections' own constants, never
input. Unqualified, so a rebuild's session temp tables of the same names shadow the live ones
(projections/replay.py).
"""

from __future__ import annotations

import uuid
from collections.abc import Collection, Iterable

from events.connection import Connection
from events.entries import log_entry
from events.read import recorded_event
from projections.ledger import Source

# The columns events.read builds a RecordedEvent from, on the log table aliased `e`.
# TODO(lead): events.read could expose `read_positions(connection, project_id, positions)`;
# until then this mirrors its column list and row mapping.
EVENT_COLUMNS = """e.project_id, e.position, e.event_id, e.stream_id, e.stream_version, e.type,
    e.schema_version, e.occurred_on, e.recorded_at, e.data::text AS data, e.metadata::text AS metadata,
    encode(e.prev_hash, 'hex') AS prev_hash, encode(e.hash, 'hex') AS hash,
    e.tx_id::text::bigint AS tx_id"""

# Every source of the wanted keys and of the keys of the wanted event ids (a correction's or a
# retraction's target), in log order.
LOAD_SOURCES = """
SELECT s.key, s.live, {columns}
  FROM {table} s
  JOIN events e ON e.project_id = s.project_id AND e.position = s.position
 WHERE s.project_id = $1
   AND s.key IN (SELECT unnest($2::text[])
                 UNION
                 SELECT t.key FROM {table} t WHERE t.project_id = $1 AND t.event_id = ANY($3::uuid[]))
 ORDER BY s.position
"""

VOID_SOURCES = "UPDATE {table} SET live = false WHERE project_id = $1 AND position = ANY($2::bigint[])"

ALL_KEYS = "SELECT DISTINCT key FROM {table} WHERE project_id = $1"

SOURCE_COLUMNS = ("project_id", "position", "key", "event_id", "live")


async def load_sources(
    connection: Connection,
    table: str,
    project_id: str,
    keys: Collection[str],
    event_ids: Collection[uuid.UUID] = (),
) -> list[Source]:
    """The stored sources of `keys` and of the keys holding `event_ids`, in log order."""
    if not keys and not event_ids:
        return []
    rows = await connection.fetch(
        LOAD_SOURCES.format(table=table, columns=EVENT_COLUMNS), project_id, list(keys), list(event_ids)
    )
    return [
        Source(key=r["key"], entry=log_entry(recorded_event(r)), live=r["live"], stored=True) for r in rows
    ]


async def save_sources(connection: Connection, table: str, project_id: str, new: Iterable[Source]) -> None:
    """Insert the batch's new sources (COPY: a batch may bring thousands)."""
    records = [(project_id, s.entry.position, s.key, s.entry.event_id, s.live) for s in new]
    if records:
        await connection.copy_records_to_table(table, records=records, columns=SOURCE_COLUMNS)


async def void_sources(connection: Connection, table: str, project_id: str, voided: Iterable[Source]) -> None:
    """Mark stored sources not live (retracted, or voided with the activity they depended on)."""
    positions = [s.entry.position for s in voided]
    if positions:
        await connection.execute(VOID_SOURCES.format(table=table), project_id, positions)


async def all_keys(connection: Connection, table: str, project_id: str) -> set[str]:
    """Every key the project has sources under."""
    return {r["key"] for r in await connection.fetch(ALL_KEYS.format(table=table), project_id)}
