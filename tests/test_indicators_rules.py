"""One focused test per DOMAIN.md (f) rule that is easy to get wrong, each on the smallest log that
shows it, plus properties over random small logs (hypothesis)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_indicators_log import (
    PARTNERSHIP,
    ProjectLog,
    agreement,
    cancelled,
    closing_report,
    coaching,
    completed,
    correction,
    exchange,
    feedback,
    follow_up,
    label,
    lump_sum,
    milestone,
    organisation,
    outreach,
    participant,
    project,
    retraction,
    size_change,
    survey,
    target,
    training,
)

from indicators import (
    FIGURES,
    IndicatorQueryError,
    ProjectIndicators,
    canonical_json,
    evaluate_all,
    kpi_series,
    suppress_for_funders,
)
from indicators.evaluate import FLOW_FORMULAS, STATE_FORMULAS
from indicators.kpi_catalog import DIMENSIONS, STATE_AGGREGATIONS

PERIODS = [
    ("RP1", "2025-01-01", "2025-06-30"),
    ("RP2", "2025-07-01", "2025-12-31"),
    ("RP3", "2026-01-01", "2026-06-30"),
]


def project_log(*orgs: tuple[str, str, str, str]) -> ProjectLog:
    """A project with RP1–RP3, its three partner cluster organisations, and `orgs` as
    (org_id, org_type, country, size_class)."""
    log = ProjectLog()
    log.add(project(PERIODS, ["clu-de", "clu-es", "clu-pl"]), on="2025-01-01", partner="clu-de")
    regions = {"DE": "more_developed", "ES": "transition", "PL": "less_developed", "FR": "more_developed"}
    for org_id, org_type, country, size in (
        ("clu-de", "cluster_org", "DE", "n/a"),
        ("clu-es", "cluster_org", "ES", "n/a"),
        ("clu-pl", "cluster_org", "PL", "n/a"),
        *orgs,
    ):
        log.add(organisation(org_id, org_type, country, regions[country], "digital", size), on="2025-01-01")
    return log


def value(table: ProjectIndicators, figure_id: str) -> str | None:
    """A figure's project-to-date value as served."""
    served = table.figure(figure_id).total.value
    return None if served is None else str(served)


def period_values(table: ProjectIndicators, figure_id: str) -> list[str | None]:
    """A figure's own value per period."""
    return [None if p.value.value is None else str(p.value.value) for p in table.figure(figure_id).points]


def staff(log: ProjectLog, *people: tuple[str, str]) -> None:
    """Register (participant_id, org_id) as cluster staff, gender F."""
    for person, org in people:
        log.add(participant(person, org, "cluster_staff", "F"), on="2025-01-01")


# --- log semantics ------------------------------------------------------------------------------


def test_a_retraction_recounts_distinct_counts_from_its_position_on() -> None:
    log = project_log()
    staff(log, ("p1", "clu-de"), ("p2", "clu-es"))
    log.add(training("S1", ["2025-02-01"], [("p1", "clu-de", "8")]))
    wrong = log.add(training("S2", ["2025-03-01"], [("p1", "clu-de", "8"), ("p2", "clu-es", "8")]))
    before = log.head
    log.add(retraction(wrong), on="2025-04-01")
    # p1 stays (S1); p2 came only through S2: recounted 2, not decremented per attendee.
    assert value(evaluate_all(log.entries), "O3") == "1"
    assert value(evaluate_all(log.entries, as_of=before), "O3") == "2"


def test_retracting_a_session_voids_its_feedback_and_its_corrections() -> None:
    log = project_log()
    session = log.add(training("S1", ["2025-02-01"], []))
    log.add(feedback("S1", 5, "p1"), on="2025-02-01")
    log.add(correction(session, topic="green"), on="2025-02-05")
    log.add(retraction(session), on="2025-03-01")
    table = evaluate_all(log.entries)
    assert (value(table, "O1"), value(table, "R2")) == ("0", None)
    # Recording the session again does not bring back the voided feedback; new feedback counts.
    log.add(training("S1", ["2025-02-01"], []), on="2025-02-01")
    assert value(evaluate_all(log.entries), "R2") is None
    log.add(feedback("S1", 2, "p2"), on="2025-02-01")
    assert evaluate_all(log.entries).figure("R2").total.denominator == Decimal(1)


