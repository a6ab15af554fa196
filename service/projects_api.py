"""Creating a project: its log, opened by ProjectRegistered (admin only)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, post
from litestar.datastructures import State
from litestar.params import JSONBody, PathParameter

from events.errors import ProjectAlreadyExists, ProjectNotFound
from events.read import read_head
from service.auth import Role, actor_metadata, allow, principal_of
from service.commands import EventCommand
from service.recording import PROJECT_ID_PATTERN, Recorder

ProjectId = Annotated[
    str,
    msgspec.Meta(pattern=PROJECT_ID_PATTERN, description="lowercase letters, digits and '-', 2–63 chars"),
]

# The project in a route's path, checked where it enters: an id no project can have (a NUL, say)
# is a 400 naming `project`, not an error from PostgreSQL.
ProjectInPath = Annotated[
    str, PathParameter(pattern=PROJECT_ID_PATTERN, description="the project's id, as created")
]


class ProjectCreate(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A new project: its id and the ProjectRegistered fields (grant, dates, periods, partners)."""

    project_id: ProjectId
    data: dict[str, Any]
    occurred_on: dt.date | None = None


class ProjectCreated(msgspec.Struct, frozen=True):
    """The new project's log: ProjectRegistered at position 1."""

    project_id: str
    position: int
    event_id: str


async def project_head(state: State, project: str) -> int:
    """The position of the project's last event; ProjectNotFound (404) when it has no log."""
    head = await read_head(state.pool, project)
    if head is None:
        raise ProjectNotFound(project)
    return head.position


def _start_date(registration: dict[str, Any]) -> dt.date | None:
    """The project's start, the default date of its registration (None if not a valid date)."""
    try:
        return dt.date.fromisoformat(str(registration.get("start_date")))
    except ValueError:
        return None


class ProjectsController(Controller):
    """/api/v1/projects."""

    path = "/api/v1/projects"
    tags = ("projects",)

    @post("/", guards=[allow(Role.ADMIN)], status_code=201, summary="Create a project (admin)")
    async def create_project(
        self, request: Request[Any, Any, Any], state: State, data: JSONBody[ProjectCreate]
    ) -> ProjectCreated:
        """Open a log for the project with its ProjectRegistered; 409 when it exists."""
        recorder: Recorder = state.recorder
        command = EventCommand(
            type="ProjectRegistered",
            occurred_on=data.occurred_on or _start_date(data.data) or dt.date.today(),
            data=data.data,
            stream="project",
            expected_version=0,
        )
        appended = await recorder.create_project(
            data.project_id, command, actor_metadata(principal_of(request))
        )
        if appended is None:
            raise ProjectAlreadyExists(data.project_id)
        return ProjectCreated(
            project_id=data.project_id, position=appended.position, event_id=str(appended.event_id)
        )
