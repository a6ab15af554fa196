"""Recording staff's events: wire commands → validated payloads → one all-or-nothing append.

Checks that need no log (types, enums, self-dates, cross-field rules) run here, before the
store; checks against the project's state (references, lifecycle, project window, period
locks) run in the store's admission under the head lock, so two concurrent requests can never
both pass a rule only one of them may pass.

Retry: the same Idempotency-Key (or the same event ids) returns the original positions.
Conflict: a wrong expected_version refuses the whole request (409), nothing written.
Crash: the request is one transaction; an unknown outcome is reported (503) and a retry with the
same key is safe.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Sequence
from typing import Any

import msgspec

from events.admission import WriteModelAdmission
from events.catalog import (
    ActivityRetracted,
    CorrectionRecorded,
    EventPayload,
    PayloadError,
    check_payload,
    decode_payload,
    stream_id,
)
from events.envelope import AppendedEvent, NewEvent
from events.errors import EventRejected, IdempotencyKeyReused, ProjectAlreadyExists, WrongExpectedVersion
from events.store import EventStore
from service.commands import EventCommand

PROJECT_ID_PATTERN = "^[a-z0-9][a-z0-9-]{1,62}$"


class CommandRejected(Exception):
    """One or more commands are invalid; `problems` are (field path, message), path from the list."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__(f"{problems[0][0]}: {problems[0][1]}")
        self.problems = problems


def _path(index: int | None, field_path: str) -> str:
    return field_path if index is None else f"[{index}].{field_path}"


class Recorder:
    """Turns EventCommands into log entries for one EventStore (with write-model admission)."""

    def __init__(self, store: EventStore) -> None:
        if not isinstance(store.admission, WriteModelAdmission):
            raise TypeError("the Recorder needs a store with WriteModelAdmission")
        self.store = store
        self.admission: WriteModelAdmission = store.admission

    async def create_project(
        self, project_id: str, registration: EventCommand, actor: dict[str, Any]
    ) -> AppendedEvent | None:
        """Create the project's log and record its ProjectRegistered; None if it existed."""
        if registration.type != "ProjectRegistered":
            raise CommandRejected([("type", "a project starts with a ProjectRegistered event")])
        event = self._prepared(None, registration, actor)
        with contextlib.suppress(ProjectAlreadyExists):
            await self.store.create_project(project_id)
        # The same registration again (a retry, or a crash between the two steps) is answered
        # with the original position; another registration finds the stream taken.
        try:
            (appended,) = await self.store.append(project_id, [event], idempotency_key=f"create-{project_id}")
        except (IdempotencyKeyReused, WrongExpectedVersion, EventRejected):
            return None
        return appended

    async def record(
        self,
        project_id: str,
        commands: Sequence[EventCommand],
        *,
        actor: dict[str, Any],
        idempotency_key: str | None = None,
        indexed: bool = True,
    ) -> list[AppendedEvent]:
        """Validate and append the commands all-or-nothing; problems name `[i].field` paths."""
        prefix = (lambda i: i) if indexed else (lambda i: None)
        problems: list[tuple[str, str]] = []
        events: list[NewEvent] = []
        # The write model is brought up to date outside the head lock (cheap inside it then),
        # and gives the stream of a correction's target.
        model = await self.admission.catch_up(self.store.pool, project_id)
        # Streams of events already in the log, then of this request's earlier events: a
        # correction finds its target's stream either way, so a retry encodes identically.
        streams: dict[Any, str] = {}
        for index, command in enumerate(commands):
            try:
                event = self._prepared(prefix(index), command, actor, streams, model.events)
            except CommandRejected as rejected:
                problems += rejected.problems
                continue
            events.append(event)
            if event.event_id is not None:
                streams[event.event_id] = event.stream_id
        if problems:
            raise CommandRejected(problems)
        try:
            return await self.store.append(project_id, events, idempotency_key=idempotency_key)
        except EventRejected as rejected:
            raise CommandRejected(
                [(_path(prefix(i), path), message) for i, path, message in rejected.problems]
            ) from rejected

    async def check(self, project_id: str, command: EventCommand, *, actor: dict[str, Any]) -> None:
        """Refuse (CommandRejected, unindexed paths) a command the log would refuse now; writes
        nothing. For work that must not start for a doomed event (issuing a vault key); the
        append checks everything again under the head lock."""
        model = await self.admission.catch_up(self.store.pool, project_id)
        event = self._prepared(None, command, actor, {}, model.events)
        assert isinstance(event.data, EventPayload)
        found = model.problems(event.data, event.occurred_on or dt.date.min, command.partner_org_id)
        if found:
            raise CommandRejected([(p.field_path, p.message) for p in found])

    def _prepared(
        self,
        index: int | None,
        command: EventCommand,
        actor: dict[str, Any],
        streams: dict[Any, str] | None = None,
        recorded: dict[Any, Any] | None = None,
    ) -> NewEvent:
        """Decode and check one command with no log; the NewEvent to append."""
        nul = _nul_in(command.data, "data")
        if nul is not None:
            raise CommandRejected([(_path(index, nul), "a NUL character cannot be stored")])
        try:
            payload = decode_payload(command.type, command.data)
        except PayloadError as error:
            raise CommandRejected([(_path(index, error.field_path), error.message)]) from error
        found = check_payload(command.type, payload, command.occurred_on)
        if found:
            raise CommandRejected([(_path(index, p.field_path), p.message) for p in found])
        return NewEvent(
            stream_id=command.stream or _default_stream(payload, streams or {}, recorded or {}),
            type=command.type,
            data=payload,
            schema_version=type(payload).schema_version,
            occurred_on=command.occurred_on,
            metadata=_metadata(command, actor),
            event_id=command.event_id,
            expected_version=command.expected_version,
        )


def _nul_in(value: Any, path: str) -> str | None:
    """The path of the first string (or key) under `value` holding a NUL, which PostgreSQL's text
    cannot store (read models copy event fields into text columns); None when there is none."""
    # A stack, not recursion: a body may nest as deep as the JSON decoder allows.
    pending: list[tuple[str, Any]] = [(path, value)]
    while pending:
        where, item = pending.pop()
        if isinstance(item, str) and "\x00" in item:
            return where
        if isinstance(item, dict):
            for key, inner in reversed(item.items()):
                if "\x00" in key:
                    return f"{where}.{key}"
                pending.append((f"{where}.{key}", inner))
        elif isinstance(item, list):
            pending.extend((f"{where}[{i}]", inner) for i, inner in reversed(list(enumerate(item))))
    return None


def _default_stream(payload: EventPayload, streams: dict[Any, str], recorded: dict[Any, Any]) -> str:
    """The catalog's stream; corrections and retractions join their target's stream, so they
    are ordered with the target's own lifecycle."""
    if isinstance(payload, CorrectionRecorded | ActivityRetracted):
        if payload.target_event_id in streams:
            return streams[payload.target_event_id]
        target = recorded.get(payload.target_event_id)
        if target is not None:
            return str(target.stream_id)
    return stream_id(payload)


def _metadata(command: EventCommand, actor: dict[str, Any]) -> dict[str, Any]:
    """The envelope fields that are not columns: who, for which partner, with what evidence."""
    metadata: dict[str, Any] = dict(actor)
    metadata["partner_org_id"] = command.partner_org_id
    if command.work_package is not None:
        metadata["work_package"] = command.work_package
    if command.correlation_id is not None:
        metadata["correlation_id"] = command.correlation_id
    if command.evidence:
        metadata["evidence"] = msgspec.to_builtins(command.evidence)
    return metadata
