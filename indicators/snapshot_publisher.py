"""Publishing a snapshot exactly once, whatever happens.

Two steps, each safe to repeat, and a crash between them is finished by the next attempt:

1. **Store the document.** Under the snapshot's advisory lock (one per snapshot id, so two
   processes publishing the same milestone queue up), read the row; if there is none, compute
   the document and insert it (ON CONFLICT DO NOTHING, one statement: committed or not). The
   id is deterministic (``<project>.<kind>.<period>``), so whoever comes second finds the first
   one's row and computes nothing.
2. **Announce it in the log.** Append SnapshotPublished built from the stored row, with a
   deterministic event id and the idempotency key ``snapshot-<snapshot id>``: a repeat is
   answered with the original position, never a second event.

Readers list a snapshot only once its event is in the log (snapshot_store joins on event_id), so
a crash after step 1 leaves nothing visible; the next publish of that milestone, or the
scheduler's ``complete_pending``, appends the event. Two schedulers, a restart at the scheduled
minute, a retry after a crash: each ends with one row and one event.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast, get_args

import msgspec

from events.catalog import ProjectRegistered, SnapshotPublished
from events.catalog.vocabulary import SnapshotKind as LoggedSnapshotKind
from events.connection import Executor
from events.entries import LogEntry, log_entry
from events.envelope import NewEvent
from events.errors import EventRejected, ProjectNotFound
from events.read import iterate_log, read_log
from events.store import EventStore
from indicators.kpi_catalog import CATALOG_VERSION
from indicators.results import Period
from indicators.snapshot import (
    CODE_VERSION,
    SNAPSHOT_KINDS,
    SnapshotError,
    SnapshotHeader,
    SnapshotKind,
    build_document,
    content_hash,
    document_bytes,
    manifest_of,
    snapshot_id_for,
)
from indicators.snapshot_schedule import Milestone, milestone_for
from indicators.snapshot_signing import Signer
from indicators.snapshot_store import (
    SnapshotRecord,
    StoredSnapshot,
    fetch_snapshot,
    hash_at,
    insert_snapshot,
    last_position_before,
    last_substantive_position,
    list_snapshots,
    snapshot_lock,
)

# Reads entries covering log positions 1..P of a project (more is fine: evaluation cuts at P).
EntriesSource = Callable[[str, int], Awaitable[Sequence[LogEntry]]]
Clock = Callable[[], dt.datetime]

SCHEDULER_ACTOR: dict[str, str] = {"actor": "snapshot-scheduler", "actor_role": "system"}
_EVENT_IDS = uuid.UUID("5b0c1f4e-8d3a-4c55-9a57-3f1c2e7d9b10")
# The catalog's SnapshotPublished kinds; a "periodic" snapshot is logged as "adhoc" (with no
# reporting period) until the catalog names periodic snapshots itself.
_LOGGED_KINDS: tuple[str, ...] = get_args(LoggedSnapshotKind)


class Published(msgspec.Struct, frozen=True, kw_only=True):
    """A published snapshot, and whether this call computed it (False: it existed)."""

    record: SnapshotRecord
    created: bool


@dataclasses.dataclass(frozen=True)
class _Plan:
    """What to publish: the id, and how to find its position under the lock."""

    project_id: str
    snapshot_id: str
    kind: SnapshotKind
    period: Period | None
    as_of_before: dt.datetime | None = None
    position: int | None = None


def utc_now() -> dt.datetime:
    """The wall clock in UTC (the default clock; tests inject their own)."""
    return dt.datetime.now(dt.UTC)


async def read_registration(db: Executor, project_id: str) -> ProjectRegistered:
    """The project's ProjectRegistered (always position 1); ProjectNotFound without a log."""
    first = await read_log(db, project_id, after=0, limit=1)
    if not first:
        raise ProjectNotFound(project_id)
    registration = log_entry(first[0]).payload
    if not isinstance(registration, ProjectRegistered):
        raise SnapshotError(f"project {project_id!r} does not start with ProjectRegistered")
    return registration


