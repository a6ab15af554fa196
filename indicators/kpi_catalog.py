"""The KPI catalog as data: one reference sheet per indicator (DOMAIN.md (b) and (f)).

An indicator is served as one or more *figures*. Most have one figure whose id is the
indicator's id ("O1"); four are served as two figures, each with its own id, unit and
disaggregations, because (b)/(f) ask for two numbers that aggregate differently:

    O9  → "O9.contacts" (Σ attendees)        + "O9.orgs" (distinct orgs_reached)
    O11 → "O11.sum" (Σ lump sums)            + "O11.mean" (Σ / distinct paid exchanges)
    R3  → "R3.6m" (6-month follow-up window) + "R3.12m" (12-month window)
    I6  → "I6.gross"                         + "I6.attributed" (× attribution_share)

The first figure of an indicator is its primary figure: a target set for the bare indicator id
("O9") applies to it. The formulas themselves are code (indicators/outputs.py, outcomes.py,
impact.py); a sheet says what they compute, in words a funder can check.
"""

from __future__ import annotations

from typing import Literal

import msgspec

# Bumped whenever a definition, a dimension or a rounding rule changes: a snapshot records it.
CATALOG_VERSION = "2025.3"

Level = Literal["output", "outcome", "impact"]
# How a value is expressed, which also fixes its decimal places (aggregation.py).
Measure = Literal["number", "hours", "eur", "fte", "percent", "median_percent", "yes_no"]
# How the contributions inside one cell and period combine into a value.
Aggregation = Literal["count", "sum", "distinct", "ratio", "mean", "median", "exists"]
# How a value behaves over time: "sum" adds up over periods; "distinct", "ratio" and "mean" are
# recomputed over the longer span, never added; "last" and "exists" are states read at the end of
# a period (the formula is evaluated over the events dated up to that day).
TimeAggregation = Literal["sum", "distinct", "ratio", "mean", "last", "exists"]

STATE_AGGREGATIONS: frozenset[str] = frozenset({"last", "exists"})

# Every disaggregation a figure may be split by, with what its cells are.
DIMENSIONS: dict[str, str] = {
    "partner": "envelope partner_org_id of the contributing event (for exchanges, of ExchangeRegistered)",
    "country": "ISO2 country; whose country is said in each figure's definition",
    "region_category": "cohesion-policy category of the organisation's NUTS-2 region",
    "sector": "the organisation's industrial ecosystem (OrganisationRegistered.ecosystem)",
    "org_type": "OrganisationRegistered.org_type",
    "gender": "ParticipantRegistered.gender (F, M, X, undisclosed; 'unknown' when no person is known)",
    "size_class": "size class in force on the day said in the figure's definition",
    "org": "the participant's organisation (ParticipantRegistered.org_id)",
    "coachee_org": "CoachingSessionHeld.coachee_org_id",
    "topic": "training or coaching topic",
    "format": "TrainingDelivered.format",
    "mode": "exchange mode (physical, virtual) or coaching mode (onsite, online, hybrid)",
    "vo_type": "org_type of the visiting organisation",
    "ho_country": "country of the host organisation",
    "role_vo_ho": "VO or HO: the organisation's (or the response's) side of the exchange",
    "activity_type": "training, exchange, coaching or B2B: the source that engaged the SME",
    "event_type": "OutreachEventHeld.event_type",
    "reduced": "yes when the lump sum was reduced (halved), else no",
    "follow_up_type": "FollowUpCooperationRecorded.type of follow-ups inside the window",
    "agreement_type": "PartnershipAgreementSigned.type",
    "cross_border": "yes when the agreement's parties span two or more countries, else no",
    "service_area": "ClusterServiceLaunched.service_area",
    "level": "the partner's most recent ESCA label level",
    "innovation_type": "product (endline new_products > 0) and/or process (process_innovation)",
    "transition_strand": "digital (digital_score rose) and/or green (a new green measure)",
}

# Everything known about an organisation's KPI dimensions, used by most figures.
_ORG = ("country", "region_category", "sector")
# The visiting organisation's attributes, which exchange figures are split by ((f) "O5's country").
_EXCHANGE = ("partner", *_ORG, "size_class", "vo_type", "ho_country")
_PANEL = ("partner", *_ORG, "size_class")


