"""Scheduled snapshots: every project's milestones published when due, exactly once.

``catch_up_due_snapshots(publisher, now)`` is the whole job: for each project it finishes any
snapshot a stopped publisher left pending, then publishes every milestone due by ``now``
(indicators/snapshot_schedule.py) that has none. It runs when the service starts (so runs
missed while it was down are published then, with the figures as of their period's end), on an
APScheduler interval, and at the next due moment. Running it in several processes at once, or
again after a crash, is safe: publishing is exactly-once (indicators/snapshot_publisher.py).
Tests call it with the time they want; nothing waits for a real clock.

Settings (environment): ``IMPACTLOG_SCHEDULER=1`` switches the scheduler on (off by default);
``IMPACTLOG_SNAPSHOT_PERIODIC`` = ``quarterly`` | ``monthly`` adds periodic snapshots;
``IMPACTLOG_SNAPSHOT_GRACE_MINUTES`` (10) is how long after a period's end its snapshot waits,
so appends under way at midnight have committed; ``IMPACTLOG_SNAPSHOT_CHECK_MINUTES`` (15) is
the interval of the catch-up; ``IMPACTLOG_SIGNING_KEY`` is the signing key (snapshot_signing.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import logging
import os
from collections.abc import AsyncIterator
from typing import Any, cast

import msgspec
from apscheduler.schedulers.asyncio import AsyncIOScheduler  # type: ignore[import-untyped]
from apscheduler.triggers.date import DateTrigger  # type: ignore[import-untyped]
from apscheduler.triggers.interval import IntervalTrigger  # type: ignore[import-untyped]

from events.entries import LogEntry
from events.errors import ProjectNotFound
from events.read import read_heads
from events.store import EventStore
from indicators.snapshot import SnapshotError, snapshot_id_for
from indicators.snapshot_publisher import (
    SCHEDULER_ACTOR,
    Clock,
    EntriesSource,
    Published,
    SnapshotPublisher,
    read_registration,
    utc_now,
)
from indicators.snapshot_schedule import CADENCES, Cadence, milestones
from indicators.snapshot_signing import ServerSigner
from indicators.snapshot_store import list_snapshots
from projections.decoded_log import DecodedLog
from service.kpi_entries import kpi_entries
from service.settings import Settings

log = logging.getLogger("impactlog.scheduler")

CATCH_UP_JOB = "snapshot-catch-up"
WAKE_UP_JOB = "snapshot-wake-up"


class SchedulerSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The snapshot scheduler's settings, with the environment variable that sets each."""

    enabled: bool  # IMPACTLOG_SCHEDULER
    periodic: Cadence | None  # IMPACTLOG_SNAPSHOT_PERIODIC
    grace: dt.timedelta  # IMPACTLOG_SNAPSHOT_GRACE_MINUTES
    check_every: dt.timedelta  # IMPACTLOG_SNAPSHOT_CHECK_MINUTES
    signing_key: str | None  # IMPACTLOG_SIGNING_KEY

    @classmethod
    def from_env(cls) -> SchedulerSettings:
        """Read the settings from environment variables; ValueError names a bad one."""
        env = os.environ
        periodic = (env.get("IMPACTLOG_SNAPSHOT_PERIODIC") or "off").strip().lower()
        if periodic not in (*CADENCES, "off", ""):
            raise ValueError(f"IMPACTLOG_SNAPSHOT_PERIODIC={periodic!r}: use quarterly, monthly or off")
        return cls(
            enabled=env.get("IMPACTLOG_SCHEDULER", "0").strip().lower() in ("1", "true", "yes", "on"),
            periodic=cast(Cadence, periodic) if periodic in CADENCES else None,
            grace=dt.timedelta(minutes=float(env.get("IMPACTLOG_SNAPSHOT_GRACE_MINUTES", "10"))),
            check_every=dt.timedelta(minutes=float(env.get("IMPACTLOG_SNAPSHOT_CHECK_MINUTES", "15"))),
            signing_key=env.get("IMPACTLOG_SIGNING_KEY") or None,
        )


async def catch_up_due_snapshots(
    publisher: SnapshotPublisher,
    now: dt.datetime,
    *,
    cadence: Cadence | None = None,
    grace: dt.timedelta = dt.timedelta(),
) -> list[Published]:
    """Publish every snapshot due by `now` in every project (and finish pending ones); returns
    what this call published or finished. One project's failure is logged and the rest go on."""
    done: list[Published] = []
    for head in await read_heads(publisher.pool):
        try:
            done += await _catch_up_project(publisher, head.project_id, now, cadence, grace)
        except Exception:
            log.exception("snapshot catch-up failed", extra={"project": head.project_id})
    return done


