"""An independent audit of the KPI engine against DOMAIN.md (f), "KPI computation rules — the spec,
exactly", and the KPI catalog (b).

One small log per rule; every expected value is worked out by hand from the spec text in the
comment next to it, never computed with the code under test. Where (f) is silent the tests follow
the interpretations recorded in the docstring of indicators/__init__.py. A test marked
``xfail(strict=True)`` is a place where the engine disagrees with the spec text; its reason says how.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec
import pytest
from test_indicators_log import (
    PARTNERSHIP,
    ProjectLog,
    agreement,
    baseline,
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
    service,
    size_change,
    survey,
    target,
    training,
)

from indicators import ProjectIndicators, Series, evaluate_all, kpi_series, suppress_for_funders

D = dt.date.fromisoformat

PERIODS = [
    ("RP1", "2025-01-01", "2025-06-30"),
    ("RP2", "2025-07-01", "2025-12-31"),
    ("RP3", "2026-01-01", "2026-06-30"),
]
PARTNERS = ["clu-de", "clu-es", "clu-pl"]
REGIONS = {
    "DE": "more_developed",
    "ES": "transition",
    "PL": "less_developed",
    "FR": "more_developed",
    "IT": "transition",
    "AT": "more_developed",
}


def audit_log(*orgs: tuple[str, str, str, str], periods: list[tuple[str, str, str]] = PERIODS) -> ProjectLog:
    """A project (RP1–RP3 by default) with its three partner cluster organisations (DE, ES, PL) and
    `orgs` as (org_id, org_type, country, size_class), all registered on the first day."""
    log = ProjectLog()
    start = periods[0][1]
    log.add(project(periods, PARTNERS), on=start, partner="clu-de")
    for org_id, org_type, country, size in (
        ("clu-de", "cluster_org", "DE", "n/a"),
        ("clu-es", "cluster_org", "ES", "n/a"),
        ("clu-pl", "cluster_org", "PL", "n/a"),
        *orgs,
    ):
        log.add(organisation(org_id, org_type, country, REGIONS[country], "digital", size), on=start)
    return log


def people(log: ProjectLog, *persons: tuple[str, str, str, str]) -> None:
    """Register (participant_id, org_id, role, gender)."""
    for person, org, role, gender in persons:
        log.add(participant(person, org, role, gender), on="2025-01-01")


def total(table: ProjectIndicators, figure_id: str) -> str | None:
    """A figure's project-to-date value as served."""
    served = table.figure(figure_id).total.value
    return None if served is None else str(served)


def own(table: ProjectIndicators, figure_id: str) -> list[str | None]:
    """A figure's own value in each period."""
    return [None if p.value.value is None else str(p.value.value) for p in table.figure(figure_id).points]


def running(table: ProjectIndicators, figure_id: str) -> list[str | None]:
    """A figure's cumulative value at each period end."""
    return [
        None if p.cumulative.value is None else str(p.cumulative.value)
        for p in table.figure(figure_id).points
    ]


def split(series: Series) -> dict[str, str | None]:
    """The project-to-date cells of a series split by one dimension."""
    return {
        c.category: (None if c.figure is None or c.figure.value is None else str(c.figure.value))
        for c in series.figure.breakdowns[0].cells
    }


def attendees_of(*rows: tuple[str, str, str]) -> list[dict[str, Any]]:
    """Attendees as a correction's field_changes carries them (the whole new list)."""
    return [{"participant_id": p, "org_id": o, "attended_hours": h} for p, o, h in rows]


def completed_exchange(
    log: ProjectLog, exchange_id: str, vo: str, ho: str, start: str, end: str, **registered: Any
) -> None:
    """Register an exchange (a day before its start) and complete it."""
    log.add(exchange(exchange_id, vo, ho, **registered), on=D(start) - dt.timedelta(days=1))
    log.add(completed(exchange_id, start, end))


# --- log semantics: retractions ----------------------------------------------------------------


def test_retracting_a_correction_restores_the_original_figure_from_the_retraction_on() -> None:
    log = audit_log()
    session = log.add(training("S1", ["2025-02-03"], [("p1", "clu-de", "4")], hours="8"))
    fixed = log.add(correction(session, attendees=attendees_of(("p1", "clu-de", "6"))), on="2025-02-10")
    corrected_at = log.head
    log.add(retraction(fixed), on="2025-02-20")
    # As of the correction: 6 h. From the retraction of the correction on: as if it had never been
    # appended, the original 4 h.
    assert total(evaluate_all(log.entries, as_of=corrected_at), "O2") == "6.00"
    assert total(evaluate_all(log.entries), "O2") == "4.00"


def test_a_correction_of_a_retracted_session_changes_nothing_and_does_not_reach_its_new_record() -> None:
    log = audit_log()
    session = log.add(training("S1", ["2025-02-03"], [("p1", "clu-de", "4")], hours="8"))
    log.add(retraction(session), on="2025-02-10")
    log.add(correction(session, attendees=attendees_of(("p1", "clu-de", "6"))), on="2025-02-11")
    table = evaluate_all(log.entries)
    # The session is gone: O1 = 0, O2 = 0.00 (the correction has nothing to change).
    assert (total(table, "O1"), total(table, "O2")) == ("0", "0.00")
    # "Record the activity again instead": the new record (2 h) is its own event; the correction
    # named the retracted one.
    log.add(training("S1", ["2025-02-03"], [("p1", "clu-de", "2")], hours="8"))
    assert total(evaluate_all(log.entries), "O2") == "2.00"


def test_a_retraction_cannot_itself_be_retracted() -> None:
    log = audit_log()
    session = log.add(training("S1", ["2025-02-03"], []))
    withdrawn = log.add(retraction(session), on="2025-02-10")
    log.add(retraction(withdrawn), on="2025-02-11", checked=False)
    # The second retraction has no effect: the session stays retracted, O1 = 0.
    assert total(evaluate_all(log.entries), "O1") == "0"


def test_retracting_one_of_two_records_of_an_exchange_keeps_its_lifecycle() -> None:
    log = audit_log()
    log.add(exchange("X1", "clu-de", "clu-es"), on="2025-03-01")
    duplicate = log.add(exchange("X1", "clu-de", "clu-es"), on="2025-03-01")
    log.add(completed("X1", "2025-03-03", "2025-03-07"))
    log.add(closing_report("X1", 5, 4), on="2025-03-10")
    log.add(retraction(duplicate), on="2025-03-20")
    table = evaluate_all(log.entries)
    # Another live record still carries X1: completion and report survive. O5 = 1, R1 = 2/2.
    assert (total(table, "O5"), total(table, "R1")) == ("1", "100.00")


def test_retracting_an_exchange_cancellation_lets_the_exchange_count_again() -> None:
    log = audit_log()
    log.add(exchange("X1", "clu-de", "clu-es"), on="2025-02-01")
    log.add(lump_sum("X1", "390", "2025-02-15", reduced=True))
    cancellation = log.add(cancelled("X1"), on="2025-02-20")
    assert total(evaluate_all(log.entries), "O11.sum") == "0.00"  # cancelled: no payments count
    log.add(retraction(cancellation), on="2025-02-25")
    # The cancellation is as if never appended: the 390 payment counts again.
    assert total(evaluate_all(log.entries), "O11.sum") == "390.00"


def test_retracting_a_session_recounts_o3_per_period_not_only_in_total() -> None:
    log = audit_log()
    people(log, ("p1", "clu-de", "cluster_staff", "F"))
    log.add(training("S1", ["2025-02-03"], [("p1", "clu-de", "2")]))
    wrong = log.add(training("S2", ["2025-08-04"], [("p1", "clu-de", "2")]))
    log.add(retraction(wrong), on="2025-09-01")
    table = evaluate_all(log.entries)
    # p1 remains through S1 (RP1); RP2 had only S2: [1, 0, 0], cumulative [1, 1, 1].
    assert (own(table, "O3"), running(table, "O3")) == (["1", "0", "0"], ["1", "1", "1"])


# --- log semantics: corrections ----------------------------------------------------------------


