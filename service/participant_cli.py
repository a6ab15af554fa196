"""`impactlog participant erase|export`: the admin's GDPR tools (Art. 17 and Art. 15).

Each command opens the configured database (DATABASE_URL, else the embedded server), applies
pending migrations, and acts as the admin `cli:<os user>` (recorded as the actor of the
ParticipantErased event). Results go to stdout as JSON; messages to stderr. Personal fields are
printed only by `export`, which is the subject-access copy the admin hands to the person.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import getpass
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import click
import msgspec

from events.admission import WriteModelAdmission
from events.errors import EventStoreError
from events.store import EventStore
from service.database import migrated_pool
from service.migrate import MigrationError
from service.personal_data import (
    ErasureReceipt,
    PersonalDataError,
    SubjectAccessExport,
    VaultCheckedRecorder,
    erase_participant,
    finish_erasures,
    subject_access,
)
from service.recording import CommandRejected
from service.settings import Settings

T = TypeVar("T")


def cli_actor() -> dict[str, Any]:
    """Who acts from the command line: the OS user, as admin ("cli:" never starts a token name)."""
    return {"actor": f"cli:{getpass.getuser()}", "actor_role": "admin", "via": "cli"}


def with_recorder(work: Callable[[VaultCheckedRecorder], Awaitable[T]]) -> T:
    """Run `work` with a vault-checked Recorder over the migrated database; errors become messages."""

    async def session() -> T:
        async with migrated_pool(Settings.from_env(), max_size=2) as pool:
            return await work(VaultCheckedRecorder(EventStore(pool, admission=WriteModelAdmission())))

    try:
        return asyncio.run(session())
    except (MigrationError, PersonalDataError, EventStoreError) as error:
        raise click.ClickException(str(error)) from error
    except CommandRejected as rejected:
        raise click.ClickException("; ".join(f"{f}: {m}" for f, m in rejected.problems)) from rejected


def echo_json(value: Any) -> None:
    """One JSON document on stdout."""
    sys.stdout.write(msgspec.json.format(msgspec.json.encode(value)).decode() + "\n")


@click.group()
def participant() -> None:
    """Erase a participant's personal data, or export everything held on them."""


@participant.command()
@click.option("--project", required=True, help="The project the participant belongs to.")
@click.option("--participant", "participant_id", required=True, help="The pseudonymous participant id.")
@click.option(
    "--request-date",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="When the person asked to be erased (default: today).",
)
def erase(project: str, participant_id: str, request_date: dt.datetime | None) -> None:
    """Destroy the person's key (their personal data becomes unrecoverable) and record
    ParticipantErased; KPIs, the hash chain and published snapshots stay as they are. Safe to
    run again: an interrupted erasure is finished, a finished one answers with its receipt."""

    async def run(recorder: VaultCheckedRecorder) -> ErasureReceipt:
        actor = cli_actor()
        for finished in await finish_erasures(recorder, project, actor):
            click.echo(f"finished the interrupted erasure of {finished.participant_id}", err=True)
        day = request_date.date() if request_date is not None else None
        return await erase_participant(recorder, project, participant_id, actor, day)

    receipt = with_recorder(run)
    click.echo(
        f"erased {participant_id}: key {receipt.key_id} destroyed, ParticipantErased at position "
        f"{receipt.event.position}",
        err=True,
    )
    echo_json(receipt)


@participant.command()
@click.option("--project", required=True, help="The project the participant belongs to.")
@click.option("--participant", "participant_id", required=True, help="The pseudonymous participant id.")
@click.option(
    "--output",
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    default=None,
    help="Write the export to this file (created, never overwritten) instead of stdout.",
)
def export(project: str, participant_id: str, output: Path | None) -> None:
    """Subject access: everything held on one person (personal fields, consents, key state and
    every event naming their pseudonymous id), as JSON."""

    async def run(recorder: VaultCheckedRecorder) -> SubjectAccessExport:
        return await subject_access(recorder.store.pool, project, participant_id)

    document = with_recorder(run)
    if output is None:
        echo_json(document)
        return
    try:
        with output.open("xb") as file:
            file.write(msgspec.json.format(msgspec.json.encode(document)) + b"\n")
    except FileExistsError as error:
        raise click.ClickException(f"{output} exists; choose another --output") from error
    click.echo(f"wrote the subject-access export of {participant_id} to {output}", err=True)