async def fresh_entries(db: Executor, project_id: str, up_to: int) -> list[LogEntry]:
    """Log positions 1..up_to read from the database and decoded (no cache involved)."""
    entries: list[LogEntry] = []
    async for batch in iterate_log(db, project_id, up_to=up_to):
        entries.extend(log_entry(event) for event in batch)
    return entries


class SnapshotPublisher:
    """Publishes snapshots of the projects in one event store, each exactly once."""

    def __init__(
        self,
        store: EventStore,
        signer: Signer,
        *,
        entries: EntriesSource | None = None,
        clock: Clock = utc_now,
    ) -> None:
        self.store = store
        self.pool = store.pool
        self.signer = signer
        self.clock = clock
        self._entries = entries or (lambda project, up_to: fresh_entries(self.pool, project, up_to))

    async def publish(
        self, project_id: str, kind: str, period_id: str | None = None, *, actor: dict[str, Any]
    ) -> Published:
        """Publish (or find) a project's snapshot of `kind`; interim/final/periodic name their
        period and must have ended; an ad-hoc one is as of the newest event."""
        if kind not in SNAPSHOT_KINDS:
            raise SnapshotError(f"unknown snapshot kind {kind!r}; one of {', '.join(SNAPSHOT_KINDS)}")
        registration = await read_registration(self.pool, project_id)
        if kind == "adhoc":
            return await self._publish(await self._adhoc_plan(project_id), registration, actor)
        milestone = milestone_for(registration, kind, period_id)
        if self.clock() < milestone.as_of_before:
            raise SnapshotError(
                f"period {milestone.period.period_id} ends on {milestone.period.end}; its {kind} snapshot "
                f"can be published from {milestone.as_of_before.isoformat()}"
            )
        return await self.publish_milestone(project_id, registration, milestone, actor=actor)

    async def publish_milestone(
        self, project_id: str, registration: ProjectRegistered, milestone: Milestone, *, actor: dict[str, Any]
    ) -> Published:
        """Publish (or find) the snapshot a milestone owes; the caller checked it is due."""
        plan = _Plan(
            project_id=project_id,
            snapshot_id=snapshot_id_for(project_id, milestone.kind, milestone.period.period_id),
            kind=milestone.kind,
            period=milestone.period,
            as_of_before=milestone.as_of_before,
        )
        return await self._publish(plan, registration, actor)

    async def complete_pending(self, project_id: str, *, actor: dict[str, Any]) -> list[Published]:
        """Append the event of every stored snapshot whose publisher stopped before doing so."""
        pending = await list_snapshots(self.pool, project_id, pending=True)
        if not pending:
            return []
        registration = await read_registration(self.pool, project_id)
        done = []
        for record in pending:
            stored = await fetch_snapshot(self.pool, project_id, record.snapshot_id)
            if stored is not None:
                done.append(
                    Published(record=await self._announce(stored, registration, actor), created=False)
                )
        return done

    async def _adhoc_plan(self, project_id: str) -> _Plan:
        position = await last_substantive_position(self.pool, project_id)
        return _Plan(
            project_id=project_id,
            snapshot_id=snapshot_id_for(project_id, "adhoc", str(position)),
            kind="adhoc",
            period=None,
            position=position,
        )

    async def _publish(
        self, plan: _Plan, registration: ProjectRegistered, actor: dict[str, Any]
    ) -> Published:
        async with self.pool.acquire() as connection, snapshot_lock(connection, plan.snapshot_id):
            stored = await fetch_snapshot(connection, plan.project_id, plan.snapshot_id)
            created = stored is None
            if stored is None:
                stored = await self._store(connection, plan)
        return Published(record=await self._announce(stored, registration, actor), created=created)

    async def _position(self, db: Executor, plan: _Plan) -> int:
        if plan.position is not None:
            return plan.position
        assert plan.as_of_before is not None
        position = await last_position_before(db, plan.project_id, plan.as_of_before)
        # A log that began after the period closed (a backfilled project) knew nothing then; its
        # snapshot is taken at the newest event instead (docs/architecture.md, Snapshots).
        return position or await last_substantive_position(db, plan.project_id)

    async def _store(self, db: Executor, plan: _Plan) -> StoredSnapshot:
        """Compute the document as of the plan's position and insert its row (step 1)."""
        position = await self._position(db, plan)
        head = await hash_at(db, plan.project_id, position)
        if head is None:
            raise SnapshotError(f"project {plan.project_id!r} has no event at position {position}")
        header = SnapshotHeader(
            snapshot_id=plan.snapshot_id,
            project_id=plan.project_id,
            kind=plan.kind,
            period=plan.period,
            as_of_position=position,
            log_head_hash=head,
            catalog_version=CATALOG_VERSION,
            code_version=CODE_VERSION,
        )
        entries = await self._entries(plan.project_id, position)
        document = await asyncio.to_thread(build_document, entries, header)
        body = document_bytes(document)
        digest = content_hash(body)
        record = SnapshotRecord(
            project_id=plan.project_id,
            snapshot_id=plan.snapshot_id,
            kind=plan.kind,
            period_id=plan.period.period_id if plan.period is not None else None,
            as_of_position=position,
            head_hash=head,
            content_hash=digest,
            signature=self.signer.sign(manifest_of(document, digest)),
            event_id=uuid.uuid5(_EVENT_IDS, plan.snapshot_id),
            created_at=self.clock(),
            event_position=None,
            published_at=None,
        )
        if not await insert_snapshot(db, record, body):
            raise SnapshotError(
                f"a {plan.kind} snapshot for period {record.period_id} of {plan.project_id!r} exists "
                "under another id"
            )
        stored = await fetch_snapshot(db, plan.project_id, plan.snapshot_id)
        assert stored is not None
        return stored

    async def _announce(
        self, stored: StoredSnapshot, registration: ProjectRegistered, actor: dict[str, Any]
    ) -> SnapshotRecord:
        """Append the snapshot's SnapshotPublished event unless it is in the log (step 2)."""
        record = stored.record
        if record.published:
            return record
        event = snapshot_event(stored, registration, actor)
        try:
            await self.store.append(
                record.project_id, [event], idempotency_key=f"snapshot-{record.snapshot_id}"
            )
        except EventRejected as error:
            raise SnapshotError(f"the log refused the SnapshotPublished event: {error}") from error
        announced = await fetch_snapshot(self.pool, record.project_id, record.snapshot_id)
        assert announced is not None and announced.record.published
        return announced.record