async def _catch_up_project(
    publisher: SnapshotPublisher,
    project_id: str,
    now: dt.datetime,
    cadence: Cadence | None,
    grace: dt.timedelta,
) -> list[Published]:
    done = await publisher.complete_pending(project_id, actor=SCHEDULER_ACTOR)
    registration = await read_registration(publisher.pool, project_id)
    existing = {record.snapshot_id for record in await list_snapshots(publisher.pool, project_id)}
    for milestone in milestones(registration, cadence, grace):
        if milestone.due_at > now:
            break
        if snapshot_id_for(project_id, milestone.kind, milestone.period.period_id) in existing:
            continue
        published = await publisher.publish_milestone(
            project_id, registration, milestone, actor=SCHEDULER_ACTOR
        )
        log.info(
            "snapshot published",
            extra={
                "project": project_id,
                "snapshot": published.record.snapshot_id,
                "computed_now": published.created,
            },
        )
        done.append(published)
    return done


async def next_due(
    publisher: SnapshotPublisher, now: dt.datetime, settings: SchedulerSettings
) -> dt.datetime | None:
    """The earliest moment after `now` at which some project's next milestone falls due."""
    upcoming = []
    for head in await read_heads(publisher.pool):
        with contextlib.suppress(ProjectNotFound, SnapshotError):  # no registration: nothing owed
            registration = await read_registration(publisher.pool, head.project_id)
            upcoming += [
                m.due_at
                for m in milestones(registration, settings.periodic, settings.grace)
                if m.due_at > now
            ]
    return min(upcoming, default=None)


class SnapshotScheduler:
    """APScheduler inside the service: the catch-up at start, on an interval and when next due."""

    def __init__(
        self, publisher: SnapshotPublisher, settings: SchedulerSettings, clock: Clock = utc_now
    ) -> None:
        self.publisher = publisher
        self.settings = settings
        self.clock = clock
        self._scheduler = AsyncIOScheduler(timezone=dt.UTC)
        self._runs: set[asyncio.Task[Any]] = set()

    def start(self) -> None:
        """Start on the running loop; the first catch-up runs at once."""
        self._scheduler.add_job(
            self.run_once,
            IntervalTrigger(seconds=self.settings.check_every.total_seconds(), timezone=dt.UTC),
            id=CATCH_UP_JOB,
            next_run_time=dt.datetime.now(dt.UTC),
            max_instances=1,
            coalesce=True,
            misfire_grace_time=None,
        )
        self._scheduler.start()

    async def stop(self) -> None:
        """Stop scheduling and wait (briefly) for a catch-up under way; an interrupted one is
        finished by the next start, as after a crash."""
        self._scheduler.shutdown(wait=False)
        if self._runs:
            await asyncio.wait(self._runs, timeout=10)

    async def run_once(self) -> list[Published]:
        """One catch-up as of the clock's now, then a wake-up at the next due moment."""
        task = asyncio.current_task()
        if task is not None:
            self._runs.add(task)
        try:
            now = self.clock()
            done = await catch_up_due_snapshots(
                self.publisher, now, cadence=self.settings.periodic, grace=self.settings.grace
            )
            await self._wake_up_at_next_due(now)
            return done
        finally:
            if task is not None:
                self._runs.discard(task)

    async def _wake_up_at_next_due(self, now: dt.datetime) -> None:
        due = await next_due(self.publisher, now, self.settings)
        if due is None or not self._scheduler.running:
            return
        # The interval catches up anyway; this makes a milestone publish on its minute.
        self._scheduler.add_job(
            self.run_once,
            DateTrigger(run_date=max(due, dt.datetime.now(dt.UTC)), timezone=dt.UTC),
            id=WAKE_UP_JOB,
            replace_existing=True,
            misfire_grace_time=None,
        )


def decoded_log_entries(decoded: DecodedLog) -> EntriesSource:
    """Read a project's entries from the service's decoded-log projection (decoded once, kept)."""

    async def entries(project_id: str, up_to: int) -> list[LogEntry]:
        # The projection reads up to the committed head, which is at or past `up_to`; the
        # evaluation cuts at the snapshot's position.
        return await kpi_entries(decoded, project_id)

    return entries


@contextlib.asynccontextmanager
async def run_snapshot_services(
    state: Any, settings: Settings, scheduler_settings: SchedulerSettings | None = None
) -> AsyncIterator[SnapshotPublisher]:
    """Put a SnapshotPublisher on `state` (app.state, after run_services set store and
    decoded_log) and, when switched on, run the scheduler until the block ends."""
    options = scheduler_settings or SchedulerSettings.from_env()
    store: EventStore = state.store
    signer = ServerSigner(options.signing_key, settings.data_dir)
    publisher = SnapshotPublisher(store, signer, entries=decoded_log_entries(state.decoded_log))
    state.snapshot_publisher = publisher
    scheduler = SnapshotScheduler(publisher, options) if options.enabled else None
    if scheduler is not None:
        scheduler.start()
    try:
        yield publisher
    finally:
        if scheduler is not None:
            await scheduler.stop()
