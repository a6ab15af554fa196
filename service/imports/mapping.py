"""Rows → EventCommands, and every problem the catalog finds mapped back to its row and column.

Training attendance: rows grouped by session_id into one TrainingDelivered each (attendees in row
order). SME survey: one SMESurveyResponseRecorded per row. Each command keeps its `Origin`, which
turns a catalog field path ("data.attendees[2].attended_hours", "occurred_on") into the sheet's
(row, column), so a problem found by the catalog, the write model or the Recorder lands on the
cell that caused it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import uuid
from collections.abc import Callable
from typing import Any

import msgspec

from events.catalog import Attendee, PayloadError
from events.catalog.errors import from_validation_error
from service.commands import EventCommand
from service.imports.cells import CellError, is_blank, read_cell
from service.imports.columns import Column, SheetLayout
from service.imports.sheets import RowProblem, Sheet, SheetRow, display

_INDEXED = re.compile(r"^data\.(?P<field>\w+)(?:\[(?P<index>\d+)\])?(?:\.(?P<inner>\w+))?")
# Envelope fields of an EventCommand and the column each one comes from.
_ENVELOPE = {"partner_org_id": "partner_org_id"}


@dataclasses.dataclass
class Origin:
    """Where one command came from: its rows, and per attendee (training) the attendee's row."""

    layout: SheetLayout
    first_row: int
    attendee_rows: list[int] = dataclasses.field(default_factory=list)

    def locate(self, path: str) -> tuple[int, str | None]:
        """The (row, column) a catalog field path points at; the first row when no column fits."""
        if path == "occurred_on":
            return self.first_row, self.layout.date_column
        if path in _ENVELOPE:
            return self.first_row, _ENVELOPE[path]
        match = _INDEXED.match(path)
        if match is None:
            return self.first_row, None
        field, index = match["field"], match["index"]
        if field == "attendees" and index is not None and int(index) < len(self.attendee_rows):
            return self.attendee_rows[int(index)], match["inner"] or "participant_id"
        if field == "dates":
            # The first date is the `date` column, the others come from `more_dates`.
            return self.first_row, "date" if index in (None, "0") else "more_dates"
        return self.first_row, field if self.layout.column(field) is not None else None


@dataclasses.dataclass
class Draft:
    """A command being built from rows: envelope values, payload data, and where it came from."""

    origin: Origin
    occurred_on: str
    partner_org_id: str | None
    data: dict[str, Any]

    def command(self, event_id: uuid.UUID | None = None) -> EventCommand:
        """The EventCommand to record (dates are ISO text until here)."""
        return EventCommand(
            type=self.origin.layout.event_type,
            occurred_on=dt.date.fromisoformat(self.occurred_on),
            partner_org_id=self.partner_org_id,
            data=self.data,
            event_id=event_id,
        )


@dataclasses.dataclass
class Drafts:
    """What the rows of a sheet make: drafts, and the problems found in the cells themselves."""

    drafts: list[Draft]
    problems: list[RowProblem]


def problem_at(sheet: Sheet, origin: Origin, path: str, reason: str) -> RowProblem:
    """A catalog problem at `path` of a command, as a problem at its row and column."""
    row, column = origin.locate(path)
    return RowProblem(row=row, column=column, value=display(sheet.cell(row, column)), reason=reason)


def _read_row(layout: SheetLayout, row: SheetRow, problems: list[RowProblem]) -> dict[str, Any]:
    """The row's non-blank cells read as their columns' types; unreadable cells become problems."""
    values: dict[str, Any] = {}
    for column in layout.columns:
        raw = row.cells.get(column.name)
        if is_blank(raw):
            continue
        try:
            values[column.name] = read_cell(column, raw)
        except CellError as error:
            problems.append(
                RowProblem(row=row.number, column=column.name, value=display(raw), reason=str(error))
            )
            values[column.name] = _UNREADABLE
    return values


_UNREADABLE = object()  # a cell that was there but could not be read: no "required" report too


def _missing(row: int, columns: list[Column], values: dict[str, Any]) -> list[RowProblem]:
    return [
        RowProblem(row=row, column=c.name, value=None, reason="required value is missing")
        for c in columns
        if c.required and c.name not in values
    ]


def draft_commands(sheet: Sheet) -> Drafts:
    """The sheet's rows as drafts of commands (the sheet's layout must be known)."""
    assert sheet.layout is not None
    build: Callable[[Sheet], Drafts] = (
        _training_drafts if sheet.layout.event_type == "TrainingDelivered" else _survey_drafts
    )
    return build(sheet)


def _clean(values: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v is not _UNREADABLE}


