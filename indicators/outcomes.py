"""The outcome KPIs R1–R7 as formulas (DOMAIN.md (f), Outcomes).

R1–R4 and R6 are flows: each contribution has its day and a period counts its own. R5 and R7 are
states: they are read over the events dated up to a day (`until`, None = everything), so a
period's value is the state at its end.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from decimal import Decimal

from events.catalog import (
    ClusterServiceLaunched,
    ESCALabelAwarded,
    FeedbackCollected,
    PartnershipAgreementSigned,
    StrategyMilestoneReached,
    TrainingDelivered,
)
from events.entries import LiveEvent
from indicators.aggregation import ONE, ZERO, Contribution
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
from indicators.log_view import UNKNOWN, LogState
from indicators.outputs import completed_exchanges
from indicators.periods import add_months

SATISFIED = 4  # on the 1–5 scale, "satisfied" means 4 or 5
LABEL_RANK = {"none": 0, "bronze": 1, "silver": 2, "gold": 3}


def _satisfied(score: int) -> Decimal:
    return ONE if score >= SATISFIED else ZERO


def exchange_satisfaction(state: LogState) -> list[Contribution]:
    """R1: satisfaction_vo and satisfaction_ho of the latest closing report of every counted
    exchange, one response each when given; dated by the exchange's completion (the report's own day while
    the exchange has none)."""
    found: list[Contribution] = []
    for exchange in state.exchanges.values():
        if not exchange.counted or not exchange.closing_reports:
            continue
        report = exchange.closing_reports[-1]  # the last recorded report replaces earlier ones
        day = exchange.dated_on or report.occurred_on
        registration = exchange.registration.payload
        base = exchange_cells(state, exchange, day)
        for role, org_id, score in (
            ("VO", registration.vo_org_id, report.payload.satisfaction_vo),
            ("HO", registration.ho_org_id, report.payload.satisfaction_ho),
        ):
            if score is None:
                continue  # that side gave no response (DOMAIN.md (f): denominator = responses given)
            found.append(
                Contribution(
                    on=day,
                    amount=_satisfied(score),
                    denominator=ONE,
                    subjects=frozenset({org_id}),
                    cells=cells({**base, "role_vo_ho": role}),
                    sources=(*exchange.sources, *report.sources),
                )
            )
    return found


def training_satisfaction(state: LogState) -> list[Contribution]:
    """R2: feedback on live training sessions; each response takes its session's day, topic,
    format and venue, and its own recording partner and respondent's gender."""
    # Two live records of one session (to be fixed by a retraction) describe the same session:
    # the later one is taken.
    sessions = {s.payload.session_id: s for s in state.live(TrainingDelivered)}
    # Responses on one session through one partner from one gender share their cells.
    made: dict[tuple[int, str, str], Cells] = {}
    found: list[Contribution] = []
    for feedback in state.live(FeedbackCollected):
        session = sessions.get(feedback.payload.activity_id)
        if session is None:
            continue  # feedback on an outreach event or another activity is not R2's
        respondent = feedback.payload.respondent_id
        alike = (session.position, partner_of(feedback), gender_of(state, respondent))
        categories = made.get(alike)
        if categories is None:
            categories = made[alike] = cells(
                {**session_cells(state, session), "partner": alike[1], "gender": alike[2]}
            )
        found.append(
            Contribution(
                on=session.occurred_on,
                amount=_satisfied(feedback.payload.satisfaction),
                denominator=ONE,
                # An anonymous response is taken as one person of its own.
                subjects=frozenset({respondent or f"anonymous:{feedback.event_id}"}),
                cells=categories,
                sources=feedback.sources,
            )
        )
    return found


def follow_up_rate(months: int) -> Callable[[LogState], list[Contribution]]:
    """R3 with a window of `months` calendar months: counted completed exchanges with a follow-up
    dated within [actual_end, actual_end + months], over all counted completed exchanges."""

    def formula(state: LogState) -> list[Contribution]:
        found: list[Contribution] = []
        for exchange, day in completed_exchanges(state):
            assert exchange.completion is not None
            start = exchange.completion.payload.actual_end
            end = add_months(start, months)
            within = [f for f in exchange.follow_ups if start <= f.payload.date <= end]
            types = {f.payload.type for f in within}
            registration = exchange.registration.payload
            found.append(
                Contribution(
                    on=day,
                    amount=ONE if types else ZERO,
                    denominator=ONE,
                    subjects=frozenset({registration.vo_org_id, registration.ho_org_id}),
                    cells=cells({**exchange_cells(state, exchange, day), "follow_up_type": types}),
                    sources=(*exchange.sources, *(p for f in within for p in f.sources)),
                )
            )
        return found

    return formula