def test_feedback_survives_when_another_live_record_carries_the_same_session_id() -> None:
    log = project_log()
    log.add(training("S1", ["2025-02-01"], []), partner="clu-de")
    duplicate = log.add(training("S1", ["2025-02-01"], []), partner="clu-es")  # recorded twice
    log.add(feedback("S1", 5, "p1"), on="2025-02-01")
    assert value(evaluate_all(log.entries), "O1") == "2"  # the engine does not de-duplicate
    log.add(retraction(duplicate), on="2025-03-01")
    table = evaluate_all(log.entries)
    assert (value(table, "O1"), value(table, "R2")) == ("1", "100.00")


def test_retracting_an_exchange_registration_voids_its_lifecycle_and_follow_ups() -> None:
    log = project_log(("sme-de", "SME", "DE", "micro"))
    registration = log.add(exchange("X1", "sme-de", "clu-es"), on="2025-02-01")
    log.add(completed("X1", "2025-03-03", "2025-03-07"))
    log.add(closing_report("X1", 5, 5), on="2025-03-10")
    log.add(lump_sum("X1", "780", "2025-03-20"))
    log.add(follow_up("X1", "MoU", "2025-04-01", ["sme-de", "clu-es"]))
    log.add(retraction(registration), on="2025-05-01")
    log.add(exchange("X1", "sme-de", "clu-es"), on="2025-05-02")  # registered again, nothing else
    table = evaluate_all(log.entries)
    assert [value(table, f) for f in ("O5", "O6", "O11.sum", "R1", "R3.6m")] == ["0", "0", "0.00", None, None]


def test_a_correction_moves_its_target_between_periods_from_its_own_position_on() -> None:
    log = project_log()
    staff(log, ("p1", "clu-de"))
    session = log.add(training("S1", ["2025-06-20"], [("p1", "clu-de", "4")], hours="4"))
    log.add(feedback("S1", 5, "p1"), on="2025-06-20")
    before = log.head
    log.add(correction(session, dates=["2025-07-03"], occurred_on="2025-07-03"), on="2025-07-10")
    # As of before the correction, everything is in RP1; from it on, in RP2 — feedback included.
    early = evaluate_all(log.entries, as_of=before)
    late = evaluate_all(log.entries)
    assert period_values(early, "O2") == ["4.00", "0.00", "0.00"]
    assert period_values(late, "O2") == ["0.00", "4.00", "0.00"]
    assert period_values(late, "R2") == [None, "100.00", None]
    assert period_values(late, "O3") == ["0", "1", "0"]


def test_several_corrections_apply_in_log_order_and_a_retracted_one_stops_applying() -> None:
    log = project_log()
    session = log.add(training("S1", ["2025-02-01"], [], hours="4"))
    log.add(correction(session, duration_hours="6"), on="2025-02-02")
    second = log.add(correction(session, topic="green"), on="2025-02-03")
    log.add(correction(session, topic="digital"), on="2025-02-04")
    topics = kpi_series(log.entries, "O1", by="topic").figure.breakdowns[0].cells
    assert [c.category for c in topics] == ["digital"]
    log.add(retraction(second), on="2025-02-05")
    assert [c.category for c in kpi_series(log.entries, "O1", by="topic").figure.breakdowns[0].cells] == [
        "digital"
    ]


def test_an_invalid_correction_changes_nothing() -> None:
    log = project_log()
    session = log.add(training("S1", ["2025-02-01"], [("p1", "clu-de", "4")], hours="4"))
    # attended hours above the duration: the API refuses it, and the engine ignores it.
    log.add(
        correction(session, attendees=[{"participant_id": "p1", "org_id": "clu-de", "attended_hours": "9"}]),
        on="2025-02-02",
    )
    log.add(correction(session, session_id="S9"), on="2025-02-03", checked=False)  # an identity field
    assert value(evaluate_all(log.entries), "O2") == "4.00"


def test_as_of_reads_only_positions_up_to_p_targets_included() -> None:
    log = project_log()
    log.add(target("O1", "LoP", "4"), on="2025-01-02")
    log.add(training("S1", ["2025-02-01"], []))
    revised = log.head + 1
    log.add(target("O1", "LoP", "2"), on="2025-03-01")
    early, late = evaluate_all(log.entries, as_of=revised - 1), evaluate_all(log.entries)
    early_target, late_target = early.figure("O1").target, late.figure("O1").target
    assert early_target is not None and late_target is not None
    assert (str(early_target.progress), str(late_target.progress)) == (
        "25.00",
        "50.00",
    )


