"""Scheduled snapshots: each project's milestones published when due, exactly once, driven by a
clock the test controls (no test waits for real minutes)."""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

import httpx
import msgspec
import pytest

from events.catalog import ProjectRegistered
from events.read import read_log
from indicators.snapshot_schedule import calendar_period, milestones
from indicators.snapshot_store import list_snapshots
from service.scheduler import SnapshotScheduler, catch_up_due_snapshots
from tests.conftest import Database
from tests.story import REGISTRATION
from tests.test_snapshots import (
    PROJECT,
    SYSTEM,
    Crash,
    client,
    logged_types,
    publisher_on,
    scheduler_settings,
    story_project,
)

__all__ = ["client"]  # the fixture, shared with test_snapshots

UTC = dt.UTC
REGISTERED = msgspec.convert(REGISTRATION, type=ProjectRegistered, strict=False)
BEFORE_RP1_CLOSES = dt.datetime(2025, 12, 31, 23, 0, tzinfo=UTC)
RP1_CLOSED = dt.datetime(2026, 1, 1, 0, 5, tzinfo=UTC)
PROJECT_OVER = dt.datetime(2027, 1, 1, 0, 5, tzinfo=UTC)


async def published_ids(db: Database) -> list[str]:
    return [record.snapshot_id for record in await list_snapshots(db.pool, PROJECT)]


def test_milestones_follow_the_reporting_periods_and_the_periodic_cadence() -> None:
    owed = milestones(REGISTERED, "quarterly", grace=dt.timedelta(minutes=10))
    assert [(m.kind, m.period.period_id) for m in owed if m.kind != "periodic"] == [
        ("interim", "RP1"),
        ("final", "RP2"),
    ]
    assert [m.period.period_id for m in owed if m.kind == "periodic"] == [
        f"{year}-Q{q}" for year in (2025, 2026) for q in (1, 2, 3, 4)
    ]
    rp1 = next(m for m in owed if m.kind == "interim")
    assert rp1.as_of_before == dt.datetime(2026, 1, 1, tzinfo=UTC)
    assert rp1.due_at == dt.datetime(2026, 1, 1, 0, 10, tzinfo=UTC)
    assert calendar_period("2025-03").end == dt.date(2025, 3, 31)
    assert calendar_period("2024-Q1").end == dt.date(2024, 3, 31)


async def test_the_interim_snapshot_is_published_once_its_period_has_closed(
    client: httpx.AsyncClient, db: Database
) -> None:
    await story_project(client, db)
    publisher = publisher_on(db.pool)
    assert await catch_up_due_snapshots(publisher, BEFORE_RP1_CLOSES) == []
    done = await catch_up_due_snapshots(publisher, RP1_CLOSED)
    assert [p.record.snapshot_id for p in done] == ["demo.interim.RP1"]
    assert await catch_up_due_snapshots(publisher, RP1_CLOSED + dt.timedelta(hours=1)) == []
    assert await published_ids(db) == ["demo.interim.RP1"]
    (event,) = [e for e in await read_log(db.pool, PROJECT, limit=1000) if e.type == "SnapshotPublished"]
    assert event.decoded_metadata()["actor"] == "snapshot-scheduler"
    assert event.decoded_data()["period_id"] == "RP1"


async def test_two_schedulers_publish_one_snapshot(client: httpx.AsyncClient, db: Database) -> None:
    await story_project(client, db)
    other_pool = await db.new_pool(min_size=1, max_size=4)
    try:
        first, second = await asyncio.gather(
            catch_up_due_snapshots(publisher_on(db.pool), RP1_CLOSED),
            catch_up_due_snapshots(publisher_on(other_pool), RP1_CLOSED),
        )
    finally:
        await other_pool.close()
    assert sorted(p.created for p in [*first, *second]) == [False, True]
    assert await published_ids(db) == ["demo.interim.RP1"]
    assert await logged_types(db, "SnapshotPublished") == 1


async def test_a_service_down_at_the_scheduled_times_publishes_every_missed_snapshot_when_back(
    client: httpx.AsyncClient, db: Database
) -> None:
    await story_project(client, db)
    done = await catch_up_due_snapshots(publisher_on(db.pool), PROJECT_OVER, cadence="quarterly")
    ids = [p.record.snapshot_id for p in done]
    # In due order: the interim RP1 snapshot falls due with the 2025-Q4 one, at the year's end.
    assert ids[:5] == [
        *(f"demo.periodic.2025-Q{q}" for q in (1, 2, 3)),
        "demo.interim.RP1",
        "demo.periodic.2025-Q4",
    ]
    assert set(ids) >= {"demo.interim.RP1", "demo.final.RP2", "demo.periodic.2026-Q4"}
    assert len(ids) == 10 == await logged_types(db, "SnapshotPublished")
    # Periodic snapshots are logged as ad-hoc ones (the catalog has no "periodic" kind yet).
    kinds = [
        e.decoded_data()["kind"]
        for e in await read_log(db.pool, PROJECT, limit=1000)
        if e.type == "SnapshotPublished"
    ]
    assert kinds.count("adhoc") == 8 and kinds.count("interim") == kinds.count("final") == 1


async def test_a_restart_at_the_scheduled_minute_publishes_nothing_twice(
    client: httpx.AsyncClient, db: Database
) -> None:
    await story_project(client, db)
    await catch_up_due_snapshots(publisher_on(db.pool), RP1_CLOSED)
    restarted = publisher_on(db.pool)  # a new process: nothing remembered but the database
    assert await catch_up_due_snapshots(restarted, RP1_CLOSED) == []
    assert await logged_types(db, "SnapshotPublished") == 1


async def test_the_scheduler_finishes_a_snapshot_whose_publisher_crashed(
    client: httpx.AsyncClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await story_project(client, db)
    crashing = publisher_on(db.pool)

    async def crash(*args: Any, **kwargs: Any) -> Any:
        raise Crash("killed mid-publish")

    monkeypatch.setattr(crashing.store, "append", crash)
    assert await catch_up_due_snapshots(crashing, RP1_CLOSED) == []  # logged, not raised
    assert await published_ids(db) == []
    done = await catch_up_due_snapshots(publisher_on(db.pool), RP1_CLOSED)
    assert [(p.record.snapshot_id, p.created) for p in done] == [("demo.interim.RP1", False)]
    assert await logged_types(db, "SnapshotPublished") == 1


async def test_the_running_scheduler_catches_up_at_start_by_its_clock(
    client: httpx.AsyncClient, db: Database
) -> None:
    await story_project(client, db)
    scheduler = SnapshotScheduler(
        publisher_on(db.pool), scheduler_settings(enabled=True), clock=lambda: PROJECT_OVER
    )
    scheduler.start()
    try:
        for _ in range(200):  # the first run starts at once; poll it, never wait for the interval
            if len(await published_ids(db)) == 2:
                break
            await asyncio.sleep(0.05)
    finally:
        await scheduler.stop()
    assert await published_ids(db) == ["demo.interim.RP1", "demo.final.RP2"]
    assert await logged_types(db, "SnapshotPublished") == 2


async def test_whoever_publishes_is_recorded_as_the_snapshot_events_actor(
    client: httpx.AsyncClient, db: Database
) -> None:
    await story_project(client, db)
    await publisher_on(db.pool).publish(PROJECT, "adhoc", actor=SYSTEM)
    (event,) = [e for e in await read_log(db.pool, PROJECT, limit=1000) if e.type == "SnapshotPublished"]
    assert event.decoded_metadata()["actor"] == "test"
    assert event.occurred_on is not None
