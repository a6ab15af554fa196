"""Projection runners and replay on a real PostgreSQL: catch-up and live following, exactly-once
under crashes, one active runner across processes, status, and rebuilds from zero that equal
the live read models — and agree with the KPI engine's own fold of the log."""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import uuid
from collections.abc import Awaitable, Callable, Sequence
from decimal import Decimal
from typing import Any

import asyncpg
import msgspec
import pytest
from prometheus_client import CollectorRegistry, generate_latest

from events.admission import WriteModelAdmission
from events.catalog import (
    CoachingSessionHeld,
    OutreachEventHeld,
    SMESurveyResponseRecorded,
    TrainingDelivered,
)
from events.connection import Connection
from events.entries import LogEntry, log_entry
from events.envelope import RecordedEvent
from events.read import iterate_log, read_head, read_log
from events.store import EventStore
from indicators.log_view import fold_log
from projections import (
    ActivitiesProjection,
    ExchangesProjection,
    KeyedProjection,
    OrganisationsProjection,
    ProjectionService,
    ProjectionStatus,
    ReplayProgress,
    default_projections,
    rebuild,
    replay,
)
from projections.checkpoints import lock_checkpoint, set_checkpoint
from projections.metrics import ProjectionMetrics
from projections.organisations import SIZE_CLASS_ON, OrganisationRow
from projections.partitions import claimed_build, create_build, drop_abandoned_builds
from service.commands import EventCommand
from service.demo import load_demo
from service.recording import Recorder
from tests.conftest import Database
from tests.story import REGISTRATION, founding_events, organisation, training

ACTOR = {"actor": "projection-tests", "actor_role": "admin"}
ALL_TABLES = [t for p in default_projections() for t in p.tables]


# --- building logs through the real recording path ----------------------------------------------


def channel(db: Database) -> str:
    return f"impactlog_{db.schema}"


def recorder(db: Database) -> Recorder:
    return Recorder(EventStore(db.pool, channel=channel(db), admission=WriteModelAdmission()))


async def new_project(rec: Recorder, project_id: str = "p1") -> None:
    registration = {"type": "ProjectRegistered", "occurred_on": "2025-01-01", "data": REGISTRATION}
    await rec.create_project(project_id, msgspec.convert(registration, EventCommand), ACTOR)
    await record(rec, project_id, founding_events())


async def record(rec: Recorder, project_id: str, events: list[dict[str, Any]]) -> int:
    """Record wire events through the Recorder; the position of the last one."""
    commands = [msgspec.convert(e, EventCommand) for e in events]
    appended = await rec.record(project_id, commands, actor=ACTOR)
    return appended[-1].position


async def head_of(db: Database, project_id: str) -> int:
    head = await read_head(db.pool, project_id)
    assert head is not None
    return head.position


def service(db: Database, projections: Sequence[Any] | None = None, **options: Any) -> ProjectionService:
    settings: dict[str, Any] = {"poll_interval": 0.1, "lock_retry_interval": 0.1, **options}
    return ProjectionService(db.pool, projections, channel=channel(db), **settings)


async def caught_up(svc: ProjectionService, db: Database, project_id: str, timeout: float = 20.0) -> None:
    position = await head_of(db, project_id)
    assert await svc.wait_for_position(project_id, position, timeout), await svc.status()


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


# --- reading the read models back ---------------------------------------------------------------


def _sortable(row: Sequence[Any]) -> tuple[str, ...]:
    return tuple(str(value) for value in row)


async def table_rows(connection: Any, table: str, project_id: str) -> list[tuple[Any, ...]]:
    rows = await connection.fetch(f"SELECT * FROM {table} WHERE project_id = $1", project_id)
    return sorted((tuple(r) for r in rows), key=_sortable)


async def read_models(db: Database, project_id: str, tables: Sequence[str] = ALL_TABLES) -> dict[str, Any]:
    """Every row of every read-model table (sources included) for the project."""
    return {table: await table_rows(db.pool, table, project_id) for table in tables}


async def log_entries(db: Database, project_id: str) -> list[LogEntry]:
    return [log_entry(e) async for batch in iterate_log(db.pool, project_id) for e in batch]


async def matches_a_fold_from_zero(
    db: Database, project_id: str, projections: Sequence[KeyedProjection]
) -> None:
    """The database rows equal the projection's own fold of the whole log in memory."""
    entries = await log_entries(db, project_id)
    for projection in projections:
        expected: dict[str, list[tuple[Any, ...]]] = {t.name: [] for t in projection.derived}
        tables = {t.row_type: t.name for t in projection.derived}
        for row in projection.rows_from_zero(entries):
            expected[tables[type(row)]].append((project_id, *msgspec.structs.astuple(row)))
        for table, rows in expected.items():
            assert await table_rows(db.pool, table, project_id) == sorted(rows, key=_sortable), table


# --- projections that misbehave on purpose ------------------------------------------------------


