"""The SQL of read-model partitions: each project's rows of a read-model table may live in a
partition of their own (migration 0007), which a rebuild replaces whole.

A rebuild creates a plain table shaped like the read model (no index to maintain while it is
filled), COPYs the project's rows into it, builds the read model's indexes on it (one sort
each), then, in the swap transaction, detaches and drops the project's old partition (or deletes
the project's rows from the DEFAULT partition, where projects never rebuilt live) and attaches
the new table as the project's partition: PostgreSQL adopts the indexes already built.

Table names are formatted into the statements: the read models' own constants, or names made
here, never input; the project id is always a parameter or a quoted literal.
"""

from __future__ import annotations

import uuid

from events.connection import Connection

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
DETACH = "ALTER TABLE {table} DETACH PARTITION {partition}"
DROP_PARTITION = "DROP TABLE {partition}"
DELETE_PROJECT = "DELETE FROM {table} WHERE project_id = $1"
QUOTE_LITERAL = "SELECT quote_literal($1::text)"
ATTACH = "ALTER TABLE {table} ATTACH PARTITION {build} FOR VALUES IN ({project})"


def build_name(table: str) -> str:
    """A fresh name for a table that will become a project's partition of `table`."""
    return f"{table}_p{uuid.uuid4().hex[:12]}"


async def create_build(connection: Connection, table: str) -> str:
    """A new empty table shaped like the read-model table, without its indexes; its name."""
    build = build_name(table)
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
    old = await connection.fetchval(PROJECT_PARTITION, table, project_id)
    if old is not None:
        await connection.execute(DETACH.format(table=table, partition=old))
        await connection.execute(DROP_PARTITION.format(partition=old))
    else:
        await connection.execute(DELETE_PROJECT.format(table=table), project_id)
    project = await connection.fetchval(QUOTE_LITERAL, project_id)
    await connection.execute(ATTACH.format(table=table, build=build, project=project))
