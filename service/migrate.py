"""Apply migrations/NNNN_name.sql in order, once each, under an advisory lock.

Safe to run twice or from several processes at once: the lock serialises runners and the
`schema_migrations` table records what is applied. A landed file must never change; its checksum
is recorded and a changed file stops the run.
"""

from __future__ import annotations

import hashlib
import logging
import re
from pathlib import Path

import msgspec

from events.connection import Connection, Executor

log = logging.getLogger("impactlog.migrate")

# Keyed by schema, so test schemas migrate independently.
LOCK = "SELECT pg_advisory_lock(hashtext('impactlog.migrate.' || current_schema()))"
UNLOCK = "SELECT pg_advisory_unlock(hashtext('impactlog.migrate.' || current_schema()))"

CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version     integer     PRIMARY KEY,
    name        text        NOT NULL,
    checksum    text        NOT NULL,
    applied_at  timestamptz NOT NULL DEFAULT now()
)
"""

APPLIED = "SELECT version, name, checksum FROM schema_migrations ORDER BY version"
RECORD = "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)"

_FILE = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class Migration(msgspec.Struct, frozen=True):
    """One numbered SQL file."""

    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        """sha256 of the file's text."""
        return hashlib.sha256(self.sql.encode()).hexdigest()


class MigrationError(Exception):
    """A landed migration changed, or the files are not numbered 1..N."""


def load_migrations(directory: Path) -> list[Migration]:
    """The migration files in version order."""
    found = []
    for path in sorted(directory.glob("*.sql")):
        match = _FILE.match(path.name)
        if not match:
            raise MigrationError(f"{path.name}: migration files are named NNNN_name.sql")
        found.append(Migration(int(match[1]), match[2], path.read_text()))
    if not found:
        raise MigrationError(f"no migrations found in {directory}")
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise MigrationError(f"migration {expected:04d} is missing")
    return found


async def migrate(connection: Connection, directory: Path) -> int:
    """Apply every pending migration; return the resulting migration level."""
    migrations = load_migrations(directory)
    await connection.execute(LOCK)
    try:
        await connection.execute(CREATE_TABLE)
        applied = {r["version"]: r for r in await connection.fetch(APPLIED)}
        newest = max(applied, default=0)
        if newest > migrations[-1].version:
            raise MigrationError(
                f"the database is at migration {newest:04d}, newer than this code knows "
                f"({migrations[-1].version:04d}); upgrade the code first"
            )
        for migration in migrations:
            done = applied.get(migration.version)
            if done is not None:
                if done["checksum"] != migration.checksum:
                    raise MigrationError(
                        f"migration {migration.version:04d}_{migration.name} changed after it "
                        "was applied; add a new migration instead"
                    )
                continue
            async with connection.transaction():
                await connection.execute(migration.sql)
                await connection.execute(RECORD, migration.version, migration.name, migration.checksum)
            log.info("migration applied", extra={"version": migration.version, "migration": migration.name})
        return migrations[-1].version
    finally:
        await connection.execute(UNLOCK)


async def migration_level(connection: Executor) -> int:
    """The highest applied migration, 0 for an empty database."""
    exists = await connection.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return 0
    level = await connection.fetchval("SELECT coalesce(max(version), 0) FROM schema_migrations")
    return int(level)