def test_a_correction_of_the_vop_makes_an_exchange_count_from_the_correction_on() -> None:
    log = audit_log()
    registered = log.add(exchange("X1", "clu-de", "clu-es", vop="CXC-OTHER"), on="2025-03-01")
    log.add(completed("X1", "2025-03-03", "2025-03-07"))
    before = log.head
    log.add(correction(registered, vop_id=PARTNERSHIP), on="2025-03-20")
    # Before: paid by another partnership, O5 = 0, O8 = 0. After: O5 = 1; O8 = {DE, ES} = 2.
    early, late = evaluate_all(log.entries, as_of=before), evaluate_all(log.entries)
    assert (total(early, "O5"), total(early, "O8")) == ("0", "0")
    assert (total(late, "O5"), total(late, "O8")) == ("1", "2")


def test_a_follow_ups_own_type_field_can_be_corrected() -> None:
    log = audit_log()
    completed_exchange(log, "X1", "clu-de", "clu-es", "2025-03-03", "2025-03-07")
    found = log.add(follow_up("X1", "MoU", "2025-04-01", ["clu-de", "clu-es"]))
    log.add(correction(found, type="joint_project_proposal"), on="2025-04-05")
    # A payload field named `type` can be corrected: the one follow-up is now a proposal.
    cells = split(kpi_series(log.entries, "R3.6m", by="follow_up_type"))
    assert cells == {"joint_project_proposal": "100.00"}


def test_a_corrected_list_replaces_the_old_one_whole() -> None:
    log = audit_log()
    signed = log.add(agreement("A1", "MoU", ["clu-de", "clu-pl"], "2025-02-01"))
    log.add(correction(signed, type="cooperation_agreement", parties=["clu-de", "clu-es"]), on="2025-02-05")
    table = evaluate_all(log.entries)
    # Parties are now exactly {clu-de, clu-es}: O8 = {DE, ES} = 2 (3 if PL were kept);
    # R4 = 1, of type cooperation_agreement, cross-border (DE ≠ ES).
    assert (total(table, "O8"), total(table, "R4")) == ("2", "1")
    assert split(kpi_series(log.entries, "R4", by="agreement_type")) == {"cooperation_agreement": "1"}
    assert split(kpi_series(log.entries, "R4", by="cross_border")) == {"yes": "1"}


def test_a_correction_of_actual_end_and_occurred_on_moves_an_exchange_and_its_payment() -> None:
    log = audit_log()
    log.add(exchange("X1", "clu-de", "clu-es"), on="2025-06-01")
    completion = log.add(completed("X1", "2025-06-23", "2025-06-27"))
    log.add(lump_sum("X1", "780", "2025-06-30"))
    log.add(
        correction(completion, actual_start="2025-07-07", actual_end="2025-07-11", occurred_on="2025-07-11"),
        on="2025-07-15",
    )
    table = evaluate_all(log.entries)
    # The completion now ends on 2025-07-11 (RP2); the payment is bucketed by the completion too.
    assert own(table, "O5") == ["0", "1", "0"]
    assert own(table, "O11.sum") == ["0.00", "780.00", "0.00"]


def test_a_corrected_role_makes_a_person_count_in_o3_from_the_correction_on() -> None:
    log = audit_log()
    person = log.add(participant("p1", "clu-de", "other", "F"), on="2025-01-01")
    log.add(training("S1", ["2025-02-03"], [("p1", "clu-de", "2")]))
    before = log.head
    log.add(correction(person, role="cluster_manager"), on="2025-02-10")
    # Before: role other, O3 = 0; after: a cluster manager with 2 h, O3 = 1.
    assert total(evaluate_all(log.entries, as_of=before), "O3") == "0"
    assert total(evaluate_all(log.entries), "O3") == "1"


def test_a_corrected_registration_size_class_applies_to_every_day() -> None:
    log = audit_log(("sme-de", "SME", "DE", "large"))
    registered = log.entries[-1].event_id
    log.add(coaching("E1", "clu-de", "sme-de", "2"), on="2025-02-03")
    log.add(correction(registered, size_class="small"), on="2025-03-01")
    # The registration itself is corrected in place (not a size change from a date): the SME was
    # small on 2025-02-03 too, so the coaching engages it. O7 = 1.
    assert total(evaluate_all(log.entries), "O7") == "1"


# --- log semantics: as of, late entries, periods -----------------------------------------------


def test_as_of_before_a_participants_registration_the_person_is_not_counted() -> None:
    log = audit_log()
    log.add(training("S1", ["2025-02-03"], [("p1", "clu-de", "2")]))
    before = log.head
    log.add(participant("p1", "clu-de", "cluster_staff", "M"), on="2025-02-05")
    # Reference data is read as of P too: unknown role at `before` → 0; afterwards 1.
    assert total(evaluate_all(log.entries, as_of=before), "O3") == "0"
    assert total(evaluate_all(log.entries), "O3") == "1"


def test_a_late_entry_changes_the_earlier_period_it_is_dated_in() -> None:
    log = audit_log()
    log.add(training("S0", ["2025-02-03"], []))
    log.add(training("S1", ["2025-03-03"], []), recorded="2025-08-01T10:00:00")
    # As of 2025-07-31 only S0 is known: [1, 0, 0]. With the late S1 (occurred 2025-03-03), RP1
    # becomes 2 — bucketed by occurred_on, never by recorded_at.
    assert own(evaluate_all(log.entries, as_of=D("2025-07-31")), "O1") == ["1", "0", "0"]
    assert own(evaluate_all(log.entries), "O1") == ["2", "0", "0"]


def test_a_period_boundary_day_belongs_to_the_period_it_ends_or_starts() -> None:
    log = audit_log()
    for day in ("2025-06-30", "2025-07-01", "2025-12-31", "2026-01-01"):
        log.add(training(f"S-{day}", [day], []))
    # RP1 ends 06-30, RP2 is 07-01..12-31, RP3 starts 2026-01-01: [1, 2, 1].
    assert own(evaluate_all(log.entries), "O1") == ["1", "2", "1"]


def test_quarters_are_calendar_quarters_of_occurred_on() -> None:
    log = audit_log()
    for day in ("2025-03-31", "2025-04-01", "2025-06-30", "2025-07-01"):
        log.add(training(f"S-{day}", [day], []))
    quarters = evaluate_all(log.entries, period="quarter")
    # Q1 {03-31}, Q2 {04-01, 06-30}, Q3 {07-01}, then nothing to 2026-Q2.
    assert [p.period.period_id for p in quarters.figure("O1").points] == [
        "2025-Q1",
        "2025-Q2",
        "2025-Q3",
        "2025-Q4",
        "2026-Q1",
        "2026-Q2",
    ]
    assert own(quarters, "O1") == ["1", "2", "1", "0", "0", "0"]


def test_a_session_spanning_a_period_boundary_counts_once_in_the_period_of_its_first_date() -> None:
    log = audit_log()
    log.add(training("S1", ["2025-06-30", "2025-07-01", "2025-07-02"], [("p1", "clu-de", "12")], hours="12"))
    table = evaluate_all(log.entries)
    # One session (one session_id) dated by its first day, 2025-06-30 (RP1).
    assert own(table, "O1") == ["1", "0", "0"]
    assert own(table, "O2") == ["12.00", "0.00", "0.00"]


def test_an_exchange_completed_after_the_project_end_counts_in_the_final_period() -> None:
    log = audit_log()
    completed_exchange(log, "X1", "clu-de", "clu-es", "2026-07-06", "2026-07-10")
    # After the end date (2026-06-30): counted in the final reporting period, RP3.
    assert own(evaluate_all(log.entries), "O5") == ["0", "0", "1"]


def test_every_exchange_figure_is_bucketed_by_the_completion_day() -> None:
    log = audit_log()
    completed_exchange(log, "X1", "clu-de", "clu-es", "2025-06-23", "2025-06-27")
    log.add(closing_report("X1", 5, 4), on="2025-07-05")
    log.add(lump_sum("X1", "780", "2025-07-10"))
    log.add(follow_up("X1", "MoU", "2025-07-15", ["clu-de", "clu-es"]))
    table = evaluate_all(log.entries)
    # Report, payment and follow-up are dated in RP2, but the exchange ended in RP1.
    assert own(table, "R1") == ["100.00", None, None]
    assert own(table, "O11.sum") == ["780.00", "0.00", "0.00"]
    assert own(table, "R3.6m") == ["100.00", None, None]