class FigureSheet(msgspec.Struct, frozen=True, kw_only=True):
    """One figure an indicator is served as: what it counts, in which unit, split how."""

    figure_id: str
    name: str
    unit: str
    measure: Measure
    aggregation: Aggregation
    time_aggregation: TimeAggregation
    disaggregations: tuple[str, ...]
    # Dimensions whose cells share the whole denominator: the value names what the numerator
    # found (a follow-up type), not a property of every case in the denominator.
    shared_denominator: tuple[str, ...] = ()
    # Who "n" (distinct persons or organisations behind a cell) counts, in words.
    n_of: str
    # Contributions carry contacts without ids (Contribution.persons): n is at least the largest.
    anonymous_persons: bool = False
    self_reported: bool = False


class IndicatorSheet(msgspec.Struct, frozen=True, kw_only=True):
    """A versioned reference sheet: definition, level, direction, verification and figures."""

    indicator_id: str
    name: str
    level: Level
    definition: str
    ascending: bool = True
    means_of_verification: str
    version: int = 1
    figures: tuple[FigureSheet, ...]


def _one(
    indicator_id: str,
    name: str,
    unit: str,
    measure: Measure,
    aggregation: Aggregation,
    time_aggregation: TimeAggregation,
    disaggregations: tuple[str, ...],
    n_of: str,
    shared_denominator: tuple[str, ...] = (),
) -> tuple[FigureSheet, ...]:
    """The single figure of a one-figure indicator (its id and name are the indicator's)."""
    return (
        FigureSheet(
            figure_id=indicator_id,
            name=name,
            unit=unit,
            measure=measure,
            aggregation=aggregation,
            time_aggregation=time_aggregation,
            disaggregations=disaggregations,
            shared_denominator=shared_denominator,
            n_of=n_of,
        ),
    )


