"""`impactlog import`: spreadsheets in, or a blank template out.

    impactlog import --template training-attendance|sme-survey [--output FILE]
    impactlog import --project P FILE.xlsx|FILE.csv [--kind …] [--output ANNOTATED]

An import opens the configured database (DATABASE_URL, else the embedded server), applies
pending migrations, shows a progress bar on stderr and prints the outcome as JSON on stdout. A
refused file writes nothing: the row-by-row report is printed as JSON, the annotated copy is
written beside the file (or to --output), and the command exits with status 1.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import Any

import click

from events.admission import WriteModelAdmission
from events.errors import EventStoreError
from events.store import EventStore
from service.database import migrated_pool
from service.imports import (
    IMPORT_KINDS,
    MAX_FILE_BYTES,
    ImportFileError,
    ImportKind,
    ImportOutcome,
    ImportRefused,
    annotated_copy,
    import_file,
    template_workbook,
)
from service.migrate import MigrationError
from service.participant_cli import cli_actor, echo_json
from service.personal_data import VaultCheckedRecorder
from service.settings import Settings


class ProgressBar:
    """The stages of an import on stderr: a bar while rows are checked, a line per other stage."""

    def __init__(self, file_name: str) -> None:
        self.file_name = file_name
        self.bar: Any = None
        self.shown = 0

    def __call__(self, stage: str, done: int, total: int) -> None:
        """Show one progress report."""
        if stage == "checking":
            if self.bar is None:
                self.bar = click.progressbar(length=total, label="checking rows", file=sys.stderr)
                self.bar.__enter__()
            self.bar.update(done - self.shown)
            self.shown = done
            return
        self.close()
        if stage == "reading":
            click.echo(f"reading {self.file_name}", err=True)
        elif stage == "recording":
            click.echo(f"recording {total} events in one transaction", err=True)

    def close(self) -> None:
        """Finish the bar, if one is showing."""
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@click.command(name="import")
@click.argument("file", required=False, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--project", default=None, help="The project to import into.")
@click.option(
    "--kind",
    type=click.Choice(IMPORT_KINDS),
    default=None,
    help="What the file holds (default: told by its header row).",
)
@click.option(
    "--template",
    type=click.Choice(IMPORT_KINDS),
    default=None,
    help="Write the blank XLSX template of this kind instead of importing.",
)
@click.option(
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the template, or the annotated copy of a refused file.",
)
def import_command(
    file: Path | None, project: str | None, kind: str | None, template: str | None, output: Path | None
) -> None:
    """Import a training attendance list or an SME survey wave (CSV or XLSX), all or nothing;
    importing the same file again changes nothing."""
    if template is not None:
        _write_new(output or Path(f"{template}.xlsx"), template_workbook(_kind(template)))
        click.echo(f"wrote the {template} template to {output or template + '.xlsx'}", err=True)
        return
    if file is None or project is None:
        raise click.UsageError("give --project and a FILE to import, or --template KIND")
    if file.stat().st_size > MAX_FILE_BYTES:
        raise click.ClickException(f"{file} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MB; split it")
    content = file.read_bytes()
    bar = ProgressBar(file.name)
    try:
        outcome = asyncio.run(_import(project, content, file.name, _kind(kind) if kind else None, bar))
    except ImportRefused as refused:
        bar.close()
        _report_refusal(refused, content, file, output)
        sys.exit(1)
    except (ImportFileError, MigrationError, EventStoreError) as error:
        bar.close()
        raise click.ClickException(str(error)) from error
    bar.close()
    click.echo(_summary(outcome), err=True)
    echo_json(outcome)


def _kind(text: str) -> ImportKind:
    return next(k for k in IMPORT_KINDS if k == text)


async def _import(
    project: str, content: bytes, file_name: str, kind: ImportKind | None, bar: ProgressBar
) -> ImportOutcome:
    async with migrated_pool(Settings.from_env(), max_size=2) as pool:
        recorder = VaultCheckedRecorder(EventStore(pool, admission=WriteModelAdmission()))
        return await import_file(
            recorder, project, content, actor=cli_actor(), file_name=file_name, kind=kind, progress=bar
        )


def _summary(outcome: ImportOutcome) -> str:
    if outcome.status == "already_imported":
        where = f"positions {outcome.first_position}–{outcome.last_position}"
        return f"this file was imported before ({where}); nothing to do"
    if outcome.status == "nothing_new":
        return f"every row of {outcome.file_name} is already in the log; nothing to do"
    return (
        f"imported {outcome.data_rows} rows as {outcome.events} events at positions "
        f"{outcome.first_position}–{outcome.last_position} ({outcome.unchanged} already in the log)"
    )


def _report_refusal(refused: ImportRefused, content: bytes, file: Path, output: Path | None) -> None:
    echo_json({"imported": False, "conflict": refused.conflict, "rows": refused.problems})
    click.echo(f"{len(refused.problems)} problem(s): nothing was imported", err=True)
    copy = annotated_copy(content, refused.sheet, refused.problems)
    if copy is None:
        return
    target = output or file.with_name(file.stem + copy.suffix)
    target.write_bytes(copy.content)
    click.echo(f"the annotated copy is {target}: fix it and import it again", err=True)


def _write_new(path: Path, content: bytes) -> None:
    try:
        with path.open("xb") as out:
            out.write(content)
    except FileExistsError as error:
        raise click.ClickException(f"{path} exists; choose another --output") from error