def agreements_signed(state: LogState) -> list[Contribution]:
    """R4: every live PartnershipAgreementSigned; cross-border when its parties' registered
    countries are two or more."""
    found: list[Contribution] = []
    for agreement in state.live(PartnershipAgreementSigned):
        parties = agreement.payload.parties
        countries = {country_of(state, party) for party in parties} - {UNKNOWN}
        found.append(
            Contribution(
                on=agreement.occurred_on,
                subjects=frozenset(parties),
                cells=cells(
                    {
                        "partner": partner_of(agreement),
                        "agreement_type": agreement.payload.type,
                        "cross_border": yes_no(len(countries) >= 2),
                    }
                ),
                sources=agreement.sources,
            )
        )
    return found


def strategy_adopted(state: LogState, until: dt.date | None) -> list[Contribution]:
    """R5: adopted joint strategies and roadmaps dated up to `until`; yes from the first one."""
    return [
        Contribution(
            on=milestone.occurred_on,
            subjects=frozenset({partner_of(milestone)}),
            cells={},
            sources=milestone.sources,
        )
        for milestone in state.live(StrategyMilestoneReached)
        if milestone.payload.kind in ("joint_strategy", "roadmap")
        and milestone.payload.status == "adopted"
        and (until is None or milestone.occurred_on <= until)
    ]


def services_launched(state: LogState) -> list[Contribution]:
    """R6: every live ClusterServiceLaunched, new or improved, whoever launched it."""
    return [
        Contribution(
            on=service.occurred_on,
            subjects=frozenset({service.payload.org_id}),
            cells=cells(
                {
                    "partner": partner_of(service),
                    **organisation_cells(state, service.payload.org_id),
                    "size_class": state.size_class(service.payload.org_id, service.occurred_on),
                    "service_area": service.payload.service_area,
                }
            ),
            sources=service.sources,
        )
        for service in state.live(ClusterServiceLaunched)
    ]


def labels_upgraded(state: LogState, until: dt.date | None) -> list[Contribution]:
    """R7: partners whose most recent label awarded up to `until` ranks above their label at the
    project start (the most recent one awarded before it; none when there is none)."""
    if state.project is None:
        return []
    start = state.project.start_date
    awards: dict[str, list[LiveEvent[ESCALabelAwarded]]] = {}
    # Ordered by awarded_on; on the same day the award recorded later is the more recent.
    for award in sorted(state.live(ESCALabelAwarded), key=lambda a: (a.payload.awarded_on, a.position)):
        if until is None or award.payload.awarded_on <= until:
            awards.setdefault(award.payload.org_id, []).append(award)
    found: list[Contribution] = []
    for org_id in dict.fromkeys(state.project.partners):
        history = awards.get(org_id, [])
        before = [a for a in history if a.payload.awarded_on < start]
        baseline = before[-1].payload.level if before else "none"
        if not history or LABEL_RANK[history[-1].payload.level] <= LABEL_RANK[baseline]:
            continue
        latest = history[-1]
        # The upgrade is a comparison: the latest award and the award at the start behind it.
        compared = before[-1].sources if before else ()
        found.append(
            Contribution(
                on=latest.occurred_on,
                key=org_id,
                subjects=frozenset({org_id}),
                cells=cells(
                    {
                        "partner": partner_of(latest),
                        **place_and_sector(state, org_id),
                        "level": latest.payload.level,
                    }
                ),
                sources=(*compared, *latest.sources),
            )
        )
    return found


FORMULAS: dict[str, Callable[[LogState], list[Contribution]]] = {
    "R1": exchange_satisfaction,
    "R2": training_satisfaction,
    "R3.6m": follow_up_rate(6),
    "R3.12m": follow_up_rate(12),
    "R4": agreements_signed,
    "R6": services_launched,
}

STATE_FORMULAS: dict[str, Callable[[LogState, dt.date | None], list[Contribution]]] = {
    "R5": strategy_adopted,
    "R7": labels_upgraded,
}
