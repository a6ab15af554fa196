"""The results framework of the demo: a reference sheet, a baseline and targets (per period and
for the life of the project) for every KPI of DOMAIN.md (b), plus one target revision and one
sheet revision, as a real project accumulates them.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from service.demo.cast import COORDINATOR
from service.demo.context import DemoContext
from service.demo.dates import ordinal

WP_MONITORING = "WP1"
_DEFAULT = ("partner", "country", "region_category", "sector")


class Kpi(NamedTuple):
    """One indicator's sheet and the planning figures of the scale-1 project."""

    kpi_id: str
    level: str
    name: str
    definition: str
    unit: str
    measure: str
    aggregation: str
    dimensions: tuple[str, ...]
    verification: str
    baseline: str
    baseline_rationale: str
    p1: int | None  # None: the indicator is only measured at the end (impact KPIs)
    p2: int
    lop: int
    grows_with: str | None  # "activity" | "population" | None: how targets follow the scale


KPIS: tuple[Kpi, ...] = (
    Kpi("O1", "output", "Training sessions delivered", "Count of live TrainingDelivered sessions.",
        "sessions", "unit", "sum", (*_DEFAULT, "topic", "format"),
        "Agendas and signed attendance lists", "0", "No project trainings before the start",
        10, 12, 22, "activity"),
    Kpi("O2", "output", "Training person-hours", "Sum of attended_hours of every attendee of live sessions.",
        "hours", "unit", "sum", (*_DEFAULT, "topic"),
        "Signed attendance lists with hours per attendee", "0", "No project trainings before the start",
        1100, 1300, 2400, "activity"),
    Kpi("O3", "output", "Unique cluster managers and staff trained",
        "Distinct cluster managers and staff with attended hours in at least one live session.",
        "persons", "unit", "distinct", (*_DEFAULT, "gender", "org"),
        "Attendance lists matched to the participant register", "0", "Counted from the project start",
        35, 50, 50, "population"),
    Kpi("O4", "output", "Coaching and mentoring hours", "Sum of hours of live coaching sessions.",
        "hours", "unit", "sum", (*_DEFAULT, "topic", "coachee_org"),
        "Coaching logs signed by coach and coachee", "0", "No project coaching before the start",
        110, 140, 250, "activity"),
    Kpi("O5", "output", "ClusterXchange exchanges completed",
        "Completed, not cancelled exchanges paid by the project's partnership (VOP).",
        "exchanges", "unit", "sum", (*_DEFAULT, "mode", "vo_type", "ho_country"),
        "Closing reports and boarding passes", "0", "The partnership starts with the project",
        15, 25, 40, "activity"),
    Kpi("O6", "output", "Organisations in exchanges",
        "Distinct visiting and host organisations of counted exchanges.",
        "organisations", "unit", "distinct", (*_DEFAULT, "role", "org_type"),
        "Commitments to Quality", "0", "The partnership starts with the project",
        25, 50, 50, "population"),
    Kpi("O7", "output", "SMEs directly engaged",
        "Distinct SMEs attending trainings, in exchanges, coached or met at B2B events.",
        "SMEs", "unit", "distinct", (*_DEFAULT, "size_class", "activity_type"),
        "Attendance lists, Commitments to Quality, coaching logs, B2B schedules", "0",
        "Counted from the project start", 120, 200, 200, "population"),
    Kpi("O8", "output", "Countries connected",
        "Distinct countries of exchange organisations and agreement parties.",
        "countries", "unit", "distinct", (), "Exchange and agreement records", "0",
        "Counted from the project start", 8, 12, 12, None),
    Kpi("O9", "output", "Outreach reach",
        "Sum of outreach attendees (contacts); distinct organisations reached.",
        "contacts", "unit", "sum", ("partner", "country", "event_type"),
        "Registration lists, platform statistics, mailing-list counts", "0", "Counted from the project start",
        40000, 50000, 90000, "activity"),
    Kpi("O10", "output", "B2B meetings held", "Sum of b2b_meetings over live outreach events.",
        "meetings", "unit", "sum", ("partner", "country"), "Matchmaking platform exports", "0",
        "Counted from the project start", 60, 90, 150, "activity"),
    Kpi("O11", "output", "Exchange lump sums paid",
        "Sum of lump sums paid for counted exchanges; mean per exchange.",
        "EUR", "unit", "sum", ("partner", "country", "reduced"), "Bank statements", "0",
        "The partnership starts with the project", 12000, 18000, 30000, "activity"),
    Kpi("R1", "outcome", "Exchange satisfaction",
        "Closing-report scores of 4 or 5 over all scores given (VO and HO).",
        "%", "percentage", "ratio", (*_DEFAULT, "role"), "Closing reports", "0",
        "No exchanges before the project", 80, 80, 80, None),
    Kpi("R2", "outcome", "Training satisfaction",
        "Training feedback with satisfaction 4 or 5 over all responses.",
        "%", "percentage", "ratio", (*_DEFAULT, "topic"), "Feedback forms", "76",
        "Partners' 2024 training evaluations", 80, 80, 80, None),
    Kpi("R3", "outcome", "Follow-up cooperation rate",
        "Completed exchanges with a follow-up within 6 months over completed exchanges.",
        "%", "percentage", "ratio", (*_DEFAULT, "follow_up_type"), "Follow-up survey of visitors", "0",
        "No exchanges before the project", 25, 30, 30, None),
    Kpi("R4", "outcome", "Partnership agreements and MoUs signed",
        "Count of live PartnershipAgreementSigned.",
        "agreements", "unit", "sum", ("partner", "agreement_type", "cross_border"), "Signed documents", "0",
        "Counted from the project start", 3, 4, 7, None),
    Kpi("R5", "outcome", "Joint strategy and roadmap adopted",
        "Yes from the first adopted joint strategy or roadmap.", "yes/no", "qualitative", "last", (),
        "Adopted strategy document and board minutes", "0", "No joint strategy before the project",
        1, 1, 1, None),
    Kpi("R6", "outcome", "New or improved cluster services for SMEs", "Count of live ClusterServiceLaunched.",
        "services", "unit", "sum", ("partner", "service_area"),
        "Service descriptions and launch notices", "0",
        "Counted from the project start", 3, 5, 8, None),
    Kpi("R7", "outcome", "Partners upgrading their ESCA label",
        "Partners whose latest label ranks above their label at the project start.",
        "organisations", "unit", "distinct", ("partner", "level"), "ESCA / EUCLES certificates", "0",
        "Labels at the project start are the reference", 1, 4, 4, None),
    Kpi("I1", "impact", "SME turnover growth", "Median turnover change between baseline and endline (panel).",
        "%", "percentage", "ratio", ("size_class", "sector"), "SME survey panel", "0",
        "A change indicator; the baseline wave fixes the levels", None, 6, 6, None),
    Kpi("I2", "impact", "SME employment change", "Endline minus baseline FTE, summed over the panel.",
        "FTE", "unit", "last", ("size_class", "sector"), "SME survey panel", "0",
        "A change indicator; the baseline wave fixes the levels", None, 250, 250, "population"),
    Kpi("I3", "impact", "SMEs entering new export markets",
        "Panel SMEs with an export country new since baseline.",
        "%", "percentage", "ratio", ("size_class", "target_region"), "SME survey panel", "0",
        "A change indicator; the baseline wave fixes the levels", None, 20, 20, None),
    Kpi("I4", "impact", "SMEs introducing innovations",
        "Panel SMEs with new products or a process innovation at endline.",
        "%", "percentage", "ratio", ("size_class", "innovation_type"), "SME survey panel", "0",
        "A change indicator; the baseline wave fixes the levels", None, 30, 30, None),
    Kpi("I5", "impact", "SMEs advancing the digital or green transition",
        "Panel SMEs with a higher digital score or a new green measure at endline.",
        "%", "percentage", "ratio", ("size_class", "strand"), "SME survey panel", "0",
        "A change indicator; the baseline wave fixes the levels", None, 40, 40, None),
    Kpi("I6", "impact", "Investment raised by SMEs",
        "Endline investment raised since baseline, summed over the panel.",
        "EUR", "unit", "last", ("size_class", "source"), "SME survey panel (self-reported)", "0",
        "A change indicator; the baseline wave fixes the levels", None, 4_000_000, 4_000_000, "population"),
)  # fmt: skip