def test_events_after_the_end_date_count_in_the_final_period() -> None:
    log = project_log()
    log.add(outreach("OUT1", "webinar", 30, [], "DE"), on="2026-08-01")
    assert period_values(evaluate_all(log.entries), "O9.contacts") == ["0", "0", "30"]


def test_a_project_starting_mid_quarter_has_a_partial_first_quarter() -> None:
    log = ProjectLog()
    periods = [("RP1", "2025-02-15", "2025-12-31"), ("RP2", "2026-01-01", "2026-08-14")]
    log.add(project(periods, ["clu-de", "clu-es", "clu-pl"]), on="2025-02-15", partner="clu-de")
    log.add(outreach("OUT1", "webinar", 30, [], "DE"), on="2025-03-01")
    quarters = evaluate_all(log.entries, period="quarter").figure("O9.contacts").points
    first, second = quarters[0].period, quarters[1].period
    assert (first.period_id, first.start) == ("2025-Q1", dt.date(2025, 2, 15))
    assert first.end == dt.date(2025, 3, 31)
    assert (second.period_id, second.start) == ("2025-Q2", dt.date(2025, 4, 1))
    assert quarters[0].value.value == 30
    months = evaluate_all(log.entries, period="month").figure("O9.contacts").points
    assert (months[0].period.period_id, months[0].period.start) == ("2025-02", dt.date(2025, 2, 15))


# --- exchanges ----------------------------------------------------------------------------------


def test_a_cancelled_exchange_contributes_to_no_kpi_from_its_cancellation_on() -> None:
    log = project_log(("sme-de", "SME", "DE", "micro"))
    log.add(exchange("X1", "sme-de", "clu-es"), on="2025-02-01")
    log.add(closing_report("X1", 5, 5), on="2025-02-10")
    log.add(lump_sum("X1", "390", "2025-02-15", reduced=True))
    before = evaluate_all(log.entries)
    log.add(cancelled("X1"), on="2025-03-01")
    after = evaluate_all(log.entries)
    assert (value(before, "O11.sum"), value(before, "R1")) == ("390.00", "100.00")
    assert (value(after, "O11.sum"), value(after, "O11.mean"), value(after, "R1")) == ("0.00", None, None)


def test_only_exchanges_the_project_pays_for_count() -> None:
    log = project_log(("sme-fr", "SME", "FR", "small"))
    # Hosted by the project's partnership but paid by another: counts for nothing.
    log.add(exchange("X1", "sme-fr", "clu-de", vop="CXC-OTHER", hop=PARTNERSHIP), on="2025-02-01")
    log.add(completed("X1", "2025-03-03", "2025-03-07"))
    log.add(lump_sum("X1", "780", "2025-03-20"))
    table = evaluate_all(log.entries)
    assert [value(table, f) for f in ("O5", "O6", "O7", "O8", "O11.sum")] == ["0", "0", "0", "0", "0.00"]


def test_o6_counts_an_organisation_that_visited_and_hosted_once_but_in_both_role_cells() -> None:
    log = project_log()
    log.add(exchange("X1", "clu-de", "clu-es"), on="2025-02-01")
    log.add(completed("X1", "2025-03-03", "2025-03-07"))
    log.add(exchange("X2", "clu-es", "clu-pl"), on="2025-02-01")
    log.add(completed("X2", "2025-04-07", "2025-04-11"))
    series = kpi_series(log.entries, "O6", by="role_vo_ho")
    # {clu-de, clu-es, clu-pl} = 3; VO {clu-de, clu-es} 2 + HO {clu-es, clu-pl} 2 = 4 > 3.
    assert series.figure.total.value == Decimal(3)
    assert {c.category: c.figure.value for c in series.figure.breakdowns[0].cells if c.figure} == {
        "HO": 2,
        "VO": 2,
    }


def test_o6_needs_a_completion() -> None:
    log = project_log()
    log.add(exchange("X1", "clu-de", "clu-es"), on="2025-02-01")
    assert value(evaluate_all(log.entries), "O6") == "0"