OUTPUTS: tuple[IndicatorSheet, ...] = (
    IndicatorSheet(
        indicator_id="O1",
        name="Training sessions delivered",
        level="output",
        definition=(
            "Number of live TrainingDelivered events, one per session however many dates it spans, "
            "dated by its first date. Country = the venue (TrainingDelivered.country; for an online "
            "session the organising partner's country); region category and sector = the delivering "
            "partner's."
        ),
        means_of_verification="Agenda and signed attendance list of each session",
        # 2: an online session's country is the organising partner's (DOMAIN.md (f)).
        version=2,
        figures=_one(
            "O1",
            "Training sessions delivered",
            "sessions",
            "number",
            "count",
            "sum",
            ("partner", "country", "region_category", "sector", "topic", "format"),
            "attendees of the sessions",
        ),
    ),
    IndicatorSheet(
        indicator_id="O2",
        name="Training person-hours",
        level="output",
        definition=(
            "Σ attendees[].attended_hours over live training sessions, whatever the attendee's role or "
            "organisation. Country = the venue (an online session's: the organising partner's); region "
            "category and sector = the delivering partner's; gender = the attendee's."
        ),
        means_of_verification="Signed attendance lists with hours per attendee",
        # 2: an online session's country is the organising partner's (DOMAIN.md (f)).
        version=2,
        figures=_one(
            "O2",
            "Training person-hours",
            "hours",
            "hours",
            "sum",
            "sum",
            ("partner", "country", "region_category", "sector", "gender", "topic", "format"),
            "attendees",
        ),
    ),
    IndicatorSheet(
        indicator_id="O3",
        name="Unique cluster managers/staff trained",
        level="output",
        definition=(
            "Distinct participant_ids registered with role cluster_manager or cluster_staff who attended "
            "> 0 hours of at least one live session, whatever their organisation. Split by attributes of "
            "the person: gender, and country, region category, sector and type of their organisation."
        ),
        means_of_verification="Signed attendance lists; participant register",
        figures=_one(
            "O3",
            "Unique cluster managers/staff trained",
            "persons",
            "number",
            "distinct",
            "distinct",
            ("partner", *_ORG, "org_type", "gender", "org"),
            "the persons counted",
        ),
    ),
    IndicatorSheet(
        indicator_id="O4",
        name="Coaching/mentoring hours",
        level="output",
        definition=(
            "Σ CoachingSessionHeld.hours over live sessions (hours of the session, not per person), "
            "whatever the coachee's type. Dimensions are the coachee organisation's; size class in force "
            "on the session day."
        ),
        means_of_verification="Coaching logs signed by coach and coachee; session outputs",
        figures=_one(
            "O4",
            "Coaching/mentoring hours",
            "hours",
            "hours",
            "sum",
            "sum",
            ("partner", *_ORG, "org_type", "size_class", "topic", "mode", "coachee_org"),
            "coachee organisations",
        ),
    ),
    IndicatorSheet(
        indicator_id="O5",
        name="ClusterXchange exchanges completed",
        level="output",
        definition=(
            "Number of exchanges with a live ExchangeCompleted whose ExchangeRegistered.vop_id is the "
            "project's partnership_id and that have no ExchangeCancelled; dated by ExchangeCompleted "
            "(actual_end). Dimensions are the visiting organisation's (size class on actual_end); "
            "HO country separately."
        ),
        means_of_verification="Commitment to Quality, closing report and travel evidence",
        figures=_one(
            "O5",
            "ClusterXchange exchanges completed",
            "exchanges",
            "number",
            "count",
            "sum",
            (*_EXCHANGE, "mode"),
            "visiting and host organisations",
        ),
    ),
    IndicatorSheet(
        indicator_id="O6",
        name="Organisations in exchanges",
        level="output",
        definition=(
            "Distinct org_ids among the VO and HO of counted completed exchanges (O5's exchanges). Each "
            "organisation is split by its own attributes; in the VO/HO split an organisation that visited "
            "and hosted is in both cells, so cells may add up to more than the total. Its size class is "
            "the one in force on the completion day (one whose class changed between exchanges is in "
            "both classes' cells)."
        ),
        means_of_verification="Exchange register (Commitments to Quality, closing reports)",
        # 2: split by size class too (DOMAIN.md (b): a default disaggregation).
        version=2,
        figures=_one(
            "O6",
            "Organisations in exchanges",
            "organisations",
            "number",
            "distinct",
            "distinct",
            ("partner", *_ORG, "org_type", "size_class", "role_vo_ho"),
            "the organisations counted",
        ),
    ),
    IndicatorSheet(
        indicator_id="O7",
        name="SMEs directly engaged",
        level="output",
        definition=(
            "Distinct organisations that were SMEs (org_type SME, size class micro/small/medium in force "
            "on the activity's day) among attendees[].org_id of live trainings, VO and HO of counted "
            "completed exchanges, coachee_org_id of coaching sessions and orgs_reached of B2B outreach "
            "events. An SME's size-class cell is its class at its first counted activity."
        ),
        means_of_verification="Attendance lists, exchange register, coaching logs, B2B participant lists",
        figures=_one(
            "O7",
            "SMEs directly engaged",
            "SMEs",
            "number",
            "distinct",
            "distinct",
            ("partner", *_ORG, "size_class", "activity_type"),
            "the SMEs counted",
        ),
    ),
    IndicatorSheet(
        indicator_id="O8",
        name="Countries connected",
        level="output",
        definition=(
            "Distinct OrganisationRegistered.country values among the VO and HO of counted completed "
            "exchanges and the parties of live PartnershipAgreementSigned events (partners included); "
            "outreach countries do not count."
        ),
        means_of_verification="Exchange register and signed agreements",
        figures=_one(
            "O8",
            "Countries connected",
            "countries",
            "number",
            "distinct",
            "distinct",
            ("partner", "country"),
            "organisations in those countries",
        ),
    ),
    IndicatorSheet(
        indicator_id="O9",
        name="Outreach reach",
        level="output",
        definition=(
            "Two figures: O9.contacts = Σ OutreachEventHeld.attendees of live events (contacts, not "
            "distinct persons; recipients for newsletters, publications and social), split by venue "
            "country; O9.orgs = distinct org_ids in orgs_reached, of any type, split by the organisation's "
            "own attributes (size class in force on the event's day)."
        ),
        means_of_verification="Attendance lists, platform statistics, mailing statistics",
        # 2: split by size class too (DOMAIN.md (b): a default disaggregation).
        # 3: the persons behind a contacts cell are at least its largest event's contacts, so a
        #    newsletter's recipients are no longer hidden from funders as "0 organisations".
        version=3,
        figures=(
            FigureSheet(
                figure_id="O9.contacts",
                name="contacts",
                unit="contacts",
                measure="number",
                aggregation="sum",
                time_aggregation="sum",
                disaggregations=("partner", "country", "event_type"),
                n_of=(
                    "persons: at least the contacts of the cell's largest event, or the organisations "
                    "reached if more"
                ),
                anonymous_persons=True,
            ),
            FigureSheet(
                figure_id="O9.orgs",
                name="organisations reached",
                unit="organisations",
                measure="number",
                aggregation="distinct",
                time_aggregation="distinct",
                disaggregations=("partner", *_ORG, "org_type", "size_class", "event_type"),
                n_of="the organisations counted",
            ),
        ),
    ),
    IndicatorSheet(
        indicator_id="O10",
        name="B2B meetings held",
        level="output",
        definition="Σ b2b_meetings over every live OutreachEventHeld, whatever its event_type; venue country",
        means_of_verification="Matchmaking platform reports",
        figures=_one(
            "O10",
            "B2B meetings held",
            "meetings",
            "number",
            "sum",
            "sum",
            ("partner", "country", "event_type"),
            "organisations reached",
        ),
    ),
    IndicatorSheet(
        indicator_id="O11",
        name="Exchange lump sums paid",
        level="output",
        definition=(
            "Two figures over LumpSumPaid events of counted (VOP, not cancelled) exchanges: O11.sum = Σ "
            "amount_eur; O11.mean = that sum / the number of distinct such exchanges with at least one "
            "payment. Dated by the exchange's completion (by paid_on while it has none); dimensions of "
            "the visiting organisation, plus the payment's reduced flag."
        ),
        means_of_verification="Payment records and bank statements",
        figures=(
            FigureSheet(
                figure_id="O11.sum",
                name="paid",
                unit="EUR",
                measure="eur",
                aggregation="sum",
                time_aggregation="sum",
                disaggregations=(*_EXCHANGE, "reduced"),
                n_of="visiting organisations paid",
            ),
            FigureSheet(
                figure_id="O11.mean",
                name="mean per paid exchange",
                unit="EUR per exchange",
                measure="eur",
                aggregation="mean",
                time_aggregation="mean",
                disaggregations=(*_EXCHANGE, "reduced"),
                n_of="visiting organisations paid",
            ),
        ),
    ),
)