class Sabotaged:
    """A projection that runs `sabotage` after folding the batch holding `position`, in the
    batch's transaction (before the checkpoint moves), as often as `times` says."""

    def __init__(
        self,
        inner: KeyedProjection,
        position: int,
        sabotage: Callable[[Connection], Awaitable[None]],
        times: int = 1,
        project_id: str | None = None,
    ) -> None:
        self.inner = inner
        self.position = position
        self.sabotage = sabotage
        self.times = times
        self.project_id = project_id

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def version(self) -> int:
        return self.inner.version

    @property
    def tables(self) -> tuple[str, ...]:
        return self.inner.tables

    async def apply(self, connection: Connection, project_id: str, events: Sequence[RecordedEvent]) -> None:
        await self.inner.apply(connection, project_id, events)
        if self.project_id not in (None, project_id):
            return
        if self.times > 0 and any(e.position == self.position for e in events):
            self.times -= 1
            await self.sabotage(connection)

    async def reset(self, connection: Connection, project_id: str) -> None:
        await self.inner.reset(connection, project_id)


async def fail(_connection: Connection) -> None:
    raise RuntimeError("projection bug")


def killer(db: Database) -> Callable[[Connection], Awaitable[None]]:
    """Terminate the runner's own backend from another connection, mid-transaction."""

    async def kill(connection: Connection) -> None:
        await db.pool.execute("SELECT pg_terminate_backend($1, 5000)", connection.get_server_pid())

    return kill


# --- catch-up and live ---------------------------------------------------------------------------


async def test_runner_catches_up_then_follows_appends_woken_by_notify(db: Database) -> None:
    rec = recorder(db)
    await new_project(rec)
    # A poll every minute: only a NOTIFY can bring the second append in quickly.
    svc = service(db, poll_interval=60.0)
    await svc.start()
    try:
        await caught_up(svc, db, "p1", timeout=10)
        orgs = await db.pool.fetch("SELECT org_id FROM organisations WHERE project_id = 'p1'")
        assert {r["org_id"] for r in orgs} == {"clu-at", "clu-pl", "clu-es", "sme-1"}
        await record(rec, "p1", [training("S-1", "2025-03-03", [("p-1", "clu-at", "4")])])
        await caught_up(svc, db, "p1", timeout=5)
        assert await db.pool.fetchval("SELECT count(*) FROM activities WHERE project_id = 'p1' AND live") == 1
        assert {s.lag for s in await svc.status()} == {0}
    finally:
        await svc.stop()
    await matches_a_fold_from_zero(db, "p1", [OrganisationsProjection(), ActivitiesProjection()])


async def test_polling_finds_appends_whose_notification_never_came(db: Database) -> None:
    rec = recorder(db)
    await new_project(rec)
    svc = ProjectionService(
        db.pool, [OrganisationsProjection()], channel="nobody_notifies_here", poll_interval=0.1
    )
    await svc.start()
    try:
        await record(rec, "p1", [organisation("sme-9", "DE", org_type="SME", size="micro")])
        await caught_up(svc, db, "p1", timeout=5)
    finally:
        await svc.stop()
    assert await db.pool.fetchval("SELECT size_class FROM organisations WHERE org_id = 'sme-9'") == "micro"


async def test_a_correction_and_a_retraction_reach_the_read_models_live(db: Database) -> None:
    rec = recorder(db)
    await new_project(rec)
    svc = service(db)
    await svc.start()
    try:
        session = training("S-1", "2025-03-03", [("p-1", "clu-at", "4"), ("p-2", "sme-1", "6")])
        await record(rec, "p1", [session])
        event_id = await db.pool.fetchval("SELECT event_id FROM events WHERE type = 'TrainingDelivered'")
        await record(
            rec, "p1", [governance("CorrectionRecorded", event_id, field_changes={"duration_hours": "8"})]
        )
        await caught_up(svc, db, "p1")
        row = await db.pool.fetchrow(
            "SELECT hours, person_hours, live FROM activities WHERE event_id = $1", event_id
        )
        assert row is not None and tuple(row) == (Decimal("8"), Decimal("10"), True)
        await record(rec, "p1", [governance("ActivityRetracted", event_id)])
        await caught_up(svc, db, "p1")
        assert await db.pool.fetchval("SELECT live FROM activities WHERE event_id = $1", event_id) is False
        await record(rec, "p1", [size_change("sme-1", "medium", "2025-06-01")])
        await caught_up(svc, db, "p1")
        async with db.pool.acquire() as connection:
            before = await connection.fetchval(SIZE_CLASS_ON, "p1", "sme-1", dt.date(2025, 5, 31))
            after = await connection.fetchval(SIZE_CLASS_ON, "p1", "sme-1", dt.date(2025, 6, 1))
        assert (before, after) == ("small", "medium")
    finally:
        await svc.stop()
    await matches_a_fold_from_zero(db, "p1", [OrganisationsProjection(), ActivitiesProjection()])


def governance(event_type: str, target: uuid.UUID, **fields: Any) -> dict[str, Any]:
    return {
        "type": event_type,
        "occurred_on": "2025-03-10",
        "partner_org_id": "clu-at",
        "data": {
            "target_event_id": str(target),
            "reason": "entered wrongly",
            "approved_by": "clu-at",
            **fields,
        },
    }


def size_change(org_id: str, size_class: str, day: str) -> dict[str, Any]:
    return {
        "type": "OrganisationSizeClassChanged",
        "occurred_on": day,
        "partner_org_id": "clu-at",
        "data": {"org_id": org_id, "size_class": size_class, "reference_year": 2024, "basis": "turnover"},
    }


