"""The SQL of read-model partitions: each project's rows of a read-model table may live in a
partition of their own (migration 0007), which a rebuild replaces whole.

A rebuild creates a plain table shaped like the read model (no index to maintain while it is
filled), COPYs the project's rows into it, builds the read model's indexes on it (one sort
each), then, in the swap transaction, detaches and drops the project's old partition (or deletes
the project's rows from the DEFAULT partition, where projects never rebuilt live) and attaches
the new table as the project's partition: PostgreSQL adopts the indexes already built.

Every build has an id, and its tables are named `<table>_p<id>`. The builder holds a session
advisory lock on the id (`claimed_build`) from before it creates the first table until the swap
has committed or the tables are dropped, so a build table whose id nobody holds, and that is no
partition, belongs to a builder that is gone: `drop_abandoned_builds` drops exactly those,
re-checking under the id's lock, in the transaction that drops them, that the table is still
not attached (its builder may have swapped it in and let go since the table was listed).

Table names are formatted into the statements: the read models' own constants, or names made
here, never input; the project id is always a parameter or a quoted literal.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import AsyncIterator, Sequence

import asyncpg

from events.connection import Connection
from projections.sessions import connection_lost

log = logging.getLogger("impactlog.projections")

# A build's lock: the two-key form (shown in pg_locks with objsubid 2) never meets the runner
# locks' single bigint keys; keyed by schema, so test schemas do not contend.
_BUILD_KEY = "hashtext('impactlog.build.' || current_schema()), hashtext($1::text)"
CLAIM_BUILD = f"SELECT pg_try_advisory_lock({_BUILD_KEY})"
RELEASE_BUILD = f"SELECT pg_advisory_unlock({_BUILD_KEY})"
# Taken by the cleanup in its dropping transaction, released when that ends.
CLAIM_ABANDONED = f"SELECT pg_try_advisory_xact_lock({_BUILD_KEY})"
BUILD_ID_LENGTH = 12

# Build tables of these read-model tables in this schema that are not (or no longer) partitions.
UNATTACHED_BUILDS = f"""
SELECT format('%I.%I', n.nspname, c.relname) AS build, right(c.relname, {BUILD_ID_LENGTH}) AS build_id
  FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
 WHERE n.nspname = current_schema() AND c.relkind = 'r' AND NOT c.relispartition
   AND c.relname ~ '_p[0-9a-f]{{{BUILD_ID_LENGTH}}}$'
   AND left(c.relname, -{BUILD_ID_LENGTH + 2}) = ANY($1::text[])
"""
STILL_UNATTACHED = "SELECT NOT c.relispartition FROM pg_class c WHERE c.oid = to_regclass($1)"
# A dead builder holds no lock on its tables; this only waits out a live reader's.
CLEANUP_LOCK_TIMEOUT = "SET LOCAL lock_timeout = '2s'"

CREATE_BUILD = "CREATE TABLE {build} (LIKE {table} INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
DROP_BUILD = "DROP TABLE IF EXISTS {build}"

# The columns of every index of a read-model table, and whether it is unique.
INDEXES = """
SELECT i.indisunique AS is_unique, array_agg(a.attname::text ORDER BY k.ord) AS columns
  FROM pg_index i
 CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
  JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
 WHERE i.indrelid = to_regclass($1)
 GROUP BY i.indexrelid, i.indisunique
 ORDER BY i.indexrelid
"""
CREATE_INDEX = "CREATE {unique} INDEX ON {build} ({columns})"

# The project's own partition of a read-model table, if it has one.
PROJECT_PARTITION = """
SELECT format('%I', c.relname)
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = to_regclass($1)
   AND pg_get_expr(c.relpartbound, c.oid) = format('FOR VALUES IN (%L)', $2::text)
