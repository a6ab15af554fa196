"""The KPI engine, as pure code over the decoded log: the reference every faster path (database
projections) must agree with. It follows DOMAIN.md (b) and (f); this docstring records every
interpretation it had to make where (f) is silent.

Public API::

    evaluate_all(entries, as_of=None, period="reporting_period") -> ProjectIndicators
    evaluate_tables(entries, as_of, periods) -> {period: ProjectIndicators}  (one formula run each)
    evaluate_summary(entries, as_of=None) -> IndicatorsSummary  (project to date, no breakdowns)
    kpi_series(entries, kpi_id, period="reporting_period", by=None, as_of=None) -> Series
    figure_evidence(entries, kpi_id, period="reporting_period", period_id=None, by=None,
                    category=None, as_of=None, cumulative=False) -> Evidence
        (the log positions behind one figure, period and cell; evidence.py says what "behind" is)
    suppress_for_funders(result) -> the same type, cells with n < 5 withheld
    canonical_json(result) -> bytes  (what a snapshot hashes)
    INDICATORS / FIGURES / CATALOG_VERSION  (the reference sheets, kpi_catalog.py)

A figure is what is served: most indicators are one figure with the indicator's id; O9, O11, R3
and I6 are two each (O9.contacts/O9.orgs, O11.sum/O11.mean, R3.6m/R3.12m,
I6.gross/I6.attributed), each with its own unit, aggregation and dimensions (kpi_catalog.py).
A Series is one FigureResult (total, LoP target, breakdown by `by`, points whose cells are split
by `by`) with the as-of position; ProjectIndicators holds every FigureResult, split by all of its
dimensions, and the survey panel's response rate.

The engine reads events.entries.LogEntry (a stored row, payload decoded, partner from metadata:
``log_entry(recorded_event)``), the same entries the projections read.

Modules: kpi_catalog (sheets as data), log_view (the fold: LogEntry → LogState as of P),
outputs / outcomes / impact (formulas: state → contributions), dimensions (which cell a
contribution falls in), aggregation (contributions → a figure), periods, targets, results (the
served Structs), evaluate (the entry points), evidence (provenance), suppression, warm_fold (the
fold of a log kept warm between queries: the head carried forward, earlier positions read off
it); the engine pauses the garbage collector while it runs (events.collector).

Interpretations (where DOMAIN.md (f) is silent)
-----------------------------------------------
Log
- A retraction voids the dependents of the activity id its target carried (TrainingDelivered
  session_id, ExchangeRegistered exchange_id, CoachingSessionHeld engagement_id,
  OutreachEventHeld outreach_id) when no live record carries that id any more. Voiding happens
  at the retraction's position and is permanent: recording the activity again does not revive
  the voided feedback, follow-ups or lifecycle events. Retracting a lifecycle event (e.g. an
  ExchangeCompleted) voids nothing else, since ExchangeRegistered still carries the id.
- Any event except a retraction can be retracted, even a correction (the API refuses that, the
  engine tolerates it: the retracted correction stops applying). A correction of a retracted,
  voided or governance event is ignored; a correction that apply_correction rejects when the
  target is rebuilt (possible only after such a retraction) is skipped, never an error.
- Several live records with one id (an organisation, participant, exchange or session recorded
  twice): the last one in log order describes it. Several lifecycle events: the last
  ExchangeCompleted counts; "latest" closing report = the last recorded; one ExchangeCancelled
  cancels.
- An "as of" datetime compares with recorded_at as given; an "as of" date takes the whole UTC
  day. The as-of date for time-elapsed shares is the UTC day of the last position read.

Periods and dates
- The first bucket of a series takes everything dated before it and the last everything dated
  after it, so period figures always add up to totals. Calendar series run from the project start
  to the later of the project end and the last dated result.
- No separate "cumulative" period kind: every point carries its own figure and the cumulative
  figure from the start to its end (running per reporting-period end = the cumulative column of
  the reporting_period series; per quarter = that of the quarter series).
- Every exchange figure is dated by ExchangeCompleted (actual_end), O11 payments and R1 reports
  included (a payment made in the next quarter counts in the completion's quarter). A counted
  exchange needs no completion for O11 and R1 ((f) asks it only of O5–O8 and R3); one whose
  completion was retracted keeps its payments and report, dated by their own occurred_on.
- R5, R7 and the impact KPIs are states: a period's value (and its cumulative value) is the
  state over the events dated up to the period end.
- R3: "+ 6 calendar months" keeps the day of month, clamped to the month's end (31 Aug → 28/29
  Feb); both window ends are inclusive; the denominator includes exchanges whose window is still
  open.

Dimensions
- sector = OrganisationRegistered.ecosystem (the 14 industrial ecosystems), not the NACE code.
- Attributes nobody recorded (unregistered organisation, anonymous respondent, missing partner)
  fall in the category "unknown".
- Organisations counted as such (O6, O7, O8, O9.orgs, R6, R7) are split by their own attributes;
  only exchange *event* figures (O5, O11, R1, R3) use the visiting organisation's (f).
- Training figures take sector as well as region category from the delivering partner (the
  session's envelope partner). An online session has no venue: its country is the organising
  (delivering) partner's registered country, whatever TrainingDelivered.country says (that one
  only while the partner is unregistered); a hybrid session's is its venue's. R2's partner is
  the FeedbackCollected's envelope partner (the contributing event); its gender is the
  respondent's ("unknown" when anonymous).
- O4 splits by the coachee organisation (size class on the session day); O5/O11/R1/R3 by the
  VO's size class on the completion day; O3 also by the person's organisation ("org").
- Impact KPIs take their partner from the baseline response's envelope.
- R3's follow_up_type, I4's innovation_type (product/process) and I5's transition_strand
  (digital/green) are shared-denominator dimensions: a cell's numerator counts the cases found in
  that category, its denominator all cases, its n only the cases in the category.
- n = distinct persons or organisations behind a cell (FigureSheet.n_of says whose): O1 counts
  the sessions' attendees; O9.contacts the persons contacted, who have no ids: at least the
  contacts of the cell's largest event (a newsletter to 2,000 recipients has 2,000 persons behind
  it, however few organisations it names), or the organisations reached if more; O10 the
  organisations reached; R2 respondents, each anonymous response as one person; R1 the
  responding VO/HO; exchange counts both VO and HO.
- O8 cannot count an organisation without a registered country.
- Disaggregation keys of targets are matched as "<dimension>=<category>"; only one-dimension
  keys can match, since series are split by one dimension.

SMEs and panel
- O7's size-class cell is the class at the SME's first counted activity across the whole log (as
  of P), also in period series; the first is by occurred_on, then log position.
- Baseline respondents = distinct org_ids with a live baseline response of any survey, whether
  or not they were SMEs. An SME qualifying in two surveys is one panel member, with the survey
  of its most recently recorded endline.
- I6.attributed uses the endline's attribution_share; I1 leaves out SMEs with baseline turnover
  0 (its n counts only those in the median).
- R7: on the same awarded_on the award recorded later is the more recent; the partners are
  ProjectRegistered.partners (none without a project).

Targets
- Targets and baselines name a figure id ("O9.orgs") or, for an indicator's first figure, the
  bare indicator id ("O9"); the figure id wins when both are set.
- A missing baseline counts as 0 in progress. Incremental targets: progress = 100·(period
  value)/target, baseline not subtracted. Status: progress ≥ 90% of the elapsed share of the
  target's window → on_track, ≥ 60% → at_risk, else off_track (targets.py). Targets apply to
  reporting periods and the life of the project only, never to months or quarters.

Numbers
- Values are served at fixed places, half-up: counts and yes/no 0, hours/EUR/FTE/percent 2;
  numerators and denominators are counts. Targets and baselines are served as recorded.
"""