# --- exactly once --------------------------------------------------------------------------------


async def test_a_failing_batch_commits_nothing_and_is_retried(db: Database) -> None:
    rec = recorder(db)
    await new_project(rec)
    flaky = Sabotaged(OrganisationsProjection(), position=4, sabotage=fail)
    svc = service(db, [flaky], batch_size=3, poll_interval=0.05)
    await svc.start()
    try:

        async def failed_once() -> bool:
            (status,) = await svc.status()
            return status.error is not None or flaky.times == 0

        await eventually(failed_once)
        await caught_up(svc, db, "p1")
        (status,) = await svc.status()
        assert status.error is None and status.lag == 0
    finally:
        await svc.stop()
    assert flaky.times == 0
    await matches_a_fold_from_zero(db, "p1", [OrganisationsProjection()])


async def test_a_project_whose_batches_fail_holds_up_no_other_project(db: Database) -> None:
    rec = recorder(db)
    await new_project(rec, "broken")
    await new_project(rec, "fine")
    bug = Sabotaged(
        OrganisationsProjection(), position=2, sabotage=fail, times=1_000_000, project_id="broken"
    )
    svc = service(db, [bug], stall_after=0.2)
    await svc.start()
    try:
        await caught_up(svc, db, "fine")
        await record(rec, "fine", [organisation("sme-5", "PL", org_type="SME", size="micro")])
        await caught_up(svc, db, "fine")
        await asyncio.sleep(0.3)
        statuses = {s.project_id: s for s in await svc.status()}
    finally:
        await svc.stop()
    assert (statuses["fine"].lag, statuses["fine"].stalled) == (0, False)
    assert statuses["broken"].checkpoint == 0 and statuses["broken"].stalled
    assert statuses["broken"].error == "RuntimeError: projection bug"


async def test_killed_connections_mid_batch_neither_skip_nor_double_count(db: Database) -> None:
    rec = recorder(db)
    await load_demo(rec, "demo")
    # Every projection loses its connection in the middle of two batches' transactions, after
    # writing its rows and before moving its checkpoint; the demo spans many batches.
    projections = [Sabotaged(p, position=1500, sabotage=killer(db), times=2) for p in default_keyed()]
    svc = service(db, projections, batch_size=250)
    await svc.start()
    try:
        await caught_up(svc, db, "demo", timeout=60)
    finally:
        await svc.stop()
    assert all(p.times == 0 for p in projections)
    await matches_a_fold_from_zero(db, "demo", default_keyed())
    for table in {p.sources_table for p in default_keyed()}:
        counts = await db.pool.fetchval(f"SELECT count(*) = count(DISTINCT position) FROM {table}")
        assert counts is True


async def test_killing_the_runner_between_batches_loses_nothing(db: Database) -> None:
    rec = recorder(db)
    await load_demo(rec, "demo")
    svc = service(db, [ExchangesProjection()], batch_size=100)
    await svc.start()
    try:
        pids: set[int] = set()
        for _ in range(3):
            await eventually(lambda: _holding(svc))
            (status, *_) = await svc.status()
            assert status.holder_pid is not None
            pids.add(status.holder_pid)
            await db.pool.execute("SELECT pg_terminate_backend($1, 5000)", status.holder_pid)
        await caught_up(svc, db, "demo", timeout=60)
    finally:
        await svc.stop()
    assert len(pids) == 3  # three runner sessions in turn
    await matches_a_fold_from_zero(db, "demo", [ExchangesProjection()])


async def _holding(svc: ProjectionService) -> bool:
    statuses = await svc.status()
    return bool(statuses) and all(s.running and s.holder_pid is not None for s in statuses)


def default_keyed() -> list[KeyedProjection]:
    found = [p for p in default_projections() if isinstance(p, KeyedProjection)]
    assert len(found) == len(default_projections())
    return found


# --- one active runner per projection ------------------------------------------------------------


async def test_only_one_of_two_processes_runs_a_projection_and_the_other_takes_over(db: Database) -> None:
    rec = recorder(db)
    await new_project(rec)
    second_pool = await db.new_pool(min_size=1, max_size=4)
    first = service(db, [OrganisationsProjection()])
    second = ProjectionService(
        second_pool,
        [OrganisationsProjection()],
        channel=channel(db),
        poll_interval=0.1,
        lock_retry_interval=0.1,
    )
    try:
        await first.start()
        await eventually(lambda: _holding(first))
        await second.start()
        await asyncio.sleep(0.5)  # several lock retries
        assert (first.runners[0].running, second.runners[0].running) == (True, False)
        (seen_by_second,) = await second.status()
        (seen_by_first,) = await first.status()
        assert seen_by_second.holder_pid == seen_by_first.holder_pid is not None
        await caught_up(first, db, "p1")

        # The holder's session dies: exactly one runner holds the lock again, on a new backend.
        await db.pool.execute("SELECT pg_terminate_backend($1, 5000)", seen_by_first.holder_pid)
        await eventually(lambda: _one_new_holder(first, second, seen_by_first.holder_pid))
        await record(rec, "p1", [organisation("sme-7", "ES", org_type="SME", size="medium")])
        await caught_up(first, db, "p1")

        # The first process stops: the second takes over and follows the log.
        await first.stop()
        await eventually(lambda: _holding(second))
        await record(rec, "p1", [organisation("sme-8", "AT", org_type="SME", size="micro")])
        await caught_up(second, db, "p1")
        assert not first.runners[0].running
    finally:
        await first.stop()
        await second.stop()
        await second_pool.close()
    await matches_a_fold_from_zero(db, "p1", [OrganisationsProjection()])


