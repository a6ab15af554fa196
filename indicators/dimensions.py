"""Which category of each dimension a contribution falls in (DOMAIN.md (f): country, gender and
partner rules).

- Partner: the envelope partner_org_id of the contributing event; for exchanges, that of
  ExchangeRegistered.
- Trainings (O1, O2, R2): country = the venue (TrainingDelivered.country), for an online session
  the organising partner's registered country; region category and sector = the delivering
  partner's (the session's envelope partner).
- Persons (O3): gender and the country, region, sector and type of their registered organisation.
- Exchanges (O5, O11, R1, R3): the visiting organisation's country, region, sector, type and size
  class; the host's country is the separate dimension ho_country.
- Organisations counted as such (O6, O7, O8, O9.orgs, R6, R7, impact): their own attributes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping

from events.catalog import TrainingDelivered
from events.entries import LiveEvent, P
from indicators.log_view import UNKNOWN, Exchange, LogState

Cells = dict[str, tuple[str, ...]]


def cells(values: Mapping[str, str | Collection[str]]) -> Cells:
    """Dimension → categories: one category, or several for a dimension whose cells may overlap.

    Contributions falling in the same categories share one Cells (never changed once made): a
    million contributions have a few thousand distinct ones, so most calls are one lookup."""
    key = tuple(values.items())
    try:
        found = _INTERNED.get(key)
    except TypeError:  # a list of categories is not hashable: built apart
        return _cells(values)
    if found is None:
        if len(_INTERNED) >= _INTERNED_MAX:
            _INTERNED.clear()
        found = _INTERNED[key] = _cells(values)
    return found


def _cells(values: Mapping[str, str | Collection[str]]) -> Cells:
    return {
        name: (value,) if isinstance(value, str) else tuple(sorted(set(value)))
        for name, value in values.items()
    }


# Cells already made, by the (dimension, value) pairs they were made from; emptied when full.
_INTERNED: dict[tuple[tuple[str, str | Collection[str]], ...], Cells] = {}
_INTERNED_MAX = 200_000


def partner_of(event: LiveEvent[P]) -> str:
    """The partner dimension: who recorded the contributing event."""
    return event.partner_org_id or UNKNOWN


def organisation_cells(state: LogState, org_id: str | None) -> dict[str, str]:
    """Country, region category, sector and type of an organisation ("unknown" when unregistered)."""
    organisation = state.organisations.get(org_id) if org_id is not None else None
    if organisation is None:
        return dict.fromkeys(("country", "region_category", "sector", "org_type"), UNKNOWN)
    registration = organisation.registration
    return {
        "country": registration.country,
        "region_category": registration.region_category,
        "sector": registration.ecosystem,
        "org_type": registration.org_type,
    }


def place_and_sector(state: LogState, org_id: str) -> dict[str, str]:
    """Country, region category and sector of an organisation whose type goes without saying
    (an SME in O7 and the panel, a partner in R7)."""
    return {name: value for name, value in organisation_cells(state, org_id).items() if name != "org_type"}


def country_of(state: LogState, org_id: str) -> str:
    """The registered country of an organisation, "unknown" when unregistered."""
    return organisation_cells(state, org_id)["country"]


def session_cells(state: LogState, session: LiveEvent[TrainingDelivered]) -> dict[str, str]:
    """A training's categories: the venue's country (for an online session, which has no venue, the
    organising partner's registered country; the recorded country while the partner is
    unregistered), the delivering partner's region and sector."""
    delivering = organisation_cells(state, session.partner_org_id)
    online = session.payload.format == "online" and delivering["country"] != UNKNOWN
    return {
        "partner": partner_of(session),
        "country": delivering["country"] if online else session.payload.country,
        "region_category": delivering["region_category"],
        "sector": delivering["sector"],
        "topic": session.payload.topic,
        "format": session.payload.format,
    }


def gender_of(state: LogState, participant_id: str | None) -> str:
    """A person's registered gender; "unknown" for an unregistered or anonymous person."""
    person = state.participants.get(participant_id) if participant_id is not None else None
    return person.gender if person is not None else UNKNOWN


def exchange_cells(state: LogState, exchange: Exchange, day: dt.date) -> dict[str, str]:
    """An exchange's categories: the visiting organisation's, its size class on `day`, HO country."""
    registration = exchange.registration.payload
    visitor = organisation_cells(state, registration.vo_org_id)
    return {
        "partner": partner_of(exchange.registration),
        "country": visitor["country"],
        "region_category": visitor["region_category"],
        "sector": visitor["sector"],
        "size_class": state.size_class(registration.vo_org_id, day),
        "vo_type": visitor["org_type"],
        "ho_country": country_of(state, registration.ho_org_id),
    }


def yes_no(flag: bool) -> str:
    """The category of a yes/no dimension (reduced, cross_border)."""
    return "yes" if flag else "no"