# --- distinct counts per period ----------------------------------------------------------------


def test_o3_per_period_and_cumulative_are_distinct_counts_never_sums() -> None:
    log = audit_log()
    people(log, ("p1", "clu-de", "cluster_staff", "F"), ("p2", "clu-es", "cluster_manager", "M"))
    log.add(training("S1", ["2025-02-03"], [("p1", "clu-de", "2")]))
    log.add(training("S2", ["2025-08-04"], [("p1", "clu-de", "2"), ("p2", "clu-es", "2")]))
    table = evaluate_all(log.entries)
    # RP1 {p1} = 1, RP2 {p1, p2} = 2, RP3 0; cumulative {p1}, {p1, p2}, {p1, p2}; total 2 (not 3).
    assert (own(table, "O3"), running(table, "O3"), total(table, "O3")) == (
        ["1", "2", "0"],
        ["1", "2", "2"],
        "2",
    )
    by_gender = kpi_series(log.entries, "O3", by="gender").figure.points[2].cumulative_cells
    assert {c.category: str(c.figure.value) for c in by_gender if c.figure} == {"F": "1", "M": "1"}


def test_o6_o8_and_o9_orgs_per_period_and_cumulative_are_distinct_counts() -> None:
    log = audit_log(("sme-a", "SME", "DE", "small"))
    completed_exchange(log, "X1", "clu-de", "clu-es", "2025-03-03", "2025-03-07")
    completed_exchange(log, "X2", "clu-de", "clu-pl", "2025-09-01", "2025-09-05")
    log.add(outreach("OUT1", "webinar", 10, ["clu-de", "sme-a"], "DE"), on="2025-04-01")
    log.add(outreach("OUT2", "webinar", 10, ["sme-a", "clu-es"], "DE"), on="2025-10-01")
    table = evaluate_all(log.entries)
    # O6: RP1 {de, es} 2, RP2 {de, pl} 2; cumulative 2, 3, 3.
    assert (own(table, "O6"), running(table, "O6")) == (["2", "2", "0"], ["2", "3", "3"])
    # O8: RP1 {DE, ES}, RP2 {DE, PL}; cumulative {DE, ES, PL} = 3.
    assert (own(table, "O8"), running(table, "O8")) == (["2", "2", "0"], ["2", "3", "3"])
    # O9.orgs: RP1 {clu-de, sme-a}, RP2 {sme-a, clu-es}; cumulative 3.
    assert (own(table, "O9.orgs"), running(table, "O9.orgs")) == (["2", "2", "0"], ["2", "3", "3"])


def test_o7_counts_an_sme_engaged_in_two_periods_once_cumulatively() -> None:
    log = audit_log(("sme-a", "SME", "DE", "micro"))
    log.add(coaching("E1", "clu-de", "sme-a", "2"), on="2025-02-03")
    log.add(coaching("E1", "clu-de", "sme-a", "2"), on="2025-08-04")
    table = evaluate_all(log.entries)
    assert (own(table, "O7"), running(table, "O7"), total(table, "O7")) == (
        ["1", "1", "0"],
        ["1", "1", "1"],
        "1",
    )


# --- percentages, rounding ---------------------------------------------------------------------


def test_a_percentage_with_an_empty_denominator_is_null_and_a_mean_of_nothing_is_null() -> None:
    log = audit_log()
    log.add(exchange("X1", "clu-de", "clu-es"), on="2025-03-01")  # registered, not completed
    log.add(training("S1", ["2025-02-03"], []))  # no feedback
    table = evaluate_all(log.entries)
    r1 = table.figure("R1").total
    # No closing report: 0/0 → null; no completed exchange: R3 0/0 → null; no feedback: R2 null;
    # no payment: O11.mean null (its sum 0.00).
    assert (r1.value, str(r1.numerator), str(r1.denominator)) == (None, "0", "0")
    assert (total(table, "R3.6m"), total(table, "R2")) == (None, None)
    assert (total(table, "O11.sum"), total(table, "O11.mean")) == ("0.00", None)


def test_a_mean_in_euros_is_rounded_half_up() -> None:
    log = audit_log()
    completed_exchange(log, "X1", "clu-de", "clu-es", "2025-03-03", "2025-03-07")
    completed_exchange(log, "X2", "clu-es", "clu-pl", "2025-03-10", "2025-03-14")
    log.add(lump_sum("X1", "390.00", "2025-03-20"))
    log.add(lump_sum("X2", "390.01", "2025-03-21"))
    table = evaluate_all(log.entries)
    # Σ 780.01 over 2 paid exchanges = 390.005 → half-up 390.01 (half-even would give 390.00).
    assert (total(table, "O11.sum"), total(table, "O11.mean")) == ("780.01", "390.01")


def test_hours_are_rounded_half_up() -> None:
    log = audit_log()
    log.add(training("S1", ["2025-02-03"], [("p1", "clu-de", "0.125"), ("p2", "clu-de", "0.5")], hours="1"))
    # 0.125 + 0.5 = 0.625 → 0.63 half-up.
    assert total(evaluate_all(log.entries), "O2") == "0.63"


# --- dimensions -------------------------------------------------------------------------------


def test_a_trainings_country_is_the_venue_and_its_region_the_delivering_partners() -> None:
    log = audit_log()
    log.add(training("S1", ["2025-02-03"], [("p1", "clu-es", "2")], country="DE"), partner="clu-pl")
    # Venue DE (not the attendee's ES nor the partner's PL); region = clu-pl's, less_developed.
    assert split(kpi_series(log.entries, "O1", by="country")) == {"DE": "1"}
    assert split(kpi_series(log.entries, "O1", by="region_category")) == {"less_developed": "1"}


def test_an_online_sessions_country_is_the_organising_partners_whatever_the_record_says() -> None:
    log = audit_log()
    people(log, ("p1", "clu-de", "cluster_staff", "F"))
    online = training("S1", ["2025-02-03"], [("p1", "clu-de", "2")])
    log.add(msgspec.structs.replace(online, format="online", country="IT"), partner="clu-es")
    log.add(msgspec.structs.replace(online, session_id="S2", format="hybrid", country="IT"), partner="clu-es")
    log.add(feedback("S1", 5, "p1"), on="2025-02-03", partner="clu-es")
    # S1 online, organised by clu-es (ES): ES; S2 hybrid has a venue: IT.
    assert split(kpi_series(log.entries, "O1", by="country")) == {"ES": "1", "IT": "1"}
    assert split(kpi_series(log.entries, "O2", by="country")) == {"ES": "2.00", "IT": "2.00"}
    assert split(kpi_series(log.entries, "R2", by="country")) == {"ES": "100.00"}


def test_r1_counts_the_satisfactions_given_when_a_report_gives_one_side_only() -> None:
    log = audit_log()
    completed_exchange(log, "X1", "clu-de", "clu-es", "2025-03-03", "2025-03-07")
    log.add(msgspec.structs.replace(closing_report("X1", 5, 3), satisfaction_ho=None), on="2025-03-10")
    figure = evaluate_all(log.entries).figure("R1").total
    # VO 5 (satisfied), HO gave none: 1 / 1.
    assert (str(figure.numerator), str(figure.denominator), str(figure.value)) == ("1", "1", "100.00")


def test_o3_takes_the_persons_own_country_and_gender_x_and_undisclosed_are_own_categories() -> None:
    log = audit_log()
    people(
        log,
        ("p1", "clu-pl", "cluster_staff", "X"),
        ("p2", "clu-pl", "cluster_staff", "undisclosed"),
        ("p3", "clu-es", "cluster_manager", "F"),
    )
    attendees = [("p1", "clu-pl", "2"), ("p2", "clu-pl", "2"), ("p3", "clu-es", "2")]
    log.add(training("S1", ["2025-02-03"], attendees, country="DE"))
    # Gender cells X, undisclosed and F, one each; country cells by the person's organisation.
    assert split(kpi_series(log.entries, "O3", by="gender")) == {"F": "1", "X": "1", "undisclosed": "1"}
    assert split(kpi_series(log.entries, "O3", by="country")) == {"ES": "1", "PL": "2"}