OUTCOMES: tuple[IndicatorSheet, ...] = (
    IndicatorSheet(
        indicator_id="R1",
        name="Exchange satisfaction",
        level="outcome",
        definition=(
            "Each satisfaction_vo and satisfaction_ho given in the latest closing report of every "
            "counted exchange is one response: % = responses ≥ 4 / responses given. Dated by the "
            "exchange's completion (by the report while it has none); dimensions of the visiting "
            "organisation, VO/HO = the response's side."
        ),
        means_of_verification="Closing reports",
        # 2: a side that gave no score is no response (it was refused before).
        version=2,
        figures=_one(
            "R1",
            "Exchange satisfaction",
            "%",
            "percent",
            "ratio",
            "ratio",
            (*_EXCHANGE, "role_vo_ho"),
            "responding organisations",
        ),
    ),
    IndicatorSheet(
        indicator_id="R2",
        name="Training satisfaction",
        level="outcome",
        definition=(
            "FeedbackCollected responses whose activity_id is the session_id of a live training: % = "
            "satisfaction ≥ 4 / responses. Each response takes its session's date, topic, format and "
            "venue country (an online session's: the organising partner's); region category and sector "
            "= the delivering partner's; gender = the respondent's."
        ),
        means_of_verification="Feedback forms",
        # 2: an online session's country is the organising partner's (DOMAIN.md (f)).
        version=2,
        figures=_one(
            "R2",
            "Training satisfaction",
            "%",
            "percent",
            "ratio",
            "ratio",
            ("partner", "country", "region_category", "sector", "gender", "topic", "format"),
            "respondents (each anonymous response counts as one)",
        ),
    ),
    IndicatorSheet(
        indicator_id="R3",
        name="Follow-up cooperation rate",
        level="outcome",
        definition=(
            "Counted completed exchanges having a FollowUpCooperationRecorded with source_activity_id = "
            "the exchange_id dated within [actual_end, actual_end + 6 calendar months] (R3.6m) or + 12 "
            "months (R3.12m), / all counted completed exchanges. Dated by actual_end. A follow-up-type "
            "cell counts the exchanges with a follow-up of that type over all exchanges."
        ),
        means_of_verification="Follow-up records with evidence (MoUs, proposals, contracts)",
        figures=tuple(
            FigureSheet(
                figure_id=f"R3.{months}m",
                name=f"within {months} months",
                unit="%",
                measure="percent",
                aggregation="ratio",
                time_aggregation="ratio",
                disaggregations=(*_EXCHANGE, "follow_up_type"),
                shared_denominator=("follow_up_type",),
                n_of="visiting and host organisations",
            )
            for months in (6, 12)
        ),
    ),
    IndicatorSheet(
        indicator_id="R4",
        name="Partnership agreements/MoUs signed",
        level="outcome",
        definition=(
            "Number of live PartnershipAgreementSigned events of any type, domestic or not; cross-border "
            "when the parties span two or more countries. Follow-ups of type MoU are not agreements."
        ),
        means_of_verification="Signed agreements (document hash)",
        figures=_one(
            "R4",
            "Partnership agreements/MoUs signed",
            "agreements",
            "number",
            "count",
            "sum",
            ("partner", "agreement_type", "cross_border"),
            "parties",
        ),
    ),
    IndicatorSheet(
        indicator_id="R5",
        name="Joint strategy and roadmap adopted",
        level="outcome",
        definition=(
            "Yes (1) from the occurred_on of the first live StrategyMilestoneReached with kind "
            "joint_strategy or roadmap and status adopted, else no (0); 'since' gives that date."
        ),
        means_of_verification="Adopted strategy or roadmap document",
        figures=_one(
            "R5",
            "Joint strategy and roadmap adopted",
            "yes/no",
            "yes_no",
            "exists",
            "exists",
            (),
            "partners recording the milestone",
        ),
    ),
    IndicatorSheet(
        indicator_id="R6",
        name="New/improved cluster services for SMEs",
        level="outcome",
        definition=(
            "Number of live ClusterServiceLaunched events, new and improved alike, whoever launched them; "
            "dimensions of the launching organisation (size class in force on launched_on)."
        ),
        means_of_verification="Service description and launch announcement",
        # 2: split by size class too (DOMAIN.md (b): a default disaggregation).
        version=2,
        figures=_one(
            "R6",
            "New/improved cluster services for SMEs",
            "services",
            "number",
            "count",
            "sum",
            ("partner", *_ORG, "org_type", "size_class", "service_area"),
            "launching organisations",
        ),
    ),
    IndicatorSheet(
        indicator_id="R7",
        name="Partners upgrading their ESCA label",
        level="outcome",
        definition=(
            "Number of ProjectRegistered.partners whose most recent live ESCALabelAwarded (by awarded_on, "
            "up to the day evaluated) ranks above their label at the project start (the most recent "
            "award dated before the start, none if none); none < bronze < silver < gold; validity "
            "ignored. A state: a period's value is the state at its end."
        ),
        means_of_verification="ESCA/EUCLES label certificates",
        figures=_one(
            "R7",
            "Partners upgrading their ESCA label",
            "organisations",
            "number",
            "count",
            "last",
            ("partner", *_ORG, "level"),
            "the partners counted",
        ),
    ),
)


