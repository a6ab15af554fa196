"""A project's log as the projections and the KPI engine read it: each stored row with its payload
decoded (and upcast) by the catalog, and an event as it stands after its live corrections."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Generic, TypeVar

import msgspec

from events.catalog import EventPayload, decode_payload, event_type_of
from events.envelope import RecordedEvent

P = TypeVar("P", bound=EventPayload)


class LogEntry(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """One row of a project's log with its payload already decoded (and upcast) by the catalog.

    Not tracked by the garbage collector (gc=False: it refers to nothing that refers back to it),
    so a million kept in memory do not slow every collection down."""

    position: int
    type: str
    occurred_on: dt.date
    recorded_at: dt.datetime
    partner_org_id: str | None
    event_id: uuid.UUID
    payload: EventPayload

    def __post_init__(self) -> None:
        actual = event_type_of(self.payload)
        if actual != self.type:
            raise ValueError(
                f"log entry {self.position}: type is {self.type!r} but the payload is a {actual}"
            )


def log_entry(event: RecordedEvent) -> LogEntry:
    """A stored log row as the engine reads it: the payload decoded (and upcast) by the catalog,
    the partner from the metadata's partner_org_id; a row stored without occurred_on (sign-offs,
    snapshots) is dated by the UTC day it was recorded."""
    metadata = event.decoded_metadata()
    partner = metadata.get("partner_org_id")
    return LogEntry(
        position=event.position,
        type=event.type,
        occurred_on=event.occurred_on or utc_day(event.recorded_at),
        recorded_at=event.recorded_at,
        partner_org_id=partner if isinstance(partner, str) else None,
        event_id=event.event_id,
        payload=decode_payload(event.type, bytes(event.data), event.schema_version),
    )


class LiveEvent(msgspec.Struct, Generic[P], frozen=True, kw_only=True, gc=False):
    """A live event as it stands after its corrections: what the KPIs count (untracked by the
    garbage collector, like LogEntry)."""

    position: int
    event_id: uuid.UUID
    occurred_on: dt.date
    partner_org_id: str | None
    payload: P
    # The live corrections applied to it, in log order (a skipped one changed nothing: not listed).
    correction_positions: tuple[int, ...] = ()

    @property
    def sources(self) -> tuple[int, ...]:
        """The log positions behind the event as it stands: its own and its applied corrections'."""
        return (self.position, *self.correction_positions)


def entry_position(entry: LogEntry) -> int:
    """An entry's log position (the key the log is read in)."""
    return entry.position


def in_utc(moment: dt.datetime) -> dt.datetime:
    """A timestamp in UTC, so it is served (and hashed) one way; a naive one is left as given."""
    return moment.astimezone(dt.UTC) if moment.tzinfo is not None else moment


def utc_day(moment: dt.datetime) -> dt.date:
    """The UTC day of a timestamp (a naive one is taken as given)."""
    return in_utc(moment).date()