def test_an_exchanges_partner_is_the_partner_who_registered_it() -> None:
    log = audit_log()
    log.add(exchange("X1", "clu-de", "clu-es"), on="2025-03-01", partner="clu-es")
    log.add(completed("X1", "2025-03-03", "2025-03-07"), partner="clu-de")
    # The partner of an exchange figure is that of ExchangeRegistered (clu-es).
    assert split(kpi_series(log.entries, "O5", by="partner")) == {"clu-es": "1"}


def test_an_exchanges_country_is_the_visitors_and_the_host_country_separate() -> None:
    log = audit_log(("sme-fr", "SME", "FR", "small"))
    completed_exchange(log, "X1", "sme-fr", "clu-pl", "2025-03-03", "2025-03-07")
    assert split(kpi_series(log.entries, "O5", by="country")) == {"FR": "1"}
    assert split(kpi_series(log.entries, "O5", by="ho_country")) == {"PL": "1"}


def test_cells_with_four_persons_are_suppressed_and_with_five_are_not() -> None:
    log = audit_log()
    persons = [(f"p{i}", "clu-de" if i < 5 else "clu-es") for i in range(9)]
    people(log, *[(p, o, "cluster_staff", "F") for p, o in persons])
    log.add(training("S1", ["2025-02-03"], [(p, o, "2") for p, o in persons]))
    table = evaluate_all(log.entries)
    funder = suppress_for_funders(table)
    cells = {c.category: c for b in funder.figure("O3").breakdowns if b.by == "org" for c in b.cells}
    # clu-de n = 5 → shown (5); clu-es n = 4 → suppressed; the total 9 is never suppressed.
    assert cells["clu-de"].figure is not None and str(cells["clu-de"].figure.value) == "5"
    assert (cells["clu-es"].suppressed, cells["clu-es"].figure) == (True, None)
    assert (str(funder.figure("O3").total.value), funder.figure("O3").total.n) == ("9", 9)
    # The auditor view (unsuppressed) keeps the small cell.
    auditor = {c.category: c for b in table.figure("O3").breakdowns if b.by == "org" for c in b.cells}
    assert auditor["clu-es"].figure is not None and str(auditor["clu-es"].figure.value) == "4"


def test_a_newsletters_recipients_are_persons_behind_its_contacts_cell_however_few_orgs_it_names() -> None:
    log = audit_log()
    log.add(outreach("OUT1", "newsletter", 2000, [], "DE"), on="2025-02-03")
    log.add(outreach("OUT2", "webinar", 3, ["clu-de", "clu-es"], "ES"), on="2025-02-04")
    log.add(outreach("OUT3", "webinar", 2, ["clu-de", "clu-pl"], "ES"), on="2025-02-05")
    funder = suppress_for_funders(kpi_series(log.entries, "O9.contacts", by="event_type"))
    cells = {c.category: c for c in funder.figure.breakdowns[0].cells}
    # The newsletter reached 2,000 persons (no organisation named): n = 2000, shown.
    assert cells["newsletter"].figure is not None and cells["newsletter"].figure.n == 2000
    # The webinars: the larger had 3 contacts, and they named {clu-de, clu-es, clu-pl}: at least
    # 3 persons behind the cell (contacts have no ids to add up across events): n = 3 < 5, hidden.
    assert (cells["webinar"].suppressed, cells["webinar"].figure) == (True, None)
    auditor = {
        c.category: c
        for c in kpi_series(log.entries, "O9.contacts", by="event_type").figure.breakdowns[0].cells
    }
    assert auditor["webinar"].figure is not None
    assert (str(auditor["webinar"].figure.value), auditor["webinar"].figure.n) == ("5", 3)
    # O10 counts the organisations reached: the newsletter named none.
    assert kpi_series(log.entries, "O10", by="event_type").figure.breakdowns[0].cells[0].figure.n == 0


# --- SMEs and size classes --------------------------------------------------------------------


def test_a_size_class_change_applies_from_its_own_day_on() -> None:
    log = audit_log(("sme-a", "SME", "DE", "medium"), ("sme-b", "SME", "DE", "medium"))
    log.add(size_change("sme-a", "large"), on="2025-03-01")
    log.add(size_change("sme-b", "large"), on="2025-03-02")
    log.add(coaching("E1", "clu-de", "sme-a", "2"), on="2025-03-01")  # large that very day
    log.add(coaching("E2", "clu-de", "sme-b", "2"), on="2025-03-01")  # still medium that day
    assert total(evaluate_all(log.entries), "O7") == "1"


def test_an_organisation_that_becomes_an_sme_counts_only_from_the_change_with_its_class_then() -> None:
    log = audit_log(("org-c", "SME", "DE", "large"))
    log.add(training("S1", ["2025-02-03"], [("p1", "org-c", "2")]))  # large then: not engaged
    log.add(size_change("org-c", "small"), on="2025-04-01")
    log.add(outreach("OUT1", "B2B", 20, ["org-c"], "DE", b2b=4), on="2025-05-05")
    # One SME, engaged by the B2B event, its class then small.
    assert split(kpi_series(log.entries, "O7", by="activity_type")) == {"B2B": "1"}
    assert split(kpi_series(log.entries, "O7", by="size_class")) == {"small": "1"}


def test_only_org_type_sme_with_a_micro_small_or_medium_class_is_an_sme() -> None:
    log = audit_log(
        ("big-a", "large", "DE", "small"),
        ("pub-b", "public", "DE", "micro"),
        ("sme-c", "SME", "DE", "n/a"),
        ("sme-d", "SME", "DE", "large"),
        ("sme-e", "SME", "DE", "medium"),
    )
    for org in ("big-a", "pub-b", "sme-c", "sme-d", "sme-e"):
        log.add(coaching(f"E-{org}", "clu-de", org, "1"), on="2025-02-03")
    # Only sme-e (org_type SME, medium).
    assert total(evaluate_all(log.entries), "O7") == "1"


def test_o7_sources_are_only_trainings_counted_exchanges_coaching_and_b2b() -> None:
    log = audit_log(("sme-a", "SME", "DE", "small"), ("sme-b", "SME", "FR", "micro"))
    log.add(follow_up("S0", "MoU", "2025-02-01", ["sme-a"]))
    log.add(agreement("A1", "MoU", ["clu-de", "sme-a"], "2025-02-02"))
    log.add(outreach("OUT1", "webinar", 10, ["sme-a"], "DE"), on="2025-02-03")
    log.add(survey("sme-a", "baseline", turnover="100", fte="5"), on="2025-02-04")
    log.add(exchange("X1", "sme-a", "sme-b"), on="2025-02-05")  # not completed
    completed_exchange(log, "X2", "sme-a", "sme-b", "2025-03-03", "2025-03-07", vop="CXC-OTHER")
    log.add(coaching("E1", "sme-a", "clu-de", "1"), on="2025-02-06")  # sme-a coaches
    # None of these makes an SME "engaged".
    assert total(evaluate_all(log.entries), "O7") == "0"
    # An attendee of a live training is engaged, even with 0 attended hours.
    log.add(training("S1", ["2025-02-10"], [("p1", "sme-a", "0")]))
    assert total(evaluate_all(log.entries), "O7") == "1"


def test_o7_counts_both_smes_of_a_counted_completed_exchange() -> None:
    log = audit_log(("sme-a", "SME", "DE", "small"), ("sme-b", "SME", "FR", "micro"))
    completed_exchange(log, "X1", "sme-a", "sme-b", "2025-03-03", "2025-03-07")
    assert split(kpi_series(log.entries, "O7", by="activity_type")) == {"exchange": "2"}


# --- outputs ----------------------------------------------------------------------------------


def test_o2_sums_every_attendees_hours_whatever_the_role() -> None:
    log = audit_log(("big-a", "large", "DE", "large"))
    people(
        log,
        ("p1", "clu-de", "cluster_staff", "F"),
        ("p2", "clu-de", "SME_staff", "M"),
        ("p4", "big-a", "other", "F"),
    )
    attendees = [("p1", "clu-de", "2"), ("p2", "clu-de", "1.5"), ("p3", "clu-es", "0"), ("p4", "big-a", "3")]
    log.add(training("S1", ["2025-02-03"], attendees, hours="8"))
    # 2 + 1.5 + 0 + 3 = 6.5 (p3 not even registered).
    assert total(evaluate_all(log.entries), "O2") == "6.50"


