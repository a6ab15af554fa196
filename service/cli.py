"""The `impactlog` command: serve, migrate, and the operator's tools."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

import click
import msgspec

from service.database import create_pool, database_url, migrated_pool
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


@main.command()
@click.option("--project", default="demo", show_default=True, help="Project id to load into.")
@click.option(
    "--scale", default=1, show_default=True, type=click.IntRange(1, 1000), help="Activity volume multiplier."
)
@click.option("--batch-size", default=1000, show_default=True, type=click.IntRange(1, 10_000))
def demo(project: str, scale: int, batch_size: int) -> None:
    """Load the deterministic demo partnership (safe to run again: nothing is appended twice)."""
    from events.admission import WriteModelAdmission
    from events.store import EventStore
    from service.demo import load_demo
    from service.demo.programme import demo_commands
    from service.recording import Recorder

    settings = Settings.from_env()
    total = sum(1 for _ in demo_commands(scale)) if scale > 1 else None

    async def load() -> tuple[int, float]:
        async with migrated_pool(settings) as pool:
            recorder = Recorder(EventStore(pool, admission=WriteModelAdmission()))
            started = time.perf_counter()
            with click.progressbar(length=total or 3300, label=f"demo ×{scale}", file=sys.stderr) as bar:
                done = 0

                def advance(sent: int) -> None:
                    nonlocal done
                    bar.update(sent - done)
                    done = sent

                sent = await load_demo(
                    recorder, project, scale=scale, batch_size=batch_size, progress=advance
                )
            return sent, time.perf_counter() - started

    sent, seconds = run(load)
    rate = sent / seconds if seconds else 0.0
    click.echo(f"project {project!r}: {sent} demo events in place ({seconds:.1f} s, {rate:,.0f} events/s)")


def echo_json(value: Any) -> None:
    """Print a value as indented JSON on stdout."""
    sys.stdout.write(msgspec.json.format(msgspec.json.encode(value)).decode() + "\n")


def _register_commands() -> None:
    from service.token_cli import token

    main.add_command(token)


_register_commands()