def test_r1_counts_vo_and_ho_separately_from_the_latest_closing_report() -> None:
    log = project_log()
    log.add(exchange("X1", "clu-de", "clu-es"), on="2025-02-01")
    log.add(completed("X1", "2025-03-03", "2025-03-07"))
    log.add(closing_report("X1", 2, 2), on="2025-03-10")
    log.add(closing_report("X1", 5, 3), on="2025-03-12")  # replaces the first
    r1 = evaluate_all(log.entries).figure("R1").total
    # Responses 5 ✓ and 3 ✗ → 1/2.
    assert (str(r1.numerator), str(r1.denominator), str(r1.value)) == ("1", "2", "50.00")


def r3_log(*follow_up_dates: str, end: str = "2025-03-31") -> ProjectLog:
    log = project_log()
    log.add(exchange("X1", "clu-de", "clu-es"), on="2025-02-01")
    log.add(completed("X1", "2025-03-27", end))
    for day in follow_up_dates:
        log.add(follow_up("X1", "MoU", day, ["clu-de", "clu-es"]))
    return log


@pytest.mark.parametrize(
    ("follow_up_on", "six", "twelve"),
    [
        ("2025-03-31", "100.00", "100.00"),  # actual_end itself: inside
        ("2025-03-30", "0.00", "0.00"),  # before actual_end: outside
        ("2025-09-30", "100.00", "100.00"),  # 31 Mar + 6 months = 30 Sep (clamped): inside
        ("2025-10-01", "0.00", "100.00"),  # one day after the 6-month window
        ("2026-03-31", "0.00", "100.00"),  # + 12 months exactly: inside
        ("2026-04-01", "0.00", "0.00"),  # one day after the 12-month window
    ],
)
def test_r3_windows_include_both_ends(follow_up_on: str, six: str, twelve: str) -> None:
    table = evaluate_all(r3_log(follow_up_on).entries)
    assert (value(table, "R3.6m"), value(table, "R3.12m")) == (six, twelve)


def test_r3_counts_an_exchange_once_however_many_follow_ups() -> None:
    table = evaluate_all(r3_log("2025-04-01", "2025-05-01").entries)
    r3 = table.figure("R3.6m").total
    assert (str(r3.numerator), str(r3.denominator)) == ("1", "1")


# --- SMEs ---------------------------------------------------------------------------------------


def test_a_cluster_organisation_is_never_an_sme_whatever_its_size_class() -> None:
    log = project_log(("clu-fr", "cluster_org", "FR", "micro"), ("sme-fr", "SME", "FR", "large"))
    log.add(coaching("E1", "clu-de", "clu-fr", "2"), on="2025-02-01")
    log.add(coaching("E2", "clu-de", "sme-fr", "2"), on="2025-02-01")
    assert value(evaluate_all(log.entries), "O7") == "0"


def test_o7_size_class_cell_is_the_class_at_the_first_counted_activity() -> None:
    log = project_log(("sme-de", "SME", "DE", "micro"))
    log.add(coaching("E1", "clu-de", "sme-de", "2"), on="2025-02-01")
    log.add(size_change("sme-de", "small"), on="2025-05-01")
    log.add(coaching("E1", "clu-de", "sme-de", "2"), on="2025-08-01")
    series = kpi_series(log.entries, "O7", by="size_class")
    assert [c.category for c in series.figure.breakdowns[0].cells] == ["micro"]
    # Even RP2's own cell, where the SME was small, shows its first class.
    assert [c.category for c in series.figure.points[1].cells] == ["micro"]


# --- impact -------------------------------------------------------------------------------------


def panel_log(turnovers: list[tuple[str, str]]) -> ProjectLog:
    """SMEs sme-0, sme-1, … with (baseline, endline) turnovers."""
    log = project_log(*[(f"sme-{i}", "SME", "DE", "small") for i in range(len(turnovers))])
    for i, (start, end) in enumerate(turnovers):
        log.add(survey(f"sme-{i}", "baseline", turnover=start, fte="5"), on="2025-02-01")
        log.add(survey(f"sme-{i}", "endline", turnover=end, fte="5"), on="2026-05-01")
    return log