def test_o3_counts_managers_and_staff_with_hours_above_zero_whatever_their_organisation() -> None:
    log = audit_log(("sme-a", "SME", "DE", "small"))
    people(
        log,
        ("p1", "clu-de", "cluster_manager", "F"),  # ✓
        ("p2", "sme-a", "cluster_staff", "M"),  # 0 h ✗
        ("p3", "sme-a", "cluster_staff", "F"),  # ✓ (staff, whatever the organisation)
        ("p4", "sme-a", "SME_staff", "M"),  # ✗ role
        ("p5", "clu-de", "other", "F"),  # ✗ role
    )
    attendees = [
        (p, "clu-de", h) for p, h in (("p1", "2"), ("p2", "0"), ("p3", "1"), ("p4", "3"), ("p5", "3"))
    ]
    log.add(training("S1", ["2025-02-03"], [*attendees, ("p6", "clu-de", "2")]))  # p6 unregistered ✗
    assert total(evaluate_all(log.entries), "O3") == "2"


def test_o4_sums_session_hours_whatever_the_coachee() -> None:
    log = audit_log(("big-a", "large", "DE", "large"), ("sme-a", "SME", "DE", "small"))
    log.add(coaching("E1", "clu-de", "big-a", "2.5"), on="2025-02-03")
    log.add(coaching("E1", "clu-de", "sme-a", "1.5"), on="2025-02-10")
    assert total(evaluate_all(log.entries), "O4") == "4.00"


def test_cancelled_exchanges_contribute_to_no_exchange_kpi() -> None:
    log = audit_log(("sme-fr", "SME", "FR", "small"), ("sme-it", "SME", "IT", "small"))
    completed_exchange(log, "X1", "clu-de", "clu-es", "2025-03-03", "2025-03-07")
    log.add(exchange("X2", "clu-pl", "sme-fr"), on="2025-03-01")
    log.add(cancelled("X2"), on="2025-03-02")
    log.add(completed("X2", "2025-03-10", "2025-03-14"), checked=False)
    completed_exchange(log, "X3", "sme-it", "clu-pl", "2025-03-17", "2025-03-21")
    log.add(follow_up("X3", "MoU", "2025-03-25", ["sme-it", "clu-pl"]))
    log.add(cancelled("X3"), on="2025-03-26", checked=False)  # the API refuses this; still no KPI
    table = evaluate_all(log.entries)
    # Only X1: O5 1, O6 {clu-de, clu-es} 2, O7 0 (no SME in X1), O8 {DE, ES} 2, R3 0/1.
    assert [total(table, f) for f in ("O5", "O6", "O7", "O8", "R3.6m")] == ["1", "2", "0", "2", "0.00"]


def test_o8_counts_exchange_and_agreement_countries_partners_included_not_outreach() -> None:
    log = audit_log(("sme-fr", "SME", "FR", "small"), ("org-at", "RTO/univ", "AT", "n/a"))
    completed_exchange(log, "X1", "clu-de", "clu-es", "2025-03-03", "2025-03-07")
    log.add(agreement("A1", "MoU", ["clu-pl", "sme-fr"], "2025-04-01"))
    log.add(outreach("OUT1", "conference", 100, [], "IT"), on="2025-04-02")
    log.add(exchange("X2", "clu-de", "org-at"), on="2025-04-03")  # not completed
    # {DE, ES} from X1, {PL, FR} from A1; not IT (outreach) nor AT (X2 incomplete): 4.
    assert total(evaluate_all(log.entries), "O8") == "4"


def test_o9_is_contacts_summed_and_organisations_reached_distinct_of_any_type() -> None:
    log = audit_log(("sme-a", "SME", "DE", "small"))
    log.add(outreach("OUT1", "webinar", 30, ["clu-de", "sme-a"], "DE"), on="2025-02-03")
    log.add(outreach("OUT2", "newsletter", 500, ["clu-de", "unreg-x"], "DE"), on="2025-02-04")
    table = evaluate_all(log.entries)
    # 30 + 500 recipients = 530 contacts; {clu-de, sme-a, unreg-x} = 3 organisations.
    assert (total(table, "O9.contacts"), total(table, "O9.orgs")) == ("530", "3")


def test_o10_sums_b2b_meetings_of_every_event_type_by_venue() -> None:
    log = audit_log()
    log.add(outreach("OUT1", "B2B", 40, [], "DE", b2b=12), on="2025-02-03")
    log.add(outreach("OUT2", "fair", 40, [], "ES", b2b=5), on="2025-02-04")
    log.add(outreach("OUT3", "conference", 40, [], "ES", b2b=0), on="2025-02-05")
    assert total(evaluate_all(log.entries), "O10") == "17"
    assert split(kpi_series(log.entries, "O10", by="country")) == {"DE": "12", "ES": "5"}


def test_o11_mean_divides_by_distinct_paid_exchanges_of_the_project() -> None:
    log = audit_log()
    completed_exchange(log, "X1", "clu-de", "clu-es", "2025-03-03", "2025-03-07")
    completed_exchange(log, "X2", "clu-es", "clu-pl", "2025-03-10", "2025-03-14")
    completed_exchange(log, "X3", "clu-pl", "clu-de", "2025-03-17", "2025-03-21")  # never paid
    completed_exchange(log, "X4", "clu-de", "clu-pl", "2025-03-24", "2025-03-28", vop="CXC-OTHER")
    log.add(lump_sum("X1", "390", "2025-04-01", reduced=True))
    log.add(lump_sum("X1", "390", "2025-04-02", reduced=True))
    log.add(lump_sum("X2", "780", "2025-04-03"))
    log.add(lump_sum("X4", "1100", "2025-04-04"))  # another partnership pays
    table = evaluate_all(log.entries)
    # Σ 390 + 390 + 780 = 1560 over {X1, X2} = 780.00.
    assert (total(table, "O11.sum"), total(table, "O11.mean")) == ("1560.00", "780.00")


# --- outcomes ---------------------------------------------------------------------------------


def test_r1_counts_four_as_satisfied_and_three_not_only_for_counted_exchanges() -> None:
    log = audit_log()
    completed_exchange(log, "X1", "clu-de", "clu-es", "2025-03-03", "2025-03-07")
    log.add(closing_report("X1", 4, 3), on="2025-03-10")
    completed_exchange(log, "X2", "clu-es", "clu-pl", "2025-03-10", "2025-03-14", vop="CXC-OTHER")
    log.add(closing_report("X2", 5, 5), on="2025-03-17")
    log.add(exchange("X3", "clu-pl", "clu-de"), on="2025-03-15")
    log.add(closing_report("X3", 5, 5), on="2025-03-18")
    log.add(cancelled("X3"), on="2025-03-19")
    r1 = evaluate_all(log.entries).figure("R1").total
    # X1 only: 4 ✓, 3 ✗ → 1/2 = 50.00.
    assert (str(r1.numerator), str(r1.denominator), str(r1.value)) == ("1", "2", "50.00")


def test_r2_counts_feedback_on_live_training_sessions_only() -> None:
    log = audit_log()
    log.add(training("S1", ["2025-02-03"], []))
    for score, person in ((4, "p1"), (3, "p2"), (5, "p3")):
        log.add(feedback("S1", score, person), on="2025-02-03")
    log.add(outreach("OUT1", "webinar", 10, [], "DE"), on="2025-02-04")
    log.add(feedback("OUT1", 5, "p4"), on="2025-02-04")  # on an outreach event
    wrong = log.add(training("S2", ["2025-02-05"], []))
    log.add(feedback("S2", 5, "p5"), on="2025-02-05")
    log.add(retraction(wrong), on="2025-02-20")  # voids S2's feedback
    r2 = evaluate_all(log.entries).figure("R2").total
    # 4 ✓, 3 ✗, 5 ✓ → 2/3 = 66.67.
    assert (str(r2.numerator), str(r2.denominator), str(r2.value)) == ("2", "3", "66.67")


def test_r2_feedback_takes_its_sessions_quarter() -> None:
    log = audit_log()
    log.add(training("S1", ["2025-03-31"], []))
    log.add(feedback("S1", 5, "p1"), on="2025-04-02")
    # The session is in 2025-Q1: the response counts there, not in Q2.
    assert own(evaluate_all(log.entries, period="quarter"), "R2")[:2] == ["100.00", None]


