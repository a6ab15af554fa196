"""Projection runners: catch up from the checkpoint, then follow the log live.

Exactly once, whatever crashes when: a batch (≤ `batch_size` events of one project) is one
transaction that locks the projection's checkpoint row, reads the log after it, writes the
read-model rows and moves the checkpoint. A crash anywhere rolls all of it back, and the next
attempt starts from the same checkpoint.

One active runner per projection: a runner works only while it holds the projection's session
advisory lock, on the connection it works on. Other processes' runners retry the lock every
`lock_retry_interval` seconds; when the holder dies, its session ends, the lock frees and one of
them takes over from the committed checkpoint. (The checkpoint row lock keeps batches correct
even if two runners ever overlapped; the advisory lock keeps them from wasting work.)

Live: the runner LISTENs on the log's channel and wakes on every append; it also polls every
`poll_interval` seconds, so a lost notification only delays it — polling is the truth.

Far behind (a log restored from a dump, the first start after a big import): a project whose
checkpoint is `fast_path_after` events or more behind its head is caught up by a rebuild from
zero (projections/from_zero.py) instead of batch by batch, then followed live as before. The
rebuild runs on the runner's connection, under the lock the runner holds, reading ahead on a
spare connection when the pool has one. It builds this runner's projection only: the lock guards
that projection alone, so no runner may build another's tables (one pass for all projections
would need all their locks); and the runners of one process rebuilding at once overlap one's
COPY and indexing with another's fold, which makes up for reading the log once per projection.
It builds new tables beside the live ones and, in one transaction, attaches them as the
project's partitions and moves the checkpoint: exactly once, all or nothing, never half visible;
a failure or a crash leaves the old rows and checkpoint, and the next turn tries again.
Leftovers of a builder killed mid-way are dropped when the service starts and before each
rebuild (partitions.drop_abandoned_builds).

A rebuild commits nothing until its swap, so its checkpoint stands still for minutes. Its runner
writes a heartbeat (when it last made progress, in a short transaction of its own that gives way
to the swap's lock) every `heartbeat_interval` seconds while it advances, and clears it when the
rebuild ends: every process's status then tells a rebuild in progress from a stalled projection.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import datetime as dt
import logging
import time
from collections.abc import AsyncIterator, Sequence
from typing import Any, Protocol

import asyncpg
import msgspec
from asyncpg.pool import PoolConnectionProxy

from events.connection import Connection, Executor
from events.envelope import RecordedEvent
from events.notifications import DEFAULT_CHANNEL
from events.read import read_log
from projections.checkpoints import (
    Lagging,
    checkpoint_states,
    clear_rebuild_progress,
    lagging_projects,
    lock_checkpoint,
    lock_holder,
    record_rebuild_progress,
    set_checkpoint,
    try_lock,
    unlock,
)
from projections.keyed import KeyedProjection
from projections.partitions import drop_abandoned_builds
from projections.replay import ReplayProgress, rebuild
from projections.sessions import connection_lost

log = logging.getLogger("impactlog.projections")

DEFAULT_BATCH_SIZE = 2000
# Events behind the head from which a project is rebuilt from zero rather than folded in batches:
# a rebuild reads the whole log, so it pays only well beyond what batches catch up in seconds.
DEFAULT_FAST_PATH_AFTER = 50_000
# Batches one project may take before the runner looks at the others (fairness while catching up).
BATCHES_PER_TURN = 5
THROUGHPUT_WINDOW = 10.0
# How long a rebuild waits for a second connection before it reads on the runner's alone.
SPARE_CONNECTION_WAIT = 1.0
MAX_ERROR_BACKOFF = 60.0
# How often a rebuild's heartbeat is written: well within the service's stall_after (30 s), as a
# process reading it sees the progress up to this much late.
REBUILD_HEARTBEAT_INTERVAL = 5.0
# How long a heartbeat waits for a pool connection before it skips a beat.
HEARTBEAT_CONNECTION_WAIT = 1.0


class Projection(Protocol):
    """A read model folded from the log. `apply` gets a batch in position order and writes its
    rows on the runner's transaction; it must not commit, and must be deterministic, so replay
    from zero gives the live result."""

    @property
    def name(self) -> str:
        """Unique; names the checkpoint and the runner lock."""
        ...

    @property
    def version(self) -> int:
        """Bump when the fold changes: runners then rebuild the rows from zero."""
        ...

    @property
    def tables(self) -> tuple[str, ...]:
        """Every table the projection owns (each keyed by project_id first)."""
        ...

    async def apply(self, connection: Connection, project_id: str, events: Sequence[RecordedEvent]) -> None:
        """Fold a batch of one project's log into the read model."""
        ...

    async def reset(self, connection: Connection, project_id: str) -> None:
        """Delete the project's rows from every table of the projection."""
        ...