def test_i1_median_of_an_even_count_is_the_mean_of_the_two_middle_values() -> None:
    # Growths 10, 20, 30, 50 (%) → (20 + 30)/2 = 25.00; a zero baseline turnover is left out.
    log = panel_log([("100", "110"), ("100", "120"), ("100", "130"), ("100", "150"), ("0", "500")])
    i1 = evaluate_all(log.entries).figure("I1").total
    assert (str(i1.value), i1.n) == ("25.00", 4)


def test_an_empty_panel_is_null_with_n_zero_never_zero() -> None:
    log = project_log(("sme-de", "SME", "DE", "small"))
    log.add(survey("sme-de", "baseline", turnover="100", fte="5"), on="2025-02-01")
    log.add(survey("sme-de", "midline", turnover="120", fte="6"), on="2025-09-01")  # feeds nothing
    table = evaluate_all(log.entries)
    for figure_id in ("I1", "I2", "I3", "I4", "I5", "I6.gross", "I6.attributed"):
        assert (table.figure(figure_id).total.value, table.figure(figure_id).total.n) == (None, 0)
    assert (table.panel.panel_size, str(table.panel.response_rate.value)) == (0, "0.00")


def test_the_panel_keeps_smes_at_baseline_and_the_last_response_per_wave() -> None:
    log = project_log(("sme-a", "SME", "DE", "medium"), ("big-b", "SME", "DE", "large"))
    log.add(survey("sme-a", "baseline", turnover="100", fte="5"), on="2025-02-01")
    log.add(survey("big-b", "baseline", turnover="100", fte="5"), on="2025-02-01")  # large: not an SME
    log.add(size_change("sme-a", "large"), on="2025-06-01")
    log.add(survey("sme-a", "endline", turnover="150", fte="9"), on="2026-05-01")
    log.add(survey("big-b", "endline", turnover="150", fte="9"), on="2026-05-01")
    log.add(survey("sme-a", "endline", turnover="150", fte="7"), on="2026-05-01")  # re-answered
    table = evaluate_all(log.entries)
    # Panel {sme-a} (an SME at its baseline): 7 − 5 = 2 FTE; response rate 1/2 baseline respondents.
    assert (value(table, "I2"), table.panel.panel_size, str(table.panel.response_rate.value)) == (
        "2.00",
        1,
        "50.00",
    )


# --- numbers and funders ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("satisfied", "responses", "served"),
    [
        (1, 32, "3.13"),  # 3.125 → half-up (half-even would give 3.12)
        (5, 32, "15.63"),  # 15.625 → 15.63
        (2, 3, "66.67"),
        (1, 3, "33.33"),
        (0, 1, "0.00"),
    ],
)
def test_percentages_are_rounded_half_up_to_two_decimals(satisfied: int, responses: int, served: str) -> None:
    log = project_log()
    log.add(training("S1", ["2025-02-01"], []))
    for i in range(responses):
        log.add(feedback("S1", 5 if i < satisfied else 1, f"p{i}"), on="2025-02-01")
    r2 = evaluate_all(log.entries).figure("R2").total
    assert (str(r2.value), str(r2.numerator), str(r2.denominator)) == (served, str(satisfied), str(responses))


def test_percent_targets_compare_the_unrounded_value() -> None:
    log = project_log()
    log.add(target("R2", "LoP", "200"), on="2025-01-02")  # 2/3 = 66.666…% of 200 → 33.33
    log.add(training("S1", ["2025-02-01"], []))
    for i, score in enumerate((5, 5, 1)):
        log.add(feedback("S1", score, f"p{i}"), on="2025-02-01")
    progress = evaluate_all(log.entries).figure("R2").target
    # From the rounded 66.67 it would be 33.335 → 33.34.
    assert progress is not None and str(progress.progress) == "33.33"


def test_suppression_withholds_cells_with_n_below_five_and_never_totals() -> None:
    log = project_log()
    people = [(f"p{i}", "clu-de" if i < 5 else "clu-es") for i in range(7)]
    staff(log, *people)
    log.add(training("S1", ["2025-02-01"], [(p, o, "2") for p, o in people]))
    table = suppress_for_funders(evaluate_all(log.entries))
    o3 = table.figure("O3")
    assert (str(o3.total.value), o3.total.n) == ("7", 7)
    by_org = {c.category: c for b in o3.breakdowns if b.by == "org" for c in b.cells}
    assert by_org["clu-de"].figure is not None and by_org["clu-de"].figure.value == 5
    assert (by_org["clu-es"].suppressed, by_org["clu-es"].figure) == (True, None)  # n = 2
    series = suppress_for_funders(kpi_series(log.entries, "O3", by="org"))
    assert [c.suppressed for c in series.figure.breakdowns[0].cells] == [False, True]
    assert [p.value.value for p in series.figure.points] == [7, 0, 0]  # period figures untouched