@pytest.mark.parametrize(
    ("end", "follow_up_on", "six", "twelve"),
    [
        ("2025-03-14", "2025-09-14", "100.00", "100.00"),  # exactly 6 months after the end: inside
        ("2025-03-14", "2025-09-15", "0.00", "100.00"),  # one day later
        ("2025-03-14", "2026-03-14", "0.00", "100.00"),  # exactly 12 months: inside the 12-month window
        ("2025-08-31", "2026-02-28", "100.00", "100.00"),  # 31 Aug + 6 months → 28 Feb (clamped)
        ("2025-08-31", "2026-03-01", "0.00", "100.00"),
    ],
)
def test_follow_up_exactly_six_or_twelve_months_after_the_end_counts_for_r3(
    end: str, follow_up_on: str, six: str, twelve: str
) -> None:
    log = audit_log()
    start = str(D(end) - dt.timedelta(days=4))
    completed_exchange(log, "X1", "clu-de", "clu-es", start, end)
    log.add(follow_up("X1", "MoU", follow_up_on, ["clu-de", "clu-es"]))
    table = evaluate_all(log.entries)
    assert (total(table, "R3.6m"), total(table, "R3.12m")) == (six, twelve)


def test_r3_needs_a_follow_up_naming_the_exchange_over_all_counted_completed_exchanges() -> None:
    log = audit_log()
    completed_exchange(log, "X1", "clu-de", "clu-es", "2025-03-03", "2025-03-07")
    log.add(follow_up("X1", "MoU", "2025-04-01", ["clu-de", "clu-es"]))
    completed_exchange(log, "X2", "clu-es", "clu-pl", "2025-03-10", "2025-03-14")
    log.add(training("S1", ["2025-03-20"], []))
    log.add(follow_up("S1", "MoU", "2025-04-02", ["clu-es", "clu-pl"]))  # from a training, not X2
    log.add(exchange("X3", "clu-pl", "clu-de"), on="2025-03-15")  # not completed: not in the base
    log.add(follow_up("X3", "MoU", "2025-04-03", ["clu-pl", "clu-de"]))
    r3 = evaluate_all(log.entries).figure("R3.6m").total
    # {X1 ✓, X2 ✗} → 1/2 = 50.00.
    assert (str(r3.numerator), str(r3.denominator), str(r3.value)) == ("1", "2", "50.00")


def test_r4_counts_a_domestic_agreement_as_not_cross_border() -> None:
    log = audit_log(("sme-de", "SME", "DE", "small"))
    log.add(agreement("A1", "MoU", ["clu-de", "sme-de"], "2025-02-01"))
    assert total(evaluate_all(log.entries), "R4") == "1"
    assert split(kpi_series(log.entries, "R4", by="cross_border")) == {"no": "1"}


def test_r5_is_yes_from_an_adoption_on_the_last_day_of_a_period() -> None:
    log = audit_log()
    log.add(milestone("MS1", "roadmap", "draft"), on="2025-02-01")
    wrong = log.add(milestone("MS2", "joint_strategy", "adopted"), on="2025-03-01")
    log.add(retraction(wrong), on="2025-03-05")
    log.add(milestone("MS3", "roadmap", "adopted"), on="2025-06-30")
    r5 = evaluate_all(log.entries).figure("R5")
    # The draft and the retracted adoption do not count: yes since 2025-06-30, RP1's last day.
    assert (str(r5.total.value), str(r5.total.since)) == ("1", "2025-06-30")
    assert [str(p.value.value) for p in r5.points] == ["1", "1", "1"]


def test_r6_counts_every_service_launched_whoever_launched_it() -> None:
    log = audit_log(("sme-a", "SME", "DE", "small"))
    log.add(service("clu-de", "digitalisation", "2025-02-01"))
    log.add(service("sme-a", "skills", "2025-03-01"))
    assert total(evaluate_all(log.entries), "R6") == "2"


def test_r7_compares_the_latest_label_with_the_last_one_before_the_start() -> None:
    log = audit_log()
    # clu-de: bronze awarded on the start day itself — not before the start, so its start label
    # is none, and bronze > none: upgraded.
    log.add(label("clu-de", "bronze", "2025-01-01"))
    # clu-es: gold in 2020 (expired 2022: validity ignored), silver during the project: not above.
    log.add(label("clu-es", "gold", "2020-01-01"))
    log.add(label("clu-es", "silver", "2025-05-01"))
    # clu-pl: bronze before, gold then silver during: the latest (silver) > bronze: upgraded.
    log.add(label("clu-pl", "bronze", "2024-06-01"))
    log.add(label("clu-pl", "gold", "2025-03-01"))
    log.add(label("clu-pl", "silver", "2025-09-01"))
    log.add(label("not-a-partner", "gold", "2025-03-01"))
    assert total(evaluate_all(log.entries), "R7") == "2"
    assert split(kpi_series(log.entries, "R7", by="level")) == {"bronze": "1", "silver": "1"}


# --- impact -----------------------------------------------------------------------------------


def test_the_panel_needs_an_sme_at_baseline_with_baseline_and_endline_in_one_survey() -> None:
    log = audit_log(
        ("sme-a", "SME", "DE", "small"),
        ("sme-b", "SME", "DE", "small"),
        ("sme-c", "SME", "DE", "small"),
        ("sme-d", "SME", "DE", "large"),
    )
    for org in ("sme-a", "sme-b", "sme-c", "sme-d"):
        log.add(survey(org, "baseline", turnover="100", fte="5", survey_id="A"), on="2025-02-01")
    log.add(survey("sme-a", "endline", turnover="100", fte="8", survey_id="A"), on="2026-05-01")
    log.add(survey("sme-b", "endline", turnover="100", fte="8", survey_id="B"), on="2026-05-01")
    log.add(survey("sme-c", "midline", turnover="100", fte="8", survey_id="A"), on="2025-10-01")
    log.add(size_change("sme-d", "small"), on="2025-06-01")
    log.add(survey("sme-d", "endline", turnover="100", fte="8", survey_id="A"), on="2026-05-01")
    table = evaluate_all(log.entries)
    # Panel {sme-a}: b's endline is in another survey, c has only a midline, d was large at its
    # baseline. Response rate 1 / 4 baseline respondents = 25.00; I2 = 8 − 5 = 3.00.
    assert (table.panel.panel_size, table.panel.baseline_respondents) == (1, 4)
    assert str(table.panel.response_rate.value) == "25.00"
    assert total(table, "I2") == "3.00"


def test_the_last_recorded_baseline_response_counts() -> None:
    log = audit_log(("sme-a", "SME", "DE", "small"))
    log.add(survey("sme-a", "baseline", turnover="100", fte="5"), on="2025-02-01")
    log.add(survey("sme-a", "baseline", turnover="100", fte="4"), on="2025-02-01")  # re-answered
    log.add(survey("sme-a", "endline", turnover="100", fte="8"), on="2026-05-01")
    # 8 − 4 = 4.00.
    assert total(evaluate_all(log.entries), "I2") == "4.00"


def panel(*smes: tuple[dict[str, Any], dict[str, Any]]) -> ProjectLog:
    """A panel sme-0, sme-1, … (small, DE) with (baseline, endline) survey answers."""
    log = audit_log(*[(f"sme-{i}", "SME", "DE", "small") for i in range(len(smes))])
    for i, (start, end) in enumerate(smes):
        log.add(survey(f"sme-{i}", "baseline", **{"turnover": "100", "fte": "5", **start}), on="2025-02-01")
        log.add(survey(f"sme-{i}", "endline", **{"turnover": "100", "fte": "5", **end}), on="2026-05-01")
    return log


def test_i1_is_the_median_growth_of_smes_with_a_baseline_turnover() -> None:
    log = panel(
        ({"turnover": "100"}, {"turnover": "90"}),  # −10
        ({"turnover": "300"}, {"turnover": "400"}),  # +33.333…
        ({"turnover": "200"}, {"turnover": "300"}),  # +50
        ({"turnover": "0"}, {"turnover": "100"}),  # left out
    )
    i1 = evaluate_all(log.entries).figure("I1").total
    # Median of (−10, 33.333…, 50) = 33.333… → 33.33; n = 3.
    assert (str(i1.value), i1.n) == ("33.33", 3)


