"""The output KPIs O1–O11 as formulas: the log state → the contributions each figure counts.

Every formula reads only live events as they stand after their corrections (log_view.py), and
counts an exchange only when the project's partnership pays for it (the VOP rule) and it was not
cancelled; O5–O8 need its ExchangeCompleted too (DOMAIN.md (f), Outputs).
"""

from __future__ import annotations

import datetime as dt
import operator
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import NamedTuple

from events.catalog import (
    CoachingSessionHeld,
    OutreachEventHeld,
    PartnershipAgreementSigned,
    TrainingDelivered,
)
from indicators.aggregation import Contribution
from indicators.dimensions import (
    Cells,
    cells,
    country_of,
    exchange_cells,
    gender_of,
    organisation_cells,
    partner_of,
    place_and_sector,
    session_cells,
    yes_no,
)
from indicators.log_view import UNKNOWN, Exchange, LogState, Organisation

# O3's "cluster managers/staff": the two ParticipantRegistered roles of a cluster organisation.
CLUSTER_STAFF_ROLES = frozenset({"cluster_manager", "cluster_staff"})


def sessions_delivered(state: LogState) -> list[Contribution]:
    """O1: one per live TrainingDelivered, however many dates it spans."""
    return [
        Contribution(
            on=session.occurred_on,
            subjects=frozenset(a.participant_id for a in session.payload.attendees),
            cells=cells(session_cells(state, session)),
            sources=session.sources,
        )
        for session in state.live(TrainingDelivered)
    ]


def training_person_hours(state: LogState) -> list[Contribution]:
    """O2: the attended hours of every attendee of live sessions, whatever their role."""
    found: list[Contribution] = []
    for session in state.live(TrainingDelivered):
        place = session_cells(state, session)
        by_gender: dict[str, Cells] = {}  # a session's attendees of one gender share their cells
        for attendee in session.payload.attendees:
            gender = gender_of(state, attendee.participant_id)
            categories = by_gender.get(gender)
            if categories is None:
                categories = by_gender[gender] = cells({**place, "gender": gender})
            found.append(
                Contribution(
                    on=session.occurred_on,
                    amount=attendee.attended_hours,
                    subjects=frozenset({attendee.participant_id}),
                    cells=categories,
                    sources=session.sources,
                )
            )
    return found


def cluster_staff_trained(state: LogState) -> list[Contribution]:
    """O3: managers and staff (by registered role) with attended_hours > 0 in a live session."""
    found: list[Contribution] = []
    for session in state.live(TrainingDelivered):
        for attendee in session.payload.attendees:
            person = state.participants.get(attendee.participant_id)
            if attendee.attended_hours <= 0 or person is None or person.role not in CLUSTER_STAFF_ROLES:
                continue
            found.append(
                Contribution(
                    on=session.occurred_on,
                    key=attendee.participant_id,
                    subjects=frozenset({attendee.participant_id}),
                    cells=cells(
                        {
                            "partner": partner_of(session),
                            **organisation_cells(state, person.org_id),
                            "gender": person.gender,
                            "org": person.org_id,
                        }
                    ),
                    sources=session.sources,
                )
            )
    return found


def coaching_hours(state: LogState) -> list[Contribution]:
    """O4: the hours of every live coaching session (per session, not per person)."""
    return [
        Contribution(
            on=coaching.occurred_on,
            amount=coaching.payload.hours,
            subjects=frozenset({coaching.payload.coachee_org_id}),
            cells=cells(
                {
                    "partner": partner_of(coaching),
                    **organisation_cells(state, coaching.payload.coachee_org_id),
                    "size_class": state.size_class(coaching.payload.coachee_org_id, coaching.occurred_on),
                    "topic": coaching.payload.topic,
                    "mode": coaching.payload.mode,
                    "coachee_org": coaching.payload.coachee_org_id,
                }
            ),
            sources=coaching.sources,
        )
        for coaching in state.live(CoachingSessionHeld)
    ]


def completed_exchanges(state: LogState) -> Iterator[tuple[Exchange, dt.date]]:
    """Counted completed exchanges with the day they are bucketed by (actual_end)."""
    for exchange in state.exchanges.values():
        if exchange.completed_and_counted and exchange.dated_on is not None:
            yield exchange, exchange.dated_on


def exchanges_completed(state: LogState) -> list[Contribution]:
    """O5: one per counted completed exchange, dated by its completion."""
    found: list[Contribution] = []
    for exchange, day in completed_exchanges(state):
        registration = exchange.registration.payload
        assert exchange.completion is not None
        found.append(
            Contribution(
                on=day,
                subjects=frozenset({registration.vo_org_id, registration.ho_org_id}),
                cells=cells(
                    {**exchange_cells(state, exchange, day), "mode": exchange.completion.payload.mode}
                ),
                sources=exchange.sources,
            )
        )
    return found


