"""Importing one file: all or nothing, the same file twice is a no-op, a crash is retried safely.

1. The sha256 of the file's bytes is the import's id. A file whose import is `done` in the
   `imports` ledger is answered from there, without reading it again.
2. The sheet is read and every row validated (planning.py); any bad row refuses the whole file.
3. The ledger row is written `pending` with the event ids to append, then the events are recorded
   in one Recorder call (one transaction) with the idempotency key ``import-<sha256>``, then the
   ledger row is marked `done` with the positions.

A retry after a crash between the steps re-plans the same file, takes exactly the pending event
ids (whether or not they landed) and records them with the same key: the store answers with the
original positions or appends them now. Rows whose events the log already holds unchanged (from
another file, or an earlier version of this one) are skipped, so a list that only grew imports
its new rows; a row that would change a recorded session or answer refuses the file (planning.py).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import uuid
from collections.abc import Sequence
from typing import Any, Literal

import msgspec

from events.connection import Executor
from service.imports.columns import ImportKind
from service.imports.planning import Progress, plan_import, refused_by_recorder
from service.imports.sheets import read_sheet
from service.recording import CommandRejected, Recorder

ImportStatus = Literal["imported", "already_imported", "nothing_new"]


class ImportOutcome(msgspec.Struct, frozen=True, kw_only=True):
    """What an import did: `events` appended now, `unchanged` events of the file the log already
    held (from another file, or an earlier version of this one)."""

    import_id: str
    kind: ImportKind
    status: ImportStatus
    file_name: str | None
    data_rows: int
    events: int
    unchanged: int
    first_position: int | None
    last_position: int | None


class ImportRecord(msgspec.Struct, frozen=True, kw_only=True):
    """One row of the `imports` ledger: which file put which events in the log, who and when."""

    import_id: str
    kind: ImportKind
    file_name: str | None
    data_rows: int
    events: int
    status: Literal["pending", "done"]
    first_position: int | None
    last_position: int | None
    actor: str
    started_at: dt.datetime
    finished_at: dt.datetime | None
    event_ids: list[uuid.UUID] = msgspec.field(default_factory=list)


_LEDGER_COLUMNS = """import_id, kind, file_name, data_rows, cardinality(event_ids) AS events, status,
    first_position, last_position, actor, started_at, finished_at, event_ids"""
FIND_IMPORT = f"SELECT {_LEDGER_COLUMNS} FROM imports WHERE project_id = $1 AND import_id = $2"
LIST_IMPORTS = f"SELECT {_LEDGER_COLUMNS} FROM imports WHERE project_id = $1 ORDER BY started_at, import_id"
START_IMPORT = """
INSERT INTO imports (project_id, import_id, kind, file_name, data_rows, event_ids, status, actor)
VALUES ($1, $2, $3, $4, $5, $6, 'pending', $7)
ON CONFLICT (project_id, import_id) DO NOTHING
RETURNING import_id
"""
FINISH_IMPORT = """
UPDATE imports SET status = 'done', first_position = $3, last_position = $4, finished_at = now()
 WHERE project_id = $1 AND import_id = $2 AND status <> 'done'