def test_i3_a_new_export_market_is_an_endline_code_absent_at_baseline() -> None:
    log = panel(
        ({"exports": ["DE", "FR"]}, {"exports": ["DE"]}),  # lost FR, nothing new
        ({"exports": ["FR"]}, {"exports": ["FR", "IT"]}),  # IT is new
        ({}, {}),
    )
    i3 = evaluate_all(log.entries).figure("I3").total
    assert (str(i3.numerator), str(i3.denominator), str(i3.value)) == ("1", "3", "33.33")


def test_i4_reads_the_endline_response_only() -> None:
    log = panel(
        ({"new_products": 3}, {"new_products": 0}),  # innovated before, not at endline
        ({}, {"process": True}),
        ({}, {"new_products": 1}),
    )
    i4 = evaluate_all(log.entries).figure("I4").total
    assert (str(i4.numerator), str(i4.denominator), str(i4.value)) == ("2", "3", "66.67")


def test_i5_needs_a_strictly_higher_digital_score_or_a_new_green_measure() -> None:
    log = panel(
        ({"digital": 50}, {"digital": 50}),  # equal: no
        ({"digital": 50}, {"digital": 51}),  # yes
        ({"green": ["energy_efficiency"]}, {"green": ["energy_efficiency"]}),  # no
        ({"green": ["energy_efficiency"]}, {"green": ["energy_efficiency", "circular_economy"]}),  # yes
        (
            {"green": ["energy_efficiency", "circular_economy"]},
            {"green": ["circular_economy", "energy_efficiency"]},
        ),  # same measures: no
    )
    i5 = evaluate_all(log.entries).figure("I5").total
    assert (str(i5.numerator), str(i5.denominator), str(i5.value)) == ("2", "5", "40.00")


def test_i6_sums_endline_investment_gross_and_attributed_both_self_reported() -> None:
    log = panel(
        ({"investment": "1000"}, {"investment": "5000", "attribution": "0.2"}),
        ({}, {"investment": "3000", "attribution": "0.5"}),
    )
    log.add(survey("sme-1", "midline", turnover="100", fte="5", investment="9999"), on="2025-10-01")
    table = evaluate_all(log.entries)
    # Gross 5000 + 3000 = 8000; attributed 1000 + 1500 = 2500; midline and baseline ignored.
    assert (total(table, "I6.gross"), total(table, "I6.attributed")) == ("8000.00", "2500.00")
    assert table.figure("I6.gross").self_reported and table.figure("I6.attributed").self_reported


def test_impact_cells_take_the_size_class_at_the_baseline_interview() -> None:
    log = audit_log(("sme-a", "SME", "DE", "small"))
    log.add(survey("sme-a", "baseline", turnover="100", fte="5"), on="2025-02-01")
    log.add(size_change("sme-a", "medium"), on="2025-09-01")
    log.add(survey("sme-a", "endline", turnover="100", fte="7"), on="2026-05-01")
    assert split(kpi_series(log.entries, "I2", by="size_class")) == {"small": "2.00"}


# --- targets ----------------------------------------------------------------------------------


def test_cumulative_progress_subtracts_the_baseline() -> None:
    log = audit_log()
    log.add(baseline("O1", "LoP", "2"), on="2025-01-02")
    log.add(target("O1", "LoP", "12"), on="2025-01-02")
    for i in range(7):
        log.add(training(f"S{i}", [f"2025-02-{i + 1:02d}"], []))
    progress = evaluate_all(log.entries).figure("O1").target
    # 100·(7 − 2)/(12 − 2) = 50.00.
    assert progress is not None and str(progress.progress) == "50.00"


@pytest.mark.parametrize(
    ("cumulative", "value", "expected"),
    [
        (False, "4", "75.00"),  # incremental: RP2's own 3 sessions of 4
        (True, "10", "80.00"),  # cumulative: 5 + 3 = 8 sessions of 10 by RP2's end
    ],
)
def test_incremental_and_cumulative_period_targets(cumulative: bool, value: str, expected: str) -> None:
    log = audit_log()
    log.add(target("O1", "RP2", value, cumulative=cumulative), on="2025-01-02")
    for i in range(5):
        log.add(training(f"A{i}", [f"2025-02-{i + 1:02d}"], []))
    for i in range(3):
        log.add(training(f"B{i}", [f"2025-08-{i + 1:02d}"], []))
    rp2 = evaluate_all(log.entries).figure("O1").points[1].target
    assert rp2 is not None and str(rp2.progress) == expected


def test_the_target_in_force_is_the_last_live_target_set() -> None:
    log = audit_log()
    log.add(target("O1", "LoP", "10"), on="2025-01-02")
    revised = log.add(target("O1", "LoP", "20"), on="2025-01-03")
    for i in range(5):
        log.add(training(f"S{i}", [f"2025-02-{i + 1:02d}"], []))
    revised_at = log.head
    log.add(retraction(revised), on="2025-03-01")
    early = evaluate_all(log.entries, as_of=revised_at).figure("O1").target
    late = evaluate_all(log.entries).figure("O1").target
    # 5 of 20 = 25.00 while the revision is live; once it is retracted, 5 of 10 = 50.00.
    assert early is not None and late is not None
    assert (str(early.progress), str(late.progress)) == ("25.00", "50.00")


# A 200-day project: RP1 2025-01-01..04-10 (100 days), RP2 04-11..07-19 (100 days).
SHORT = [("RP1", "2025-01-01", "2025-04-10"), ("RP2", "2025-04-11", "2025-07-19")]


@pytest.mark.parametrize(
    ("sessions", "status"),
    [
        (9, "on_track"),  # 45% ≥ 0.9 × 50% = 45%
        (8, "at_risk"),  # 40% < 45%, ≥ 0.6 × 50% = 30%
        (6, "at_risk"),  # exactly 30%
        (5, "off_track"),  # 25% < 30%
    ],
)
def test_status_compares_progress_with_the_elapsed_share_of_the_project(sessions: int, status: str) -> None:
    log = audit_log(periods=SHORT)
    log.add(target("O1", "LoP", "20"), on="2025-01-02")
    for i in range(sessions):
        log.add(training(f"S{i}", [f"2025-02-{i + 1:02d}"], []))
    # The last position is recorded on 2025-04-10: day 100 of 200 → 50% of the LoP window elapsed.
    log.add(participant("p1", "clu-de", "other", "F"), on="2025-04-10", recorded="2025-04-10T12:00:00")
    progress = evaluate_all(log.entries).figure("O1").target
    assert progress is not None
    assert (str(progress.expected), str(progress.progress), progress.status) == (
        "50.00",
        f"{100 * sessions / 20:.2f}",
        status,
    )


# --- more corrections, cells and states --------------------------------------------------------


def test_retracting_a_correction_that_moved_a_session_moves_it_back() -> None:
    log = audit_log()
    session = log.add(training("S1", ["2025-06-20"], []))
    moved = log.add(correction(session, dates=["2025-07-03"], occurred_on="2025-07-03"), on="2025-07-10")
    moved_at = log.head
    log.add(retraction(moved), on="2025-07-20")
    # While the correction is live the session is in RP2; once it is retracted, back in RP1.
    assert own(evaluate_all(log.entries, as_of=moved_at), "O1") == ["0", "1", "0"]
    assert own(evaluate_all(log.entries), "O1") == ["1", "0", "0"]


def test_an_identity_field_of_a_survey_response_cannot_be_corrected() -> None:
    log = audit_log(("sme-a", "SME", "DE", "small"), ("sme-b", "SME", "DE", "small"))
    answer = log.add(survey("sme-a", "baseline", turnover="100", fte="5"), on="2025-02-01")
    log.add(survey("sme-a", "endline", turnover="100", fte="8"), on="2026-05-01")
    log.add(correction(answer, org_id="sme-b"), on="2026-05-02", checked=False)
    # org_id identifies the record: the correction changes nothing, sme-a stays: 8 − 5 = 3.00.
    assert total(evaluate_all(log.entries), "I2") == "3.00"


