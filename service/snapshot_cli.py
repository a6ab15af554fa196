"""`impactlog snapshot …`, `impactlog audit …` and `impactlog export`: snapshots and audits from
the command line.

    impactlog snapshot publish --project P --kind interim|final|periodic|adhoc [--period RP1]
    impactlog snapshot list --project P
    impactlog snapshot show ID [--format json|csv|html]
    impactlog snapshot diff A B
    impactlog snapshot key                       the public key snapshots are signed with
    impactlog audit verify --project P           the hash chain from the database
    impactlog audit verify --file log.ndjson     an export, offline (no database)
    impactlog audit reproduce --snapshot ID      replay the log and recompute the snapshot
    impactlog audit log --project P              who recorded what, when and why
    impactlog export --project P > log.ndjson    the whole log with hashes

Each command opens the configured database (DATABASE_URL, else the embedded server) and applies
pending migrations first, as `impactlog token` does. Checks exit 1 when they fail, naming the
first bad position or each differing figure; results go to stdout, messages to stderr.
"""

from __future__ import annotations

import asyncio
import getpass
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import click
import msgspec

from events.admission import WriteModelAdmission
from events.errors import EventStoreError, ProjectNotFound
from events.export import ndjson_lines
from events.integrity import ChainReport, verify_chain, verify_export
from events.read import iterate_log, read_head, read_log
from events.store import EventStore
from indicators.report import snapshot_csv, snapshot_html
from indicators.snapshot import SNAPSHOT_KINDS, SnapshotError, decode_document, project_of
from indicators.snapshot_audit import (
    Reproduction,
    SnapshotNotFound,
    diff_snapshots,
    published_snapshot,
    reproduce_snapshot,
)
from indicators.snapshot_publisher import SnapshotPublisher
from indicators.snapshot_signing import load_signer
from indicators.snapshot_store import list_snapshots
from service.audit_api import audit_entry
from service.database import create_pool, database_url
from service.migrate import MigrationError, migrate
from service.scheduler import SchedulerSettings
from service.settings import Settings
from service.snapshots_api import summary

T = TypeVar("T")


def with_database(work: Callable[[asyncpg.Pool], Awaitable[T]]) -> T:
    """Run `work` on a pool over the migrated database; refusals become click messages."""
    settings = Settings.from_env()

    async def session() -> T:
        with database_url(settings) as dsn:
            pool = await create_pool(dsn, min_size=1, max_size=4)
            try:
                async with pool.acquire() as connection:
                    await migrate(connection, settings.migrations_dir)
                return await work(pool)
            finally:
                await pool.close()

    try:
        return asyncio.run(session())
    except (MigrationError, SnapshotError, SnapshotNotFound, EventStoreError) as error:
        raise click.ClickException(str(error)) from error


def echo_json(value: Any) -> None:
    """A value as indented JSON on stdout."""
    sys.stdout.write(msgspec.json.format(msgspec.json.encode(value)).decode() + "\n")


def cli_actor() -> dict[str, str]:
    """Who publishes from the command line: the operating-system user, as an admin."""
    return {"actor": f"cli:{getpass.getuser()}", "actor_role": "admin"}


def publisher_for(pool: asyncpg.Pool) -> SnapshotPublisher:
    """A publisher on a fresh event store, reading the log straight from the database."""
    options = SchedulerSettings.from_env()
    signer = load_signer(options.signing_key, Settings.from_env().data_dir)
    return SnapshotPublisher(EventStore(pool, admission=WriteModelAdmission()), signer)


# --- impactlog snapshot ------------------------------------------------------------------------


@click.group()
def snapshot() -> None:
    """Publish, list, show and compare snapshots."""


@snapshot.command()
@click.option("--project", required=True, help="The project's id.")
@click.option("--kind", required=True, type=click.Choice(list(SNAPSHOT_KINDS)))
@click.option(
    "--period",
    default=None,
    help="Reporting period (interim, final) or calendar period like 2025-Q1 (periodic).",
)
def publish(project: str, kind: str, period: str | None) -> None:
    """Publish a snapshot (or show the one already published for that milestone)."""

    async def run(pool: asyncpg.Pool) -> Any:
        return await publisher_for(pool).publish(project, kind, period, actor=cli_actor())

    published = with_database(run)
    verb = "published" if published.created else "already published"
    click.echo(
        f"{verb} {published.record.snapshot_id} as of position {published.record.as_of_position}", err=True
    )
    echo_json(summary(published.record))


@snapshot.command(name="list")
@click.option("--project", required=True, help="The project's id.")
def list_command(project: str) -> None:
    """Published snapshots, oldest first: id, kind, period, position, content hash."""

    async def run(pool: asyncpg.Pool) -> Any:
        return await list_snapshots(pool, project)

    for record in with_database(run):
        click.echo(
            f"{record.snapshot_id}\t{record.kind}\t{record.period_id or '-'}\t{record.as_of_position}\t"
            f"{record.content_hash}"
        )


