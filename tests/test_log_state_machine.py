"""The store against a simple in-memory model of the log (hypothesis state machine)."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from events.envelope import AppendedEvent, NewEvent
from events.errors import (
    DuplicateEventId,
    EventStoreError,
    IdempotencyKeyReused,
    WrongExpectedVersion,
)
from events.store import EventStore
from service.database import create_pool, migrate_pool
from tests.conftest import MIGRATIONS

STREAMS = ["project", "activity-a", "activity-b", "exchange-x"]
KEYS = ["k1", "k2", "k3"]
IDS = [uuid.UUID(int=i + 1) for i in range(6)]

event_strategy = st.builds(
    lambda stream, value, expected, with_id: (stream, value, expected, with_id),
    st.sampled_from(STREAMS),
    st.integers(0, 3),
    st.one_of(st.none(), st.integers(0, 4)),
    st.one_of(st.none(), st.sampled_from(IDS)),
)


class LogModel:
    """What the log should hold: events in order, stream versions, keys and ids seen."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any], uuid.UUID | None]] = []
        self.versions: dict[str, int] = {}
        self.keys: dict[str, tuple[Any, list[AppendedEvent]]] = {}
        self.ids: dict[uuid.UUID, tuple[str, dict[str, Any], AppendedEvent]] = {}

    def expect(
        self, request: list[tuple[str, dict[str, Any], int | None, uuid.UUID | None]], key: str | None
    ) -> type[EventStoreError] | list[tuple[str, int]] | str:
        """The model's verdict: an error type, "replay", or the (stream, version) of each event."""
        fingerprint = [(s, d, e, i) for s, d, e, i in request]
        if key is not None and key in self.keys:
            return "replay" if self.keys[key][0] == fingerprint else IdempotencyKeyReused
        known = [i for _, _, _, i in request if i is not None and i in self.ids]
        if known:
            for stream, data, _, event_id in request:
                if event_id is None or event_id not in self.ids or self.ids[event_id][:2] != (stream, data):
                    return DuplicateEventId
            return "replay"
        named = [i for _, _, _, i in request if i is not None]
        if len(named) != len(set(named)):
            return DuplicateEventId
        staged = dict(self.versions)
        placed = []
        for stream, _, expected, _ in request:
            current = staged.get(stream, 0)
            if expected is not None and expected != current:
                return WrongExpectedVersion
            staged[stream] = current + 1
            placed.append((stream, current + 1))
        return placed


class EventLogMachine(RuleBasedStateMachine):
    """Random appends (with keys, ids and expected versions) compared with the model."""

    dsn: str = ""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.schema = f"sm_{uuid.uuid4().hex[:12]}"
        self.loop.run_until_complete(self._setup())
        self.model = LogModel()

    async def _setup(self) -> None:
        admin = await asyncpg.connect(self.dsn)
        await admin.execute(f'CREATE SCHEMA "{self.schema}"')
        await admin.close()
        self.pool = await create_pool(self.dsn, schema=self.schema, min_size=1, max_size=3)
        await migrate_pool(self.pool, MIGRATIONS)
        self.store = EventStore(self.pool, channel=self.schema)
        await self.store.create_project("p")

    def teardown(self) -> None:
        async def drop() -> None:
            await self.pool.close()
            admin = await asyncpg.connect(self.dsn)
            await admin.execute(f'DROP SCHEMA "{self.schema}" CASCADE')
            await admin.close()

        self.loop.run_until_complete(drop())
        self.loop.close()

    @rule(
        request=st.lists(event_strategy, min_size=1, max_size=4),
        key=st.one_of(st.none(), st.sampled_from(KEYS)),
    )
    def append(self, request: list[tuple[str, int, int | None, uuid.UUID | None]], key: str | None) -> None:
        shaped = [(stream, {"v": value}, expected, event_id) for stream, value, expected, event_id in request]
        events = [
            NewEvent(stream_id=s, type="T", data=d, expected_version=e, event_id=i) for s, d, e, i in shaped
        ]
        verdict = self.model.expect(shaped, key)
        try:
            result = self.loop.run_until_complete(self.store.append("p", events, idempotency_key=key))
        except EventStoreError as error:
            assert isinstance(verdict, type) and isinstance(error, verdict), (verdict, error)
            return
        if verdict == "replay":
            if key is not None and key in self.model.keys:
                assert result == self.model.keys[key][1]
            else:
                assert result == [self.model.ids[i][2] for _, _, _, i in shaped if i is not None]
            return
        assert isinstance(verdict, list), verdict
        assert [(r.stream, r.stream_version) for r in result] == verdict
        assert [r.position for r in result] == list(
            range(len(self.model.events) + 1, len(self.model.events) + 1 + len(result))
        )
        for (stream, data, _, event_id), appended in zip(shaped, result, strict=True):
            self.model.events.append((stream, data, event_id))
            self.model.versions[stream] = appended.stream_version
            if event_id is not None:
                self.model.ids[event_id] = (stream, data, appended)
        if key is not None:
            self.model.keys[key] = ([(s, d, e, i) for s, d, e, i in shaped], result)

    @precondition(lambda self: bool(self.model.events))
    @rule()
    def chain_verifies(self) -> None:
        report = self.loop.run_until_complete(self.store.verify("p"))
        assert report.ok and report.head_position == len(self.model.events)

    @invariant()
    def log_equals_model(self) -> None:
        events = self.loop.run_until_complete(self.store.read_log("p", limit=10_000))
        assert [e.position for e in events] == list(range(1, len(events) + 1))
        assert [(e.stream_id, e.decoded_data()) for e in events] == [(s, d) for s, d, _ in self.model.events]


def test_the_store_behaves_like_the_model(database_dsn: str) -> None:
    EventLogMachine.dsn = database_dsn
    runner = EventLogMachine.TestCase
    runner.settings = settings(max_examples=25, stateful_step_count=15, deadline=None)
    runner().runTest()
