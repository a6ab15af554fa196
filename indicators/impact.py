"""The impact KPIs I1–I6 over the SME survey panel (DOMAIN.md (f), Impact).

The panel is read over the survey responses dated up to a day (`until`, None = all of them):
per (survey_id, wave, org_id) the last recorded live response counts; an organisation is in the
panel when it was an SME on its baseline interview's day and has a baseline and an endline in the
same survey. Midline and follow-up waves feed nothing. Each panel SME is split by its attributes
at its baseline interview.
"""

from __future__ import annotations

import collections
import datetime as dt
import threading
import weakref
from collections.abc import Callable
from decimal import Decimal
from typing import NamedTuple

from events.catalog import SMESurveyResponseRecorded
from events.entries import LiveEvent
from indicators.aggregation import EXACT, HUNDRED, ONE, ZERO, Contribution, percentage
from indicators.dimensions import cells, partner_of, place_and_sector
from indicators.log_view import LogState
from indicators.results import PanelSummary

Response = LiveEvent[SMESurveyResponseRecorded]


class PanelMember(NamedTuple):
    """A panel SME with the baseline and endline responses that count."""

    org_id: str
    baseline: Response
    endline: Response


class Panel(NamedTuple):
    """The panel, and every organisation that answered a baseline (the response rate's base)."""

    members: list[PanelMember]
    baseline_respondents: frozenset[str]


def survey_panel(state: LogState, until: dt.date | None) -> Panel:
    """The impact panel over the responses dated up to `until` (found once per state and day:
    every impact figure and the panel summary read the same one)."""
    key = (id(state), until)
    with _PANELS_LOCK:
        found = _PANELS.get(key)
    if found is not None and found[0]() is state:
        return found[1]
    panel = _survey_panel(state, until)
    try:
        # Forgotten when the state goes, before its id can be another's.
        ref = weakref.ref(state, lambda gone, key=key: _forget(key, gone))  # type: ignore[misc]
    except TypeError:  # a state that cannot be referred to weakly is not remembered
        return panel
    with _PANELS_LOCK:
        _PANELS[key] = (ref, panel)
        while len(_PANELS) > _PANELS_KEPT:
            _PANELS.popitem(last=False)
    return panel


# (id of a state, until) → (the state, weakly; its panel).
_PANELS: collections.OrderedDict[tuple[int, dt.date | None], tuple[weakref.ref[LogState], Panel]] = (
    collections.OrderedDict()
)
_PANELS_KEPT = 64
# Held briefly: the callback that forgets a state runs wherever the state is freed, so it takes no lock.
_PANELS_LOCK = threading.Lock()


def _forget(key: tuple[int, dt.date | None], gone: weakref.ref[LogState]) -> None:
    found = _PANELS.get(key)
    if found is not None and found[0] is gone:
        _PANELS.pop(key, None)


def _survey_panel(state: LogState, until: dt.date | None) -> Panel:
    last: dict[tuple[str, str, str], Response] = {}
    for response in state.live(SMESurveyResponseRecorded):  # log order: later replaces earlier
        if until is None or response.occurred_on <= until:
            payload = response.payload
            last[(payload.survey_id, payload.wave, payload.org_id)] = response
    chosen: dict[str, PanelMember] = {}
    for (survey_id, wave, org_id), baseline in last.items():
        endline = last.get((survey_id, "endline", org_id))
        if wave != "baseline" or endline is None or not state.is_sme(org_id, baseline.occurred_on):
            continue
        # In the rare case of two surveys, an SME is one panel member: its latest endline's survey.
        current = chosen.get(org_id)
        if current is None or endline.position > current.endline.position:
            chosen[org_id] = PanelMember(org_id, baseline, endline)
    respondents = frozenset(org_id for (_, wave, org_id) in last if wave == "baseline")
    return Panel([chosen[org_id] for org_id in sorted(chosen)], respondents)


def panel_summary(state: LogState) -> PanelSummary:
    """Panel size, baseline respondents and the response rate (panel / baseline respondents)."""
    panel = survey_panel(state, None)
    size, respondents = len(panel.members), len(panel.baseline_respondents)
    return PanelSummary(
        baseline_respondents=respondents,
        panel_size=size,
        response_rate=percentage(EXACT.create_decimal(size), EXACT.create_decimal(respondents), size).figure,
    )


def _member_cells(state: LogState, member: PanelMember) -> dict[str, str]:
    return {
        "partner": partner_of(member.baseline),
        **place_and_sector(state, member.org_id),
        "size_class": state.size_class(member.org_id, member.baseline.occurred_on),
    }


class Finding(NamedTuple):
    """What one panel SME adds to a figure: an amount, a denominator (ratios) and the categories
    of a shared-denominator dimension it was found in (innovation type, transition strand)."""

    amount: Decimal
    denominator: Decimal = ZERO
    found: tuple[str, set[str]] | None = None


Rule = Callable[[SMESurveyResponseRecorded, SMESurveyResponseRecorded], Finding | None]


