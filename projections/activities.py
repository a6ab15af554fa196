"""Read model: the activities the project delivers — training sessions (with who attended),
coaching sessions and outreach events — one row per recorded event, as corrected; a retracted
one stays with live = false, so both "what counts" and "what was withdrawn" can be read.

Keyed by event id: an activity record and its corrections. (outreach_id is correctable, so it
cannot be the key; a session recorded twice is two records, as for the KPI engine.)
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import msgspec
from msgspec.structs import replace

from events.catalog import CoachingSessionHeld, EventPayload, OutreachEventHeld, TrainingDelivered
from events.entries import LiveEvent, LogEntry
from projections.keyed import DerivedTable, KeyedProjection, KeyView, Row

_ACTIVITIES = (TrainingDelivered, CoachingSessionHeld, OutreachEventHeld)


class ActivityRow(msgspec.Struct, frozen=True, kw_only=True):
    """A row of `activities`; the columns a kind does not have are None."""

    event_id: uuid.UUID
    kind: str
    activity_id: str
    live: bool
    occurred_on: dt.date
    partner_org_id: str | None
    topic: str | None = None
    format: str | None = None
    country: str | None = None
    hours: Decimal | None = None
    person_hours: Decimal | None = None
    attendees: int | None = None
    coach_org_id: str | None = None
    coachee_org_id: str | None = None
    event_type: str | None = None
    b2b_meetings: int | None = None
    sme_count: int | None = None
    position: int


class AttendanceRow(msgspec.Struct, frozen=True, kw_only=True):
    """A row of `activity_attendance`: one attendee of a training session."""

    event_id: uuid.UUID
    seq: int
    participant_id: str
    org_id: str
    attended_hours: Decimal


def activity_rows(event: LiveEvent[EventPayload], live: bool) -> list[Row]:
    """The rows of one activity record (with its attendance for a training)."""
    p = event.payload
    if isinstance(p, TrainingDelivered):
        training = replace(
            _row(event, live, "training", p.session_id),
            topic=p.topic,
            format=p.format,
            country=p.country,
            hours=p.duration_hours,
            person_hours=sum((a.attended_hours for a in p.attendees), Decimal(0)),
            attendees=len(p.attendees),
        )
        return [training, *_attendance(event.event_id, p)]
    if isinstance(p, CoachingSessionHeld):
        coaching = replace(
            _row(event, live, "coaching", p.engagement_id),
            topic=p.topic,
            format=p.mode,
            hours=p.hours,
            coach_org_id=p.coach_org_id,
            coachee_org_id=p.coachee_org_id,
        )
        return [coaching]
    if isinstance(p, OutreachEventHeld):
        outreach = replace(
            _row(event, live, "outreach", p.outreach_id),
            country=p.country,
            attendees=p.attendees,
            event_type=p.event_type,
            b2b_meetings=p.b2b_meetings,
            sme_count=p.sme_count,
        )
        return [outreach]
    return []


def _row(event: LiveEvent[EventPayload], live: bool, kind: str, activity_id: str) -> ActivityRow:
    return ActivityRow(
        event_id=event.event_id,
        kind=kind,
        activity_id=activity_id,
        live=live,
        occurred_on=event.occurred_on,
        partner_org_id=event.partner_org_id,
        position=event.position,
    )


def _attendance(event_id: uuid.UUID, p: TrainingDelivered) -> list[Row]:
    return [
        AttendanceRow(
            event_id=event_id,
            seq=seq,
            participant_id=a.participant_id,
            org_id=a.org_id,
            attended_hours=a.attended_hours,
        )
        for seq, a in enumerate(p.attendees)
    ]


class ActivitiesProjection(KeyedProjection):
    """activities + activity_attendance."""

    name = "activities"
    version = 1
    sources_table = "activity_sources"
    derived = (
        DerivedTable(name="activities", row_type=ActivityRow, key_column="event_id", key_type="uuid"),
        DerivedTable(
            name="activity_attendance", row_type=AttendanceRow, key_column="event_id", key_type="uuid"
        ),
    )
    event_types = frozenset(kind.__name__ for kind in _ACTIVITIES)

    def key_of(self, entry: LogEntry) -> str | None:
        """The event's own id."""
        return str(entry.event_id) if isinstance(entry.payload, _ACTIVITIES) else None

    def rows(self, view: KeyView) -> list[Row]:
        """The record's rows, live or withdrawn."""
        return [
            *(row for event in view.live for row in activity_rows(event, live=True)),
            *(row for event in view.gone for row in activity_rows(event, live=False)),
        ]
