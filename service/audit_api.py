"""The auditor's routes: the hash chain recomputed from the database, and the log as an auditor
reads it (who recorded each event, when, and why).

    GET /api/v1/projects/{project}/audit/verify     the chain from position 1 to the head
    GET /api/v1/projects/{project}/audit/log        the log with actor, times, reasons, hashes
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, get
from litestar.datastructures import State
from litestar.params import Parameter

from events.envelope import RecordedEvent
from events.integrity import ChainReport, verify_chain
from events.read import read_log
from service.auth import read_log as may_read_log
from service.auth import verify_log
from service.projects_api import ProjectInPath, project_head

# The payload fields that say why an event was recorded: a correction's or retraction's reason,
# a reopening's reason, a cancellation's reason, a target's rationale, a sign-off's comment.
WHY_FIELDS = ("reason", "rationale", "comment")


class AuditEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One event as an auditor reads it: what, when it happened and was recorded, who, why."""

    position: int
    event_id: uuid.UUID
    type: str
    stream_id: str
    stream_version: int
    occurred_on: dt.date | None
    recorded_at: dt.datetime
    recorded_by: str | None
    actor_role: str | None
    partner_org_id: str | None
    why: str | None
    # Corrections and retractions: the event they change.
    target_event_id: str | None
    evidence: list[Any]
    hash: str
    prev_hash: str


class AuditLogPage(msgspec.Struct, frozen=True, kw_only=True):
    """A page of the auditor's view; ask again with `after=next_after` until it is null."""

    project_id: str
    head: int
    entries: list[AuditEntry]
    next_after: int | None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None


def audit_entry(event: RecordedEvent) -> AuditEntry:
    """The auditor's reading of one stored event (metadata names the token that wrote it)."""
    data = event.decoded_data()
    metadata = event.decoded_metadata()
    payload = data if isinstance(data, dict) else {}
    why = next((payload[f] for f in WHY_FIELDS if isinstance(payload.get(f), str)), None)
    evidence = metadata.get("evidence")
    return AuditEntry(
        position=event.position,
        event_id=event.event_id,
        type=event.type,
        stream_id=event.stream_id,
        stream_version=event.stream_version,
        occurred_on=event.occurred_on,
        recorded_at=event.recorded_at,
        recorded_by=_text(metadata.get("actor")),
        actor_role=_text(metadata.get("actor_role")),
        partner_org_id=_text(metadata.get("partner_org_id")),
        why=why,
        target_event_id=_text(payload.get("target_event_id")),
        evidence=evidence if isinstance(evidence, list) else [],
        hash=event.hash,
        prev_hash=event.prev_hash,
    )


class AuditController(Controller):
    """/api/v1/projects/{project}/audit…"""

    path = "/api/v1/projects/{project:str}/audit"
    tags = ("audit",)

    @get("/verify", guards=[verify_log], summary="Recompute the hash chain from the database")
    async def verify(self, state: State, project: ProjectInPath) -> ChainReport:
        """ok with the head position and hash, or the first bad position and what is wrong there."""
        await project_head(state, project)
        async with state.pool.acquire() as connection:
            return await verify_chain(connection, project)

    @get("/log", guards=[may_read_log], summary="The log as an auditor reads it: who, when, why")
    async def audit_log(
        self,
        state: State,
        project: ProjectInPath,
        after: Annotated[int, Parameter(ge=0, le=2**62, description="Only positions greater than this")] = 0,
        limit: Annotated[int, Parameter(ge=1, le=10_000, description="Page size")] = 1000,
    ) -> AuditLogPage:
        """Each event with its actor, occurred/recorded times, reason, evidence and hashes."""
        head = await project_head(state, project)
        events = await read_log(state.pool, project, after=after, limit=limit)
        last = events[-1].position if events else after
        return AuditLogPage(
            project_id=project,
            head=head,
            entries=[audit_entry(event) for event in events],
            next_after=last if last < head else None,
        )