def _impact(
    indicator_id: str,
    name: str,
    definition: str,
    figures: tuple[FigureSheet, ...],
) -> IndicatorSheet:
    return IndicatorSheet(
        indicator_id=indicator_id,
        name=name,
        level="impact",
        definition=definition
        + (
            " Over the panel: SMEs at their baseline interview with a baseline and an endline in the same "
            "survey_id (the last recorded response per wave counts); null with n = 0 for an empty panel; "
            "split by the SME's attributes at its baseline interview. A state: a period's value is read "
            "over the responses dated up to its end."
        ),
        means_of_verification="SME survey responses (baseline and endline waves)",
        figures=figures,
    )


def _panel_figure(
    figure_id: str,
    name: str,
    unit: str,
    measure: Measure,
    aggregation: Aggregation,
    extra: tuple[str, ...] = (),
    self_reported: bool = False,
) -> FigureSheet:
    return FigureSheet(
        figure_id=figure_id,
        name=name,
        unit=unit,
        measure=measure,
        aggregation=aggregation,
        time_aggregation="last",
        disaggregations=(*_PANEL, *extra),
        shared_denominator=extra,
        n_of="panel SMEs",
        self_reported=self_reported,
    )


IMPACTS: tuple[IndicatorSheet, ...] = (
    _impact(
        "I1",
        "SME turnover growth",
        "Median, over panel SMEs with baseline turnover > 0, of 100·(endline − baseline)/baseline "
        "turnover_eur; with an even count, the mean of the two middle values.",
        (_panel_figure("I1", "SME turnover growth", "%", "median_percent", "median"),),
    ),
    _impact(
        "I2",
        "SME employment change",
        "Σ endline employees_fte − Σ baseline employees_fte, both over the panel.",
        (_panel_figure("I2", "SME employment change", "FTE", "fte", "sum"),),
    ),
    _impact(
        "I3",
        "SMEs entering new export markets",
        "Panel SMEs whose endline export_countries hold a code absent at baseline / panel SMEs.",
        (_panel_figure("I3", "SMEs entering new export markets", "%", "percent", "ratio"),),
    ),
    _impact(
        "I4",
        "SMEs introducing innovations",
        "Panel SMEs whose endline response has new_products > 0 or process_innovation / panel SMEs.",
        (_panel_figure("I4", "SMEs introducing innovations", "%", "percent", "ratio", ("innovation_type",)),),
    ),
    _impact(
        "I5",
        "SMEs advancing digital/green transition",
        "Panel SMEs whose endline digital_score exceeds the baseline score, or whose endline "
        "green_measures hold a measure absent at baseline / panel SMEs.",
        (
            _panel_figure(
                "I5",
                "SMEs advancing digital/green transition",
                "%",
                "percent",
                "ratio",
                ("transition_strand",),
            ),
        ),
    ),
    _impact(
        "I6",
        "Investment/funding raised by SMEs",
        "I6.gross = Σ endline investment_raised_eur (raised since the baseline interview); "
        "I6.attributed = Σ endline investment_raised_eur × endline attribution_share; both self-reported.",
        (
            _panel_figure("I6.gross", "gross, self-reported", "EUR", "eur", "sum", self_reported=True),
            _panel_figure(
                "I6.attributed",
                "attributed to the project, self-reported",
                "EUR",
                "eur",
                "sum",
                self_reported=True,
            ),
        ),
    ),
)