# --- outcomes -----------------------------------------------------------------------------------


def test_r5_needs_an_adopted_strategy_or_roadmap() -> None:
    log = project_log()
    log.add(milestone("MS1", "joint_strategy", "submitted"), on="2025-03-01")
    log.add(milestone("MS2", "action_plan", "adopted"), on="2025-04-01")
    assert value(evaluate_all(log.entries), "R5") == "0"
    log.add(milestone("MS3", "roadmap", "adopted"), on="2025-09-01")
    r5 = evaluate_all(log.entries).figure("R5")
    assert (str(r5.total.value), str(r5.total.since), [str(p.value.value) for p in r5.points]) == (
        "1",
        "2025-09-01",
        ["0", "1", "1"],
    )


def test_r7_compares_with_the_label_held_at_the_project_start() -> None:
    log = project_log()
    log.add(label("clu-de", "gold", "2024-01-10"))  # before the start
    log.add(label("clu-de", "silver", "2025-06-01"))  # most recent, but below gold
    log.add(label("clu-es", "bronze", "2025-03-01"))  # none → bronze
    log.add(label("sme-x", "gold", "2025-03-01"))  # not a partner
    assert value(evaluate_all(log.entries), "R7") == "1"


def test_r4_counts_every_agreement_and_its_cross_border_cell() -> None:
    log = project_log(("sme-pl", "SME", "PL", "small"))
    log.add(agreement("A1", "MoU", ["clu-pl", "sme-pl"], "2025-02-01"))
    log.add(agreement("A2", "consortium_agreement", ["clu-de", "clu-pl"], "2025-03-01"))
    log.add(follow_up("S1", "MoU", "2025-03-02", ["clu-de"]))  # a follow-up MoU is no agreement
    series = kpi_series(log.entries, "R4", by="cross_border")
    assert (
        str(series.figure.total.value),
        {c.category: str(c.figure.value) for c in series.figure.breakdowns[0].cells if c.figure},
    ) == (
        "2",
        {"no": "1", "yes": "1"},
    )


# --- the query surface --------------------------------------------------------------------------


def test_queries_name_what_the_catalog_lacks() -> None:
    log = project_log()
    with pytest.raises(IndicatorQueryError, match="unknown KPI 'O99'"):
        kpi_series(log.entries, "O99")
    with pytest.raises(IndicatorQueryError, match="O1 cannot be split by 'gender'"):
        kpi_series(log.entries, "O1", by="gender")
    with pytest.raises(IndicatorQueryError, match="unknown period 'cumulative'"):
        kpi_series(log.entries, "O1", period="cumulative")  # type: ignore[arg-type]


def test_every_figure_has_one_formula_of_its_kind_and_known_dimensions() -> None:
    for sheet in FIGURES:
        is_state = sheet.time_aggregation in STATE_AGGREGATIONS
        assert (sheet.figure_id in STATE_FORMULAS, sheet.figure_id in FLOW_FORMULAS) == (
            is_state,
            not is_state,
        )
        assert set(sheet.disaggregations) <= set(DIMENSIONS)
        assert set(sheet.shared_denominator) <= set(sheet.disaggregations)
        assert not sheet.shared_denominator or sheet.aggregation == "ratio"
    assert len(FLOW_FORMULAS) + len(STATE_FORMULAS) == len(FIGURES)


def test_a_bare_indicator_id_names_its_first_figure() -> None:
    assert kpi_series([], "O9").figure.figure_id == "O9.contacts"


def test_an_empty_log_evaluates_to_zeros_and_nulls() -> None:
    table = evaluate_all([])
    assert (table.as_of_position, table.periods, value(table, "O1"), value(table, "R1")) == (0, (), "0", None)


# --- properties over random small logs ----------------------------------------------------------

ORGS = ["clu-de", "clu-es", "sme-a", "sme-b"]
PEOPLE = ["p1", "p2", "p3"]
DAYS = st.dates(dt.date(2024, 11, 1), dt.date(2026, 9, 30)).map(str)


