"""Many writers, one project: dense positions, commit order = position order, a valid chain."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from events.envelope import NewEvent
from events.errors import AppendOutcomeUnknown
from events.read import read_log
from events.store import EventStore
from tests.conftest import Database

WRITERS = 8
APPENDS_EACH = 500


async def test_eight_writers_and_a_tailing_reader_see_a_dense_ordered_log(db: Database) -> None:
    # Two stores on two pools behave like two service processes appending to one project.
    second_pool = await db.new_pool(min_size=1, max_size=4)
    stores = [EventStore(db.pool, channel="t"), EventStore(second_pool, channel="t")]
    await stores[0].create_project("p")
    total = WRITERS * APPENDS_EACH
    seen: list[int] = []
    done = asyncio.Event()

    async def writer(index: int) -> None:
        store = stores[index % 2]
        for n in range(APPENDS_EACH):
            await store.append(
                "p", [NewEvent(stream_id=f"w{index}", type="Tick", data={"writer": index, "n": n})]
            )

    async def reader() -> None:
        async with db.pool.acquire() as connection:
            while len(seen) < total:
                after = seen[-1] if seen else 0
                batch = await read_log(connection, "p", after=after, limit=700)
                for event in batch:
                    # Never N before N-1: each read continues exactly where the last one stopped.
                    assert event.position == (seen[-1] if seen else 0) + 1
                    seen.append(event.position)
                if not batch:
                    if done.is_set() and len(seen) < total:
                        continue
                    await asyncio.sleep(0.001)

    try:
        tail = asyncio.create_task(reader())
        await asyncio.gather(*(writer(i) for i in range(WRITERS)))
        done.set()
        await asyncio.wait_for(tail, 30)
    finally:
        await second_pool.close()
    assert seen == list(range(1, total + 1))
    report = await stores[0].verify("p")
    assert report.ok and report.head_position == total
    per_stream = await db.pool.fetch(
        "SELECT stream_id, max(stream_version) AS v, count(*) AS n FROM events GROUP BY stream_id"
    )
    assert all(r["v"] == r["n"] == APPENDS_EACH for r in per_stream)


async def test_a_connection_killed_mid_append_leaves_nothing_half_written(
    store: EventStore, db: Database
) -> None:
    await store.create_project("p")
    await store.append("p", [NewEvent(stream_id="x", type="T", data={})])
    # Hold the stream's row so the append blocks after it has copied its rows, then kill it there.
    blocker = await db.connect()
    try:
        blocker_tx = blocker.transaction()
        await blocker_tx.start()
        await blocker.execute("SELECT * FROM streams WHERE stream_id = 'x' FOR UPDATE")
        batch = [NewEvent(stream_id="x", type="T", data={"n": n}) for n in range(2000)]
        append = asyncio.create_task(store.append("p", batch, idempotency_key="big"))
        pid = None
        for _ in range(500):
            # Not on the blocker: inside its transaction pg_stat_activity is a cached snapshot.
            pid = await db.pool.fetchval(
                """SELECT pid FROM pg_stat_activity
                    WHERE wait_event_type = 'Lock' AND query LIKE '%log_heads SET%'"""
            )
            if pid:
                break
            await asyncio.sleep(0.01)
        assert pid, "the append never reached the blocked statement"
        await db.pool.execute("SELECT pg_terminate_backend($1)", pid)
        with pytest.raises(AppendOutcomeUnknown):
            await append
        await blocker_tx.rollback()
    finally:
        await blocker.close()
    assert await db.pool.fetchval("SELECT count(*) FROM events") == 1
    head = await store.head("p")
    assert head is not None and head.position == 1
    assert (await store.verify("p")).ok
    # The retry the error message asks for writes the batch exactly once.
    retried = await store.append("p", batch, idempotency_key="big")
    assert retried[0].position == 2 and retried[-1].position == 2001
    assert (await store.append("p", batch, idempotency_key="big")) == retried
    assert (await store.verify("p")).ok


async def test_client_event_ids_survive_concurrent_duplicates(store: EventStore, db: Database) -> None:
    await store.create_project("p")
    event = NewEvent(stream_id="s", type="T", data={"v": 1}, event_id=uuid.uuid4())
    results = await asyncio.gather(*(store.append("p", [event]) for _ in range(12)))
    assert all(r == results[0] for r in results)
    assert await db.pool.fetchval("SELECT count(*) FROM events") == 1
