"""Appending to a project's log: group commit, expected versions, idempotency, hash chain.

Concurrent appends to one project queue at that project's writer, which drains waiting requests
into one transaction (a "group"): lock the head, look up the streams/ids/keys the group touches,
decide each request in Python (conflicts and duplicates fail only their own request), COPY the
new rows (hashed as COPY pulls them, so the server inserts the first rows while Python chains the
rest), move the head, NOTIFY, COMMIT. Up to `max_in_flight` groups run, each on a connection its
drain loop keeps while requests wait; the head's row lock orders them, so commit order is position
order.

Retry: the same idempotency key, or the same client event ids, returns the original result.
Conflict: a wrong expected version fails that request, nothing of it is written.
Crash: all of a group is in one transaction; a broken connection around COMMIT is reported as
AppendOutcomeUnknown (retry with the same key is safe).
"""

from __future__ import annotations

import asyncio
import collections
import datetime as dt
import hashlib
import logging
import os
import time
import uuid
from collections.abc import Iterator, Sequence
from typing import Any, Protocol

import asyncpg
import msgspec
from asyncpg.pgproto import pgproto

from events.canonical import (
    GENESIS_HASH,
    canonical_event_bytes,
    chain_hash,
    encode_canonical,
)
from events.connection import Connection, Executor
from events.envelope import AppendedEvent, NewEvent
from events.errors import (
    AppendOutcomeUnknown,
    DuplicateEventId,
    EventStoreError,
    IdempotencyKeyReused,
    ProjectNotFound,
    WrongExpectedVersion,
)

log = logging.getLogger("impactlog.events.append")

LOCK_HEAD = "SELECT * FROM lock_head_for_append($1, $2::text[], $3::uuid[], $4::text[])"

EVENT_COLUMNS = (
    "project_id",
    "position",
    "event_id",
    "stream_id",
    "stream_version",
    "type",
    "schema_version",
    "occurred_on",
    "recorded_at",
    "data",
    "metadata",
    "prev_hash",
    "hash",
)

MOVE_HEAD = """
WITH head AS (
    UPDATE log_heads SET position = $2, hash = $3, last_recorded_at = $4
     WHERE project_id = $1
), stream_versions AS (
    INSERT INTO streams (project_id, stream_id, version)
    SELECT $1, s.stream_id, s.version FROM unnest($5::text[], $6::int[]) AS s(stream_id, version)
    ON CONFLICT (project_id, stream_id) DO UPDATE SET version = EXCLUDED.version
), keys AS (
    INSERT INTO idempotency_keys (project_id, key, fingerprint, result)
    SELECT $1, k.key, k.fingerprint, k.result
      FROM unnest($7::text[], $8::bytea[], $9::json[]) AS k(key, fingerprint, result)
)
SELECT pg_notify($10, $1 || ' ' || $2::text)
"""

CREATE_HEAD = """
INSERT INTO log_heads (project_id, position, hash) VALUES ($1, 0, $2)
ON CONFLICT (project_id) DO NOTHING
"""

# A broken or unreachable database, as opposed to one refusing a statement.
CONNECTION_ERRORS = (OSError, asyncpg.InterfaceError, asyncpg.InternalClientError, asyncpg.PostgresError)

# The version (4) and variant (RFC 4122) bits of a random UUID, as a 128-bit integer.
_UUID4_CLEAR = ~((0xF000 << 64) | (0xC000 << 48)) & ((1 << 128) - 1)
_UUID4_SET = (0x4000 << 64) | (0x8000 << 48)

_results_encoder = msgspec.json.Encoder()
_results_decoder = msgspec.json.Decoder(list[AppendedEvent])


class AppendObserver(Protocol):
    """Told about every group and request, e.g. to feed metrics."""

    def observe_group(self, project: str, events: int, requests: int, seconds: float) -> None:
        """After each group: events written, requests decided, seconds in the transaction."""

    def observe_request(self, project: str, seconds: float) -> None:
        """After each request: seconds from queueing to its answer."""


class Admission(Protocol):
    """Domain rules checked inside the group's transaction, under the head lock."""

    async def begin(self, connection: Connection, project_id: str, head: int) -> None:
        """The head is locked at `head`."""

    async def admit(
        self,
        project_id: str,
        events: Sequence[NewEvent],
        event_ids: Sequence[uuid.UUID],
        first_position: int,
    ) -> EventStoreError | None:
        """None to accept the request (and remember it), else the refusal."""

    def end(self, project_id: str, committed: bool) -> None:
        """The transaction committed, or not."""