def organisations_in_exchanges(state: LogState) -> list[Contribution]:
    """O6: the VO and the HO of every counted completed exchange, each in its role's cell and the
    size class it had on the completion day."""
    found: list[Contribution] = []
    for exchange, day in completed_exchanges(state):
        registration = exchange.registration.payload
        for role, org_id in (("VO", registration.vo_org_id), ("HO", registration.ho_org_id)):
            found.append(
                Contribution(
                    on=day,
                    key=org_id,
                    subjects=frozenset({org_id}),
                    cells=cells(
                        {
                            "partner": partner_of(exchange.registration),
                            **organisation_cells(state, org_id),
                            "size_class": state.size_class(org_id, day),
                            "role_vo_ho": role,
                        }
                    ),
                    sources=exchange.sources,
                )
            )
    return found


class Engagement(NamedTuple):
    """One organisation met through one activity: O7's sources."""

    org_id: str
    on: dt.date
    position: int
    partner: str
    activity_type: str
    sources: tuple[int, ...]


def _engagements(state: LogState) -> Iterator[Engagement]:
    for session in state.live(TrainingDelivered):
        for attendee in session.payload.attendees:
            yield Engagement(
                attendee.org_id,
                session.occurred_on,
                session.position,
                partner_of(session),
                "training",
                session.sources,
            )
    for exchange, day in completed_exchanges(state):
        assert exchange.completion is not None
        registration = exchange.registration.payload
        for org_id in (registration.vo_org_id, registration.ho_org_id):
            yield Engagement(
                org_id,
                day,
                exchange.completion.position,
                partner_of(exchange.registration),
                "exchange",
                exchange.sources,
            )
    for coaching in state.live(CoachingSessionHeld):
        yield Engagement(
            coaching.payload.coachee_org_id,
            coaching.occurred_on,
            coaching.position,
            partner_of(coaching),
            "coaching",
            coaching.sources,
        )
    for outreach in state.live(OutreachEventHeld):
        if outreach.payload.event_type == "B2B":
            for org_id in outreach.payload.orgs_reached:
                yield Engagement(
                    org_id,
                    outreach.occurred_on,
                    outreach.position,
                    partner_of(outreach),
                    "B2B",
                    outreach.sources,
                )


def smes_engaged(state: LogState) -> list[Contribution]:
    """O7: organisations that were SMEs on the day of a training, exchange, coaching or B2B event;
    an SME's size-class cell is its class at its first such activity."""
    counted = sorted(sme_engagements(state), key=_ON_THEN_POSITION)
    return sme_contributions(state, counted, first_classes(state, counted))


def sme_engagements(state: LogState) -> list[Engagement]:
    """O7's engagements: those of an organisation that was an SME on the engagement's day."""
    sme_on = _SmeTest(state)
    return [e for e in _engagements(state) if sme_on(e.org_id, e.on)]


def first_classes(state: LogState, counted: list[Engagement]) -> dict[str, str]:
    """Each SME's size class at its first counted engagement (by day, then log position);
    `counted` is sorted so."""
    first_class: dict[str, str] = {}
    for engagement in counted:
        if engagement.org_id not in first_class:
            first_class[engagement.org_id] = state.size_class(engagement.org_id, engagement.on)
    return first_class


def sme_contributions(
    state: LogState, counted: list[Engagement], first_class: dict[str, str]
) -> list[Contribution]:
    """O7's contributions of counted engagements, each SME in the size-class cell of its first."""
    # Engagements of one SME through one partner and kind of activity fall in the same cells.
    made: dict[tuple[str, str, str], Cells] = {}
    found: list[Contribution] = []
    for e in counted:
        kind = (e.partner, e.org_id, e.activity_type)
        categories = made.get(kind)
        if categories is None:
            categories = made[kind] = cells(
                {
                    "partner": e.partner,
                    **place_and_sector(state, e.org_id),
                    "size_class": first_class[e.org_id],
                    "activity_type": e.activity_type,
                }
            )
        found.append(
            Contribution(
                on=e.on,
                key=e.org_id,
                subjects=frozenset({e.org_id}),
                cells=categories,
                sources=e.sources,
            )
        )
    return found


_ON_THEN_POSITION = operator.itemgetter(1, 2)  # Engagement.on, Engagement.position


class _SmeTest:
    """``state.is_sme`` with what it found per organisation kept: most organisations are an SME
    on every day or on none (no size-class change), so their days need no look."""

    def __init__(self, state: LogState) -> None:
        self._organisations = state.organisations
        self._known: dict[str, bool | Organisation] = {}

    def __call__(self, org_id: str, day: dt.date) -> bool:
        known = self._known.get(org_id)
        if known is None:
            organisation = self._organisations.get(org_id)
            if organisation is None:
                known = False
            elif not organisation.size_changes:  # the same answer on every day
                known = organisation.is_sme_on(day)
            else:
                known = organisation
            self._known[org_id] = known
        return known.is_sme_on(day) if isinstance(known, Organisation) else known