@snapshot.command()
@click.argument("snapshot_id")
@click.option(
    "--format", "rendering", type=click.Choice(["json", "csv", "html"]), default="json", show_default=True
)
def show(snapshot_id: str, rendering: str) -> None:
    """Print a snapshot: its document as hashed (json), as CSV, or as the printable HTML report."""

    async def run(pool: asyncpg.Pool) -> Any:
        return await published_snapshot(pool, project_of(snapshot_id), snapshot_id)

    stored = with_database(run)
    if rendering == "json":
        sys.stdout.write(stored.document.decode() + "\n")
    elif rendering == "csv":
        sys.stdout.write(snapshot_csv(decode_document(stored.document)))
    else:
        sys.stdout.write(snapshot_html(decode_document(stored.document), stored.record))


@snapshot.command()
@click.argument("first")
@click.argument("second")
def diff(first: str, second: str) -> None:
    """Every figure that changed between two snapshots of a project, and the events behind it."""
    if project_of(first) != project_of(second):
        raise click.ClickException("both snapshots must belong to one project")

    async def run(pool: asyncpg.Pool) -> Any:
        return await diff_snapshots(pool, project_of(first), first, second)

    echo_json(with_database(run))


@snapshot.command()
def key() -> None:
    """The public key (hex) this installation signs snapshots with."""
    options = SchedulerSettings.from_env()
    click.echo(load_signer(options.signing_key, Settings.from_env().data_dir).public_key_hex)


# --- impactlog audit ---------------------------------------------------------------------------


@click.group()
def audit() -> None:
    """Verify the hash chain, reproduce snapshots, read the log as an auditor."""


@audit.command()
@click.option("--project", default=None, help="Verify this project's chain in the database.")
@click.option(
    "--file", "export", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
    help="Verify an NDJSON export instead, offline (no database).",
)  # fmt: skip
def verify(project: str | None, export: Path | None) -> None:
    """Recompute the hash chain: exit 0 with a summary, or exit 1 naming the first bad position."""
    if (project is None) == (export is None):
        raise click.UsageError("give exactly one of --project or --file")
    if export is not None:
        with export.open("rb") as lines:
            report = verify_export(lines, project)
    else:
        assert project is not None

        async def run(pool: asyncpg.Pool) -> ChainReport:
            return await verify_chain(pool, project)

        report = with_database(run)
    _report_chain(report)


def _report_chain(report: ChainReport) -> None:
    echo_json(report)
    if not report.ok:
        where = f"position {report.first_bad_position} of {report.project_id!r}"
        click.echo(f"chain broken at {where}: {report.problem}", err=True)
        sys.exit(1)
    click.echo(
        f"chain intact: {report.events_checked} events of {report.project_id!r}, head {report.head_position} "
        f"{report.head_hash}",
        err=True,
    )


@audit.command()
@click.option("--snapshot", "snapshot_id", required=True, help="The snapshot's id, e.g. demo.interim.P1.")
def reproduce(snapshot_id: str) -> None:
    """Replay the log to the snapshot's position, recompute every figure, compare byte for byte."""

    async def run(pool: asyncpg.Pool) -> Reproduction:
        return await reproduce_snapshot(pool, project_of(snapshot_id), snapshot_id)

    result = with_database(run)
    echo_json(result)
    if result.reproduced:
        click.echo(f"reproduced: {snapshot_id} (as of position {result.as_of_position})", err=True)
        return
    click.echo(f"NOT reproduced: {snapshot_id}: {result.verdict}", err=True)
    if not result.chain.ok:
        click.echo(
            f"  log broken at position {result.chain.first_bad_position}: {result.chain.problem}", err=True
        )
    for problem in result.problems:
        click.echo(f"  {problem}", err=True)
    for difference in result.differences:
        for change in difference.changes:
            click.echo(
                f"  {difference.figure_id} {change.path}: {change.before!r} → {change.after!r}", err=True
            )
    sys.exit(1)


@audit.command(name="log")
@click.option("--project", required=True, help="The project's id.")
@click.option(
    "--after", default=0, show_default=True, type=click.IntRange(0), help="Only positions after this."
)
@click.option("--limit", default=1000, show_default=True, type=click.IntRange(1, 100_000))
def log_command(project: str, after: int, limit: int) -> None:
    """Who recorded each event, when, and why: one JSON object per line."""

    async def run(pool: asyncpg.Pool) -> Any:
        return await read_log(pool, project, after=after, limit=limit)

    encoder = msgspec.json.Encoder()
    for event in with_database(run):
        sys.stdout.buffer.write(encoder.encode(audit_entry(event)) + b"\n")


# --- impactlog export --------------------------------------------------------------------------


@click.command()
@click.option("--project", required=True, help="The project's id.")
def export(project: str) -> None:
    """The project's whole log as NDJSON with hashes (what `audit verify --file` checks)."""
    out = sys.stdout.buffer

    async def run(pool: asyncpg.Pool) -> int:
        if await read_head(pool, project) is None:
            raise ProjectNotFound(project)
        written = 0
        async for batch in iterate_log(pool, project):
            out.write(ndjson_lines(batch))
            written += len(batch)
        return written

    count = with_database(run)
    out.flush()
    click.echo(f"exported {count} events of {project!r}", err=True)