class _Request:
    """One caller's append, waiting in a project's queue."""

    __slots__ = ("data", "event_ids", "events", "fingerprint", "future", "idempotency_key", "metadata")

    def __init__(
        self,
        events: Sequence[NewEvent],
        idempotency_key: str | None,
        future: asyncio.Future[list[AppendedEvent]],
    ) -> None:
        self.events = events
        self.idempotency_key = idempotency_key
        self.future = future
        # Encoded once, before the head lock is taken; a payload that cannot be encoded fails
        # its own caller here, never the group.
        self.data = [encode_canonical(e.data) for e in events]
        self.metadata = [encode_canonical(e.metadata) for e in events]
        # Only a key's fingerprint is ever compared.
        self.fingerprint = _fingerprint(events, self.data) if idempotency_key is not None else b""
        # Fixed once, so a request retried alone after its group failed keeps its ids.
        self.event_ids = _event_ids(events)


# Metadata that is the event's content (hashed into the log, and the partner a KPI dimension);
# the rest (request id, actor, token) describes the attempt, which a retry does not repeat.
CONTENT_METADATA = ("partner_org_id", "evidence", "work_package")


def _fingerprint(events: Sequence[NewEvent], data: Sequence[bytes], *, legacy: bool = False) -> bytes:
    """What makes two requests "the same" for an idempotency key: everything but the metadata
    that describes the attempt. `legacy`: as keys stored before the envelope's content metadata
    counted (still honoured, so a retry across an upgrade is not refused)."""
    digest = hashlib.sha256()
    for event, payload in zip(events, data, strict=True):
        envelope: list[Any] = [
            event.stream_id,
            event.type,
            event.schema_version,
            event.occurred_on,
            event.expected_version,
            str(event.event_id) if event.event_id else None,
        ]
        if not legacy:
            envelope.append({name: event.metadata.get(name) for name in CONTENT_METADATA})
        digest.update(encode_canonical(envelope))
        digest.update(payload)
    return digest.digest()


def _event_ids(events: Sequence[NewEvent]) -> list[uuid.UUID]:
    """The client's event ids, and new random (version 4) ones where it gave none.

    The new ones come from one urandom call per request, as asyncpg's UUID (a C subclass of
    uuid.UUID, what reads return anyway): cheaper to make than uuid.uuid4(), and COPY and the
    chain's str() format them in C.
    """
    missing = sum(e.event_id is None for e in events)
    if not missing:
        return [e.event_id for e in events if e.event_id is not None]
    raw = os.urandom(16 * missing)
    fresh = iter(
        [
            pgproto.UUID((int.from_bytes(raw[i : i + 16]) & _UUID4_CLEAR | _UUID4_SET).to_bytes(16))
            for i in range(0, len(raw), 16)
        ]
    )
    return [e.event_id or next(fresh) for e in events]


class _Lookup(msgspec.Struct, frozen=True):
    """What the head lock returned: head, stream versions, known event ids and keys."""

    position: int
    hash: bytes
    recorded_at: dt.datetime | None
    stream_versions: dict[str, int]
    # event id → position, stream, stream version, type, data, occurred_on (ISO) and partner.
    known_events: dict[uuid.UUID, tuple[int, str, int, str, str, str | None, str | None]]
    known_keys: dict[str, tuple[str, list[AppendedEvent]]]


# One event placed in a group: the event, its id, data, metadata (canonical JSON), stream version.
_Placed = tuple[NewEvent, uuid.UUID, bytes, bytes, int]


