"""Provenance: the log positions behind one figure, so a funder or auditor can drill down from
any served number to the events it was computed from (DOMAIN.md (c) 2 and 5).

    evidence = figure_evidence(entries, "O3", period="quarter", period_id="2025-Q1",
                               by="gender", category="F")

The engine names positions only; the API reads type, occurred_on and recorded_by off the log.

What "behind" means
-------------------
The live events whose payload a figure's formula read the counted fact from, each with the live
corrections applied to it (a corrected training names the training's position and the
correction's). Reference data that only decides an attribute or a cell (organisation and
participant registrations, size-class changes, the project, targets, baselines) is never listed,
nor are retractions or anything retracted or voided as of the evaluated position. Per family:

- Trainings (O1, O2, O3): the TrainingDelivered of each session counted; for O3 every session in
  which a counted person attended, so a person trained twice names both.
- Coaching (O4): the CoachingSessionHeld.
- Exchanges (O5, O6): the exchange itself, i.e. its ExchangeRegistered (who visits, who hosts and
  who pays, which decides that it counts) and the ExchangeCompleted that counts and dates it.
  O11 adds the LumpSumPaid, R1 the latest closing report (the one counted) and R3 the follow-ups
  inside the window. An exchange not completed (possible for O11 and R1) names its registration.
- O7: each training, exchange (as above), coaching session or B2B outreach event through which
  a counted SME was engaged.
- O8: the exchanges (as above) and the PartnershipAgreementSigned whose parties it counts.
- Outreach (O9.contacts, O9.orgs, O10): the OutreachEventHeld.
- R2: the FeedbackCollected responses, satisfied or not (a percentage's denominator is behind it
  as much as its numerator); the session a response names only places it and is not listed.
- R4: the PartnershipAgreementSigned; R6: the ClusterServiceLaunched.
- R5: the adopted joint strategies and roadmaps dated up to the period's end.
- R7: per upgraded partner, its latest award and the award before the project start it
  outranks (none when the partner had no label then).
- Impact (I1–I6): each panel SME's counted baseline and endline responses (the last recorded of
  each wave); for I1 only the SMEs in the median.

Which contributions
-------------------
Exactly those the value is computed from (evaluate.py). `period_id` None is the project to date;
a period id is that period's own contributions, or, with `cumulative`, everything up to its end;
a state figure (R5, R7, impact) is read as of the period's end either way. A distinct count
(O3, O6, O7, O8, O9.orgs) lists every event behind every id counted in the span, not only its
first. A cell (`by` and `category`) keeps the contributions in that category; for a
shared-denominator dimension (R3 follow_up_type, I4 innovation_type, I5 transition_strand) those
are the cases found in the category, the ones its n counts, while the cases in its denominator
are the uncut figure's evidence.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

import msgspec

from events.collector import collector_paused
from events.entries import LogEntry
from indicators.aggregation import Contribution
from indicators.evaluate import IndicatorQueryError, contributions_within, query_sheet, state_as_of
from indicators.kpi_catalog import FigureSheet
from indicators.log_view import LogState
from indicators.periods import PeriodKind, period_buckets


class EvidenceQueryError(IndicatorQueryError):
    """A KPI, period, period id, dimension or category an evidence query names that the figure
    does not have; the message names the parameter."""


class Evidence(msgspec.Struct, frozen=True, kw_only=True):
    """The log positions behind one figure: to date or of one period, whole or of one cell."""

    figure_id: str
    # None: the project to date.
    period_id: str | None
    # True: everything up to the period's end (the point's cumulative figure), not its own.
    cumulative: bool = False
    by: str | None
    category: str | None
    as_of_position: int
    # Sorted, each position once.
    positions: list[int]
    count: int


def figure_evidence(
    entries: Iterable[LogEntry],
    kpi_id: str,
    period: PeriodKind = "reporting_period",
    period_id: str | None = None,
    by: str | None = None,
    category: str | None = None,
    as_of: int | dt.date | None = None,
    cumulative: bool = False,
) -> Evidence:
    """The positions of the live events (and their applied corrections) behind one figure, of
    period `period_id` (None: to date) and of cell `by`=`category` (None: the whole figure)."""
    sheet = _query_sheet(kpi_id, period, by, category)
    with collector_paused():
        state = state_as_of(entries, as_of)
        within = contributions_within(state, sheet)
        low, high = _span(state, period, period_id, cumulative)
        contributions = within(low, high)
        if by is not None and category is not None:
            _check_category(sheet, within(None, None), by, category)
            contributions = [c for c in contributions if category in c.cells[by]]
        positions = sorted({position for c in contributions for position in c.sources})
    return Evidence(
        figure_id=sheet.figure_id,
        period_id=period_id,
        cumulative=cumulative,
        by=by,
        category=category,
        as_of_position=state.position,
        positions=positions,
        count=len(positions),
    )


def _query_sheet(kpi_id: str, period: str, by: str | None, category: str | None) -> FigureSheet:
    if (by is None) != (category is None):
        raise EvidenceQueryError("by and category name one cell together: give both or neither")
    try:
        return query_sheet(kpi_id, period, by)
    except IndicatorQueryError as error:
        raise EvidenceQueryError(str(error)) from None


def _span(
    state: LogState, period: PeriodKind, period_id: str | None, cumulative: bool
) -> tuple[dt.date | None, dt.date | None]:
    """The days of `period_id` as its series point counts them (None: open)."""
    if period_id is None:
        return None, None
    buckets = period_buckets(state, period)
    for bucket in buckets:
        if bucket.period.period_id == period_id:
            return (None if cumulative else bucket.low), bucket.high
    known = ", ".join(b.period.period_id for b in buckets) or "none"
    raise EvidenceQueryError(f"unknown period_id {period_id!r} for period={period}; known: {known}")


def _check_category(sheet: FigureSheet, everything: list[Contribution], by: str, category: str) -> None:
    """A category must be one the figure serves for `by` to date (a cell of its breakdown)."""
    served = sorted({c for contribution in everything for c in contribution.cells[by]})
    if category not in served:
        known = ", ".join(served) or "none"
        raise EvidenceQueryError(
            f"unknown category {category!r} of {sheet.figure_id} by {by}; known: {known}"
        )