class ProjectionStatus(msgspec.Struct, frozen=True, kw_only=True):
    """One projection on one project, as /health and /metrics show it."""

    projection: str
    project_id: str
    checkpoint: int
    head: int
    lag: int
    # When a batch last committed (in any process), None before the first.
    last_progress_at: dt.datetime | None
    # How long the projection has been behind without progress (0 when caught up).
    behind_seconds: float
    # Events this process projected over the last THROUGHPUT_WINDOW seconds, per second.
    events_per_second: float
    # Events this process projected since it started.
    events_projected: int
    # This process holds the projection's runner lock.
    running: bool
    # The database backend holding it, whichever process that is; None when nobody runs it.
    holder_pid: int | None
    version: int
    # The projection version that built the rows (None before the first batch).
    built_by_version: int | None
    # A rebuild from zero, in this process or another, reported progress within stall_after (it
    # commits nothing until its swap, so the checkpoint stands still meanwhile).
    rebuilding: bool = False
    # Behind without progress for longer than the service's stall_after, and not rebuilding.
    stalled: bool
    # The last batch of this project failed in this process with this error (retried).
    error: str | None


class _Throughput:
    """Events projected: in total, and per second over a sliding window."""

    def __init__(self) -> None:
        self.total = 0
        self._samples: collections.deque[tuple[float, int]] = collections.deque()

    def record(self, events: int) -> None:
        now = time.monotonic()
        self.total += events
        self._samples.append((now, events))
        self._trim(now)

    def per_second(self) -> float:
        self._trim(time.monotonic())
        return sum(n for _, n in self._samples) / THROUGHPUT_WINDOW

    def _trim(self, now: float) -> None:
        while self._samples and self._samples[0][0] < now - THROUGHPUT_WINDOW:
            self._samples.popleft()


class _Failure(msgspec.Struct, kw_only=True):
    """A project whose batches fail in this runner, and when to try it again."""

    message: str
    attempts: int
    retry_at: float