def _survey_drafts(sheet: Sheet) -> Drafts:
    layout = sheet.layout
    assert layout is not None
    drafts: list[Draft] = []
    problems: list[RowProblem] = []
    first_seen: dict[tuple[Any, ...], int] = {}
    for row in sheet.rows:
        values = _read_row(layout, row, problems)
        missing = _missing(row.number, list(layout.columns), values)
        problems += missing
        if missing or any(v is _UNREADABLE for v in values.values()):
            continue
        key = (values["survey_id"], values["wave"], values["org_id"])
        if key in first_seen:
            problems.append(
                RowProblem(
                    row=row.number,
                    column="org_id",
                    value=display(row.cells.get("org_id")),
                    reason=f"repeats row {first_seen[key]}: one answer per SME and wave",
                )
            )
            continue
        first_seen[key] = row.number
        data = {k: v for k, v in values.items() if k not in ("interview_date", "partner_org_id")}
        drafts.append(
            Draft(Origin(layout, row.number), values["interview_date"], values["partner_org_id"], data)
        )
    return Drafts(drafts, problems)


@dataclasses.dataclass
class _Session:
    first_row: int
    values: dict[str, Any]
    attendees: list[dict[str, Any]] = dataclasses.field(default_factory=list)
    attendee_rows: list[int] = dataclasses.field(default_factory=list)
    broken: bool = False


def _training_drafts(sheet: Sheet) -> Drafts:
    layout = sheet.layout
    assert layout is not None
    session_columns = [c for c in layout.columns if c.per_session]
    attendee_columns = [c for c in layout.columns if not c.per_session]
    sessions: dict[str, _Session] = {}
    problems: list[RowProblem] = []
    current: str | None = None
    for row in sheet.rows:
        values = _read_row(layout, row, problems)
        # A blank session_id continues the session of the row above (filled down by eye).
        session_id = values.setdefault("session_id", current)
        if not isinstance(session_id, str):
            if session_id is None:
                problems += _missing(row.number, [layout.columns[0]], values)
            continue
        current = session_id
        session = sessions.get(session_id)
        if session is None:
            session = sessions[session_id] = _Session(
                row.number, {c.name: values.get(c.name) for c in session_columns}
            )
            session.broken = bool(_missing(row.number, session_columns, values))
            problems += _missing(row.number, session_columns, values)
        else:
            problems += _differences(row, session, session_columns, values)
        attendee = {c.name: values[c.name] for c in attendee_columns if c.name in values}
        missing = _missing(row.number, attendee_columns, values)
        problems += missing
        if missing or any(v is _UNREADABLE for v in values.values()):
            session.broken = True
        session.attendees.append(attendee)
        session.attendee_rows.append(row.number)
    drafts = []
    for session_id, session in sessions.items():
        if session.broken:
            continue
        v = _clean(session.values)
        data = {
            "session_id": session_id,
            "dates": [v["date"], *(v.get("more_dates") or [])],
            "topic": v["topic"],
            "format": v["format"],
            "duration_hours": v["duration_hours"],
            "country": v["country"],
            "trainers": v.get("trainers") or [],
            "attendees": session.attendees,
        }
        origin = Origin(layout, session.first_row, session.attendee_rows)
        drafts.append(Draft(origin, v["date"], v["partner_org_id"], data))
    return Drafts(drafts, problems)


def _differences(
    row: SheetRow, session: _Session, columns: list[Column], values: dict[str, Any]
) -> list[RowProblem]:
    """Session columns of a later row must be blank or repeat the session's first row."""
    found = []
    for column in columns:
        value = values.get(column.name)
        if value is None or value is _UNREADABLE or session.values.get(column.name) is _UNREADABLE:
            continue
        if value != session.values.get(column.name):
            found.append(
                RowProblem(
                    row=row.number,
                    column=column.name,
                    value=display(row.cells.get(column.name)),
                    reason=f"differs from row {session.first_row}, the first row of session "
                    f"{values.get('session_id')!r}: leave it blank or repeat the same value",
                )
            )
    return found


def attendee_problems(sheet: Sheet, draft: Draft) -> list[RowProblem]:
    """Each attendee checked on its own, so every bad attendee row is reported at once (decoding
    the whole session stops at the first)."""
    problems = []
    for index, attendee in enumerate(draft.data.get("attendees", [])):
        try:
            msgspec.convert(attendee, Attendee)
        except msgspec.ValidationError as error:
            found: PayloadError = from_validation_error(error, Attendee)
            path = f"data.attendees[{index}].{found.field_path.removeprefix('data.')}"
            problems.append(problem_at(sheet, draft.origin, path, found.message))
    return problems
