"""The registry of event types and the one way to decode and encode their payloads."""

from __future__ import annotations

from typing import Any

import msgspec

from events.catalog.activities import (
    CoachingSessionHeld,
    FeedbackCollected,
    FollowUpCooperationRecorded,
    OutreachEventHeld,
    TrainingDelivered,
)
from events.catalog.errors import PayloadError, from_validation_error
from events.catalog.exchanges import (
    CommitmentToQualitySigned,
    ExchangeCancelled,
    ExchangeClosingReportSubmitted,
    ExchangeCompleted,
    ExchangeRegistered,
    LumpSumPaid,
)
from events.catalog.governance import (
    ActivityRetracted,
    CorrectionRecorded,
    PeriodApproved,
    PeriodReopened,
    PeriodSubmitted,
    SnapshotPublished,
)
from events.catalog.indicators import BaselineRecorded, IndicatorDefined, IndicatorRevised, TargetSet
from events.catalog.payload import EventPayload
from events.catalog.reference import (
    ConsentRecorded,
    ConsentWithdrawn,
    OrganisationRegistered,
    OrganisationSizeClassChanged,
    ParticipantErased,
    ParticipantRegistered,
    ProjectRegistered,
)
from events.catalog.results import (
    ClusterServiceLaunched,
    ESCALabelAwarded,
    PartnershipAgreementSigned,
    StrategyMilestoneReached,
    ThirdPartyGrantAwarded,
)
from events.catalog.survey import SMESurveyResponseRecorded
from events.upcasting import upcast

# Event type name (the envelope's `type`) → payload class; the name is the class name.
PAYLOAD_TYPES: dict[str, type[EventPayload]] = {
    cls.__name__: cls
    for cls in (
        ProjectRegistered,
        OrganisationRegistered,
        OrganisationSizeClassChanged,
        ParticipantRegistered,
        ConsentRecorded,
        ConsentWithdrawn,
        ParticipantErased,
        IndicatorDefined,
        IndicatorRevised,
        BaselineRecorded,
        TargetSet,
        TrainingDelivered,
        FeedbackCollected,
        CoachingSessionHeld,
        ExchangeRegistered,
        CommitmentToQualitySigned,
        ExchangeCompleted,
        ExchangeClosingReportSubmitted,
        LumpSumPaid,
        ExchangeCancelled,
        FollowUpCooperationRecorded,
        OutreachEventHeld,
        PartnershipAgreementSigned,
        StrategyMilestoneReached,
        ClusterServiceLaunched,
        ESCALabelAwarded,
        SMESurveyResponseRecorded,
        ThirdPartyGrantAwarded,
        CorrectionRecorded,
        ActivityRetracted,
        PeriodSubmitted,
        PeriodApproved,
        PeriodReopened,
        SnapshotPublished,
    )
}

_DECODERS: dict[str, msgspec.json.Decoder[Any]] = {
    name: msgspec.json.Decoder(cls) for name, cls in PAYLOAD_TYPES.items()
}
# Decimals are written as JSON strings (msgspec's default), so no float formatting is involved.
_ENCODER = msgspec.json.Encoder(order="sorted")


# What decode_payload reads as JSON text; anything else is taken as already-parsed JSON values.
_JSON_TEXT = (bytes, bytearray, memoryview, str)


def payload_type(event_type: str) -> type[EventPayload]:
    """The payload class of an event type; PayloadError at "type" when the catalog lacks it."""
    cls = PAYLOAD_TYPES.get(event_type)
    if cls is None:
        raise PayloadError("type", f"unknown event type {event_type!r}; known: {', '.join(PAYLOAD_TYPES)}")
    return cls


def decode_payload(
    event_type: str, data: bytes | dict[str, Any], schema_version: int | None = None
) -> EventPayload:
    """Upcast `data` (JSON bytes or a dict) from `schema_version` (None = current) and decode strictly.

    Raises PayloadError naming the field ("data.attendees[0].attended_hours") on any problem.
    """
    cls = payload_type(event_type)
    version = cls.schema_version if schema_version is None else schema_version
    if version > cls.schema_version or version < 1:
        raise PayloadError(
            "schema_version",
            f"{event_type} has versions 1..{cls.schema_version}, not {version}",
        )
    try:
        if version < cls.schema_version:
            reached, data = upcast(event_type, version, _as_dict(data))
            if reached != cls.schema_version:
                raise PayloadError(
                    "schema_version", f"no upcaster brings {event_type} v{reached} to v{cls.schema_version}"
                )
        if isinstance(data, _JSON_TEXT):
            payload: EventPayload = _DECODERS[event_type].decode(data)
        else:
            payload = msgspec.convert(data, cls)
    except msgspec.ValidationError as error:
        raise from_validation_error(error, cls) from error
    except msgspec.DecodeError as error:
        raise PayloadError("data", f"not valid JSON: {error}") from error
    return payload


def _as_dict(data: object) -> dict[str, Any]:
    """The payload as a plain dict, which is what upcasters work on."""
    value = msgspec.json.decode(data) if isinstance(data, _JSON_TEXT) else data
    if not isinstance(value, dict):
        raise PayloadError("data", f"expected a JSON object, got {type(value).__name__}")
    return value


def encode_payload(payload: EventPayload) -> bytes:
    """The payload as compact JSON with sorted keys (Decimals as strings, dates as ISO 8601)."""
    return _ENCODER.encode(payload)