def countries_connected(state: LogState) -> list[Contribution]:
    """O8: registered countries of the VO and HO of counted completed exchanges and of the parties
    of live agreements (an unregistered organisation has no country to count)."""
    met: list[tuple[str, dt.date, str, tuple[int, ...]]] = []
    for exchange, day in completed_exchanges(state):
        registration = exchange.registration.payload
        partner = partner_of(exchange.registration)
        met += [
            (org_id, day, partner, exchange.sources)
            for org_id in (registration.vo_org_id, registration.ho_org_id)
        ]
    for agreement in state.live(PartnershipAgreementSigned):
        met += [
            (party, agreement.occurred_on, partner_of(agreement), agreement.sources)
            for party in agreement.payload.parties
        ]
    found: list[Contribution] = []
    for org_id, day, partner, sources in met:
        country = country_of(state, org_id)
        if country != UNKNOWN:
            found.append(
                Contribution(
                    on=day,
                    key=country,
                    subjects=frozenset({org_id}),
                    cells=cells({"partner": partner, "country": country}),
                    sources=sources,
                )
            )
    return found


def outreach_contacts(state: LogState) -> list[Contribution]:
    """O9.contacts: Σ attendees (contacts or recipients) of live outreach events, by venue. The
    persons behind a cell are at least the contacts of its largest event (they have no ids to be
    told apart across events) and the organisations reached."""
    return _outreach_sums(state, lambda outreach: outreach.attendees, contacts_are_persons=True)


def b2b_meetings(state: LogState) -> list[Contribution]:
    """O10: Σ b2b_meetings of every live outreach event, whatever its type, by venue."""
    return _outreach_sums(state, lambda outreach: outreach.b2b_meetings, contacts_are_persons=False)


def _outreach_sums(
    state: LogState, amount: Callable[[OutreachEventHeld], int], contacts_are_persons: bool
) -> list[Contribution]:
    return [
        Contribution(
            on=outreach.occurred_on,
            amount=Decimal(amount(outreach.payload)),
            subjects=frozenset(outreach.payload.orgs_reached),
            persons=outreach.payload.attendees if contacts_are_persons else 0,
            cells=cells(
                {
                    "partner": partner_of(outreach),
                    "country": outreach.payload.country,
                    "event_type": outreach.payload.event_type,
                }
            ),
            sources=outreach.sources,
        )
        for outreach in state.live(OutreachEventHeld)
    ]


def organisations_reached(state: LogState) -> list[Contribution]:
    """O9.orgs: every org_id in orgs_reached of live outreach events, of any type (size class on the
    event's day)."""
    found: list[Contribution] = []
    made: dict[tuple[str, str, str, str], Cells] = {}  # organisations reached alike share cells
    for outreach in state.live(OutreachEventHeld):
        partner, kind, day = partner_of(outreach), outreach.payload.event_type, outreach.occurred_on
        for org_id in outreach.payload.orgs_reached:
            size_class = state.size_class(org_id, day)
            categories = made.get((partner, org_id, size_class, kind))
            if categories is None:
                categories = made[(partner, org_id, size_class, kind)] = cells(
                    {
                        "partner": partner,
                        **organisation_cells(state, org_id),
                        "size_class": size_class,
                        "event_type": kind,
                    }
                )
            found.append(
                Contribution(
                    on=day,
                    key=org_id,
                    subjects=frozenset({org_id}),
                    cells=categories,
                    sources=outreach.sources,
                )
            )
    return found


def lump_sums_paid(state: LogState) -> list[Contribution]:
    """O11: every LumpSumPaid of a counted exchange; the mean divides by distinct exchanges paid.

    Dated, like every exchange figure, by the exchange's completion; a payment of an exchange
    not completed (yet) has no such date and keeps its own (paid_on)."""
    found: list[Contribution] = []
    for exchange in state.exchanges.values():
        if not exchange.counted:
            continue
        for payment in exchange.payments:
            day = exchange.dated_on or payment.occurred_on
            found.append(
                Contribution(
                    on=day,
                    amount=payment.payload.amount_eur,
                    key=exchange.registration.payload.exchange_id,
                    subjects=frozenset({exchange.registration.payload.vo_org_id}),
                    cells=cells(
                        {**exchange_cells(state, exchange, day), "reduced": yes_no(payment.payload.reduced)}
                    ),
                    sources=(*exchange.sources, *payment.sources),
                )
            )
    return found


FORMULAS: dict[str, Callable[[LogState], list[Contribution]]] = {
    "O1": sessions_delivered,
    "O2": training_person_hours,
    "O3": cluster_staff_trained,
    "O4": coaching_hours,
    "O5": exchanges_completed,
    "O6": organisations_in_exchanges,
    "O7": smes_engaged,
    "O8": countries_connected,
    "O9.contacts": outreach_contacts,
    "O9.orgs": organisations_reached,
    "O10": b2b_meetings,
    "O11.sum": lump_sums_paid,
    "O11.mean": lump_sums_paid,
}