async def _one_new_holder(first: ProjectionService, second: ProjectionService, old_pid: int | None) -> bool:
    (status,) = await first.status()
    running = [first.runners[0].running, second.runners[0].running]
    return status.holder_pid not in (None, old_pid) and running.count(True) == 1


# --- status --------------------------------------------------------------------------------------


async def test_status_shows_lag_and_a_stalled_runner(db: Database) -> None:
    rec = recorder(db)
    await new_project(rec)
    head = await head_of(db, "p1")
    broken = Sabotaged(OrganisationsProjection(), position=1, sabotage=fail, times=1_000_000)
    svc = service(db, [broken], stall_after=0.3)
    (idle,) = await svc.status()  # nobody runs it yet
    assert (idle.checkpoint, idle.head, idle.lag, idle.running, idle.holder_pid) == (
        0,
        head,
        head,
        False,
        None,
    )
    await svc.start()
    try:
        await asyncio.sleep(0.5)
        (stuck,) = await svc.status()
        assert stuck.running and stuck.holder_pid is not None
        assert stuck.lag == head and stuck.stalled
        assert stuck.error == "RuntimeError: projection bug"
        assert stuck.behind_seconds > 0.3
    finally:
        await svc.stop()
    healthy = service(db, [OrganisationsProjection()], stall_after=0.3)
    await healthy.start()
    try:
        await caught_up(healthy, db, "p1")
        (fine,) = await healthy.status()
        assert (fine.lag, fine.stalled, fine.error, fine.behind_seconds) == (0, False, None, 0)
        assert fine.events_projected == head and fine.events_per_second > 0
        assert fine.last_progress_at is not None
    finally:
        await healthy.stop()


def test_metrics_export_lag_and_events_per_second_per_projection() -> None:
    registry = CollectorRegistry()
    metrics = ProjectionMetrics(registry)
    metrics.observe(
        [status_of("exchanges", "p1", lag=7, rate=12.5), status_of("activities", "p1", lag=0, rate=0)]
    )
    text = generate_latest(registry).decode()
    assert 'impactlog_projection_lag_events{project="p1",projection="exchanges"} 7.0' in text
    assert 'impactlog_projection_events_per_second{project="p1",projection="exchanges"} 12.5' in text
    assert 'impactlog_projection_stalled{project="p1",projection="activities"} 0.0' in text
    assert 'impactlog_projection_rebuilding{project="p1",projection="activities"} 0.0' in text
    assert 'impactlog_projection_events_total{project="p1",projection="exchanges"} 100.0' in text


def status_of(projection: str, project_id: str, lag: int, rate: float) -> ProjectionStatus:
    return ProjectionStatus(
        projection=projection,
        project_id=project_id,
        checkpoint=100,
        head=100 + lag,
        lag=lag,
        last_progress_at=None,
        behind_seconds=0.0,
        events_per_second=rate,
        events_projected=100,
        running=True,
        holder_pid=1,
        version=1,
        built_by_version=1,
        stalled=False,
        error=None,
    )


# --- replay from zero ----------------------------------------------------------------------------


async def test_replay_from_zero_equals_the_live_models_and_leaves_other_projects_alone(db: Database) -> None:
    rec = recorder(db)
    await load_demo(rec, "demo")
    await new_project(rec, "other")
    svc = service(db, batch_size=300)
    await svc.start()
    try:
        await caught_up(svc, db, "demo", timeout=60)
        await caught_up(svc, db, "other")
        live = await read_models(db, "demo")
        other = await read_models(db, "other")
        seen: list[ReplayProgress] = []
        results = await replay(db.pool, "demo", progress=seen.append, batch_size=300)
    finally:
        await svc.stop()
    head = await head_of(db, "demo")
    assert [r.position for r in results] == [head] * len(default_projections())
    assert await read_models(db, "demo") == live
    assert await read_models(db, "other") == other
    checkpoints = await db.pool.fetch(
        "SELECT projection, position FROM projection_checkpoints WHERE project_id = 'demo'"
    )
    assert {r["position"] for r in checkpoints} == {head}
    exchanges = [p for p in seen if p.projection == "exchanges"]
    assert [p.done for p in exchanges] == sorted(p.done for p in exchanges) and exchanges[-1].done == head
    assert exchanges[-1].total == head and exchanges[-1].events_per_second > 0


async def test_replay_of_one_projection_while_the_log_grows(db: Database) -> None:
    rec = recorder(db)
    await load_demo(rec, "demo")
    svc = service(db, [OrganisationsProjection()], batch_size=200)
    await svc.start()
    try:

        async def keep_appending() -> None:
            for n in range(20):
                await record(rec, "demo", [organisation(f"late-{n}", "DE", org_type="SME", size="small")])

        results, _ = await asyncio.gather(
            replay(db.pool, "demo", "organisations", batch_size=200), keep_appending()
        )
        await caught_up(svc, db, "demo")
    finally:
        await svc.stop()
    assert [r.projection for r in results] == ["organisations"]
    await matches_a_fold_from_zero(db, "demo", [OrganisationsProjection()])


