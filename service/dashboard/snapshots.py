"""Published snapshots as the log records them, and what "as of" a page shows.

A snapshot is a SnapshotPublished event in the project's log (DESIGN.md: "a snapshot is itself
an event in the log"), so the dashboard lists snapshots and pins a view to one by reading the
decoded log alone: the snapshot's ``as_of_seq`` is the log position its figures were computed
at. The snapshot documents themselves (JSON, HTML, CSV) are served by the snapshots API, which
the page links to.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Literal

import msgspec

from events.catalog import SnapshotPublished
from events.entries import LogEntry
from service.dashboard.rendering import PageError

AsOfKind = Literal["live", "snapshot", "date", "position"]


class PublishedSnapshot(msgspec.Struct, frozen=True, kw_only=True):
    """One SnapshotPublished event: which figures it pinned, and where it sits in the log."""

    snapshot_id: str
    kind: str
    period_id: str | None
    as_of_seq: int
    log_head_hash: str
    # The SnapshotPublished event's own position and recording time.
    position: int
    recorded_at: dt.datetime


class AsOf(msgspec.Struct, frozen=True, kw_only=True):
    """What a page shows: the live log, a snapshot's position, a date or a position."""

    kind: AsOfKind
    # What the KPI engine is asked for: a position, a date (the last position recorded that
    # day) or None for the whole log.
    cut: int | dt.date | None
    snapshot: PublishedSnapshot | None = None
    # The query string that selects this view again (exports and links keep the same view).
    query: dict[str, str] = msgspec.field(default_factory=dict)

    @property
    def label(self) -> str:
        """How the page names the view."""
        if self.kind == "snapshot" and self.snapshot is not None:
            return f"as of snapshot {self.snapshot.snapshot_id}"
        if self.kind == "date":
            return f"as recorded by the end of {self.cut}"
        if self.kind == "position":
            return f"as of log position {self.cut}"
        return "live"


def published_snapshots(entries: Sequence[LogEntry]) -> tuple[PublishedSnapshot, ...]:
    """Every SnapshotPublished in the log, newest first."""
    found = [
        PublishedSnapshot(
            snapshot_id=entry.payload.snapshot_id,
            kind=entry.payload.kind,
            period_id=entry.payload.period_id,
            as_of_seq=entry.payload.as_of_seq,
            log_head_hash=entry.payload.log_head_hash,
            position=entry.position,
            recorded_at=entry.recorded_at,
        )
        for entry in entries
        if isinstance(entry.payload, SnapshotPublished)
    ]
    return tuple(reversed(found))


def choose_as_of(snapshot_id: str | None, as_of: str | None, snapshots: Sequence[PublishedSnapshot]) -> AsOf:
    """The view a page's query asks for: a snapshot wins over a date or position; neither is live."""
    if snapshot_id:
        for snapshot in snapshots:
            if snapshot.snapshot_id == snapshot_id:
                return AsOf(
                    kind="snapshot",
                    cut=snapshot.as_of_seq,
                    snapshot=snapshot,
                    query={"snapshot": snapshot_id},
                )
        raise PageError(404, "No such snapshot", f"This project has published no snapshot {snapshot_id!r}.")
    if as_of:
        text = as_of.strip()
        if text.isdigit():
            return AsOf(kind="position", cut=int(text), query={"as_of": text})
        try:
            day = dt.date.fromisoformat(text)
        except ValueError:
            raise PageError(
                400, "Not a date", f"“{text}” is neither a date (YYYY-MM-DD) nor a log position."
            ) from None
        return AsOf(kind="date", cut=day, query={"as_of": day.isoformat()})
    return AsOf(kind="live", cut=None)