def snapshot_event(
    stored: StoredSnapshot, registration: ProjectRegistered, actor: dict[str, Any]
) -> NewEvent:
    """The SnapshotPublished event of a stored snapshot: everything in it comes from the row, so a
    retry by any process builds the same event (the actor is metadata, outside the fingerprint)."""
    record = stored.record
    header = msgspec.json.decode(stored.document, type=SnapshotHeader)
    reporting = {p.period_id for p in registration.reporting_periods}
    payload = SnapshotPublished(
        snapshot_id=record.snapshot_id,
        kind=_logged_kind(record.kind),
        period_id=record.period_id if record.period_id in reporting else None,
        as_of_seq=record.as_of_position,
        log_head_hash=record.head_hash,
        definitions_version=header.catalog_version,
        code_version=header.code_version,
        signature=record.signature,
    )
    return NewEvent(
        stream_id="project",
        type="SnapshotPublished",
        data=payload,
        occurred_on=_reported_on(record, header.period, registration),
        # The log records what was reported: the content hash is hashed into the chain with it.
        metadata={**actor, "snapshot_kind": record.kind, "content_hash": record.content_hash},
        event_id=record.event_id,
    )


def _logged_kind(kind: str) -> LoggedSnapshotKind:
    """The kind the catalog's SnapshotPublished can carry ("periodic" → "adhoc" until it has it)."""
    return cast(LoggedSnapshotKind, kind if kind in _LOGGED_KINDS else "adhoc")


def _reported_on(record: SnapshotRecord, period: Period | None, registration: ProjectRegistered) -> dt.date:
    """The event's date: the end of the period reported on (ad hoc: the day it was stored), kept
    inside the project so the log's project-window rule admits it."""
    day = period.end if period is not None else record.created_at.astimezone(dt.UTC).date()
    return min(max(day, registration.start_date), registration.end_date)
