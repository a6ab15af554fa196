"""The event store: one object the service holds, tying appends, reads and verification."""

from __future__ import annotations

from collections.abc import Sequence

import asyncpg

from events.append import Admission, AppendObserver, ProjectWriter, create_log
from events.envelope import AppendedEvent, LogHead, NewEvent, RecordedEvent
from events.errors import ProjectAlreadyExists
from events.integrity import ChainReport, verify_chain
from events.notifications import DEFAULT_CHANNEL
from events.read import read_head, read_heads, read_log, read_stream


class EventStore:
    """Append to and read from the per-project logs held in one PostgreSQL database."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        channel: str = DEFAULT_CHANNEL,
        observer: AppendObserver | None = None,
        admission: Admission | None = None,
        max_group_events: int = 5000,
        max_in_flight: int = 2,
    ) -> None:
        self.pool = pool
        self.channel = channel
        self._observer = observer
        self.admission = admission
        self._max_group_events = max_group_events
        self._max_in_flight = max_in_flight
        self._writers: dict[str, ProjectWriter] = {}

    async def create_project(self, project_id: str) -> None:
        """Create an empty log for a new project."""
        if not await create_log(self.pool, project_id):
            raise ProjectAlreadyExists(project_id)

    def _writer(self, project_id: str) -> ProjectWriter:
        writer = self._writers.get(project_id)
        if writer is None:
            writer = ProjectWriter(
                self.pool,
                project_id,
                channel=self.channel,
                observer=self._observer,
                admission=self.admission,
                max_group_events=self._max_group_events,
                max_in_flight=self._max_in_flight,
            )
            self._writers[project_id] = writer
        return writer

    async def append(
        self,
        project_id: str,
        events: Sequence[NewEvent],
        *,
        idempotency_key: str | None = None,
    ) -> list[AppendedEvent]:
        """Append events (any streams of one project) all-or-nothing; returns their positions."""
        if not events:
            return []
        return await self._writer(project_id).append(list(events), idempotency_key)

    async def append_to_stream(
        self,
        project_id: str,
        stream_id: str,
        events: Sequence[NewEvent],
        *,
        expected_version: int | None = None,
        idempotency_key: str | None = None,
    ) -> list[AppendedEvent]:
        """Append to one stream, checking the stream's version before the first event."""
        placed = [
            NewEvent(
                stream_id=stream_id,
                type=e.type,
                data=e.data,
                schema_version=e.schema_version,
                occurred_on=e.occurred_on,
                metadata=e.metadata,
                event_id=e.event_id,
                expected_version=expected_version if i == 0 else None,
            )
            for i, e in enumerate(events)
        ]
        return await self.append(project_id, placed, idempotency_key=idempotency_key)

    async def read_log(self, project_id: str, *, after: int = 0, limit: int = 1000) -> list[RecordedEvent]:
        """Events after a position, in order."""
        return await read_log(self.pool, project_id, after=after, limit=limit)

    async def read_stream(
        self, project_id: str, stream_id: str, *, from_version: int = 1, limit: int = 1000
    ) -> list[RecordedEvent]:
        """One stream's events in order."""
        return await read_stream(self.pool, project_id, stream_id, from_version=from_version, limit=limit)

    async def head(self, project_id: str) -> LogHead | None:
        """A project's log head."""
        return await read_head(self.pool, project_id)

    async def heads(self) -> list[LogHead]:
        """Every project's log head."""
        return await read_heads(self.pool)

    async def verify(self, project_id: str) -> ChainReport:
        """Recompute the project's hash chain."""
        return await verify_chain(self.pool, project_id)