"""
# Before anything else in a swap: a reader reads the parent's list of partitions once it holds
# the parent, then locks each partition. Were the parent free, a reader could list the partitions
# before the swap, wait on the DEFAULT partition that ATTACH locks, then run that stale list with
# a snapshot taken after the commit: the project's rows gone from DEFAULT, its new partition not
# in the list — an empty model. (DETACH takes this lock anyway; a first swap only DELETEs.)
LOCK_PARENT = "LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"
DETACH = "ALTER TABLE {table} DETACH PARTITION {partition}"
DROP_PARTITION = "DROP TABLE {partition}"
DELETE_PROJECT = "DELETE FROM {table} WHERE project_id = $1"
QUOTE_LITERAL = "SELECT quote_literal($1::text)"
ATTACH = "ALTER TABLE {table} ATTACH PARTITION {build} FOR VALUES IN ({project})"


def build_name(table: str, build_id: str) -> str:
    """The name of build `build_id`'s table that will become a project's partition of `table`."""
    return f"{table}_p{build_id}"


@contextlib.asynccontextmanager
async def claimed_build(connection: Connection) -> AsyncIterator[str]:
    """A fresh build id, locked by this session until the block ends (module doc): hold it from
    before the build's first table exists until its swap committed or its tables are dropped."""
    while True:
        build_id = uuid.uuid4().hex[:BUILD_ID_LENGTH]
        if await connection.fetchval(CLAIM_BUILD, build_id):
            break
    try:
        yield build_id
    finally:
        if not connection_lost(connection):
            with contextlib.suppress(asyncpg.InterfaceError, asyncpg.PostgresError, OSError):
                await connection.fetchval(RELEASE_BUILD, build_id)


async def drop_abandoned_builds(connection: Connection, tables: Sequence[str]) -> list[str]:
    """Drop the build tables of `tables` whose builder is gone (module doc); the ones dropped.

    A table some session still locks is left for the next cleanup."""
    dropped = []
    for row in await connection.fetch(UNATTACHED_BUILDS, list(tables)):
        try:
            async with connection.transaction():
                await connection.execute(CLEANUP_LOCK_TIMEOUT)
                if not await connection.fetchval(CLAIM_ABANDONED, row["build_id"]):
                    continue  # its builder is alive
                if not await connection.fetchval(STILL_UNATTACHED, row["build"]):
                    continue  # swapped in, or dropped, since it was listed
                await connection.execute(DROP_BUILD.format(build=row["build"]))
        except asyncpg.LockNotAvailableError:
            log.warning("build table in use; left for the next cleanup", extra={"build": row["build"]})
            continue
        dropped.append(row["build"])
    if dropped:
        log.info("dropped the tables of builds whose builder is gone", extra={"builds": dropped})
    return dropped


async def create_build(connection: Connection, table: str, build_id: str) -> str:
    """A new empty table of build `build_id` shaped like the read-model table, without its
    indexes; its name."""
    build = build_name(table, build_id)
    await connection.execute(CREATE_BUILD.format(build=build, table=table))
    return build


async def index_build(connection: Connection, table: str, build: str) -> None:
    """Build the read-model table's indexes on a filled build table."""
    for row in await connection.fetch(INDEXES, table):
        columns = ", ".join(f'"{column}"' for column in row["columns"])
        unique = "UNIQUE" if row["is_unique"] else ""
        await connection.execute(CREATE_INDEX.format(unique=unique, build=build, columns=columns))


async def drop_build(connection: Connection, build: str) -> None:
    """Drop a build table that was never swapped in."""
    await connection.execute(DROP_BUILD.format(build=build))


async def swap_in(connection: Connection, table: str, build: str, project_id: str) -> None:
    """Make the build table the project's partition of `table` (in the caller's transaction)."""
    await connection.execute(LOCK_PARENT.format(table=table))
    old = await connection.fetchval(PROJECT_PARTITION, table, project_id)
    if old is not None:
        await connection.execute(DETACH.format(table=table, partition=old))
        await connection.execute(DROP_PARTITION.format(partition=old))
    else:
        await connection.execute(DELETE_PROJECT.format(table=table), project_id)
    project = await connection.fetchval(QUOTE_LITERAL, project_id)
    await connection.execute(ATTACH.format(table=table, build=build, project=project))
