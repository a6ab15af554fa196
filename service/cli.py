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


@main.command(name="replay")
@click.option("--project", required=True, help="Project whose read models to rebuild.")
@click.option("--projection", "projection_name", default=None, help="One read model (default: every one).")
@click.option("--batch-size", default=2000, show_default=True, type=click.IntRange(1, 100_000))
def replay_command(project: str, projection_name: str | None, batch_size: int) -> None:
    """Rebuild read models from the log beside the live ones, then swap them in atomically."""
    from projections import ReplayProgress, ReplayResult, UnknownProject, default_projections, replay
    from projections.replay import select_projections

    try:
        chosen = select_projections(default_projections(), projection_name)
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--projection") from error
    settings = Settings.from_env()

    async def rebuild() -> list[ReplayResult]:
        results: list[ReplayResult] = []
        async with migrated_pool(settings) as pool:
            for projection in chosen:
                with click.progressbar(length=1, label=projection.name, file=sys.stderr) as bar:

                    def advance(progress: ReplayProgress) -> None:
                        bar.length = progress.total
                        bar.label = f"{progress.projection} {progress.events_per_second:,.0f} events/s"
                        bar.update(progress.done - bar.pos)

                    results += await replay(pool, project, projection.name, advance, batch_size=batch_size)
        return results

    try:
        results = run(rebuild)
    except UnknownProject as error:
        raise click.ClickException(str(error)) from error
    for result in results:
        click.echo(f"{result.projection}: rebuilt to position {result.position} in {result.seconds:.1f} s")


def echo_json(value: Any) -> None:
    """Print a value as indented JSON on stdout."""
    sys.stdout.write(msgspec.json.format(msgspec.json.encode(value)).decode() + "\n")


def _register_commands() -> None:
    from service.import_cli import import_command
    from service.participant_cli import participant
    from service.snapshot_cli import audit, export, snapshot
    from service.token_cli import token

    main.add_command(token)
    main.add_command(participant)
    main.add_command(import_command)
    main.add_command(snapshot)
    main.add_command(audit)
    main.add_command(export)


_register_commands()
