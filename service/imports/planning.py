"""Validating a whole sheet before anything is written: the catalog, the write model, and what
the log already holds, every problem mapped to its row and column.

The checks are the Recorder's own (events.catalog's decode_payload and check_payload, then the
write model's domain rules), run over every command without appending, so one upload reports all
its bad rows at once; the Recorder checks again under the head lock when the plan is recorded.

Each command gets an event id derived from its content (uuid5 of project, type, date, partner and
canonical payload bytes), so the log itself tells which rows are already recorded unchanged
(skipped), and which ones try to change a recorded session or survey answer (refused: a file never
changes the log; CorrectionRecorded does).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Callable, Iterable

import msgspec

from events.catalog import (
    EventPayload,
    PayloadError,
    SMESurveyResponseRecorded,
    TrainingDelivered,
    check_payload,
    decode_payload,
    encode_payload,
)
from events.errors import ProjectNotFound
from events.write_model import WriteModel
from service.commands import EventCommand
from service.imports.mapping import Draft, attendee_problems, draft_commands, problem_at
from service.imports.sheets import RowProblem, Sheet
from service.recording import Recorder

# Names the content-derived event ids of imported events (uuid5); never change it.
IMPORT_NAMESPACE = uuid.UUID("5b0f3c1e-6f7a-4d1e-9c55-2f1b8e0a7d42")

# Told (stage, done, total) as an import goes: "reading", "checking" once per row checked,
# "recording" before the append (total = events), "recorded" after it.
Progress = Callable[[str, int, int], None]


class ImportRefused(Exception):
    """The file cannot be imported as it is; nothing was written. `conflict`: the only problems are
    rows that would change events already in the log."""

    def __init__(self, problems: list[RowProblem], sheet: Sheet | None, *, conflict: bool = False) -> None:
        first = problems[0]
        super().__init__(f"row {first.row}, {first.column}: {first.reason}")
        self.problems = sorted(problems, key=lambda p: (p.row, p.column or ""))
        self.sheet = sheet
        self.conflict = conflict


@dataclasses.dataclass
class ImportPlan:
    """Every command the sheet makes, in sheet order, and which of them are already recorded."""

    sheet: Sheet
    commands: list[EventCommand]
    drafts: list[Draft]
    recorded: set[uuid.UUID]

    @property
    def new_commands(self) -> list[EventCommand]:
        """The commands to append (those not in the log yet)."""
        return [c for c in self.commands if c.event_id not in self.recorded]


def import_event_id(project_id: str, command: EventCommand, payload: EventPayload) -> uuid.UUID:
    """The event id of an imported event: the same content always gets the same id."""
    parts = [
        project_id,
        command.type,
        command.occurred_on.isoformat(),
        command.partner_org_id or "",
        encode_payload(payload).decode(),
    ]
    return uuid.uuid5(IMPORT_NAMESPACE, "\n".join(parts))


async def plan_import(
    recorder: Recorder, project_id: str, sheet: Sheet, progress: Progress | None = None
) -> ImportPlan:
    """Validate every row; ImportRefused with the row-by-row report when any is bad."""
    if sheet.problems:
        raise ImportRefused(sheet.problems, sheet)  # the shape is wrong: rows cannot be read
    if progress is not None:
        progress("checking", 0, len(sheet.rows))
    drafted = draft_commands(sheet)
    problems = list(drafted.problems)
    model = await recorder.admission.catch_up(recorder.store.pool, project_id)
    if model.project is None:
        raise ProjectNotFound(project_id)
    in_log = _recorded_keys(model, sheet)
    commands: list[EventCommand] = []
    recorded: set[uuid.UUID] = set()
    conflicts = 0
    done = 0
    for draft in drafted.drafts:
        found, payload, command = _checked(sheet, draft, project_id)
        if command is not None:
            commands.append(command)
        if command is not None and (command.event_id in model.events or command.event_id in model.retracted):
            recorded.add(command.event_id)  # in the log unchanged (maybe retracted since): skipped
        elif payload is not None:
            clash = _clash(sheet, draft, payload, in_log, project_id) if command is not None else None
            if clash is not None:
                conflicts += 1
                found.append(clash)
            else:
                # References and dates are checked even when the catalog found something else
                # wrong, so one upload names every unknown participant and organisation.
                found += _domain_problems(sheet, draft, model, payload)
        problems += found
        done += len(draft.origin.attendee_rows) or 1
        if progress is not None:
            progress("checking", done, len(sheet.rows))
    if problems:
        raise ImportRefused(problems, sheet, conflict=conflicts == len(problems))
    return ImportPlan(sheet, commands, drafted.drafts, recorded)


def _checked(
    sheet: Sheet, draft: Draft, project_id: str
) -> tuple[list[RowProblem], EventPayload | None, EventCommand | None]:
    """The catalog's checks of one draft: its problems, the payload when it decodes, and the
    command (with its content-derived id) when it passes every check."""
    event_type = draft.origin.layout.event_type
    problems = attendee_problems(sheet, draft)
    data = draft.data if not problems else {**draft.data, "attendees": []}
    try:
        payload = decode_payload(event_type, data)
    except PayloadError as error:
        return [*problems, problem_at(sheet, draft.origin, error.field_path, error.message)], None, None
    command = draft.command()
    for found in check_payload(event_type, payload, command.occurred_on):
        problems.append(problem_at(sheet, draft.origin, found.field_path, found.message))
    if problems:
        return problems, payload, None
    return [], payload, draft.command(import_event_id(project_id, command, payload))


def _domain_problems(
    sheet: Sheet, draft: Draft, model: WriteModel, payload: EventPayload
) -> list[RowProblem]:
    """The write model's rules (references exist, project window, locked periods), not folded in:
    the rows of one sheet do not depend on each other."""
    occurred_on = dt.date.fromisoformat(draft.occurred_on)
    return [
        problem_at(sheet, draft.origin, p.field_path, p.message)
        for p in model.problems(payload, occurred_on, draft.partner_org_id)
    ]


NaturalKey = tuple[str, ...]


def _natural_key(payload: EventPayload) -> NaturalKey | None:
    """What one row (or session) is about, whatever its figures: a recorded one is never replaced."""
    if isinstance(payload, TrainingDelivered):
        return ("session", payload.session_id)
    if isinstance(payload, SMESurveyResponseRecorded):
        return ("survey", payload.survey_id, payload.wave, payload.org_id)
    return None


def _recorded_keys(model: WriteModel, sheet: Sheet) -> dict[NaturalKey, uuid.UUID]:
    """The live events of the sheet's kind in the log, by natural key."""
    assert sheet.layout is not None
    event_type = sheet.layout.event_type
    keys: dict[NaturalKey, uuid.UUID] = {}
    for event_id, recorded in model.events.items():
        if recorded.event_type == event_type:
            key = _natural_key(recorded.payload)
            if key is not None:
                keys.setdefault(key, event_id)
    # A session id is an activity id: an exchange or outreach event may hold it already.
    for activity_id, carriers in model.activities.items():
        if carriers:
            keys.setdefault(("session", activity_id), min(carriers))
    return keys