def _event(kind: str, draw: Any) -> tuple[Any, str | None]:
    """One random payload of `kind` and its occurred_on (None: the payload's own date)."""
    org, other = draw(st.sampled_from([(a, b) for a in ORGS for b in ORGS if a != b]))
    day = draw(DAYS)
    if kind == "org":
        size = draw(st.sampled_from(["micro", "medium", "large", "n/a"]))
        org_type = "cluster_org" if org.startswith("clu") else "SME"
        return organisation(
            org, org_type, draw(st.sampled_from(["DE", "ES", "PL"])), "transition", "digital", size
        ), day
    if kind == "size":
        return size_change(org, draw(st.sampled_from(["micro", "small", "large"]))), day
    if kind == "person":
        return participant(
            draw(st.sampled_from(PEOPLE)), org, draw(st.sampled_from(["cluster_staff", "other"])), "F"
        ), day
    if kind == "training":
        people = draw(st.lists(st.sampled_from(PEOPLE), unique=True, max_size=3))
        return training(
            draw(st.sampled_from(["S1", "S2"])),
            [day],
            [(p, org, draw(st.sampled_from(["0", "2"]))) for p in people],
            hours="2",
        ), None
    if kind == "feedback":
        return feedback(
            draw(st.sampled_from(["S1", "S2", "X1"])),
            draw(st.integers(1, 5)),
            draw(st.sampled_from([None, *PEOPLE])),
        ), day
    if kind == "coaching":
        return coaching(draw(st.sampled_from(["E1", "E2"])), other, org, "1.5"), day
    if kind == "exchange":
        return exchange(
            draw(st.sampled_from(["X1", "X2"])), org, other, vop=draw(st.sampled_from([PARTNERSHIP, "CXC-O"]))
        ), day
    if kind == "completed":
        return completed(draw(st.sampled_from(["X1", "X2"])), day, day), None
    if kind == "report":
        return closing_report(
            draw(st.sampled_from(["X1", "X2"])), draw(st.integers(1, 5)), draw(st.integers(1, 5))
        ), day
    if kind == "payment":
        return lump_sum(draw(st.sampled_from(["X1", "X2"])), "390", day), None
    if kind == "cancel":
        return cancelled(draw(st.sampled_from(["X1", "X2"]))), day
    if kind == "follow_up":
        return follow_up(draw(st.sampled_from(["X1", "X2", "S1"])), "MoU", day, [org]), None
    if kind == "outreach":
        return outreach("OUT1", draw(st.sampled_from(["B2B", "webinar"])), 10, [org, other], "DE", b2b=2), day
    if kind == "agreement":
        return agreement("A1", "MoU", [org, other], day), None
    if kind == "label":
        return label(org, draw(st.sampled_from(["bronze", "silver", "gold"])), day), None
    if kind == "survey":
        return survey(
            org,
            draw(st.sampled_from(["baseline", "endline"])),
            turnover=draw(st.sampled_from(["0", "100", "130"])),
            fte="3",
        ), day
    if kind == "target":
        return target(
            draw(st.sampled_from(["O1", "R2", "I2"])),
            draw(st.sampled_from(["LoP", "RP1"])),
            draw(st.sampled_from(["2", "5"])),
        ), day
    return milestone("MS1", "joint_strategy", draw(st.sampled_from(["draft", "adopted"]))), day


CORRECTIONS: list[dict[str, Any]] = [
    {"topic": "green"},
    {"satisfaction": 1},
    {"vop_id": PARTNERSHIP},
    {"size_class": "micro"},
    {"occurred_on": "2025-08-01"},
    {"turnover_eur": "250"},
    {"attendees": []},
]
KINDS = [
    "org", "size", "person", "training", "feedback", "coaching", "exchange", "completed", "report",
    "payment", "cancel", "follow_up", "outreach", "agreement", "label", "survey", "target", "milestone",
    "correction", "retraction",
]  # fmt: skip


