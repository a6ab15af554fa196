"""A rebuild from zero commits nothing until its swap: its heartbeat tells every process's status
that it is progressing, so /health on a replica does not call the projection stalled."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import asyncpg
import pytest

from events.connection import Connection
from projections import KeyedProjection, OrganisationsProjection, ProjectionService, ProjectionStatus
from projections.checkpoints import clear_rebuild_progress, record_rebuild_progress, try_lock
from service.demo import load_demo
from tests.conftest import Database
from tests.test_projections import (
    caught_up,
    channel,
    eventually,
    fold_first_events,
    head_of,
    new_project,
    recorder,
    service,
    tables_with_a_partition_of,
)

STALL_AFTER = 0.3


async def heartbeat_of(db: Database, projection: str, project_id: str) -> dt.datetime | None:
    at: dt.datetime | None = await db.pool.fetchval(
        "SELECT rebuild_progress_at FROM projection_checkpoints WHERE projection = $1 AND project_id = $2",
        projection,
        project_id,
    )
    return at


async def status_on(replica: ProjectionService, project_id: str) -> ProjectionStatus:
    (status,) = [s for s in await replica.status() if s.project_id == project_id]
    return status


async def test_a_replica_sees_another_process_rebuilding_until_its_heartbeat_is_older_than_stall_after(
    db: Database,
) -> None:
    rec = recorder(db)
    await new_project(rec, "p1")
    projection = OrganisationsProjection()
    await fold_first_events(db, [projection], "p1", 1)  # an old checkpoint, far from the head
    # Another process holds the runner lock and rebuilds; this one only reads the database.
    rebuilder = await db.connect()
    try:
        assert await try_lock(rebuilder, projection.name)
        replica = service(db, [projection], stall_after=STALL_AFTER)
        await asyncio.sleep(STALL_AFTER + 0.2)

        await record_rebuild_progress(rebuilder, projection.name, "p1", projection.version, 0.0)
        progressing = await status_on(replica, "p1")
        assert not progressing.running and progressing.holder_pid == rebuilder.get_server_pid()
        assert progressing.lag > 0 and progressing.behind_seconds > STALL_AFTER
        assert (progressing.rebuilding, progressing.stalled) == (True, False)

        await asyncio.sleep(STALL_AFTER + 0.2)  # no beat since: the rebuild is stuck, or gone
        silent = await status_on(replica, "p1")
        assert (silent.rebuilding, silent.stalled) == (False, True)

        await record_rebuild_progress(rebuilder, projection.name, "p1", projection.version, 0.0)
        assert (await status_on(replica, "p1")).stalled is False
        await clear_rebuild_progress(rebuilder, projection.name, "p1")
        ended = await status_on(replica, "p1")
        assert (ended.rebuilding, ended.stalled) == (False, True)
    finally:
        await rebuilder.close()


@pytest.mark.parametrize("start", ["restored log, no checkpoint", "checkpoint far behind"])
async def test_a_rebuild_writes_its_heartbeat_while_it_runs_and_clears_it_when_it_ends(
    db: Database, monkeypatch: pytest.MonkeyPatch, start: str
) -> None:
    rec = recorder(db)
    await load_demo(rec, "demo")
    projection = OrganisationsProjection()
    if start == "checkpoint far behind":
        await fold_first_events(db, [projection], "demo", 500)
    swap_in_builds = KeyedProjection.swap_in_builds
    during: list[dict[str, Any]] = []
    other_process = await db.new_pool(min_size=1, max_size=2)
    replica = ProjectionService(other_process, [projection], channel=channel(db))

    async def watched_swap(
        self: KeyedProjection, connection: Connection, project_id: str, builds: dict[str, str]
    ) -> None:
        # Inside the swap transaction, which holds the checkpoint row: a beat now gives way.
        async with other_process.acquire() as beat:
            with pytest.raises(asyncpg.LockNotAvailableError):
                await record_rebuild_progress(beat, projection.name, project_id, projection.version, 0.0)
        during.append(
            {
                "heartbeat": await heartbeat_of(db, projection.name, project_id),
                "replica": await status_on(replica, project_id),
            }
        )
        await swap_in_builds(self, connection, project_id, builds)

    monkeypatch.setattr(KeyedProjection, "swap_in_builds", watched_swap)
    rebuilder = service(db, [projection], fast_path_after=1000)
    try:
        await rebuilder.start()
        await caught_up(rebuilder, db, "demo", timeout=60)
    finally:
        await rebuilder.stop()
    try:
        (seen,) = during
        assert seen["heartbeat"] is not None
        assert seen["replica"].rebuilding and not seen["replica"].stalled and not seen["replica"].running
        assert await tables_with_a_partition_of(db, "demo") == set(projection.tables)
        assert await heartbeat_of(db, projection.name, "demo") is None
        after = await status_on(replica, "demo")
        assert (after.lag, after.rebuilding, after.stalled) == (0, False, False)
        assert after.checkpoint == await head_of(db, "demo")
    finally:
        await other_process.close()


async def test_a_failed_rebuild_clears_its_heartbeat(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    rec = recorder(db)
    await load_demo(rec, "demo")
    projection = OrganisationsProjection()
    beats: list[dt.datetime | None] = []

    async def failing_swap(
        self: KeyedProjection, connection: Connection, project_id: str, builds: dict[str, str]
    ) -> None:
        beats.append(await heartbeat_of(db, projection.name, project_id))
        raise RuntimeError("crash mid-swap")

    monkeypatch.setattr(KeyedProjection, "swap_in_builds", failing_swap)
    # A long back-off: no second attempt starts while the first one's end is looked at.
    rebuilder = service(db, [projection], fast_path_after=1000, poll_interval=5.0)
    try:
        await rebuilder.start()

        async def failed() -> bool:
            return any(s.error is not None for s in await rebuilder.status())

        await eventually(failed, timeout=60)
        (status,) = await rebuilder.status()
        assert status.error == "RuntimeError: crash mid-swap"
        assert len(beats) == 1 and beats[0] is not None
        assert await heartbeat_of(db, projection.name, "demo") is None
        assert not status.rebuilding
    finally:
        await rebuilder.stop()