class Interrupted(Exception):
    """An operator's interruption."""


async def test_replay_writes_nothing_live_until_its_swap(db: Database) -> None:
    rec = recorder(db)
    await load_demo(rec, "demo")
    svc = service(db, [OrganisationsProjection()])
    await svc.start()
    try:
        await caught_up(svc, db, "demo", timeout=30)
    finally:
        await svc.stop()
    await db.pool.execute("UPDATE organisations SET name = 'tampered' WHERE project_id = 'demo'")

    def interrupt(progress: ReplayProgress) -> None:
        if progress.done > 1000:
            raise Interrupted  # the operator gives up in the middle of the rebuild

    with pytest.raises(Interrupted):
        await replay(db.pool, "demo", "organisations", progress=interrupt, batch_size=200)
    names = await db.pool.fetch("SELECT DISTINCT name FROM organisations")
    assert [r["name"] for r in names] == ["tampered"]
    leftovers = "SELECT count(*) FROM pg_class WHERE relpersistence = 't' AND relname = 'organisations'"
    assert await db.pool.fetchval(leftovers) == 0
    await replay(db.pool, "demo", "organisations", batch_size=200)
    await matches_a_fold_from_zero(db, "demo", [OrganisationsProjection()])


async def test_a_replayed_project_gets_partitions_of_its_own_and_a_failed_replay_leaves_no_tables(
    db: Database,
) -> None:
    rec = recorder(db)
    await load_demo(rec, "demo")
    await new_project(rec, "other")
    svc = service(db)
    await svc.start()
    try:
        await caught_up(svc, db, "demo", timeout=60)
        await caught_up(svc, db, "other")
    finally:
        await svc.stop()
    live = await read_models(db, "demo")
    other = await read_models(db, "other")
    await replay(db.pool, "demo")
    await replay(db.pool, "demo")  # the second replaces the partitions the first attached

    def interrupt(progress: ReplayProgress) -> None:
        if progress.done >= progress.total:
            raise Interrupted

    class Failing(OrganisationsProjection):
        async def swap_in_builds(
            self, connection: Connection, project_id: str, builds: dict[str, str]
        ) -> None:
            await super().swap_in_builds(connection, project_id, builds)
            raise Interrupted  # inside the swap transaction, after the partitions moved

    with pytest.raises(Interrupted):
        await replay(db.pool, "demo", progress=interrupt)
    with pytest.raises(Interrupted):
        await replay(db.pool, "demo", projections=[Failing()])
    assert await read_models(db, "demo") == live
    assert await read_models(db, "other") == other
    partitions = await db.pool.fetch(
        """SELECT p.relname AS parent, count(*) AS n FROM pg_inherits i
             JOIN pg_class p ON p.oid = i.inhparent
            WHERE p.relnamespace = $1::regnamespace AND p.relkind = 'p'
            GROUP BY p.relname""",
        db.schema,
    )
    assert {r["parent"]: r["n"] for r in partitions} == {t: 2 for t in ALL_TABLES}  # DEFAULT + demo
    assert await unattached_build_tables(db) == set()  # no build table of a failed replay is left


async def test_replay_refuses_unknown_projects_and_projections(db: Database) -> None:
    from projections import UnknownProject

    with pytest.raises(UnknownProject):
        await replay(db.pool, "nope")
    await new_project(recorder(db))
    with pytest.raises(ValueError, match="known: organisations"):
        await replay(db.pool, "p1", "organisation")


class RenamingOrganisations(OrganisationsProjection):
    """Version 2 of the organisations fold (names carry a prefix)."""

    version = 2

    def rows(self, view: Any) -> list[Any]:
        return [
            msgspec.structs.replace(r, name=f"v2:{r.name}") if isinstance(r, OrganisationRow) else r
            for r in super().rows(view)
        ]


class LiveWatcher:
    """Fingerprints the live rows from other sessions, over and over, while a rebuild runs:
    nothing of a rebuild may show before its swap, so each one is the old model or the new."""

    def __init__(self, pool: asyncpg.Pool, tables: Sequence[str]) -> None:
        self.pool = pool
        self.tables = tables
        self.seen: list[tuple[str, ...]] = []
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> LiveWatcher:
        self.seen.append(await fingerprint(self.pool, self.tables))
        self._task = asyncio.create_task(self._watch())
        return self

    async def __aexit__(self, *_exc: object) -> None:
        assert self._task is not None
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self.seen.append(await fingerprint(self.pool, self.tables))

    async def _watch(self) -> None:
        while True:
            self.seen.append(await fingerprint(self.pool, self.tables))
            await asyncio.sleep(0.005)

    def only_old_then_new(self) -> bool:
        """Every observation is the first one until the last one shows, then the last."""
        first, last = self.seen[0], self.seen[-1]
        switched = self.seen.index(last)
        return all(f == first for f in self.seen[:switched]) and all(f == last for f in self.seen[switched:])