from indicators.evaluate import (
    IndicatorQueryError,
    evaluate_all,
    evaluate_summary,
    evaluate_tables,
    kpi_series,
)
from indicators.evidence import Evidence, EvidenceQueryError, figure_evidence
from indicators.kpi_catalog import CATALOG_VERSION, FIGURES, INDICATORS, FigureSheet, IndicatorSheet
from indicators.results import (
    Breakdown,
    Cell,
    Figure,
    FigureResult,
    FigureSummary,
    IndicatorsSummary,
    PanelSummary,
    Period,
    ProjectIndicators,
    Series,
    SeriesPoint,
    TargetProgress,
    canonical_json,
)
from indicators.suppression import suppress_for_funders

__all__ = [
    "CATALOG_VERSION",
    "FIGURES",
    "INDICATORS",
    "Breakdown",
    "Cell",
    "Evidence",
    "EvidenceQueryError",
    "Figure",
    "FigureResult",
    "FigureSheet",
    "FigureSummary",
    "IndicatorQueryError",
    "IndicatorSheet",
    "IndicatorsSummary",
    "PanelSummary",
    "Period",
    "ProjectIndicators",
    "Series",
    "SeriesPoint",
    "TargetProgress",
    "canonical_json",
    "evaluate_all",
    "evaluate_summary",
    "evaluate_tables",
    "figure_evidence",
    "kpi_series",
    "suppress_for_funders",
]
