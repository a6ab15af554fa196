"""Activities the project delivers: trainings, feedback on them, coaching, outreach, follow-ups.

Streams: ``activity-<session_id>`` for a training session, ``feedback-<activity_id>`` for the
feedback on any activity, ``coaching-<engagement_id>`` for the sessions of one coaching
engagement, ``outreach-<outreach_id>`` and ``followup-<source_activity_id>``.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec

from events.catalog.payload import EventPayload, PayloadStruct
from events.catalog.vocabulary import (
    CountryCode,
    DeliveryFormat,
    FollowUpType,
    Hours,
    Id,
    NonNegativeInt,
    OutreachType,
    PositiveHours,
    Scale1to5,
    Term,
    Text,
    Topic,
)


class Attendee(PayloadStruct, frozen=True, kw_only=True):
    """One person at a training session and the hours they attended (0..duration_hours)."""

    participant_id: Id
    org_id: Id
    attended_hours: Hours


class TrainingDelivered(EventPayload, frozen=True, kw_only=True):
    """One training session (O1), however many days it spans; its attendance feeds O2/O3."""

    stream_prefix = "activity"
    stream_key = "session_id"
    self_date_field = "dates"

    session_id: Id
    # Ascending, no repeats; occurred_on equals the first date.
    dates: Annotated[list[dt.date], msgspec.Meta(min_length=1, max_length=60)]
    topic: Topic
    format: DeliveryFormat
    duration_hours: PositiveHours
    # The venue; for online sessions the organising partner's country (DOMAIN.md (f)).
    country: CountryCode
    # Trainers are people, so they are participant ids too: no names in the log.
    trainers: Annotated[list[Id], msgspec.Meta(max_length=50)] = msgspec.field(default_factory=list)
    attendees: Annotated[list[Attendee], msgspec.Meta(max_length=1000)] = msgspec.field(default_factory=list)

    reference_paths = (
        ("participant", "trainers[]"),
        ("participant", "attendees[].participant_id"),
        ("org", "attendees[].org_id"),
    )


class FeedbackCollected(EventPayload, frozen=True, kw_only=True):
    """One feedback response on an activity (a training session or an outreach event)."""

    stream_prefix = "feedback"
    stream_key = "activity_id"

    activity_id: Id
    respondent_id: Id | None = None
    satisfaction: Scale1to5
    knowledge_gain: Scale1to5
    recommend: bool

    reference_paths = (("activity", "activity_id"), ("participant", "respondent_id"))


class CoachingSessionHeld(EventPayload, frozen=True, kw_only=True):
    """One coaching/mentoring session of an engagement; O4 sums its hours."""

    stream_prefix = "coaching"
    stream_key = "engagement_id"

    engagement_id: Id
    coach_org_id: Id
    coachee_org_id: Id
    # Open vocabularies in DOMAIN.md (a), unlike a training's: the training topics and formats
    # are the suggested terms (O4's topic and mode cells take any term as written).
    topic: Term
    hours: PositiveHours
    mode: Term
    # What the session produced, e.g. "internationalisation action plan".
    output: Text

    reference_paths = (("org", "coach_org_id"), ("org", "coachee_org_id"))


class OutreachEventHeld(EventPayload, frozen=True, kw_only=True):
    """A dissemination event or channel (O9, O10).

    Version 2 added ``outreach_id`` (so feedback can name it) and the venue ``country``
    (the O10 country dimension); upcasting.py reads version-1 payloads.
    """

    schema_version = 2
    stream_prefix = "outreach"
    stream_key = "outreach_id"

    outreach_id: Id
    event_type: OutreachType
    # Contacts, not distinct persons; recipients for newsletters, publications and social posts.
    attendees: NonNegativeInt
    orgs_reached: Annotated[list[Id], msgspec.Meta(max_length=5000)] = msgspec.field(default_factory=list)
    sme_count: NonNegativeInt
    countries: Annotated[list[CountryCode], msgspec.Meta(max_length=60)] = msgspec.field(default_factory=list)
    country: CountryCode
    b2b_meetings: NonNegativeInt

    reference_paths = (("org", "orgs_reached[]"),)


class FollowUpCooperationRecorded(EventPayload, frozen=True, kw_only=True):
    """Cooperation that grew out of an activity (usually an exchange): R3's numerator."""

    stream_prefix = "followup"
    stream_key = "source_activity_id"
    self_date_field = "date"

    source_activity_id: Id
    type: FollowUpType
    org_ids: Annotated[list[Id], msgspec.Meta(min_length=1, max_length=50)]
    date: dt.date

    reference_paths = (("activity", "source_activity_id"), ("org", "org_ids[]"))