INDICATORS: tuple[IndicatorSheet, ...] = OUTPUTS + OUTCOMES + IMPACTS

# Every figure in catalog order, and the indicator each belongs to.
FIGURES: tuple[FigureSheet, ...] = tuple(figure for sheet in INDICATORS for figure in sheet.figures)
INDICATOR_OF: dict[str, IndicatorSheet] = {
    figure.figure_id: sheet for sheet in INDICATORS for figure in sheet.figures
}


def figure_name(sheet: FigureSheet) -> str:
    """A figure's name as served: its indicator's, with the figure's after it when it has several."""
    indicator = INDICATOR_OF[sheet.figure_id]
    return indicator.name if len(indicator.figures) == 1 else f"{indicator.name}: {sheet.name}"


def figure_sheet(kpi_id: str) -> FigureSheet | None:
    """The figure a KPI id names: a figure id ("O9.orgs") or an indicator id (its primary figure)."""
    for sheet in INDICATORS:
        if sheet.indicator_id == kpi_id:
            return sheet.figures[0]
        for figure in sheet.figures:
            if figure.figure_id == kpi_id:
                return figure
    return None


def target_ids(figure: FigureSheet) -> tuple[str, ...]:
    """The indicator ids a TargetSet or BaselineRecorded may use for a figure, preferred first."""
    sheet = INDICATOR_OF[figure.figure_id]
    if sheet.figures[0] is figure and sheet.indicator_id != figure.figure_id:
        return (figure.figure_id, sheet.indicator_id)
    return (figure.figure_id,)
