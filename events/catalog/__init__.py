"""The event catalog (DOMAIN.md (a) and (e)): the `data` of every event type, as strict msgspec
Structs, with the metadata and pure checks that need no database.

    payload = decode_payload("TrainingDelivered", body)      # PayloadError names the field
    errors = check_payload("TrainingDelivered", payload, occurred_on)
    stream = stream_id(payload)                              # "activity-<session_id>"
    refs = references(payload)                               # ids a validator must find

Default streams: ``project`` (project, baselines, targets, periods, snapshots),
``org-<org_id>`` (organisations, their services, labels, cascade grants), ``sme-<org_id>``
(SME survey responses), ``participant-<participant_id>`` (registration, consent, erasure),
``indicator-<indicator_id>``, ``activity-<session_id>`` (trainings),
``feedback-<activity_id>``, ``coaching-<engagement_id>``, ``exchange-<exchange_id>`` (the
whole exchange lifecycle), ``outreach-<outreach_id>``, ``followup-<source_activity_id>``,
``agreement-<agreement_id>``, ``milestone-<milestone_code>``, ``corrections``.
"""

from events.catalog.activities import (
    Attendee,
    CoachingSessionHeld,
    FeedbackCollected,
    FollowUpCooperationRecorded,
    OutreachEventHeld,
    TrainingDelivered,
)
from events.catalog.checks import check_dated_within_project, check_payload
from events.catalog.corrections import apply_correction
from events.catalog.errors import PayloadError
from events.catalog.examples import EXAMPLES
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
from events.catalog.payload import (
    EventPayload,
    Reference,
    RefKind,
    event_type_of,
    references,
    self_date,
    stream_id,
)
from events.catalog.reference import (
    ConsentRecorded,
    ConsentWithdrawn,
    EncryptedPii,
    OrganisationRegistered,
    OrganisationSizeClassChanged,
    ParticipantErased,
    ParticipantRegistered,
    ProjectRegistered,
    ReportingPeriod,
)
from events.catalog.registry import PAYLOAD_TYPES, decode_payload, encode_payload, payload_type
from events.catalog.results import (
    ClusterServiceLaunched,
    ESCALabelAwarded,
    PartnershipAgreementSigned,
    StrategyMilestoneReached,
    ThirdPartyGrantAwarded,
)
from events.catalog.survey import SMESurveyResponseRecorded
from events.catalog.vocabulary import IDENTITY_FIELDS, LIFE_OF_PROJECT

__all__ = [
    "EXAMPLES",
    "IDENTITY_FIELDS",
    "LIFE_OF_PROJECT",
    "PAYLOAD_TYPES",
    "ActivityRetracted",
    "Attendee",
    "BaselineRecorded",
    "ClusterServiceLaunched",
    "CoachingSessionHeld",
    "CommitmentToQualitySigned",
    "ConsentRecorded",
    "ConsentWithdrawn",
    "CorrectionRecorded",
    "ESCALabelAwarded",
    "EncryptedPii",
    "EventPayload",
    "ExchangeCancelled",
    "ExchangeClosingReportSubmitted",
    "ExchangeCompleted",
    "ExchangeRegistered",
    "FeedbackCollected",
    "FollowUpCooperationRecorded",
    "IndicatorDefined",
    "IndicatorRevised",
    "LumpSumPaid",
    "OrganisationRegistered",
    "OrganisationSizeClassChanged",
    "OutreachEventHeld",
    "ParticipantErased",
    "ParticipantRegistered",
    "PartnershipAgreementSigned",
    "PayloadError",
    "PeriodApproved",
    "PeriodReopened",
    "PeriodSubmitted",
    "ProjectRegistered",
    "RefKind",
    "Reference",
    "ReportingPeriod",
    "SMESurveyResponseRecorded",
    "SnapshotPublished",
    "StrategyMilestoneReached",
    "TargetSet",
    "ThirdPartyGrantAwarded",
    "TrainingDelivered",
    "apply_correction",
    "check_dated_within_project",
    "check_payload",
    "decode_payload",
    "encode_payload",
    "event_type_of",
    "payload_type",
    "references",
    "self_date",
    "stream_id",
]
