"""Read model: participants, pseudonymous — their organisation, role and gender (what person-based
KPIs are split by) and whether they were erased. No personal data: the pii ciphertext stays in
the log.

Keyed by participant_id: a person's registrations and erasures.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

import msgspec

from events.catalog import EventPayload, ParticipantErased, ParticipantRegistered
from events.entries import LiveEvent, LogEntry
from projections.keyed import DerivedTable, KeyedProjection, KeyView, Row, of_type


class ParticipantRow(msgspec.Struct, frozen=True, kw_only=True):
    """A row of `participants`."""

    participant_id: str
    org_id: str
    role: str
    gender: str
    erased: bool
    erased_on: dt.date | None
    registered_on: dt.date
    partner_org_id: str | None
    position: int
    event_id: uuid.UUID


def participant_rows(events: Sequence[LiveEvent[EventPayload]]) -> list[Row]:
    """One person's row from their live events; none while they have no live registration."""
    registrations = of_type(events, ParticipantRegistered)
    if not registrations:
        return []
    # The last live registration describes the person, as the last write of reference data.
    registration = registrations[-1]
    erasures = of_type(events, ParticipantErased)
    p = registration.payload
    return [
        ParticipantRow(
            participant_id=p.participant_id,
            org_id=p.org_id,
            role=p.role,
            gender=p.gender,
            erased=bool(erasures),
            erased_on=erasures[0].occurred_on if erasures else None,
            registered_on=registration.occurred_on,
            partner_org_id=registration.partner_org_id,
            position=registration.position,
            event_id=registration.event_id,
        )
    ]


class ParticipantsProjection(KeyedProjection):
    """participants."""

    name = "participants"
    version = 1
    sources_table = "participant_sources"
    derived = (DerivedTable(name="participants", row_type=ParticipantRow, key_column="participant_id"),)
    event_types = frozenset({"ParticipantRegistered", "ParticipantErased"})

    def key_of(self, entry: LogEntry) -> str | None:
        """The participant_id of a registration or an erasure."""
        payload = entry.payload
        if isinstance(payload, ParticipantRegistered | ParticipantErased):
            return payload.participant_id
        return None

    def rows(self, view: KeyView) -> list[Row]:
        """The participant's row."""
        return participant_rows(view.live)
