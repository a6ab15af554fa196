"""The live dashboard at any log size: the newest view at once, a newer one computed meanwhile.

The KPI engine evaluates the whole log: milliseconds for a real project, minutes at a million
events. A live page asked for after the log has moved therefore gets the newest view already
computed, its header saying how many events it lags ("lag if any"), while one background task
per (project, funder view) computes the view at the new position; the next page shows it. Only
the first page after start-up waits for the engine. Past views (a snapshot, a date, a position)
never change, so they are computed once and cached, and exports are always computed exactly.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

import msgspec

from service.dashboard.view import Dashboard

log = logging.getLogger("impactlog.dashboard")


# What a request read (routes.LogRead), handed back to `compute` as it is.
Read = TypeVar("Read")


class LiveViews(Generic[Read]):
    """Per (project, funder view): the newest live dashboard and the task computing a newer one."""

    def __init__(self) -> None:
        self._views: dict[tuple[str, bool], tuple[int, Dashboard]] = {}
        self._refreshing: dict[tuple[str, bool], asyncio.Task[None]] = {}

    async def view(
        self,
        project: str,
        hide: bool,
        seen: int,
        read: Read,
        compute: Callable[[Read], Awaitable[Dashboard]],
    ) -> Dashboard:
        """The live dashboard for a request that read the log up to position `seen`: exact when
        one is computed for that position (or none exists yet: then computed now), else the
        newest one, its header showing the lag."""
        key = (project, hide)
        stored = self._views.get(key)
        if stored is None:
            dashboard = await compute(read)
            self._keep(key, seen, dashboard)
            return dashboard
        position, dashboard = stored
        if position >= seen:
            return dashboard
        self._refresh(key, seen, read, compute)
        # The header now measures the lag against the log this request read.
        header = msgspec.structs.replace(dashboard.header, head_position=seen)
        return msgspec.structs.replace(dashboard, header=header)

    def refreshing(self, project: str, hide: bool) -> asyncio.Task[None] | None:
        """The task computing a newer view, if one runs (tests await it)."""
        return self._refreshing.get((project, hide))

    def _keep(self, key: tuple[str, bool], seen: int, dashboard: Dashboard) -> None:
        stored = self._views.get(key)
        if stored is None or stored[0] < seen:
            self._views[key] = (seen, dashboard)

    def _refresh(
        self, key: tuple[str, bool], seen: int, read: Read, compute: Callable[[Read], Awaitable[Dashboard]]
    ) -> None:
        if key in self._refreshing:
            return  # one at a time: the next page after it starts the next one if still behind

        async def refresh() -> None:
            try:
                self._keep(key, seen, await compute(read))
            except Exception:
                log.exception("live dashboard refresh failed", extra={"project": key[0]})
            finally:
                self._refreshing.pop(key, None)

        self._refreshing[key] = asyncio.create_task(refresh(), name=f"dashboard-refresh-{key[0]}")
