"""The event log's contracts, against a real PostgreSQL."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import uuid

import asyncpg
import pytest

from events.envelope import NewEvent
from events.errors import (
    DuplicateEventId,
    IdempotencyKeyReused,
    ProjectAlreadyExists,
    ProjectNotFound,
    WrongExpectedVersion,
)
from events.store import EventStore
from tests.conftest import Database


def training(session: str, hours: str = "3.5") -> NewEvent:
    return NewEvent(
        stream_id=f"activity-{session}",
        type="TrainingDelivered",
        occurred_on=dt.date(2025, 2, 18),
        data={"session_id": session, "duration_hours": hours, "topic": "digital"},
        metadata={"actor": "staff-at", "request_id": str(uuid.uuid4())},
    )


async def count_rows(db: Database, project: str = "p") -> int:
    return int(await db.pool.fetchval("SELECT count(*) FROM events WHERE project_id = $1", project))


async def test_positions_start_at_one_and_streams_count_their_own_versions(store: EventStore) -> None:
    await store.create_project("p")
    first = await store.append("p", [training("s1"), training("s2"), training("s1")])
    assert [(e.position, e.stream, e.stream_version) for e in first] == [
        (1, "activity-s1", 1),
        (2, "activity-s2", 1),
        (3, "activity-s1", 2),
    ]
    head = await store.head("p")
    assert head is not None and head.position == 3
    stream = await store.read_stream("p", "activity-s1")
    assert [e.position for e in stream] == [1, 3]
    assert stream[1].decoded_data()["session_id"] == "s1"


async def test_projects_have_separate_logs(store: EventStore) -> None:
    await store.create_project("a")
    await store.create_project("b")
    await store.append("a", [training("x")])
    result = await store.append("b", [training("x"), training("y")])
    assert [e.position for e in result] == [1, 2]
    assert [e.position for e in await store.read_log("a")] == [1]


async def test_creating_a_project_twice_is_refused(store: EventStore) -> None:
    await store.create_project("p")
    with pytest.raises(ProjectAlreadyExists):
        await store.create_project("p")


async def test_appending_to_an_unknown_project_is_refused(store: EventStore, db: Database) -> None:
    with pytest.raises(ProjectNotFound):
        await store.append("nowhere", [training("s1")])
    assert await count_rows(db, "nowhere") == 0


async def test_wrong_expected_version_writes_nothing(store: EventStore, db: Database) -> None:
    await store.create_project("p")
    await store.append_to_stream("p", "activity-s1", [training("s1")], expected_version=0)
    with pytest.raises(WrongExpectedVersion) as refused:
        await store.append_to_stream("p", "activity-s1", [training("s1"), training("s1")], expected_version=0)
    assert (refused.value.expected, refused.value.actual) == (0, 1)
    assert await count_rows(db) == 1
    done = await store.append_to_stream("p", "activity-s1", [training("s1")], expected_version=1)
    assert done[0].stream_version == 2


async def test_concurrent_writers_expecting_the_same_version_only_one_wins(store: EventStore) -> None:
    await store.create_project("p")
    attempts = [
        store.append_to_stream("p", "exchange-e1", [training("e1")], expected_version=0) for _ in range(10)
    ]
    outcomes = await asyncio.gather(*attempts, return_exceptions=True)
    assert sum(not isinstance(o, BaseException) for o in outcomes) == 1
    assert all(isinstance(o, WrongExpectedVersion) for o in outcomes if isinstance(o, BaseException))


async def test_retry_with_the_same_idempotency_key_returns_the_original_positions(
    store: EventStore, db: Database
) -> None:
    await store.create_project("p")
    first = await store.append("p", [training("s1"), training("s2")], idempotency_key="req-1")
    await store.append("p", [training("s3")])
    again = await store.append("p", [training("s1"), training("s2")], idempotency_key="req-1")
    assert again == first
    assert await count_rows(db) == 3


async def test_concurrent_retries_with_one_key_write_once(store: EventStore, db: Database) -> None:
    await store.create_project("p")
    results = await asyncio.gather(
        *[store.append("p", [training("s1")], idempotency_key="same") for _ in range(20)]
    )
    assert all(r == results[0] for r in results)
    assert await count_rows(db) == 1


async def test_reusing_a_key_for_other_content_is_refused(store: EventStore, db: Database) -> None:
    await store.create_project("p")
    await store.append("p", [training("s1")], idempotency_key="req-1")
    with pytest.raises(IdempotencyKeyReused):
        await store.append("p", [training("s1", hours="4")], idempotency_key="req-1")
    assert await count_rows(db) == 1


async def test_the_same_event_ids_again_return_the_original_positions(
    store: EventStore, db: Database
) -> None:
    await store.create_project("p")
    ids = [uuid.uuid4(), uuid.uuid4()]
    events = [
        NewEvent(stream_id="activity-a", type="T", data={"n": 1}, event_id=ids[0]),
        NewEvent(stream_id="activity-b", type="T", data={"n": 2}, event_id=ids[1]),
    ]
    first = await store.append("p", events)
    again = await store.append("p", events)
    assert again == first
    assert await count_rows(db) == 2
    changed = NewEvent(stream_id="activity-a", type="T", data={"n": 9}, event_id=ids[0])
    with pytest.raises(DuplicateEventId):
        await store.append("p", [changed])
    assert await count_rows(db) == 2


async def test_a_bad_event_in_a_batch_writes_none_of_the_batch(store: EventStore, db: Database) -> None:
    await store.create_project("p")
    await store.append("p", [training("s1")])
    bad = NewEvent(stream_id="activity-s1", type="T", data={}, expected_version=7)
    with pytest.raises(WrongExpectedVersion) as refused:
        await store.append("p", [training("s2"), training("s3"), bad])
    assert refused.value.index == 2
    assert await count_rows(db) == 1
    head = await store.head("p")
    assert head is not None and head.position == 1


async def test_a_refused_request_does_not_fail_the_others_in_its_group(
    store: EventStore, db: Database
) -> None:
    await store.create_project("p")
    await store.append("p", [training("s0")])
    requests = [store.append("p", [training(f"ok{i}")]) for i in range(30)]
    requests.insert(15, store.append_to_stream("p", "activity-s0", [training("s0")], expected_version=0))
    outcomes = await asyncio.gather(*requests, return_exceptions=True)
    assert sum(isinstance(o, WrongExpectedVersion) for o in outcomes) == 1
    assert await count_rows(db) == 31
    assert (await store.verify("p")).ok


async def test_a_database_error_in_one_request_does_not_fail_its_group(
    store: EventStore, db: Database
) -> None:
    await store.create_project("p")
    # A NUL character cannot be stored in a text column: the database refuses that one request.
    poisoned = NewEvent(stream_id="activity-\x00", type="T", data={})
    requests = [store.append("p", [training(f"ok{i}")]) for i in range(20)]
    requests.insert(7, store.append("p", [poisoned]))
    outcomes = await asyncio.gather(*requests, return_exceptions=True)
    failures = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(failures) == 1 and isinstance(failures[0], asyncpg.PostgresError | asyncpg.DataError)
    assert await count_rows(db) == 20
    assert (await store.verify("p")).ok


@pytest.mark.parametrize(
    "statement",
    [
        "UPDATE events SET type = 'Forged'",
        "DELETE FROM events",
        "TRUNCATE events",
    ],
)
async def test_the_log_refuses_update_delete_and_truncate(
    store: EventStore, db: Database, statement: str
) -> None:
    await store.create_project("p")
    await store.append("p", [training("s1")])
    with pytest.raises(asyncpg.PostgresError, match="append-only"):
        await db.pool.execute(statement)
    assert await count_rows(db) == 1


async def test_verify_names_the_first_tampered_position(store: EventStore, db: Database) -> None:
    await store.create_project("p")
    await store.append("p", [training(f"s{i}") for i in range(10)])
    assert (await store.verify("p")).ok
    # A superuser can switch the trigger off; the hash chain still tells.
    async with db.pool.acquire() as connection, connection.transaction():
        await connection.execute("ALTER TABLE events DISABLE TRIGGER events_no_update_delete")
        await connection.execute(
            """UPDATE events SET data = '{"session_id":"s6","duration_hours":"30","topic":"digital"}'
               WHERE project_id = 'p' AND position = 7"""
        )
        await connection.execute("ALTER TABLE events ENABLE TRIGGER events_no_update_delete")
    report = await store.verify("p")
    assert not report.ok
    assert report.first_bad_position == 7
    assert report.events_checked == 6


async def test_verify_finds_a_deleted_event(store: EventStore, db: Database) -> None:
    await store.create_project("p")
    await store.append("p", [training(f"s{i}") for i in range(5)])
    async with db.pool.acquire() as connection, connection.transaction():
        await connection.execute("ALTER TABLE events DISABLE TRIGGER events_no_update_delete")
        await connection.execute("DELETE FROM events WHERE project_id = 'p' AND position = 3")
        await connection.execute("ALTER TABLE events ENABLE TRIGGER events_no_update_delete")
    report = await store.verify("p")
    assert (report.ok, report.first_bad_position) == (False, 3)


async def test_recorded_at_never_goes_back_along_the_log(store: EventStore) -> None:
    await store.create_project("p")
    for i in range(5):
        await store.append("p", [training(f"s{i}")])
    events = await store.read_log("p")
    assert all(a.recorded_at <= b.recorded_at for a, b in itertools.pairwise(events))
    assert all(e.tx_id > 0 for e in events)


async def test_metadata_and_occurred_on_are_kept(store: EventStore) -> None:
    await store.create_project("p")
    await store.append("p", [training("s1")])
    (event,) = await store.read_log("p")
    assert event.occurred_on == dt.date(2025, 2, 18)
    assert event.decoded_metadata()["actor"] == "staff-at"
    assert event.type == "TrainingDelivered" and event.schema_version == 1


async def test_rewriting_stream_versions_does_not_grow_the_streams_table(
    store: EventStore, db: Database
) -> None:
    # Every append rewrites the version of each stream it touches; those updates must stay on
    # their page (heap-only, pruned when the page is next read) rather than leave a dead tuple
    # and an index entry behind on a new page for VACUUM to reclaim (autovacuum may be off).
    await store.create_project("p")
    await store.append("p", [training(f"s{n}") for n in range(1500)])
    size = "SELECT pg_relation_size('streams')"
    after_insert = await db.pool.fetchval(size)
    for _ in range(3):
        for first in range(0, 1500, 100):
            await store.append("p", [training(f"s{n}") for n in range(first, first + 100)])
    assert await db.pool.fetchval(size) == after_insert
    versions = await db.pool.fetch("SELECT DISTINCT version FROM streams WHERE project_id = 'p'")
    assert [row["version"] for row in versions] == [4]
