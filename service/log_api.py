"""The log over HTTP: staff append events; auditors (and the project's staff) read them back."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.openapi.spec import Example
from litestar.params import Body, HeaderParameter, Parameter, PathParameter
from litestar.response import Stream

from events.catalog import EXAMPLES
from events.envelope import AppendedEvent, RecordedEvent
from events.export import ndjson_lines
from events.read import iterate_log, read_log, read_stream
from service.auth import Role, actor_metadata, allow, principal_of
from service.commands import EventCommand
from service.projects_api import ProjectInPath, project_head
from service.recording import Recorder

NDJSON = "application/x-ndjson"

# Checked where it enters: a stream id the log cannot hold (a NUL, say) is a 400 naming it.
StreamInPath = Annotated[
    str,
    PathParameter(
        pattern=r"^[^\x00]{1,200}$", description="a stream id, e.g. activity-TRN-1, exchange-CXC-014"
    ),
]

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        min_length=1,
        max_length=200,
        pattern=r"^[^\x00-\x1f\x7f]*$",
        description="Retrying with the same key returns the original positions; another body under "
        "a used key is refused (422).",
    ),
]


class AppendAnswer(msgspec.Struct, frozen=True):
    """Where each appended event landed, in request order."""

    events: list[AppendedEvent]


class LogPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of a project's log; ask again with `after=next_after` until it is null."""

    project_id: str
    head: int
    events: list[RecordedEvent]
    next_after: int | None


def _examples() -> list[Example]:
    found = []
    for event_type, data in sorted(EXAMPLES.items()):
        occurred = None
        for key in ("dates", "actual_end", "paid_on", "date", "signed_on", "launched_on", "awarded_on"):
            value = data.get(key)
            occurred = value[0] if isinstance(value, list) and value else value
            if occurred:
                break
        body = {
            "type": event_type,
            "occurred_on": occurred or "2025-03-14",
            "partner_org_id": "CLU-AT",
            "data": data,
        }
        found.append(Example(id=event_type, summary=event_type, value=body))
    return found


class LogController(Controller):
    """/api/v1/projects/{project}/events and …/streams/{stream}."""

    path = "/api/v1/projects/{project:str}"
    tags = ("log",)

    @post(
        "/events",
        guards=[allow(Role.STAFF)],
        status_code=201,
        summary="Record one event or a list (all or nothing)",
    )
    async def append_events(
        self,
        request: Request[Any, Any, Any],
        state: State,
        project: ProjectInPath,
        data: Annotated[
            EventCommand | list[EventCommand],
            Body(
                description="One event, or a list recorded all-or-nothing. `data` holds the catalog's "
                "fields for `type` (see the examples).",
                examples=_examples(),
            ),
        ],
        idempotency_key: IdempotencyKey = None,
    ) -> AppendAnswer:
        """Validate and append; 201 with positions, 422 naming the field, 409 on a version conflict."""
        recorder: Recorder = state.recorder
        commands = data if isinstance(data, list) else [data]
        if not commands:
            await project_head(state, project)  # records nothing, but only in a project that is
        actor = actor_metadata(principal_of(request))
        actor["request_id"] = request.headers.get("x-request-id") or str(uuid.uuid4())
        appended = await recorder.record(
            project, commands, actor=actor, idempotency_key=idempotency_key, indexed=isinstance(data, list)
        )
        return AppendAnswer(events=appended)

    @get(
        "/events",
        guards=[allow(Role.AUDITOR, Role.STAFF)],
        summary="Read the log in position order (JSON pages, or NDJSON with Accept: application/x-ndjson)",
    )
    async def read_events(
        self,
        request: Request[Any, Any, Any],
        state: State,
        project: ProjectInPath,
        after: Annotated[int, Parameter(ge=0, le=2**62, description="Only positions greater than this")] = 0,
        limit: Annotated[int, Parameter(ge=1, le=10_000, description="Page size (JSON only)")] = 1000,
    ) -> Response[Any]:
        """Who recorded what, when, with hashes; NDJSON streams the whole log after `after`."""
        head = await project_head(state, project)
        if NDJSON in (request.headers.get("accept") or ""):
            return Stream(_ndjson(state, project, after), media_type=NDJSON)
        events = await read_log(state.pool, project, after=after, limit=limit)
        last = events[-1].position if events else after
        page = LogPage(project_id=project, head=head, events=events, next_after=last if last < head else None)
        return Response(page)

    @get(
        "/streams/{stream:str}",
        guards=[allow(Role.AUDITOR, Role.STAFF)],
        summary="Read one stream (e.g. exchange-CXC-014) in version order",
    )
    async def read_one_stream(
        self,
        state: State,
        project: ProjectInPath,
        stream: StreamInPath,
        from_version: Annotated[int, Parameter(ge=1, le=2**31 - 1)] = 1,
        limit: Annotated[int, Parameter(ge=1, le=10_000)] = 1000,
    ) -> list[RecordedEvent]:
        """The events of one stream; 404 when the project does not exist."""
        await project_head(state, project)
        return await read_stream(state.pool, project, stream, from_version=from_version, limit=limit)


async def _ndjson(state: State, project: str, after: int) -> AsyncIterator[bytes]:
    async with state.pool.acquire() as connection:
        async for batch in iterate_log(connection, project, after=after):
            yield ndjson_lines(batch)
