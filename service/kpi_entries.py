"""The decoded log the KPI routes, the dashboard and the snapshot publisher evaluate, with its
contribution timelines kept (indicators/timeline_store.py: built in the background for a long log,
so figures as of any position are read off them)."""

from __future__ import annotations

from events.entries import LogEntry
from indicators import timeline_store
from projections.decoded_log import DecodedLog


async def kpi_entries(decoded: DecodedLog, project_id: str) -> list[LogEntry]:
    """A project's entries, decoded once and kept, with their timelines followed."""
    entries = await decoded.entries(project_id)
    timeline_store.follow(entries)
    return entries