def _clash(
    sheet: Sheet, draft: Draft, payload: EventPayload, in_log: dict[NaturalKey, uuid.UUID], project_id: str
) -> RowProblem | None:
    """A problem when the log already holds this session or answer with other content."""
    key = _natural_key(payload)
    event_id = in_log.get(key) if key is not None else None
    if event_id is None:
        return None
    what = (
        f"session {key[1]!r}"
        if key is not None and key[0] == "session"
        else "an answer of this SME to this survey wave"
    )
    column = "session_id" if isinstance(payload, TrainingDelivered) else "org_id"
    return msgspec.structs.replace(
        problem_at(sheet, draft.origin, f"data.{column}", ""),
        reason=f"{what} is already in the log (event {event_id}) with other content; a file never "
        f"changes recorded events: correct it with a CorrectionRecorded naming that event (POST "
        f"/api/v1/projects/{project_id}/events), or retract it with ActivityRetracted and import again",
    )


def refused_by_recorder(
    plan: ImportPlan, commands: Iterable[EventCommand], problems: list[tuple[str, str]]
) -> ImportRefused:
    """The Recorder's `[i].path` problems (found under the head lock) mapped back to the sheet."""
    origins = {c.event_id: d.origin for c, d in zip(plan.commands, plan.drafts, strict=True)}
    listed = list(commands)
    mapped = []
    for path, message in problems:
        index_text, _, inner = path.partition("].")
        index = int(index_text.lstrip("[")) if index_text.startswith("[") else 0
        origin = origins[listed[min(index, len(listed) - 1)].event_id]
        mapped.append(problem_at(plan.sheet, origin, inner if index_text.startswith("[") else path, message))
    return ImportRefused(mapped, plan.sheet)
