"""Reference data: the project, its organisations and the (pseudonymous) people taking part.

Streams: ``project`` for the project itself, ``org-<org_id>`` for an organisation of any type,
``participant-<participant_id>`` for a person's registration, consent and erasure.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec

from events.catalog.payload import EventPayload, PayloadStruct
from events.catalog.vocabulary import (
    ConsentPurpose,
    CountryCode,
    Ecosystem,
    Gender,
    Id,
    LawfulBasis,
    NaceCode,
    NonNegativeInt,
    Nuts2Code,
    OrgType,
    PeriodKind,
    RegionCategory,
    Role,
    ShortText,
    SizeBasis,
    SizeClass,
    TurnoverBand,
    Year,
)


class ReportingPeriod(PayloadStruct, frozen=True, kw_only=True):
    """One reporting period of the grant; each ends in a periodic report and a payment."""

    period_id: Id
    start: dt.date
    end: dt.date
    kind: PeriodKind


class ProjectRegistered(EventPayload, frozen=True, kw_only=True):
    """The grant: its dates, reporting periods, ClusterXchange partnership and consortium."""

    stream_prefix = "project"

    grant_no: Id
    call_id: Id
    start_date: dt.date
    end_date: dt.date
    # Contiguous, in order, covering start_date..end_date, the last one final (checks.py).
    reporting_periods: Annotated[list[ReportingPeriod], msgspec.Meta(min_length=1, max_length=24)]
    # Compared with ExchangeRegistered.vop_id: only exchanges this partnership pays for count.
    partnership_id: Id
    partners: Annotated[list[Id], msgspec.Meta(min_length=1, max_length=100)]

    reference_paths = (("org", "partners[]"),)


class OrganisationRegistered(EventPayload, frozen=True, kw_only=True):
    """An organisation (partner, cluster member, SME, host…) with its KPI dimensions."""

    stream_prefix = "org"
    stream_key = "org_id"

    org_id: Id
    name: ShortText
    org_type: OrgType
    country: CountryCode
    nuts2: Nuts2Code
    region_category: RegionCategory
    nace: NaceCode
    ecosystem: Ecosystem
    eccp_profile_id: Id | None = None
    cluster_member_of: Annotated[list[Id], msgspec.Meta(max_length=50)] = msgspec.field(default_factory=list)
    size_class: SizeClass
    headcount: NonNegativeInt
    turnover_band: TurnoverBand

    reference_paths = (("org", "cluster_member_of[]"),)


class OrganisationSizeClassChanged(EventPayload, frozen=True, kw_only=True):
    """A new size class, in force from the event's occurred_on (never back to reference_year)."""

    stream_prefix = "org"
    stream_key = "org_id"

    org_id: Id
    size_class: SizeClass
    reference_year: Year
    basis: SizeBasis

    reference_paths = (("org", "org_id"),)


class EncryptedPii(PayloadStruct, frozen=True, kw_only=True):
    """Personal fields encrypted with a per-person key; destroying the key erases them."""

    ciphertext: Annotated[str, msgspec.Meta(min_length=1, max_length=16384)]
    key_id: Id


class ParticipantRegistered(EventPayload, frozen=True, kw_only=True):
    """A person taking part, known to the log only by a pseudonymous id and coarse dimensions."""

    stream_prefix = "participant"
    stream_key = "participant_id"

    participant_id: Id
    org_id: Id
    role: Role
    gender: Gender
    # Never clear personal data in the log: name, e-mail and job title only as ciphertext.
    pii: EncryptedPii | None = None

    reference_paths = (("org", "org_id"),)


class ConsentRecorded(EventPayload, frozen=True, kw_only=True):
    """A participant's consent (or other lawful basis) for one purpose of processing."""

    outside_reporting = True
    stream_prefix = "participant"
    stream_key = "participant_id"

    participant_id: Id
    purpose: ConsentPurpose
    basis: LawfulBasis
    date: dt.date

    reference_paths = (("participant", "participant_id"),)


class ConsentWithdrawn(EventPayload, frozen=True, kw_only=True):
    """Withdrawal of a consent; `basis` is the basis of the consent being withdrawn."""

    outside_reporting = True
    stream_prefix = "participant"
    stream_key = "participant_id"

    participant_id: Id
    purpose: ConsentPurpose
    basis: LawfulBasis
    date: dt.date

    reference_paths = (("participant", "participant_id"),)


class ParticipantErased(EventPayload, frozen=True, kw_only=True):
    """Erasure (GDPR Art. 17) by crypto-shredding: the key that encrypted the person's pii."""

    outside_reporting = True
    stream_prefix = "participant"
    stream_key = "participant_id"

    participant_id: Id
    key_id: Id
    request_date: dt.date

    reference_paths = (("participant", "participant_id"),)