class ProjectionRunner:
    """Runs one projection over every project's log, while holding its lock."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        projection: Projection,
        *,
        channel: str = DEFAULT_CHANNEL,
        batch_size: int = DEFAULT_BATCH_SIZE,
        poll_interval: float = 1.0,
        lock_retry_interval: float = 2.0,
        fast_path_after: int = DEFAULT_FAST_PATH_AFTER,
        heartbeat_interval: float = REBUILD_HEARTBEAT_INTERVAL,
    ) -> None:
        self.projection = projection
        self._pool = pool
        self._channel = channel
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._lock_retry_interval = lock_retry_interval
        self._fast_path_after = fast_path_after
        self._heartbeat_interval = heartbeat_interval
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._wake = asyncio.Event()
        self._holding = False
        self._throughput: dict[str, _Throughput] = collections.defaultdict(_Throughput)
        self._failures: dict[str, _Failure] = {}
        # Projects this runner is rebuilding, and when their rebuild last reported progress.
        self._rebuilding: dict[str, float] = {}

    @property
    def running(self) -> bool:
        """Whether this process holds the projection's lock (and so runs it)."""
        return self._holding

    async def start(self) -> None:
        """Start following in a background task (it waits for the lock if another holds it)."""
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self._main(), name=f"projection-{self.projection.name}")

    async def stop(self, timeout: float = 10.0) -> None:
        """Finish the current batch, give the lock and the connection back."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(task), timeout)
        except TimeoutError:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def status(self, connection: Executor, stall_after: float) -> list[ProjectionStatus]:
        """Checkpoint, head, lag and health of the projection on every project."""
        name = self.projection.name
        states = await checkpoint_states(connection, name)
        holder = await lock_holder(connection, name)
        statuses = []
        for state in states:
            lag = state.head - state.checkpoint
            meter = self._throughput.get(state.project_id) or _Throughput()
            failure = self._failures.get(state.project_id)
            # A rebuild commits nothing until its swap, but reports what it has read: here, to
            # this process; elsewhere, through the heartbeat its runner writes.
            rebuilt_at = self._rebuilding.get(state.project_id)
            here = rebuilt_at is not None and time.monotonic() - rebuilt_at <= stall_after
            beat = state.rebuild_progress_seconds
            rebuilding = here or (beat is not None and beat <= stall_after)
            statuses.append(
                ProjectionStatus(
                    projection=name,
                    project_id=state.project_id,
                    checkpoint=state.checkpoint,
                    head=state.head,
                    lag=lag,
                    last_progress_at=state.updated_at,
                    behind_seconds=state.behind_seconds,
                    events_per_second=meter.per_second(),
                    events_projected=meter.total,
                    running=self.running,
                    holder_pid=holder,
                    version=self.projection.version,
                    built_by_version=state.version,
                    rebuilding=rebuilding,
                    stalled=lag > 0 and state.behind_seconds > stall_after and not rebuilding,
                    error=failure.message if failure is not None else None,
                )
            )
        return statuses

    async def _main(self) -> None:
        while not self._stopping.is_set():
            connection = await self._acquire_lock()
            if connection is None:
                await self._sleep(self._lock_retry_interval)
                continue
            try:
                await self._follow(connection)
            except Exception:
                # The connection died (or the database went away): give everything back and
                # compete for the lock again; the checkpoint says where to resume.
                log.exception("projection runner lost its connection", extra=self._log_extra())
                await self._sleep(min(self._poll_interval, self._lock_retry_interval))
            finally:
                await self._let_go(connection)

    async def _acquire_lock(self) -> PoolConnectionProxy[Any] | None:
        """A pool connection holding the projection's lock, or None when another holds it."""
        try:
            connection = await self._pool.acquire(timeout=max(self._lock_retry_interval, 5.0))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            log.warning("projection runner cannot reach the database", extra=self._log_extra())
            return None
        try:
            if await try_lock(connection, self.projection.name):
                self._holding = True
                log.info("projection runner took the lock", extra=self._log_extra())
                return connection
        except Exception:
            log.exception("projection runner could not try its lock", extra=self._log_extra())
        await self._release(connection)
        return None

    async def _let_go(self, connection: PoolConnectionProxy[Any]) -> None:
        self._holding = False
        if not connection_lost(connection):
            with contextlib.suppress(Exception):
                await connection.remove_listener(self._channel, self._on_notify)
                await unlock(connection, self.projection.name)
        await self._release(connection)

    async def _release(self, connection: PoolConnectionProxy[Any]) -> None:
        with contextlib.suppress(Exception):
            await self._pool.release(connection)

    async def _follow(self, connection: Connection) -> None:
        """Catch up every project, then sleep until an append or the poll interval, and again."""
        await connection.add_listener(self._channel, self._on_notify)
        while not self._stopping.is_set():
            self._wake.clear()
            if not await self._catch_up(connection):
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self._poll_interval)

    def _on_notify(self, *_args: object) -> None:
        self._wake.set()

    async def _catch_up(self, connection: Connection) -> bool:
        """A turn of a few batches for each project with work; whether anything moved."""
        moved = False
        for project in await lagging_projects(connection, self.projection.name, self.projection.version):
            project_id, from_zero = project.project_id, self._far_behind(project)
            for _ in range(BATCHES_PER_TURN):
                if self._stopping.is_set():
                    return moved
                if self._backing_off(project_id):
                    break
                if not await self._guarded_batch(connection, project_id, from_zero):
                    break
                from_zero = False  # caught up from zero: the rest of the turn folds batches
                moved = True
        return moved

    def _far_behind(self, project: Lagging) -> bool:
        """Whether to catch the project up by a rebuild from zero (module doc)."""
        return project.lag >= self._fast_path_after and isinstance(self.projection, KeyedProjection)

    async def _guarded_batch(self, connection: Connection, project_id: str, from_zero: bool) -> int:
        """One batch (or a rebuild from zero); a failure that is not the connection's backs the
        project off and returns 0."""
        try:
            done = await self._batch(connection, project_id, from_zero)
        except Exception as error:
            if connection_lost(connection):
                raise
            self._fail(project_id, error)
            return 0
        self._failures.pop(project_id, None)
        return done

    async def _batch(self, connection: Connection, project_id: str, from_zero: bool) -> int:
        """The next batch of a project, or its rebuild when asked to or when another version built
        its rows; the events folded."""
        if from_zero:
            return await self._rebuild(connection, project_id, "far behind the head")
        folded = await self._fold_next(connection, project_id)
        if folded is None:
            return await self._rebuild(connection, project_id, "projection version changed")
        self._throughput[project_id].record(folded)
        return folded

    async def _fold_next(self, connection: Connection, project_id: str) -> int | None:
        """Fold the next batch and move the checkpoint in one transaction: the events folded, or
        None when the rows were built by another version of the projection."""
        name, version = self.projection.name, self.projection.version
        async with connection.transaction():
            checkpoint = await lock_checkpoint(connection, name, project_id, version)
            if checkpoint.version != version and checkpoint.position > 0:
                return None
            events = await read_log(connection, project_id, after=checkpoint.position, limit=self._batch_size)
            if events:
                await self.projection.apply(connection, project_id, events)
            if events or checkpoint.version != version:
                position = events[-1].position if events else checkpoint.position
                await set_checkpoint(connection, name, project_id, position, version)
        return len(events)

    async def _rebuild(self, connection: Connection, project_id: str, reason: str) -> int:
        """Rebuild from zero beside the live rows, then swap (projections.replay); the position
        reached. Reads ahead and builds on other connections of the pool."""
        log.info(f"{reason}: rebuilding from zero", extra={**self._log_extra(), "project": project_id})
        await drop_abandoned_builds(connection, self.projection.tables)
        meter = self._throughput[project_id]
        read = 0

        def progress(step: ReplayProgress) -> None:
            nonlocal read
            meter.record(step.done - read)
            read = step.done
            self._rebuilding[project_id] = time.monotonic()

        progress(ReplayProgress(projection=self.projection.name, done=0, total=0, events_per_second=0.0))
        try:
            async with self._heartbeat(connection, project_id), self._spare_connection() as reader:
                result = await rebuild(
                    connection,
                    self.projection,
                    project_id,
                    batch_size=self._batch_size,
                    progress=progress,
                    reader=reader,
                )
        finally:
            self._rebuilding.pop(project_id, None)
        return result.position

    @contextlib.asynccontextmanager
    async def _heartbeat(self, connection: Connection, project_id: str) -> AsyncIterator[None]:
        """The rebuild's heartbeat (module doc): written at once, then while the rebuild advances,
        and cleared when it ends. The first and last go on the runner's connection, idle then."""
        await self._beat(project_id, connection)
        done = asyncio.Event()
        beating = asyncio.create_task(self._beat_while_rebuilding(project_id, done))
        try:
            yield
        finally:
            done.set()
            await beating  # short: a beat gives way to locks and to a busy pool
            await self._beat(project_id, connection, clear=True)

    async def _beat_while_rebuilding(self, project_id: str, done: asyncio.Event) -> None:
        """Every heartbeat_interval until `done`, a beat if the rebuild progressed since the last
        one (a rebuild stuck in a step must not look alive)."""
        written = self._rebuilding.get(project_id)
        while not done.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), self._heartbeat_interval)
            progressed = self._rebuilding.get(project_id)
            if done.is_set() or progressed is None or progressed == written:
                continue
            if await self._beat(project_id):
                written = progressed

    async def _beat(self, project_id: str, connection: Connection | None = None, clear: bool = False) -> bool:
        """Write (or clear) the heartbeat, on `connection` or else a pool connection; whether it
        was written. A failure is only logged: the rebuild goes on without it, and a heartbeat
        left behind stops counting after stall_after."""
        name = self.projection.name
        try:
            async with self._beat_connection(connection) as writer:
                if clear:
                    await clear_rebuild_progress(writer, name, project_id)
                else:
                    ago = time.monotonic() - self._rebuilding.get(project_id, time.monotonic())
                    await record_rebuild_progress(writer, name, project_id, self.projection.version, ago)
        except Exception as error:  # whatever it is, it must not fail the rebuild
            # A beat meeting the swap's lock on the checkpoint row is expected: the swap goes first.
            level = logging.INFO if isinstance(error, asyncpg.LockNotAvailableError) else logging.WARNING
            log.log(
                level,
                f"rebuild heartbeat not written: {type(error).__name__}: {error}",
                extra={**self._log_extra(), "project": project_id},
            )
            return False
        return True

    @contextlib.asynccontextmanager
    async def _beat_connection(self, connection: Connection | None) -> AsyncIterator[Connection]:
        """`connection`, or a pool connection if one frees up soon (a beat can skip, not wait)."""
        if connection is not None:
            yield connection
            return
        async with self._pool.acquire(timeout=HEARTBEAT_CONNECTION_WAIT) as pooled:
            yield pooled

    @contextlib.asynccontextmanager
    async def _spare_connection(self) -> AsyncIterator[PoolConnectionProxy[Any] | None]:
        """Another pool connection for a rebuild to read ahead on, or None (it reads on its own)
        when none frees up soon: runners waiting on a pool they all hold would wait forever."""
        try:
            spare = await self._pool.acquire(timeout=SPARE_CONNECTION_WAIT)
        except TimeoutError:
            log.info("no spare connection: rebuilding without read-ahead", extra=self._log_extra())
            yield None
            return
        try:
            yield spare
        finally:
            await self._release(spare)

    def _fail(self, project_id: str, error: Exception) -> None:
        previous = self._failures.get(project_id)
        attempts = previous.attempts + 1 if previous is not None else 1
        backoff = min(self._poll_interval * 2**attempts, MAX_ERROR_BACKOFF)
        self._failures[project_id] = _Failure(
            message=f"{type(error).__name__}: {error}", attempts=attempts, retry_at=time.monotonic() + backoff
        )
        log.error(
            "projection batch failed; retrying later",
            exc_info=error,
            extra={**self._log_extra(), "project": project_id, "attempts": attempts},
        )

    def _backing_off(self, project_id: str) -> bool:
        failure = self._failures.get(project_id)
        return failure is not None and time.monotonic() < failure.retry_at

    async def _sleep(self, seconds: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    def _log_extra(self) -> dict[str, Any]:
        return {"projection": self.projection.name}


class ProjectionService:
    """Every projection's runner in this process; what the app starts, stops and asks."""

    def __init__(
        self,
        pool: asyncpg.Pool,
        projections: Sequence[Projection] | None = None,
        *,
        channel: str = DEFAULT_CHANNEL,
        batch_size: int = DEFAULT_BATCH_SIZE,
        poll_interval: float = 1.0,
        lock_retry_interval: float = 2.0,
        stall_after: float = 30.0,
        fast_path_after: int = DEFAULT_FAST_PATH_AFTER,
    ) -> None:
        from projections import default_projections

        self._pool = pool
        self.stall_after = stall_after
        self.runners = [
            ProjectionRunner(
                pool,
                projection,
                channel=channel,
                batch_size=batch_size,
                poll_interval=poll_interval,
                lock_retry_interval=lock_retry_interval,
                fast_path_after=fast_path_after,
                heartbeat_interval=min(REBUILD_HEARTBEAT_INTERVAL, stall_after / 4),
            )
            for projection in (projections if projections is not None else default_projections())
        ]

    async def start(self) -> None:
        """Drop the tables of rebuilds killed mid-way, then start every runner (each holds one
        pool connection while it runs its projection)."""
        tables = [table for runner in self.runners for table in runner.projection.tables]
        try:
            async with self._pool.acquire(timeout=10.0) as connection:
                await drop_abandoned_builds(connection, tables)
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            # The runners wait for the database; each cleans its own tables before a rebuild.
            log.warning("could not look for abandoned build tables", exc_info=True)
        for runner in self.runners:
            await runner.start()

    async def stop(self) -> None:
        """Stop every runner; call before closing the pool."""
        await asyncio.gather(*(runner.stop() for runner in self.runners))

    async def status(self) -> list[ProjectionStatus]:
        """Every projection on every project."""
        async with self._pool.acquire() as connection:
            return [s for runner in self.runners for s in await runner.status(connection, self.stall_after)]

    async def wait_for_position(
        self, project_id: str, position: int, timeout: float, projections: Sequence[str] | None = None
    ) -> bool:
        """Read-your-writes: wait (bounded) until the projections have read `position`."""
        names = list(projections) if projections is not None else [r.projection.name for r in self.runners]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            reached = await self._pool.fetchval(REACHED, project_id, names, position)
            remaining = deadline - loop.time()
            if reached == len(names) or remaining <= 0:
                return bool(reached == len(names))
            await asyncio.sleep(min(remaining, 0.05))


REACHED = """
SELECT count(*) FROM projection_checkpoints
 WHERE project_id = $1 AND projection = ANY($2::text[]) AND position >= $3
"""