KPI_IDS = tuple(kpi.kpi_id for kpi in KPIS)


def _sheet(kpi: Kpi, version: int, dimensions: tuple[str, ...]) -> dict[str, Any]:
    return {
        "indicator_id": kpi.kpi_id,
        "version": version,
        "name": kpi.name,
        "definition": kpi.definition,
        "level": kpi.level,
        "formula_ref": f"kpi:{kpi.kpi_id}",
        "unit": kpi.unit,
        "measure": kpi.measure,
        "ascending": True,
        "time_aggregation": kpi.aggregation,
        "disaggregations": list(dimensions),
        "means_of_verification": kpi.verification,
    }


def _target(ctx: DemoContext, kpi: Kpi, value: int) -> str:
    factor = {"activity": ctx.activity, "population": ctx.population}.get(kpi.grows_with or "", 1)
    return str(value * factor)


def schedule_results_framework(ctx: DemoContext) -> None:
    """Sheets, baselines and targets at the start, and the later revisions."""
    add = ctx.schedule.add
    coordinator = COORDINATOR.org_id
    defined = ordinal(2025, 1, 3)
    before_start = ordinal(2024, 12, 31)
    for kpi in KPIS:
        add("IndicatorDefined", defined, _sheet(kpi, 1, kpi.dimensions), coordinator, WP_MONITORING)
    for kpi in KPIS:
        # Baselines describe the situation before the project, so they may predate it.
        add(
            "BaselineRecorded",
            before_start,
            {
                "indicator_id": kpi.kpi_id,
                "period_id": "LoP",
                "value": kpi.baseline,
                "cumulative": True,
                "rationale": kpi.baseline_rationale,
            },
            coordinator,
            WP_MONITORING,
            recorded=defined,
        )
        # Sums get per-period increments; distinct counts and rates are levels to reach.
        incremental = kpi.aggregation == "sum"
        for period, value in (("P1", kpi.p1), ("P2", kpi.p2), ("LoP", kpi.lop)):
            if value is None:
                continue
            add(
                "TargetSet",
                defined,
                {
                    "indicator_id": kpi.kpi_id,
                    "period_id": period,
                    "value": _target(ctx, kpi, value),
                    "cumulative": period == "LoP" or not incremental,
                    "rationale": "Grant agreement, Annex 1 (description of the action)",
                },
                coordinator,
                WP_MONITORING,
            )
    by_id = {kpi.kpi_id: kpi for kpi in KPIS}
    # A gender sub-target and a gold-label ambition, as the grant agreement spells them out.
    for kpi_id, key, value in (("O3", "gender=F", 25), ("R7", "level=gold", 1)):
        add(
            "TargetSet",
            defined,
            {
                "indicator_id": kpi_id,
                "period_id": "LoP",
                "value": _target(ctx, by_id[kpi_id], value),
                "cumulative": True,
                "disaggregation_key": key,
                "rationale": "Grant agreement, Annex 1 (description of the action)",
            },
            coordinator,
            WP_MONITORING,
        )
    # Mid-project the programme cut exchanges per partnership; the target follows (DOMAIN.md §1).
    revised = ordinal(2026, 2, 2)
    for period, value in (("P2", 21), ("LoP", 36)):
        add(
            "TargetSet",
            revised,
            {
                "indicator_id": "O5",
                "period_id": period,
                "value": _target(ctx, by_id["O5"], value),
                "cumulative": period == "LoP",
                "rationale": "Amendment 1: ClusterXchange budget per partnership reduced by the programme",
            },
            coordinator,
            WP_MONITORING,
        )
    o2 = by_id["O2"]
    add(
        "IndicatorRevised",
        ordinal(2025, 7, 1),
        _sheet(o2, 2, (*o2.dimensions, "gender")),
        coordinator,
        WP_MONITORING,
    )