class _Group:
    """The requests of one transaction placed after the locked head; their rows are hashed
    only when COPY pulls them."""

    def __init__(self, project_id: str, lookup: _Lookup, recorded_at: dt.datetime) -> None:
        self.project_id = project_id
        self.head_position = lookup.position
        self.position = lookup.position
        self.hash = lookup.hash
        self.recorded_at = recorded_at
        self.versions = dict(lookup.stream_versions)
        self.touched: dict[str, int] = {}
        self.placed: list[_Placed] = []
        self.keys: list[tuple[str, bytes, str]] = []

    def check(self, request: _Request) -> None:
        """Raise if the request cannot go into this group (repeated ids, expected versions)."""
        named: set[uuid.UUID] = set()
        for index, event in enumerate(request.events):
            if event.event_id is not None:
                if event.event_id in named:
                    raise DuplicateEventId(str(event.event_id), index, within_request=True)
                named.add(event.event_id)
        staged: dict[str, int] = {}
        for index, event in enumerate(request.events):
            current = staged.get(event.stream_id, self.versions.get(event.stream_id, 0))
            if event.expected_version is not None and event.expected_version != current:
                raise WrongExpectedVersion(event.stream_id, event.expected_version, current, index)
            staged[event.stream_id] = current + 1

    def add(self, request: _Request) -> list[AppendedEvent]:
        """Place one checked request's events after the group's earlier ones."""
        results: list[AppendedEvent] = []
        staged: dict[str, int] = {}
        for event, event_id, data, metadata in zip(
            request.events, request.event_ids, request.data, request.metadata, strict=True
        ):
            version = staged.get(event.stream_id, self.versions.get(event.stream_id, 0)) + 1
            staged[event.stream_id] = version
            self.position += 1
            self.placed.append((event, event_id, data, metadata, version))
            results.append(
                AppendedEvent(
                    event_id=event_id,
                    position=self.position,
                    stream=event.stream_id,
                    stream_version=version,
                )
            )
        self.versions.update(staged)
        self.touched.update(staged)
        if request.idempotency_key is not None:
            self.keys.append(
                (request.idempotency_key, request.fingerprint, _results_encoder.encode(results).decode())
            )
        return results

    def rows(self) -> Iterator[tuple[Any, ...]]:
        """The `events` rows in position order, chained as they are produced; once all are out,
        `hash` is the new head's."""
        for position, (event, event_id, data, metadata, version) in enumerate(
            self.placed, start=self.head_position + 1
        ):
            prev_hash = self.hash
            self.hash = chain_hash(
                prev_hash,
                canonical_event_bytes(
                    project_id=self.project_id,
                    position=position,
                    event_id=event_id,
                    stream_id=event.stream_id,
                    stream_version=version,
                    event_type=event.type,
                    schema_version=event.schema_version,
                    occurred_on=event.occurred_on,
                    recorded_at=self.recorded_at,
                    data=data,
                    metadata=metadata,
                ),
            )
            yield (
                self.project_id,
                position,
                event_id,
                event.stream_id,
                version,
                event.type,
                event.schema_version,
                event.occurred_on,
                self.recorded_at,
                data.decode(),
                metadata.decode(),
                prev_hash,
                self.hash,
            )


class _Replayed(list[AppendedEvent]):
    """A request's original answer, given again: counted as a request, not as events appended."""


def _replayed(request: _Request, lookup: _Lookup) -> list[AppendedEvent] | None:
    """The original answer if this request was already appended (same key or same event ids)."""
    key = request.idempotency_key
    if key is not None and key in lookup.known_keys:
        fingerprint, results = lookup.known_keys[key]
        if fingerprint != request.fingerprint.hex() and (
            fingerprint != _fingerprint(request.events, request.data, legacy=True).hex()
        ):
            raise IdempotencyKeyReused(key)
        return results
    ids = [e.event_id for e in request.events]
    if not any(i is not None and i in lookup.known_events for i in ids):
        return None
    # A request is replayed whole or not at all: every event must be the one already recorded.
    results = []
    first_known = next(i for i, e in enumerate(ids) if e is not None and e in lookup.known_events)
    for index, (event, data) in enumerate(zip(request.events, request.data, strict=True)):
        event_id = event.event_id
        known = lookup.known_events.get(event_id) if event_id is not None else None
        if event_id is None or known is None:
            repeated = ids[first_known]
            raise DuplicateEventId(
                str(repeated),
                first_known,
                reason=f"event id {repeated} is already in the log, but event [{index}] of this "
                "request is not: a retry must repeat the whole request, new events go in a new one",
            )
        position, stream_id, version, event_type, stored, occurred_on, partner = known
        sent_on = event.occurred_on.isoformat() if event.occurred_on is not None else None
        if (stream_id, event_type, stored, occurred_on, partner) != (
            event.stream_id,
            event.type,
            data.decode(),
            sent_on,
            event.metadata.get("partner_org_id"),
        ):
            # The same id for other content: another event (or another date, another partner).
            raise DuplicateEventId(str(event_id), index)
        results.append(
            AppendedEvent(event_id=event_id, position=position, stream=stream_id, stream_version=version)
        )
    return results


