"""The `impactlog` command: serve, migrate, and the operator's tools."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import click
import msgspec

from service.database import create_pool, database_url
from service.migrate import MigrationError, migrate
from service.settings import Settings
from service.structured_logging import configure_logging

T = TypeVar("T")


def run(main: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a coroutine on uvloop when available."""
    try:
        import uvloop

        return uvloop.run(main())
    except ImportError:  # pragma: no cover - uvloop is a dependency on Linux
        return asyncio.run(main())


@click.group()
def main() -> None:
    """impactlog: event-sourced impact monitoring for cluster partnership grants."""
    configure_logging(Settings.from_env().log_level)


@main.command()
@click.option("--host", default=None, help="Interface to bind (default IMPACTLOG_HOST or 127.0.0.1).")
@click.option("--port", default=None, type=int, help="Port (default IMPACTLOG_PORT or 8000).")
def serve(host: str | None, port: int | None) -> None:
    """Start the HTTP service (migrations are applied at start)."""
    import uvicorn

    from service.app import create_app

    settings = Settings.from_env()
    app = create_app(settings)
    uvicorn.run(
        app,
        host=host or settings.host,
        port=port or settings.port,
        loop="uvloop",
        log_config=None,
        access_log=False,
    )


@main.command(name="migrate")
def migrate_command() -> None:
    """Apply pending migrations (safe to run twice, or from two processes at once)."""
    settings = Settings.from_env()

    async def apply() -> int:
        with database_url(settings) as dsn:
            pool = await create_pool(dsn, min_size=1, max_size=1)
            try:
                async with pool.acquire() as connection:
                    return await migrate(connection, settings.migrations_dir)
            finally:
                await pool.close()

    try:
        level = run(apply)
    except MigrationError as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"migration level {level}")


def echo_json(value: Any) -> None:
    """Print a value as indented JSON on stdout."""
    sys.stdout.write(msgspec.json.format(msgspec.json.encode(value)).decode() + "\n")


def _register_commands() -> None:
    from service.token_cli import token

    main.add_command(token)


_register_commands()
