"""Migrations: in order, once, under a lock; a changed landed file stops the run."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import asyncpg
import pytest

from service.migrate import MigrationError, load_migrations, migrate, migration_level
from service.settings import default_migrations_dir
from tests.conftest import MIGRATIONS


async def fresh_schema(dsn: str, name: str) -> None:
    admin = await asyncpg.connect(dsn)
    await admin.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE; CREATE SCHEMA "{name}"')
    await admin.close()


async def drop_schema(dsn: str, name: str) -> None:
    admin = await asyncpg.connect(dsn)
    await admin.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
    await admin.close()


async def test_two_processes_migrating_at_once_apply_each_file_once(database_dsn: str) -> None:
    schema = "t_migrate_race"
    await fresh_schema(database_dsn, schema)
    try:
        connections = [
            await asyncpg.connect(database_dsn, server_settings={"search_path": schema}) for _ in range(4)
        ]
        levels = await asyncio.gather(*(migrate(c, MIGRATIONS) for c in connections))
        expected = len(load_migrations(MIGRATIONS))
        assert levels == [expected] * 4
        rows = await connections[0].fetch("SELECT version FROM schema_migrations ORDER BY version")
        assert [r["version"] for r in rows] == list(range(1, expected + 1))
        # And once more, later: nothing to do.
        assert await migrate(connections[0], MIGRATIONS) == expected
        assert await migration_level(connections[0]) == expected
        for connection in connections:
            await connection.close()
    finally:
        await drop_schema(database_dsn, schema)


async def test_a_landed_migration_that_changed_is_refused(database_dsn: str, tmp_path: Path) -> None:
    schema = "t_migrate_changed"
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, folder)
    await fresh_schema(database_dsn, schema)
    try:
        connection = await asyncpg.connect(database_dsn, server_settings={"search_path": schema})
        await migrate(connection, folder)
        first = sorted(folder.glob("*.sql"))[0]
        first.write_text(first.read_text() + "\n-- edited after landing\n")
        with pytest.raises(MigrationError, match="changed after it was applied"):
            await migrate(connection, folder)
        await connection.close()
    finally:
        await drop_schema(database_dsn, schema)


def test_migration_files_must_be_numbered_without_gaps(tmp_path: Path) -> None:
    (tmp_path / "0001_a.sql").write_text("SELECT 1;")
    (tmp_path / "0003_c.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="0002 is missing"):
        load_migrations(tmp_path)


def test_an_installed_package_finds_its_migrations_where_the_wheel_put_them(tmp_path: Path) -> None:
    checkout, installed_prefix = tmp_path / "checkout", tmp_path / "venv"
    (checkout / "service").mkdir(parents=True)
    shipped = installed_prefix / "share" / "impactlog" / "migrations"
    shipped.mkdir(parents=True)
    # A wheel's install: no migrations/ beside the code, the data-files under the prefix.
    assert default_migrations_dir(checkout, installed_prefix) == shipped
    # A checkout (or an editable install): its own migrations/ first.
    (checkout / "migrations").mkdir()
    assert default_migrations_dir(checkout, installed_prefix) == checkout / "migrations"
    # Neither: the checkout's path, which the runner reports as missing.
    bare = tmp_path / "bare"
    assert default_migrations_dir(bare, tmp_path / "elsewhere") == bare / "migrations"
