"""An in-memory projection: each project's log decoded into the KPI engine's LogEntry rows.

The KPI engine folds decoded entries; decoding is the costly part, so it is done once per event
and kept, caught up incrementally from the last position seen (the checkpoint). "As of P" is the
engine's own cut of this list, so live and as-of figures come from the same rows.
"""

from __future__ import annotations

import asyncio

from events.connection import Executor
from events.entries import LogEntry, log_entry
from events.read import iterate_log


class DecodedLog:
    """Per project: the decoded entries and the position they reach."""

    def __init__(self, pool: Executor) -> None:
        self._pool = pool
        self._entries: dict[str, list[LogEntry]] = {}
        # The last copy handed out, per project: handed out again while nothing new was read.
        self._copies: dict[str, list[LogEntry]] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    def position(self, project_id: str) -> int:
        """The last position decoded for the project (0 before first use)."""
        entries = self._entries.get(project_id)
        return entries[-1].position if entries else 0

    async def entries(self, project_id: str) -> list[LogEntry]:
        """Every committed entry of the project, decoded; reads only what is new since last time."""
        lock = self._locks.setdefault(project_id, asyncio.Lock())
        async with lock:
            entries = self._entries.setdefault(project_id, [])
            after = entries[-1].position if entries else 0
            async for batch in iterate_log(self._pool, project_id, after=after):
                entries.extend(log_entry(event) for event in batch)
            # A copy, so a later catch-up never changes a list an evaluation is reading; the same
            # copy while the log has not moved (copying a million entries takes milliseconds).
            # Readers never change the lists they are handed.
            copy = self._copies.get(project_id)
            if copy is None or len(copy) != len(entries):
                copy = self._copies[project_id] = list(entries)
            return copy