def _over_panel(rule: Rule) -> Callable[[LogState, dt.date | None], list[Contribution]]:
    """A panel formula from what one SME's (baseline, endline) pair adds, if anything."""

    def formula(state: LogState, until: dt.date | None) -> list[Contribution]:
        found: list[Contribution] = []
        organisations = state.organisations
        for member in survey_panel(state, until).members:
            # What a member adds depends on its two responses and its organisation only: kept by
            # their identity (the same objects at every position where none of them changed).
            organisation = organisations.get(member.org_id)
            key = (id(rule), id(member.baseline), id(member.endline), id(organisation))
            kept = _ADDED.get(key)
            if (
                kept is not None
                and kept[0] is member.baseline
                and kept[1] is member.endline
                and kept[2] is organisation
            ):
                added = kept[3]
            else:
                added = _added(state, member, rule)
                if len(_ADDED) >= _ADDED_KEPT:
                    _ADDED.clear()
                _ADDED[key] = (member.baseline, member.endline, organisation, added)
            if added is not None:
                found.append(added)
        return found

    return formula


def _added(state: LogState, member: PanelMember, rule: Rule) -> Contribution | None:
    """What one panel SME adds to a figure by `rule`, if anything."""
    finding = rule(member.baseline.payload, member.endline.payload)
    if finding is None:
        return None
    shared = {finding.found[0]: finding.found[1]} if finding.found is not None else {}
    return Contribution(
        on=member.endline.occurred_on,
        amount=finding.amount,
        denominator=finding.denominator,
        subjects=frozenset({member.org_id}),
        cells=cells({**_member_cells(state, member), **shared}),
        sources=(*member.baseline.sources, *member.endline.sources),
    )


# (rule, baseline, endline, organisation) by identity → (those objects, kept alive with their ids;
# what the member adds).
_ADDED: dict[tuple[int, int, int, int], tuple[Response, Response, object, Contribution | None]] = {}
_ADDED_KEPT = 200_000


def _share(found: bool) -> Finding:
    return Finding(ONE if found else ZERO, ONE)


def turnover_growth(
    baseline: SMESurveyResponseRecorded, endline: SMESurveyResponseRecorded
) -> Finding | None:
    """I1: 100·(endline − baseline)/baseline turnover; SMEs without baseline turnover are left out."""
    if baseline.turnover_eur <= 0:
        return None
    change = EXACT.subtract(endline.turnover_eur, baseline.turnover_eur)
    return Finding(EXACT.divide(EXACT.multiply(HUNDRED, change), baseline.turnover_eur))


def employment_change(baseline: SMESurveyResponseRecorded, endline: SMESurveyResponseRecorded) -> Finding:
    """I2: endline − baseline FTE, so the sum is Σ endline − Σ baseline over the panel."""
    return Finding(EXACT.subtract(endline.employees_fte, baseline.employees_fte))


def new_export_market(baseline: SMESurveyResponseRecorded, endline: SMESurveyResponseRecorded) -> Finding:
    """I3: an endline export country absent at baseline."""
    return _share(bool(set(endline.export_countries) - set(baseline.export_countries)))


def innovation(baseline: SMESurveyResponseRecorded, endline: SMESurveyResponseRecorded) -> Finding:
    """I4: new products (new_products > 0) or a process innovation, in the endline response."""
    types = {"product"} if endline.new_products > 0 else set()
    if endline.process_innovation:
        types.add("process")
    return Finding(ONE if types else ZERO, ONE, ("innovation_type", types))


def twin_transition(baseline: SMESurveyResponseRecorded, endline: SMESurveyResponseRecorded) -> Finding:
    """I5: a higher digital score than at baseline, or a green measure absent at baseline."""
    strands = {"digital"} if endline.digital_score > baseline.digital_score else set()
    if set(endline.green_measures) - set(baseline.green_measures):
        strands.add("green")
    return Finding(ONE if strands else ZERO, ONE, ("transition_strand", strands))


def investment_gross(baseline: SMESurveyResponseRecorded, endline: SMESurveyResponseRecorded) -> Finding:
    """I6.gross: investment raised since the baseline interview, as the endline reports it."""
    return Finding(endline.investment_raised_eur)


def investment_attributed(baseline: SMESurveyResponseRecorded, endline: SMESurveyResponseRecorded) -> Finding:
    """I6.attributed: that investment × the endline's self-reported attribution share."""
    return Finding(EXACT.multiply(endline.investment_raised_eur, endline.attribution_share))


STATE_FORMULAS: dict[str, Callable[[LogState, dt.date | None], list[Contribution]]] = {
    "I1": _over_panel(turnover_growth),
    "I2": _over_panel(employment_change),
    "I3": _over_panel(new_export_market),
    "I4": _over_panel(innovation),
    "I5": _over_panel(twin_transition),
    "I6.gross": _over_panel(investment_gross),
    "I6.attributed": _over_panel(investment_attributed),
}
