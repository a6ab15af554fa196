"""Participants over HTTP: the one way personal fields enter the log, staff views, and the
admin's subject-access export and erasure (GDPR Art. 15 and 17).

Personal fields are accepted here in clear, encrypted under a new per-person key before
anything is written, and never logged or echoed in an error (problems name pseudonymous ids and
field paths only). Auditors and funders have no route here: they see pseudonymous ids in the log.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.params import JSONBody, PathParameter

from service.auth import Role, actor_metadata, administer, allow, principal_of, write_events
from service.personal_data import (
    Enrolment,
    ErasureReceipt,
    ParticipantView,
    PersonalDataError,
    Registration,
    SubjectAccessExport,
    erase_participant,
    finish_erasures,
    list_participants,
    register_participant,
    subject_access,
    view_participant,
)
from service.problems import FieldProblem, problem_response
from service.projects_api import ProjectInPath, project_head
from service.recording import Recorder

# A pseudonymous id as the catalog allows it, and no control characters (a NUL cannot reach SQL).
ParticipantId = Annotated[
    str,
    PathParameter(pattern=r"^[^\s\x00-\x1f\x7f]{1,200}$", description="pseudonymous participant id"),
]

# Staff see personal fields (unless consent for contact was withdrawn); nobody else but admin.
read_participants = allow(Role.STAFF)


class ErasureRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """When the person asked to be erased (default: today); kept from the first request on."""

    request_date: dt.date | None = None


def _personal_data_problem(request: Request[Any, Any, Any], error: PersonalDataError) -> Response[bytes]:
    # Every such problem is about one person, named by `participant_id` (in the path or the body).
    errors = [FieldProblem("participant_id", error.message)]
    return problem_response(error.status, error.message, errors, kind="participant")


def _actor(request: Request[Any, Any, Any]) -> dict[str, Any]:
    actor: dict[str, Any] = actor_metadata(principal_of(request))
    actor["request_id"] = request.headers.get("x-request-id") or str(uuid.uuid4())
    return actor


class ParticipantsController(Controller):
    """/api/v1/projects/{project}/participants…"""

    path = "/api/v1/projects/{project:str}/participants"
    tags = ("participants",)
    exception_handlers = {PersonalDataError: _personal_data_problem}  # noqa: RUF012 (Litestar reads it)

    @post(
        "/",
        guards=[write_events],
        status_code=201,
        summary="Register a participant: personal fields encrypted, pseudonymous id in the log",
    )
    async def register(
        self, request: Request[Any, Any, Any], state: State, project: ProjectInPath, data: JSONBody[Enrolment]
    ) -> Response[Registration]:
        """201 with the ParticipantRegistered position; 200 when the same person was registered
        before; 409 when the id is taken by other data or was erased; 422 naming the field."""
        await project_head(state, project)
        recorder: Recorder = state.recorder
        registration = await register_participant(recorder, project, data, _actor(request))
        return Response(registration, status_code=200 if registration.replayed else 201)

    @get("/", guards=[read_participants], summary="Every participant, as staff may see them")
    async def list_all(self, state: State, project: ProjectInPath) -> list[ParticipantView]:
        """Attributes, consents and personal fields (null when withheld, erased or never held)."""
        await project_head(state, project)
        return await list_participants(state.pool, project)

    @get("/{participant_id:str}", guards=[read_participants], summary="One participant, as staff see them")
    async def view(
        self, state: State, project: ProjectInPath, participant_id: ParticipantId
    ) -> ParticipantView:
        """404 when the project has no such participant."""
        await project_head(state, project)
        return await view_participant(state.pool, project, participant_id)

    @get(
        "/{participant_id:str}/export",
        guards=[administer],
        summary="Subject access (GDPR Art. 15): everything held on one person (admin)",
    )
    async def export(
        self, state: State, project: ProjectInPath, participant_id: ParticipantId
    ) -> SubjectAccessExport:
        """Personal fields (whatever the consents), attributes, consents, key state, and every
        event naming the person's id with other people's ids replaced."""
        await project_head(state, project)
        return await subject_access(state.pool, project, participant_id)

    @post(
        "/{participant_id:str}/erasure",
        guards=[administer],
        status_code=201,
        summary="Erase (GDPR Art. 17): destroy the person's key and record ParticipantErased (admin)",
    )
    async def erase(
        self,
        request: Request[Any, Any, Any],
        state: State,
        project: ProjectInPath,
        participant_id: ParticipantId,
        data: JSONBody[ErasureRequest | None] = None,
    ) -> ErasureReceipt:
        """Safe to repeat: the same receipt (position, key id, request date) comes back."""
        await project_head(state, project)
        recorder: Recorder = state.recorder
        actor = _actor(request)
        # Interrupted erasures of anyone in the project are finished first: they are owed.
        await finish_erasures(recorder, project, actor)
        request_date = data.request_date if data is not None else None
        return await erase_participant(recorder, project, participant_id, actor, request_date)
