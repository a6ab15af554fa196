"""Results of the cluster organisations: agreements, strategy milestones, new services, ESCA
labels and cascade grants to SMEs.

Streams: ``agreement-<agreement_id>``, ``milestone-<milestone_code>``, and ``org-<org_id>``
for what one organisation launches, earns or is granted.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec

from events.catalog.payload import EventPayload
from events.catalog.vocabulary import (
    AgreementType,
    Id,
    LabelLevel,
    MilestoneKind,
    MilestoneStatus,
    PositiveEuroAmount,
    ServiceArea,
    Sha256Hex,
    ShortText,
    Text,
)


class PartnershipAgreementSigned(EventPayload, frozen=True, kw_only=True):
    """An MoU or agreement between organisations (R4); cross-border when parties span countries."""

    stream_prefix = "agreement"
    stream_key = "agreement_id"
    self_date_field = "signed_on"

    agreement_id: Id
    type: AgreementType
    parties: Annotated[list[Id], msgspec.Meta(min_length=2, max_length=100)]
    scope: Text
    signed_on: dt.date
    doc_hash: Sha256Hex

    reference_paths = (("org", "parties[]"),)


class StrategyMilestoneReached(EventPayload, frozen=True, kw_only=True):
    """A milestone or deliverable (e.g. MS3, D2.1); R5 needs an adopted strategy or roadmap."""

    stream_prefix = "milestone"
    stream_key = "milestone_code"

    milestone_code: Id
    kind: MilestoneKind
    status: MilestoneStatus
    # Where the document is (URI or reference); its hash goes in the envelope evidence.
    evidence: Text


class ClusterServiceLaunched(EventPayload, frozen=True, kw_only=True):
    """A new or improved cluster service for SMEs (R6)."""

    stream_prefix = "org"
    stream_key = "org_id"
    self_date_field = "launched_on"

    org_id: Id
    service_area: ServiceArea
    target_group: ShortText
    launched_on: dt.date

    reference_paths = (("org", "org_id"),)


class ESCALabelAwarded(EventPayload, frozen=True, kw_only=True):
    """A cluster-management label; may predate the project, as R7 compares with the label then."""

    stream_prefix = "org"
    stream_key = "org_id"
    self_date_field = "awarded_on"
    may_predate_project = True

    org_id: Id
    level: LabelLevel
    awarded_on: dt.date
    valid_until: dt.date
    # The labelling body or benchmarking organisation, e.g. "ESCA", "EUCLES".
    assessor: ShortText

    reference_paths = (("org", "org_id"),)


class ThirdPartyGrantAwarded(EventPayload, frozen=True, kw_only=True):
    """A Euroclusters cascade grant (financial support to a third party, usually an SME)."""

    stream_prefix = "org"
    stream_key = "org_id"

    call_id: Id
    org_id: Id
    amount_eur: PositiveEuroAmount
    purpose: Text

    reference_paths = (("org", "org_id"),)
