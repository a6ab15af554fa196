"""Read model: organisations, as their last live registration describes them, with their size
class history (DOMAIN.md (f) "Size class in time": a change applies from its own occurred_on,
never back to its reference_year).

Keyed by org_id: an organisation's registrations and size-class changes.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence

import msgspec

from events.catalog import EventPayload, OrganisationRegistered, OrganisationSizeClassChanged
from events.entries import LiveEvent, LogEntry
from projections.keyed import DerivedTable, KeyedProjection, KeyView, Row, of_type

# The size class in force for ($1 project, $2 org) on $3: the registration's (seq 0) until the
# first change that is in force, exactly as indicators.log_view.Organisation.size_class_on.
SIZE_CLASS_ON = """
SELECT size_class FROM organisation_size_classes
 WHERE project_id = $1 AND org_id = $2 AND (seq = 0 OR valid_from <= $3)
 ORDER BY seq DESC LIMIT 1
"""


class OrganisationRow(msgspec.Struct, frozen=True, kw_only=True):
    """A row of `organisations`."""

    org_id: str
    name: str
    org_type: str
    country: str
    nuts2: str
    region_category: str
    nace: str
    ecosystem: str
    eccp_profile_id: str | None
    cluster_member_of: list[str]
    size_class: str
    headcount: int
    turnover_band: str
    registered_on: dt.date
    partner_org_id: str | None
    position: int
    event_id: uuid.UUID


class SizeClassRow(msgspec.Struct, frozen=True, kw_only=True):
    """A row of `organisation_size_classes`: seq 0 the registration, then changes in force order."""

    org_id: str
    seq: int
    valid_from: dt.date
    size_class: str
    basis: str | None
    reference_year: int | None
    position: int
    event_id: uuid.UUID


def organisation_row(registration: LiveEvent[OrganisationRegistered]) -> OrganisationRow:
    """The organisation as one registration describes it."""
    p = registration.payload
    return OrganisationRow(
        org_id=p.org_id,
        name=p.name,
        org_type=p.org_type,
        country=p.country,
        nuts2=p.nuts2,
        region_category=p.region_category,
        nace=p.nace,
        ecosystem=p.ecosystem,
        eccp_profile_id=p.eccp_profile_id,
        cluster_member_of=list(p.cluster_member_of),
        size_class=p.size_class,
        headcount=p.headcount,
        turnover_band=p.turnover_band,
        registered_on=registration.occurred_on,
        partner_org_id=registration.partner_org_id,
        position=registration.position,
        event_id=registration.event_id,
    )


def size_class_rows(
    registration: LiveEvent[OrganisationRegistered],
    changes: Sequence[LiveEvent[OrganisationSizeClassChanged]],
) -> list[SizeClassRow]:
    """The size class history: the registration's class, then each change from its occurred_on."""
    first = SizeClassRow(
        org_id=registration.payload.org_id,
        seq=0,
        valid_from=registration.occurred_on,
        size_class=registration.payload.size_class,
        basis=None,
        reference_year=None,
        position=registration.position,
        event_id=registration.event_id,
    )
    in_force_order = sorted(changes, key=lambda c: (c.occurred_on, c.position))
    return [first] + [
        SizeClassRow(
            org_id=c.payload.org_id,
            seq=seq,
            valid_from=c.occurred_on,
            size_class=c.payload.size_class,
            basis=c.payload.basis,
            reference_year=c.payload.reference_year,
            position=c.position,
            event_id=c.event_id,
        )
        for seq, c in enumerate(in_force_order, start=1)
    ]


def organisation_rows(events: Sequence[LiveEvent[EventPayload]]) -> list[Row]:
    """One organisation's rows from its live events; none while it has no live registration."""
    registrations = of_type(events, OrganisationRegistered)
    if not registrations:
        return []
    # The last live registration describes the organisation, as the last write of reference data.
    registration = registrations[-1]
    changes = of_type(events, OrganisationSizeClassChanged)
    return [organisation_row(registration), *size_class_rows(registration, changes)]


class OrganisationsProjection(KeyedProjection):
    """organisations + organisation_size_classes."""

    name = "organisations"
    version = 1
    sources_table = "organisation_sources"
    derived = (
        DerivedTable(name="organisations", row_type=OrganisationRow, key_column="org_id"),
        DerivedTable(name="organisation_size_classes", row_type=SizeClassRow, key_column="org_id"),
    )
    event_types = frozenset({"OrganisationRegistered", "OrganisationSizeClassChanged"})

    def key_of(self, entry: LogEntry) -> str | None:
        """The org_id of a registration or a size-class change."""
        payload = entry.payload
        if isinstance(payload, OrganisationRegistered | OrganisationSizeClassChanged):
            return payload.org_id
        return None

    def rows(self, view: KeyView) -> list[Row]:
        """The organisation's row and size class history."""
        return organisation_rows(view.live)
