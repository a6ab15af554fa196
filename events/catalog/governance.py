"""Governance of the log: compensating corrections and retractions, period sign-off and
published snapshots.

Streams: ``project`` for period transitions and snapshots (one stream version serialises
sign-off), ``corrections`` for corrections and retractions — their payload names only the
target event id, so the catalog cannot derive the target's stream; a writer that knows it may
append to the target's stream instead.
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Any

import msgspec

from events.catalog.payload import EventPayload, RefKind
from events.catalog.vocabulary import (
    DIMENSION_PATTERN,
    Id,
    Sha256Hex,
    ShortText,
    SnapshotKind,
    Text,
)

_TARGET: tuple[tuple[RefKind, str], ...] = (("event", "target_event_id"),)

FieldName = Annotated[str, msgspec.Meta(pattern=DIMENSION_PATTERN, max_length=64)]


class CorrectionRecorded(EventPayload, frozen=True, kw_only=True):
    """Changes to top-level fields of an earlier event; each value replaces the old one whole.

    Identity fields (session_id, exchange_id, engagement_id, org_id, participant_id) cannot be
    corrected (retract and record again); the key ``occurred_on`` corrects the envelope date.
    """

    stream_prefix = "corrections"

    target_event_id: uuid.UUID
    field_changes: Annotated[dict[FieldName, Any], msgspec.Meta(min_length=1, max_length=50)]
    reason: Text
    approved_by: Id

    reference_paths = _TARGET

    def __post_init__(self) -> None:
        # A client may send a corrected amount as a JSON number (7.5): kept as the decimal it
        # reads as, so the log holds no float (non-integers are strings in the canonical bytes,
        # and an auditor's recomputation needs no float formatting).
        for name, value in self.field_changes.items():
            self.field_changes[name] = _without_floats(value)


def _without_floats(value: Any) -> Any:
    """The value with every float replaced by the Decimal of its shortest repr, at any depth."""
    if isinstance(value, float):
        return Decimal(repr(value))
    if isinstance(value, list):
        return [_without_floats(item) for item in value]
    if isinstance(value, dict):
        return {key: _without_floats(item) for key, item in value.items()}
    return value


class ActivityRetracted(EventPayload, frozen=True, kw_only=True):
    """Withdraws an activity recorded in error: from here on, KPIs act as if it never was."""

    stream_prefix = "corrections"

    target_event_id: uuid.UUID
    reason: Text
    approved_by: Id

    reference_paths = _TARGET


class _PeriodTransition(EventPayload, frozen=True, kw_only=True):
    """A step in a partner's period sign-off; the envelope names who records it."""

    stream_prefix = "project"

    period_id: Id
    # The partner whose period it is (the coordinator approves other partners' periods).
    partner_org_id: Id
    actor: Id

    reference_paths = (("period", "period_id"), ("org", "partner_org_id"))


class PeriodSubmitted(_PeriodTransition, frozen=True, kw_only=True):
    """A partner submits its figures for a reporting period."""

    comment: Text | None = None


class PeriodApproved(_PeriodTransition, frozen=True, kw_only=True):
    """The coordinator approves a partner's period; its data is then locked."""

    comment: Text | None = None


class PeriodReopened(_PeriodTransition, frozen=True, kw_only=True):
    """An approved period is unlocked again; a reason is mandatory."""

    reason: Text


class SnapshotPublished(EventPayload, frozen=True, kw_only=True):
    """An immutable, signed snapshot pinned to a log position and hash."""

    outside_reporting = True
    stream_prefix = "project"

    snapshot_id: Id
    kind: SnapshotKind
    # Required for interim and final snapshots (checks.py); an ad-hoc one may have none.
    period_id: Id | None = None
    as_of_seq: Annotated[int, msgspec.Meta(ge=1)]
    log_head_hash: Sha256Hex
    definitions_version: ShortText
    code_version: ShortText
    signature: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]

    reference_paths = (("period", "period_id"),)
