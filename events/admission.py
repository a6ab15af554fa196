"""Domain rules checked under the head lock: the write model of every project, kept current.

The store calls `begin` inside each group's transaction once the head is locked, so the model
reflects exactly the committed log (whichever process wrote it), then `admit` for each request
in order; an admitted request is folded in at once, so later requests of the same group (and
later events of the same request) see it. `end` tells whether the transaction committed; if not,
the model is dropped and rebuilt on next use.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid
from collections.abc import Sequence

import asyncpg
import msgspec

from events.catalog import EventPayload, PayloadError, decode_payload
from events.connection import Executor
from events.envelope import NewEvent
from events.errors import EventRejected
from events.read import iterate_log
from events.write_model import WriteModel


@dataclasses.dataclass(frozen=True)
class _Admitted:
    position: int
    event_id: uuid.UUID
    stream_id: str
    payload: EventPayload
    occurred_on: dt.date
    partner_org_id: str | None

    def fold_into(self, model: WriteModel) -> None:
        model.apply(
            self.position, self.event_id, self.stream_id, self.payload, self.occurred_on, self.partner_org_id
        )


@dataclasses.dataclass
class _Group:
    connection: Executor
    head: int
    admitted: list[_Admitted]


def _partner(metadata: dict[str, object]) -> str | None:
    partner = metadata.get("partner_org_id")
    return partner if isinstance(partner, str) else None


class WriteModelAdmission:
    """One WriteModel per project, caught up from the log and updated by admitted appends."""

    def __init__(self) -> None:
        self._models: dict[str, WriteModel] = {}
        self._groups: dict[str, _Group] = {}
        # Held from `begin` to `end`, and while catching up outside a transaction: one fold at a time.
        self._locks: dict[str, asyncio.Lock] = {}

    def _lock(self, project_id: str) -> asyncio.Lock:
        return self._locks.setdefault(project_id, asyncio.Lock())

    def model(self, project_id: str) -> WriteModel | None:
        """The project's model as last caught up (None before first use)."""
        return self._models.get(project_id)

    async def catch_up(self, db: Executor, project_id: str) -> WriteModel:
        """Fold everything committed so far into the project's model (outside any append)."""
        if isinstance(db, asyncpg.Pool):
            # The connection first, then the project's lock, never the other way round: a group
            # holds the lock from `begin` to `end` with its connection and the head's row lock
            # taken, so a task waiting for a pool connection while holding the lock would wait
            # on those groups as they wait on it (a full pool: every writer of every project hung).
            async with db.acquire() as connection:
                return await self.catch_up(connection, project_id)
        async with self._lock(project_id):
            return await self._catch_up(db, project_id, None)

    async def _catch_up(self, connection: Executor, project_id: str, head: int | None) -> WriteModel:
        model = self._models.get(project_id)
        if model is None or (head is not None and model.position > head):
            model = self._models[project_id] = WriteModel()
        if head is not None and model.position == head:
            return model
        up_to = head if head is not None else 2**62
        async for batch in iterate_log(connection, project_id, after=model.position, up_to=up_to):
            for event in batch:
                if event.position <= model.position:
                    continue
                payload = decode_payload(event.type, bytes(event.data), event.schema_version)
                model.apply(
                    event.position,
                    event.event_id,
                    event.stream_id,
                    payload,
                    event.occurred_on or dt.date.min,
                    _partner(event.decoded_metadata()),
                )
        return model

    async def begin(self, connection: Executor, project_id: str, head: int) -> None:
        """A group's transaction holds the head lock at `head`: bring the model there."""
        lock = self._lock(project_id)
        await lock.acquire()
        try:
            await self._catch_up(connection, project_id, head)
        except BaseException:
            self._models.pop(project_id, None)
            lock.release()
            raise
        self._groups[project_id] = _Group(connection, head, [])

    async def admit(
        self,
        project_id: str,
        events: Sequence[NewEvent],
        event_ids: Sequence[uuid.UUID],
        first_position: int,
    ) -> EventRejected | None:
        """Check a request's events in order, folding each in as it passes; refuse at the first
        event that breaks a rule (its problems are all reported)."""
        model = self._models[project_id]
        group = self._groups[project_id]
        passed: list[_Admitted] = []
        for index, (event, event_id) in enumerate(zip(events, event_ids, strict=True)):
            payload = event.data
            if not isinstance(payload, EventPayload):
                try:
                    payload = decode_payload(event.type, msgspec.to_builtins(payload))
                except PayloadError as error:
                    if passed:
                        await self._rebuild(project_id, group)
                    return EventRejected([(index, error.field_path, error.message)])
            occurred_on = event.occurred_on or dt.date.min
            partner = _partner(event.metadata)
            found = model.problems(payload, occurred_on, partner)
            if found:
                if passed:
                    await self._rebuild(project_id, group)
                return EventRejected([(index, p.field_path, p.message) for p in found])
            admitted = _Admitted(
                first_position + index, event_id, event.stream_id, payload, occurred_on, partner
            )
            admitted.fold_into(model)
            passed.append(admitted)
        group.admitted += passed
        return None

    async def _rebuild(self, project_id: str, group: _Group) -> None:
        """Undo a partly folded request: the committed log plus this group's admitted requests."""
        self._models.pop(project_id, None)
        model = await self._catch_up(group.connection, project_id, group.head)
        for admitted in group.admitted:
            admitted.fold_into(model)

    def end(self, project_id: str, committed: bool) -> None:
        """The group's transaction is over; without a commit its folds are void."""
        group = self._groups.pop(project_id, None)
        if not committed:
            self._models.pop(project_id, None)
        if group is not None:
            self._lock(project_id).release()
