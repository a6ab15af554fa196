"""Which activity id an event carries (a session, an exchange, a coaching engagement, an outreach
event) and which one it depends on (feedback, follow-ups, an exchange's lifecycle): a retraction
of the last carrier of an id voids what depends on it (DOMAIN.md (f)). One table for the write
model (events/write_model.py) and the KPI fold (indicators/log_view.py).
"""

from __future__ import annotations

from events.catalog.activities import (
    CoachingSessionHeld,
    FeedbackCollected,
    FollowUpCooperationRecorded,
    OutreachEventHeld,
    TrainingDelivered,
)
from events.catalog.exchanges import (
    CommitmentToQualitySigned,
    ExchangeCancelled,
    ExchangeClosingReportSubmitted,
    ExchangeCompleted,
    ExchangeRegistered,
    LumpSumPaid,
)
from events.catalog.payload import EventPayload

# The field holding the activity id an event carries, which feedback, follow-ups and lifecycle
# events name.
CARRIED_ID: dict[type[EventPayload], str] = {
    TrainingDelivered: "session_id",
    ExchangeRegistered: "exchange_id",
    CoachingSessionHeld: "engagement_id",
    OutreachEventHeld: "outreach_id",
}

# The field holding the activity id an event depends on (and is voided with).
DEPENDENCY_ID: dict[type[EventPayload], str] = {
    FeedbackCollected: "activity_id",
    FollowUpCooperationRecorded: "source_activity_id",
    CommitmentToQualitySigned: "exchange_id",
    ExchangeCompleted: "exchange_id",
    ExchangeClosingReportSubmitted: "exchange_id",
    LumpSumPaid: "exchange_id",
    ExchangeCancelled: "exchange_id",
}


def carried_activity_id(payload: EventPayload) -> str | None:
    """The activity id the event carries, if it is an activity."""
    field = CARRIED_ID.get(type(payload))
    return getattr(payload, field) if field is not None else None


def dependency_activity_id(payload: EventPayload) -> str | None:
    """The activity id the event depends on, if any."""
    field = DEPENDENCY_ID.get(type(payload))
    return getattr(payload, field) if field is not None else None