def _bundle(kind: str, draw: Any) -> list[tuple[Any, str | None]]:
    """A coherent run of events (an exchange's lifecycle, a panel SME's two waves), so that random
    logs reach completed exchanges and non-empty panels, not only loose events."""
    if kind == "exchange_lifecycle":
        exchange_id = draw(st.sampled_from(["X1", "X2"]))
        registered, day = _event("exchange", draw)
        end = str(dt.date.fromisoformat(draw(DAYS)))
        steps: list[tuple[Any, str | None]] = [
            (exchange(exchange_id, registered.vo_org_id, registered.ho_org_id, vop=registered.vop_id), day),
            (completed(exchange_id, end, end), None),
            (closing_report(exchange_id, draw(st.integers(1, 5)), draw(st.integers(1, 5))), end),
            (lump_sum(exchange_id, "780", end), None),
            (follow_up(exchange_id, "MoU", draw(DAYS), [registered.vo_org_id]), None),
        ]
        return steps[: draw(st.integers(2, len(steps)))]
    org = draw(st.sampled_from(ORGS))
    waves = [("baseline", "2025-02-01"), ("endline", draw(DAYS))]
    return [
        (
            survey(
                org,
                wave,
                turnover=draw(st.sampled_from(["0", "100", "130"])),
                fte=draw(st.sampled_from(["3", "4.5"])),
            ),
            day,
        )
        for wave, day in waves
    ]


@st.composite
def small_logs(draw: Any) -> list[Any]:
    """A random log of up to ~40 events, often but not always starting with the project and its
    organisations and people."""
    log = ProjectLog()
    if draw(st.booleans()) or draw(st.booleans()):
        log.add(project(PERIODS, ["clu-de", "clu-es"]), on="2025-01-01", partner="clu-de")
    for kind in ["org"] * draw(st.integers(0, 4)) + ["person"] * draw(st.integers(0, 3)):
        payload, _ = _event(kind, draw)
        log.add(payload, on="2025-01-01")
    for kind in draw(st.lists(st.sampled_from([*KINDS, "exchange_lifecycle", "panel_sme"]), max_size=24)):
        partner = draw(st.sampled_from([None, "clu-de", "clu-es"]))
        if kind in ("correction", "retraction"):
            if log.entries:
                earlier = log.entries[draw(st.integers(0, len(log.entries) - 1))].event_id
                changes = draw(st.sampled_from(CORRECTIONS))
                log.add(
                    correction(earlier, **changes) if kind == "correction" else retraction(earlier),
                    on=draw(DAYS),
                    partner=partner,
                )
            continue
        events = _bundle(kind, draw) if kind in ("exchange_lifecycle", "panel_sme") else [_event(kind, draw)]
        for payload, day in events:
            log.add(payload, on=day, partner=partner)
    return log.entries


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entries=small_logs(), data=st.data())
def test_as_of_p_equals_evaluating_the_truncated_log(entries: list[Any], data: Any) -> None:
    position = data.draw(st.integers(0, len(entries)))
    assert canonical_json(evaluate_all(entries, as_of=position)) == canonical_json(
        evaluate_all(entries[:position])
    )


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entries=small_logs())
def test_periods_add_up_to_totals_and_cumulative_values_end_at_the_total(entries: list[Any]) -> None:
    table = evaluate_all(entries, period="quarter")
    for sheet in FIGURES:
        result = table.figure(sheet.figure_id)
        if not result.points:
            continue
        assert result.points[-1].cumulative == result.total  # the last bucket is open above
        if sheet.time_aggregation in STATE_AGGREGATIONS:
            continue
        if sheet.time_aggregation == "sum":
            assert sum(p.value.value or 0 for p in result.points) == result.total.value
        if sheet.time_aggregation == "ratio":
            assert sum(p.value.numerator or 0 for p in result.points) == result.total.numerator
            assert sum(p.value.denominator or 0 for p in result.points) == result.total.denominator


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entries=small_logs(), data=st.data())
def test_a_fold_carried_forward_as_the_log_grows_equals_a_fold_from_scratch(
    entries: list[Any], data: Any
) -> None:
    growing: list[Any] = []  # one list, extended at the end, as the service's decoded log is
    while len(growing) < len(entries):
        growing.extend(entries[len(growing) : len(growing) + data.draw(st.integers(1, 8))])
        position = data.draw(st.one_of(st.none(), st.integers(0, len(growing))))
        # Copies of the entries: not the objects the warm fold read, so folded from scratch.
        cut = growing[:position] if position is not None else growing
        assert canonical_json(evaluate_all(growing, as_of=position)) == canonical_json(
            evaluate_all([msgspec.structs.replace(entry) for entry in cut])
        )