async def fingerprint(pool: asyncpg.Pool, tables: Sequence[str]) -> tuple[str, ...]:
    """A digest of every row of the tables (all projects), as another session sees them in one
    statement (one snapshot, so a swap of several tables shows whole or not at all)."""
    digests = (
        f"(SELECT coalesce(md5(string_agg(t::text, ',' ORDER BY t::text)), '') FROM {t} t)" for t in tables
    )
    row = await pool.fetchrow(f"SELECT {', '.join(digests)}")
    assert row is not None
    return tuple(row)


async def test_a_rebuild_on_a_connection_that_ran_the_live_fold_shows_nothing_before_its_swap(
    db: Database,
) -> None:
    rec = recorder(db)
    await load_demo(rec, "demo")
    live = OrganisationsProjection()
    new = RenamingOrganisations()
    async with db.pool.acquire() as connection:
        # A pooled session that has rebuilt before, then folded new events live: the live
        # statements are prepared and cached on it.
        first = await rebuild(connection, live, "demo", batch_size=500)
        await record(rec, "demo", [organisation("sme-late", "DE", org_type="SME", size="small")])
        async with connection.transaction():
            await live.apply(connection, "demo", await read_log(connection, "demo", after=first.position))
        async with LiveWatcher(db.pool, live.tables) as watcher:
            await rebuild(connection, new, "demo", batch_size=200)
    assert len(watcher.seen) >= 2 and watcher.seen[0] != watcher.seen[-1]
    assert watcher.only_old_then_new(), watcher.seen
    names = await db.pool.fetch("SELECT name FROM organisations WHERE project_id = 'demo'")
    assert len(names) == len(await table_rows(db.pool, "organisations", "demo"))
    assert names and all(r["name"].startswith("v2:") for r in names)
    await matches_a_fold_from_zero(db, "demo", [new])


async def test_a_new_projection_version_makes_the_runner_rebuild(db: Database) -> None:
    rec = recorder(db)
    await load_demo(rec, "demo")
    old = service(db, [OrganisationsProjection()], batch_size=200)
    new = RenamingOrganisations()
    new_service = service(db, [new], batch_size=200)
    try:
        await old.start()
        await caught_up(old, db, "demo", timeout=30)
        await old.stop()
        head = await head_of(db, "demo")

        async def rebuilt() -> bool:
            (status,) = await new_service.status()
            return status.built_by_version == 2 and status.checkpoint == head

        async with LiveWatcher(db.pool, new.tables) as watcher:
            await new_service.start()
            await eventually(rebuilt, timeout=30)
    finally:
        await old.stop()
        await new_service.stop()
    assert watcher.only_old_then_new(), watcher.seen
    names = await db.pool.fetch("SELECT name FROM organisations WHERE project_id = 'demo'")
    assert names and all(r["name"].startswith("v2:") for r in names)


# --- catching up from far behind -----------------------------------------------------------------

NEVER = 10**9  # a fast_path_after no lag reaches: batch by batch only


async def fold_first_events(
    db: Database, projections: Sequence[KeyedProjection], project_id: str, n: int
) -> int:
    """What a runner's first batch of `n` events commits: rows and checkpoint; the position."""
    async with db.pool.acquire() as connection:
        events = await read_log(connection, project_id, after=0, limit=n)
        for projection in projections:
            async with connection.transaction():
                await lock_checkpoint(connection, projection.name, project_id, projection.version)
                await projection.apply(connection, project_id, events)
                await set_checkpoint(
                    connection, projection.name, project_id, events[-1].position, projection.version
                )
    return events[-1].position


async def forget_read_models(db: Database) -> None:
    """Every read model empty and no checkpoint, as after restoring a dump of the log alone."""
    await db.pool.execute("DELETE FROM projection_checkpoints")
    await db.pool.execute(f"TRUNCATE {', '.join(ALL_TABLES)}")


async def checkpoints_of(db: Database, project_id: str) -> dict[str, int]:
    rows = await db.pool.fetch(
        "SELECT projection, position FROM projection_checkpoints WHERE project_id = $1", project_id
    )
    return {r["projection"]: r["position"] for r in rows}


async def tables_with_a_partition_of(db: Database, project_id: str) -> set[str]:
    """The read-model tables holding the project's rows in a partition of its own (rebuilt)."""
    rows = await db.pool.fetch(
        """SELECT p.relname FROM pg_inherits i
             JOIN pg_class p ON p.oid = i.inhparent JOIN pg_class c ON c.oid = i.inhrelid
            WHERE p.relnamespace = $1::regnamespace
              AND pg_get_expr(c.relpartbound, c.oid) = format('FOR VALUES IN (%L)', $2::text)""",
        db.schema,
        project_id,
    )
    return {r["relname"] for r in rows}


async def unattached_build_tables(db: Database) -> set[str]:
    rows = await db.pool.fetch(
        "SELECT relname FROM pg_class WHERE relnamespace = $1::regnamespace AND relkind = 'r'"
        " AND NOT relispartition AND relname ~ '_p[0-9a-f]{12}$'",
        db.schema,
    )
    return {r["relname"] for r in rows}


