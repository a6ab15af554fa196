"""Wake-ups when a project's log grows: LISTEN/NOTIFY, with polling as the truth.

A NOTIFY can be lost (the listening connection drops); waiters therefore also poll the head at
`poll_interval`, so a wake-up is only ever a shortcut, never the sole source of truth.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

import asyncpg

from events.read import read_head

log = logging.getLogger("impactlog.events.notifications")

DEFAULT_CHANNEL = "impactlog_log"


class LogNotifications:
    """One listening connection per process; per-project conditions waiters can wait on."""

    def __init__(self, pool: asyncpg.Pool, channel: str = DEFAULT_CHANNEL, poll_interval: float = 1.0):
        self._pool = pool
        self._channel = channel
        self._poll_interval = poll_interval
        self._connection: Any = None
        self._heads: dict[str, int] = {}
        self._changed: dict[str, asyncio.Event] = {}

    async def start(self) -> None:
        """Acquire a connection and LISTEN on the channel."""
        self._connection = await self._pool.acquire()
        await self._connection.add_listener(self._channel, self._on_notify)

    async def stop(self) -> None:
        """Stop listening and give the connection back."""
        if self._connection is not None:
            with contextlib.suppress(Exception):
                await self._connection.remove_listener(self._channel, self._on_notify)
            await self._pool.release(self._connection)
            self._connection = None

    def _on_notify(self, _connection: Any, _pid: int, _channel: str, payload: str) -> None:
        project_id, _, position = payload.rpartition(" ")
        try:
            head = int(position)
        except ValueError:
            log.warning("ignoring malformed notification", extra={"payload": payload})
            return
        if head > self._heads.get(project_id, -1):
            self._heads[project_id] = head
        event = self._changed.pop(project_id, None)
        if event is not None:
            event.set()

    def known_head(self, project_id: str) -> int | None:
        """The highest position announced for the project since start."""
        return self._heads.get(project_id)

    async def wait_for_change(self, project_id: str, timeout: float | None = None) -> None:
        """Return on the next notification for the project, or after the poll interval."""
        event = self._changed.setdefault(project_id, asyncio.Event())
        wait = self._poll_interval if timeout is None else min(timeout, self._poll_interval)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), wait)

    async def wait_for_position(self, project_id: str, position: int, timeout: float) -> int:
        """Wait (bounded) until the project's log head reaches `position`; return the head."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            head = await read_head(self._pool, project_id)
            current = head.position if head is not None else 0
            remaining = deadline - loop.time()
            if current >= position or remaining <= 0:
                return current
            await self.wait_for_change(project_id, remaining)