class ProjectWriter:
    """The queue and group-commit loop of one project's log in this process."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        project_id: str,
        *,
        channel: str,
        observer: AppendObserver | None,
        admission: Admission | None,
        max_group_events: int,
        max_in_flight: int,
    ) -> None:
        self._pool = pool
        self._project_id = project_id
        self._channel = channel
        self._observer = observer
        self._admission = admission
        self._max_group_events = max_group_events
        self._max_in_flight = max_in_flight
        self._pending: collections.deque[_Request] = collections.deque()
        self._in_flight = 0
        self._tasks: set[asyncio.Task[None]] = set()

    async def append(self, events: Sequence[NewEvent], idempotency_key: str | None) -> list[AppendedEvent]:
        """Queue one all-or-nothing request and wait for its group to commit."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        future: asyncio.Future[list[AppendedEvent]] = loop.create_future()
        self._pending.append(_Request(events, idempotency_key, future))
        self._start_drains()
        try:
            return await future
        finally:
            if self._observer is not None:
                self._observer.observe_request(self._project_id, loop.time() - started)

    def _start_drains(self) -> None:
        while self._pending and self._in_flight < self._max_in_flight:
            self._in_flight += 1
            task = asyncio.create_task(self._drain())
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _drain(self) -> None:
        """Write groups while requests wait, keeping one connection across them."""
        try:
            while self._pending:
                group = self._take_group()
                try:
                    async with self._pool.acquire() as connection:
                        while await self._commit(connection, group):
                            # Let the callers just answered queue their next requests, so they
                            # join the next group on this connection.
                            await asyncio.sleep(0)
                            if not self._pending:
                                break
                            group = self._take_group()
                except CONNECTION_ERRORS as error:
                    # No connection could be had (or it failed its reset once released).
                    self._answer(group, [_outcome_unknown(error)] * len(group))
        finally:
            self._in_flight -= 1
            if self._pending:
                self._start_drains()

    def _take_group(self) -> list[_Request]:
        """Take waiting requests up to the size cap; a request that repeats a key or event id of
        an earlier one in the group waits for the next group so it sees that one's result.

        Every waiting request joins, rather than the waiting requests being shared among the free
        slots so that two groups overlap: a transaction costs about 1 ms of CPU (client and
        server) before its first event, and on two cores the extra transactions cost more than
        the overlap gains (measured with bench/append.py).
        """
        group: list[_Request] = []
        keys: set[str] = set()
        ids: set[uuid.UUID] = set()
        deferred: list[_Request] = []
        size = 0
        while self._pending and size < self._max_group_events:
            request = self._pending.popleft()
            request_ids = {e.event_id for e in request.events if e.event_id is not None}
            if (request.idempotency_key in keys) or (ids & request_ids):
                deferred.append(request)
                continue
            if request.idempotency_key is not None:
                keys.add(request.idempotency_key)
            ids |= request_ids
            group.append(request)
            size += len(request.events)
        self._pending.extendleft(reversed(deferred))
        return group

    async def _commit(self, connection: Connection, group: list[_Request]) -> bool:
        """Write one group and answer its callers; False if the connection must not be reused."""
        started = time.perf_counter()
        usable = True
        try:
            outcomes = await self._write_each_on_failure(connection, group)
        except CONNECTION_ERRORS as error:
            outcomes = [_outcome_unknown(error)] * len(group)
            usable = False
        except Exception as error:
            # A bug, not a refusal: the transaction rolled back; no caller may be left waiting.
            log.exception("append group failed", extra={"project": self._project_id})
            outcomes = [error] * len(group)
            usable = False
        self._answer(group, outcomes)
        if self._observer is not None:
            written = sum(len(o) for o in outcomes if isinstance(o, list) and not isinstance(o, _Replayed))
            self._observer.observe_group(self._project_id, written, len(group), time.perf_counter() - started)
        return usable

    async def _write_each_on_failure(
        self, connection: Connection, group: list[_Request]
    ) -> list[list[AppendedEvent] | BaseException]:
        """The group in one transaction; if the database refuses it, each request on its own, so
        one bad request does not fail the others."""
        try:
            return await self._write(connection, group)
        except (asyncpg.PostgresError, asyncpg.DataError) as error:
            if _connection_lost(error):
                raise
            if len(group) == 1:
                return [error]
        outcomes: list[list[AppendedEvent] | BaseException] = []
        for request in group:
            try:
                outcomes.extend(await self._write(connection, [request]))
            except (asyncpg.PostgresError, asyncpg.DataError) as single_error:
                if _connection_lost(single_error):
                    raise
                outcomes.append(single_error)
        return outcomes

    def _answer(self, group: list[_Request], outcomes: Sequence[list[AppendedEvent] | BaseException]) -> None:
        for request, outcome in zip(group, outcomes, strict=True):
            if request.future.done():
                continue
            if isinstance(outcome, BaseException):
                request.future.set_exception(outcome)
            else:
                request.future.set_result(list(outcome) if isinstance(outcome, _Replayed) else outcome)

    async def _decide(
        self, request: _Request, lookup: _Lookup, batch: _Group
    ) -> list[AppendedEvent] | BaseException:
        """Replay, refuse, or add one request to the group."""
        try:
            replayed = _replayed(request, lookup)
            if replayed is not None:
                return _Replayed(replayed)
            batch.check(request)
            if self._admission is not None:
                refusal = await self._admission.admit(
                    self._project_id, request.events, request.event_ids, batch.position + 1
                )
                if refusal is not None:
                    return refusal
            return batch.add(request)
        except EventStoreError as refusal:
            return refusal

    async def _write(
        self, connection: Connection, group: Sequence[_Request]
    ) -> list[list[AppendedEvent] | BaseException]:
        """One transaction for the whole group; returns each request's result or refusal."""
        streams = sorted({e.stream_id for r in group for e in r.events})
        event_ids = [e.event_id for r in group for e in r.events if e.event_id is not None]
        keys = [r.idempotency_key for r in group if r.idempotency_key is not None]
        outcomes: list[list[AppendedEvent] | BaseException] = []
        admission = self._admission
        committed = False
        try:
            async with connection.transaction():
                row = await connection.fetchrow(LOCK_HEAD, self._project_id, streams, event_ids, keys)
                if row is None or row["head_position"] is None:
                    return [ProjectNotFound(self._project_id) for _ in group]
                lookup = _decode_lookup(row)
                if admission is not None:
                    await admission.begin(connection, self._project_id, lookup.position)
                now = dt.datetime.now(dt.UTC)
                recorded_at = max(now, lookup.recorded_at) if lookup.recorded_at else now
                batch = _Group(self._project_id, lookup, recorded_at)
                for request in group:
                    outcomes.append(await self._decide(request, lookup, batch))
                await _flush_rows(connection, batch, self._channel)
            committed = True
        finally:
            if admission is not None:
                admission.end(self._project_id, committed)
        if batch.placed:
            log.info(
                "append",
                extra={
                    "project": self._project_id,
                    "first_position": batch.head_position + 1,
                    "last_position": batch.position,
                    "events": len(batch.placed),
                    "requests": len(group),
                },
            )
        return outcomes