async def test_a_runner_far_behind_catches_up_from_zero_to_what_batches_give_then_follows_live(
    db: Database,
) -> None:
    rec = recorder(db)
    await load_demo(rec, "demo")
    await new_project(rec, "other")
    # Part of the demo was folded before: those rows sit in the DEFAULT partition.
    await fold_first_events(db, default_keyed(), "demo", 500)
    assert await head_of(db, "demo") - 500 >= 2000 > await head_of(db, "other")
    fast = service(db, batch_size=200, fast_path_after=2000)
    await fast.start()
    try:
        await caught_up(fast, db, "demo", timeout=60)
        await caught_up(fast, db, "other")
        # Far behind: rebuilt into partitions of its own; close behind: batches, in DEFAULT.
        assert await tables_with_a_partition_of(db, "demo") == set(ALL_TABLES)
        assert await tables_with_a_partition_of(db, "other") == set()
        await record(rec, "demo", [organisation("sme-late", "DE", org_type="SME", size="small")])
        await caught_up(fast, db, "demo")  # live again after the rebuild
    finally:
        await fast.stop()
    rebuilt = await read_models(db, "demo")
    other = await read_models(db, "other")
    assert set((await checkpoints_of(db, "demo")).values()) == {await head_of(db, "demo")}

    await forget_read_models(db)
    batches = service(db, batch_size=200, fast_path_after=NEVER)
    await batches.start()
    try:
        await caught_up(batches, db, "demo", timeout=60)
        await caught_up(batches, db, "other")
    finally:
        await batches.stop()
    assert await read_models(db, "demo") == rebuilt
    assert await read_models(db, "other") == other
    await matches_a_fold_from_zero(db, "demo", default_keyed())
    assert await unattached_build_tables(db) == set()


@pytest.mark.parametrize("crash", ["error", "killed session"])
async def test_a_crash_inside_the_fast_path_leaves_the_old_model_and_checkpoint_and_the_next_attempt_succeeds(
    db: Database, monkeypatch: pytest.MonkeyPatch, crash: str
) -> None:
    rec = recorder(db)
    await load_demo(rec, "demo")
    projection = OrganisationsProjection()
    old_position = await fold_first_events(db, [projection], "demo", 500)
    old_model = await read_models(db, "demo", projection.tables)
    swap_in_builds = KeyedProjection.swap_in_builds
    attempts: list[dict[str, Any]] = []

    async def crashing_swap(
        self: KeyedProjection, connection: Connection, project_id: str, builds: dict[str, str]
    ) -> None:
        # Inside the swap transaction: the old model and checkpoint are what other sessions see.
        attempts.append(
            {
                "checkpoint": (await checkpoints_of(db, "demo"))[projection.name],
                "model": await read_models(db, "demo", projection.tables),
                "leftovers": await unattached_build_tables(db) - set(builds.values()),
            }
        )
        await swap_in_builds(self, connection, project_id, builds)
        if len(attempts) == 1:  # the partitions have moved, the checkpoint not yet
            if crash == "error":
                raise RuntimeError("crash mid-swap")
            await db.pool.execute("SELECT pg_terminate_backend($1, 5000)", connection.get_server_pid())

    monkeypatch.setattr(KeyedProjection, "swap_in_builds", crashing_swap)
    svc = service(db, [projection], fast_path_after=1000)
    try:
        async with LiveWatcher(db.pool, projection.tables) as watcher:
            await svc.start()
            await caught_up(svc, db, "demo", timeout=60)
    finally:
        await svc.stop()
    assert watcher.only_old_then_new(), watcher.seen  # nothing of the crashed attempt showed
    assert len(attempts) == 2
    # The second attempt found what was there before the first, and the first one's tables gone.
    assert attempts[1] == {"checkpoint": old_position, "model": old_model, "leftovers": set()}
    assert await tables_with_a_partition_of(db, "demo") == set(projection.tables)
    assert await unattached_build_tables(db) == set()
    await matches_a_fold_from_zero(db, "demo", [projection])


async def test_a_runner_with_no_spare_connection_still_catches_up_from_zero(db: Database) -> None:
    rec = recorder(db)
    await load_demo(rec, "demo")
    head = await head_of(db, "demo")
    one = await db.new_pool(min_size=1, max_size=1)  # the runner holds it: nothing to read ahead on
    svc = ProjectionService(one, [OrganisationsProjection()], channel=channel(db), fast_path_after=1000)
    try:
        await svc.start()

        async def reached() -> bool:
            return (await checkpoints_of(db, "demo")).get("organisations") == head

        await eventually(reached, timeout=30)
    finally:
        await svc.stop()
        await one.close()
    assert await tables_with_a_partition_of(db, "demo") == set(OrganisationsProjection().tables)
    await matches_a_fold_from_zero(db, "demo", [OrganisationsProjection()])