def test_o6_role_cells_per_period_and_cumulative_are_distinct_counts() -> None:
    log = audit_log()
    completed_exchange(log, "X1", "clu-de", "clu-es", "2025-03-03", "2025-03-07")
    completed_exchange(log, "X2", "clu-es", "clu-pl", "2025-09-01", "2025-09-05")
    rp2 = kpi_series(log.entries, "O6", by="role_vo_ho").figure.points[1]
    # RP2 alone: VO {es}, HO {pl}; up to RP2's end: VO {de, es}, HO {es, pl}.
    assert {c.category: str(c.figure.value) for c in rp2.cells if c.figure} == {"HO": "1", "VO": "1"}
    assert {c.category: str(c.figure.value) for c in rp2.cumulative_cells if c.figure} == {
        "HO": "2",
        "VO": "2",
    }


def test_o7_activity_cells_count_an_sme_in_each_kind_of_activity_it_had() -> None:
    log = audit_log(("sme-a", "SME", "DE", "micro"))
    log.add(training("S1", ["2025-02-03"], [("p1", "sme-a", "2")]))
    log.add(coaching("E1", "clu-de", "sme-a", "2"), on="2025-08-04")
    series = kpi_series(log.entries, "O7", by="activity_type")
    # One SME in total, engaged by a training (RP1) and coaching (RP2): one in each cell.
    assert str(series.figure.total.value) == "1"
    assert split(series) == {"coaching": "1", "training": "1"}


def test_r3_follow_up_type_cells_share_the_denominator() -> None:
    log = audit_log()
    completed_exchange(log, "X1", "clu-de", "clu-es", "2025-03-03", "2025-03-07")
    log.add(follow_up("X1", "MoU", "2025-04-01", ["clu-de", "clu-es"]))
    log.add(follow_up("X1", "joint_project_proposal", "2025-05-01", ["clu-de", "clu-es"]))
    completed_exchange(log, "X2", "clu-es", "clu-pl", "2025-03-10", "2025-03-14")
    series = kpi_series(log.entries, "R3.6m", by="follow_up_type")
    # X1 has both types, X2 none: each type 1/2; the total 1/2, X1 counted once.
    assert str(series.figure.total.value) == "50.00"
    assert split(series) == {"MoU": "50.00", "joint_project_proposal": "50.00"}


def test_i4_innovation_type_cells_share_the_panel_as_denominator() -> None:
    log = panel(({}, {}), ({}, {"process": True}), ({}, {"new_products": 1}))
    # product: sme-2 of 3; process: sme-1 of 3.
    assert split(kpi_series(log.entries, "I4", by="innovation_type")) == {
        "process": "33.33",
        "product": "33.33",
    }


def test_r7_is_a_state_read_at_each_period_end() -> None:
    log = audit_log()
    log.add(label("clu-de", "bronze", "2025-08-01"))
    # Up to RP1's end no upgrade; from RP2 on clu-de went none → bronze.
    assert own(evaluate_all(log.entries), "R7") == ["0", "1", "1"]


def test_impact_figures_are_null_in_periods_before_the_panel_exists() -> None:
    log = audit_log(("sme-a", "SME", "DE", "small"))
    log.add(survey("sme-a", "baseline", turnover="100", fte="5"), on="2025-02-01")
    log.add(survey("sme-a", "endline", turnover="100", fte="8"), on="2026-05-01")
    points = evaluate_all(log.entries).figure("I2").points
    # No endline dated up to RP1's or RP2's end: empty panel, null with n = 0; RP3: 8 − 5.
    assert [(None if p.value.value is None else str(p.value.value), p.value.n) for p in points] == [
        (None, 0),
        (None, 0),
        ("3.00", 1),
    ]


# --- more targets -----------------------------------------------------------------------------


def test_a_target_for_a_disaggregation_key_applies_to_its_cell() -> None:
    log = audit_log()
    log.add(target("O1", "LoP", "4", key="topic=green"), on="2025-01-02")
    for i in range(2):
        log.add(training(f"G{i}", [f"2025-02-{i + 1:02d}"], [], topic="green"))
    for i in range(3):
        log.add(training(f"S{i}", [f"2025-03-{i + 1:02d}"], []))
    topics = {
        c.category: c
        for b in evaluate_all(log.entries).figure("O1").breakdowns
        if b.by == "topic"
        for c in b.cells
    }
    # 2 green sessions of 4 = 50.00; no target on the strategy cell nor on the total.
    green = topics["green"].target
    assert green is not None and str(green.progress) == "50.00"
    assert topics["strategy"].target is None
    assert evaluate_all(log.entries).figure("O1").target is None


def test_a_period_baseline_is_subtracted_from_a_cumulative_period_target() -> None:
    log = audit_log()
    log.add(baseline("O1", "RP2", "2"), on="2025-01-02")
    log.add(target("O1", "RP2", "10"), on="2025-01-02")
    for i in range(5):
        log.add(training(f"A{i}", [f"2025-02-{i + 1:02d}"], []))
    for i in range(3):
        log.add(training(f"B{i}", [f"2025-08-{i + 1:02d}"], []))
    rp2 = evaluate_all(log.entries).figure("O1").points[1].target
    # Cumulative 8 by RP2's end: 100·(8 − 2)/(10 − 2) = 75.00.
    assert rp2 is not None and (str(rp2.actual), str(rp2.progress)) == ("8", "75.00")


@pytest.mark.parametrize(("sessions", "status"), [(5, "on_track"), (4, "at_risk"), (2, "off_track")])
def test_an_incremental_targets_status_measures_time_within_its_own_period(
    sessions: int, status: str
) -> None:
    log = audit_log(periods=SHORT)
    log.add(target("O1", "RP2", "10", cumulative=False), on="2025-01-02")
    for i in range(sessions):
        log.add(training(f"S{i}", [f"2025-04-{i + 14:02d}"], []))
    # Last position recorded 2025-05-30: day 50 of RP2's 100 days (04-11..07-19) → 50% elapsed.
    log.add(participant("p1", "clu-de", "other", "F"), on="2025-05-30", recorded="2025-05-30T12:00:00")
    rp2 = evaluate_all(log.entries).figure("O1").points[1].target
    # progress = sessions/10: 50% ≥ 45% on track; 40% ≥ 30% at risk; 20% off track.
    assert rp2 is not None
    assert (str(rp2.expected), str(rp2.progress), rp2.status) == ("50.00", f"{10 * sessions:.2f}", status)


# --- catalog (b): default disaggregations -------------------------------------------------------


@pytest.mark.parametrize("figure_id", ["O6", "O9.orgs", "R6"])
def test_organisation_counts_can_be_split_by_size_class_a_default_disaggregation(figure_id: str) -> None:
    log = audit_log(("sme-a", "SME", "DE", "small"), ("sme-b", "SME", "FR", "micro"))
    completed_exchange(log, "X1", "sme-a", "sme-b", "2025-03-03", "2025-03-07")
    log.add(outreach("OUT1", "webinar", 10, ["sme-a", "sme-b"], "DE"), on="2025-04-01")
    log.add(service("sme-a", "skills", "2025-04-02"))
    log.add(service("sme-b", "skills", "2025-04-03"))
    # Two organisations (or services by them), one small and one micro.
    assert split(kpi_series(log.entries, figure_id, by="size_class")) == {"micro": "1", "small": "1"}


def test_an_organisation_whose_class_changed_between_exchanges_is_in_both_o6_size_cells() -> None:
    log = audit_log(("sme-a", "SME", "DE", "small"), ("sme-b", "SME", "FR", "micro"))
    completed_exchange(log, "X1", "sme-a", "clu-de", "2025-03-03", "2025-03-07")
    log.add(size_change("sme-a", "medium"), on="2025-05-01")
    completed_exchange(log, "X2", "sme-a", "clu-es", "2025-06-02", "2025-06-06")
    # O6 = {sme-a, clu-de, clu-es} = 3; sme-a was small on 03-07 and medium on 06-06, so it is in
    # both cells; the clusters are n/a. Cells: medium 1, n/a 2, small 1 (add up to 4 > 3).
    series = kpi_series(log.entries, "O6", by="size_class")
    assert (str(series.figure.total.value), split(series)) == ("3", {"medium": "1", "n/a": "2", "small": "1"})