async def _flush_rows(connection: Connection, batch: _Group, channel: str) -> None:
    """COPY the group's rows, move the head, upsert stream versions and keys, NOTIFY."""
    if not batch.placed:
        return
    await connection.copy_records_to_table("events", records=batch.rows(), columns=EVENT_COLUMNS)
    await connection.execute(
        MOVE_HEAD,
        batch.project_id,
        batch.position,
        batch.hash,
        batch.recorded_at,
        list(batch.touched),
        list(batch.touched.values()),
        [k[0] for k in batch.keys],
        [k[1] for k in batch.keys],
        [k[2] for k in batch.keys],
        channel,
    )


def _outcome_unknown(error: BaseException) -> AppendOutcomeUnknown:
    """The transaction may have committed just before the connection went: the caller must not
    assume either way, and a retry with the same key is safe."""
    return AppendOutcomeUnknown(
        f"the database connection failed during the append ({type(error).__name__}); "
        "retry with the same Idempotency-Key"
    )


def _connection_lost(error: BaseException) -> bool:
    """Connection exceptions (08…) and operator intervention (57P…: terminated, shut down)."""
    state = getattr(error, "sqlstate", None) or ""
    return isinstance(error, asyncpg.PostgresConnectionError) or state.startswith(("08", "57P"))


def _decode_lookup(row: asyncpg.Record) -> _Lookup:
    known_events = {
        uuid.UUID(e[0]): (int(e[1]), str(e[2]), int(e[3]), str(e[4]), str(e[5]), e[6], e[7])
        for e in msgspec.json.decode(row["known_events"])
    }
    known_keys = {
        str(k[0]): (str(k[1]), _results_decoder.decode(msgspec.json.encode(k[2])))
        for k in msgspec.json.decode(row["known_keys"])
    }
    return _Lookup(
        position=row["head_position"],
        hash=bytes(row["head_hash"]),
        recorded_at=row["head_recorded_at"],
        stream_versions=msgspec.json.decode(row["stream_versions"], type=dict[str, int]),
        known_events=known_events,
        known_keys=known_keys,
    )


async def create_log(connection: Executor, project_id: str) -> bool:
    """Create an empty log for a project; False if it already existed."""
    status = await connection.execute(CREATE_HEAD, project_id, GENESIS_HASH)
    return bool(status == "INSERT 0 1")