async def test_build_tables_of_a_dead_builder_are_dropped_and_a_live_builders_are_kept(db: Database) -> None:
    rec = recorder(db)
    await load_demo(rec, "demo")
    await replay(db.pool, "demo", "organisations")  # attaches `organisations_p<id>` partitions
    attached = await tables_with_a_partition_of(db, "demo")

    async with contextlib.AsyncExitStack() as builders:

        async def builder_with_a_table(table: str) -> tuple[asyncpg.Connection, str]:
            """A session that claimed a build and created one of its tables."""
            connection = await db.connect()
            builders.push_async_callback(connection.close)
            build_id = await builders.enter_async_context(claimed_build(connection))
            return connection, await create_build(connection, table, build_id)

        _, kept = await builder_with_a_table("exchanges")
        for start in ("service", "replay"):
            dead, dropped = await builder_with_a_table("exchanges")
            await db.pool.execute("SELECT pg_terminate_backend($1, 5000)", dead.get_server_pid())
            assert await unattached_build_tables(db) == {kept, dropped}
            if start == "service":
                svc = service(db, [ExchangesProjection()])
                await svc.start()
                await svc.stop()
            else:
                await replay(db.pool, "demo", "exchanges")
            assert await unattached_build_tables(db) == {kept}, start
        assert attached <= await tables_with_a_partition_of(db, "demo")  # partitions stay
    # The live builder let go of its claim without swapping its table in or dropping it.
    async with db.pool.acquire() as connection:
        assert await drop_abandoned_builds(connection, ALL_TABLES) == [f"{db.schema}.{kept}"]
    assert await unattached_build_tables(db) == set()


# --- the read models agree with the KPI engine ---------------------------------------------------


async def test_read_models_agree_with_the_kpi_engines_fold_of_the_demo(db: Database) -> None:
    rec = recorder(db)
    await load_demo(rec, "demo")
    svc = service(db, batch_size=500)
    await svc.start()
    try:
        await caught_up(svc, db, "demo", timeout=60)
    finally:
        await svc.stop()
    state = fold_log(await log_entries(db, "demo"))
    await _organisations_agree(db, state)
    await _participants_agree(db, state)
    await _exchanges_agree(db, state)
    await _activities_agree(db, state)
    await _survey_agrees(db, state)


async def _organisations_agree(db: Database, state: Any) -> None:
    rows = await db.pool.fetch("SELECT org_id, name, org_type, country FROM organisations")
    assert {r["org_id"]: (r["name"], r["org_type"], r["country"]) for r in rows} == {
        org_id: (o.registration.name, o.registration.org_type, o.registration.country)
        for org_id, o in state.organisations.items()
    }
    days = [dt.date(2024, 12, 31), dt.date(2025, 3, 1), dt.date(2025, 9, 30), dt.date(2026, 6, 30)]
    async with db.pool.acquire() as connection:
        for org_id in state.organisations:
            for day in days:
                found = await connection.fetchval(SIZE_CLASS_ON, "demo", org_id, day)
                assert found == state.size_class(org_id, day), (org_id, day)


async def _participants_agree(db: Database, state: Any) -> None:
    rows = await db.pool.fetch("SELECT participant_id, org_id, role, gender FROM participants")
    assert {r["participant_id"]: (r["org_id"], r["role"], r["gender"]) for r in rows} == {
        pid: (p.org_id, p.role, p.gender) for pid, p in state.participants.items()
    }


async def _exchanges_agree(db: Database, state: Any) -> None:
    rows = await db.pool.fetch(
        "SELECT exchange_id, counted, status, actual_end, lump_sums_eur, satisfaction_vo FROM exchanges"
    )
    found = {r["exchange_id"]: tuple(r)[1:] for r in rows}
    expected = {}
    for exchange_id, x in state.exchanges.items():
        status = "cancelled" if x.cancelled else "completed" if x.completion else "registered"
        report = x.closing_reports[-1].payload.satisfaction_vo if x.closing_reports else None
        paid = sum((p.payload.amount_eur for p in x.payments), Decimal(0))
        expected[exchange_id] = (x.counted, status, x.dated_on, paid, report)
    assert found == expected
    assert any(counted for counted, *_ in found.values())
    assert any(status == "cancelled" for _, status, *_ in found.values())


async def _activities_agree(db: Database, state: Any) -> None:
    rows = await db.pool.fetch(
        "SELECT event_id, kind, occurred_on, hours, attendees FROM activities WHERE live"
    )
    live = {r["event_id"]: (r["kind"], r["occurred_on"], r["hours"], r["attendees"]) for r in rows}
    expected: dict[uuid.UUID, tuple[Any, ...]] = {}
    for e in state.live(TrainingDelivered):
        expected[e.event_id] = ("training", e.occurred_on, e.payload.duration_hours, len(e.payload.attendees))
    for e in state.live(CoachingSessionHeld):
        expected[e.event_id] = ("coaching", e.occurred_on, e.payload.hours, None)
    for e in state.live(OutreachEventHeld):
        expected[e.event_id] = ("outreach", e.occurred_on, None, e.payload.attendees)
    assert live == expected
    assert await db.pool.fetchval("SELECT count(*) FROM activities WHERE NOT live") >= 1


async def _survey_agrees(db: Database, state: Any) -> None:
    rows = await db.pool.fetch("SELECT survey_id, wave, org_id, turnover_eur, position FROM survey_responses")
    last: dict[tuple[str, str, str], Any] = {}
    for e in state.live(SMESurveyResponseRecorded):
        last[(e.payload.survey_id, e.payload.wave, e.payload.org_id)] = (e.payload.turnover_eur, e.position)
    assert {
        (r["survey_id"], r["wave"], r["org_id"]): (r["turnover_eur"], r["position"]) for r in rows
    } == last