RETURNING import_id
"""
ABANDON_IMPORT = "DELETE FROM imports WHERE project_id = $1 AND import_id = $2 AND status = 'pending'"


class ImportLedger:
    """The `imports` table."""

    def __init__(self, db: Executor) -> None:
        self.db = db

    async def find(self, project_id: str, import_id: str) -> ImportRecord | None:
        """The ledger row of this file in this project, if any."""
        row = await self.db.fetchrow(FIND_IMPORT, project_id, import_id)
        return _record(row) if row is not None else None

    async def list(self, project_id: str) -> list[ImportRecord]:
        """Every import of the project, oldest first (without their event ids)."""
        return [
            msgspec.structs.replace(_record(row), event_ids=[])
            for row in await self.db.fetch(LIST_IMPORTS, project_id)
        ]

    async def start(
        self,
        project_id: str,
        import_id: str,
        kind: ImportKind,
        file_name: str | None,
        data_rows: int,
        event_ids: Sequence[uuid.UUID],
        actor: str,
    ) -> bool:
        """Note the events about to be appended (kept as they are when a row exists already);
        whether this call made the row."""
        made = await self.db.fetchval(
            START_IMPORT, project_id, import_id, kind, file_name, data_rows, list(event_ids), actor
        )
        return made is not None

    async def finish(self, project_id: str, import_id: str, first: int | None, last: int | None) -> bool:
        """The events are in the log at first..last; False when another request (the same file
        sent twice at once, both appends answered by the one the store kept) finished it first."""
        return await self.db.fetchval(FINISH_IMPORT, project_id, import_id, first, last) is not None

    async def abandon(self, project_id: str, import_id: str) -> None:
        """Forget a pending import the Recorder refused (nothing of it was written)."""
        await self.db.execute(ABANDON_IMPORT, project_id, import_id)


def _record(row: Any) -> ImportRecord:
    return ImportRecord(
        import_id=row["import_id"],
        kind=row["kind"],
        file_name=row["file_name"],
        data_rows=row["data_rows"],
        events=row["events"],
        status=row["status"],
        first_position=row["first_position"],
        last_position=row["last_position"],
        actor=row["actor"],
        started_at=row["started_at"],
        finished_at=row["finished_at"],
        event_ids=list(row["event_ids"]),
    )


def import_id_of(content: bytes) -> str:
    """The import's id and idempotency key: the sha256 of the file's bytes, hex."""
    return hashlib.sha256(content).hexdigest()


async def import_file(
    recorder: Recorder,
    project_id: str,
    content: bytes,
    *,
    actor: dict[str, Any],
    file_name: str | None = None,
    kind: ImportKind | None = None,
    progress: Progress | None = None,
) -> ImportOutcome:
    """Import a CSV/XLSX file all-or-nothing; ImportRefused (row report) or ImportFileError."""
    import_id = import_id_of(content)
    ledger = ImportLedger(recorder.store.pool)
    earlier = await ledger.find(project_id, import_id)
    if earlier is not None and earlier.status == "done":
        return ImportOutcome(
            import_id=import_id,
            kind=earlier.kind,
            status="already_imported",
            file_name=earlier.file_name,
            data_rows=earlier.data_rows,
            events=0,
            unchanged=earlier.events,
            first_position=earlier.first_position,
            last_position=earlier.last_position,
        )
    report = progress or (lambda stage, done, total: None)
    report("reading", 0, 0)
    # openpyxl parses in pure Python: keep the event loop free for other requests meanwhile.
    sheet = await asyncio.to_thread(read_sheet, content, file_name, kind)
    plan = await plan_import(recorder, project_id, sheet, progress)
    assert sheet.layout is not None
    if earlier is not None:
        # A crashed attempt: append exactly what it meant to, in the same order and with the
        # same key, so the store replays it if it landed.
        planned = set(earlier.event_ids)
        commands = [c for c in plan.commands if c.event_id in planned]
    else:
        commands = plan.new_commands
    outcome = ImportOutcome(
        import_id=import_id,
        kind=sheet.layout.kind,
        status="nothing_new",
        file_name=file_name,
        data_rows=len(sheet.rows),
        events=0,
        unchanged=len(plan.commands) - len(commands),
        first_position=None,
        last_position=None,
    )
    name = str(actor.get("actor", "unknown"))
    event_ids = [c.event_id for c in commands if c.event_id is not None]
    made = await ledger.start(
        project_id, import_id, sheet.layout.kind, file_name, len(sheet.rows), event_ids, name
    )
    if not commands:
        # Nothing new to append. Close the ledger row only if it is ours: one made by a request
        # importing the same file right now is that request's to finish, with its positions.
        if made:
            await ledger.finish(project_id, import_id, None, None)
        return outcome
    metadata = {**actor, "import_id": import_id, "import_kind": sheet.layout.kind}
    report("recording", 0, len(commands))
    try:
        appended = await recorder.record(
            project_id, commands, actor=metadata, idempotency_key=f"import-{import_id}"
        )
    except CommandRejected as rejected:
        await ledger.abandon(project_id, import_id)
        raise refused_by_recorder(plan, commands, rejected.problems) from rejected
    first, last = appended[0].position, appended[-1].position
    finished_here = await ledger.finish(project_id, import_id, first, last)
    report("recorded", len(appended), len(appended))
    if not finished_here:
        # The same file imported by a concurrent request: its events were appended once (the
        # store answered this request's append with theirs); say so rather than "imported".
        return msgspec.structs.replace(
            outcome,
            status="already_imported",
            unchanged=len(appended),
            first_position=first,
            last_position=last,
        )
    return msgspec.structs.replace(
        outcome, status="imported", events=len(appended), first_position=first, last_position=last
    )
