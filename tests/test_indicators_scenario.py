"""One small, hand-built project evaluated end to end: every KPI's expected value is worked out by
hand below (the arithmetic is in the comments), never computed by the code under test.

The project (18 months, partnership CXC-P): RP1 2025-01-01..06-30, RP2 2025-07-01..12-31 (both
interim), RP3 2026-01-01..06-30 (final); partners clu-de, clu-es, clu-pl.

Organisations
    clu-de  cluster_org DE more_developed digital
    clu-es  cluster_org ES transition     agri_food
    clu-pl  cluster_org PL less_developed electronics
    sme-de  SME DE more_developed digital     micro
    sme-es  SME ES transition     agri_food   small
    sme-pl  SME PL less_developed electronics medium, large from 2025-10-01 (OrganisationSizeClassChanged)
    big-fr  large FR more_developed mobility
    sme-it  SME IT more_developed textile     small
Participants
    p1 clu-de cluster_manager F   p2 clu-es cluster_staff M   p3 clu-pl cluster_staff X
    p4 sme-de SME_staff F         p5 sme-es SME_staff undisclosed
    p6 clu-de cluster_staff M     p7 sme-pl SME_staff M        p8 clu-es cluster_manager F
Trainings (venue, delivering partner)
    S1 2025-03-10/11 strategy onsite DE clu-de: p1 8h, p2 6h→7h (corrected), p4 8h, p6 0h
    S2 2025-05-20 → corrected to 2025-07-02 (RP1 → RP2), digital online ES clu-es: p2 4, p3 4, p5 3.5
    S3 2025-09-15 green hybrid PL clu-pl: p3 6, p4 5, p7 6
    S4 2025-11-05 skills DE clu-de: p1 3, p8 3 — RETRACTED on 2025-12-10 (its feedback F5 voided)
    S5 2025-04-08 governance online ES clu-es: p5 2, p2 2 — a LATE ENTRY recorded 2025-10-20
Feedback: F1 S1 p1 5; F2 S1 p4 3; F3 S2 p5 4; F4 S2 anonymous 2; F5 S4 p8 5 (voided); F6 S3 p7 4
Coaching: C1 2025-02-14 sme-de 3.5h; C2 2025-04-01 sme-de 2h; C3 2025-08-20 clu-pl 4h;
          C4 2025-11-10 sme-pl 1.5h
Exchanges
    X1 VO sme-es HO clu-de, vop CXC-P: completed 2025-06-02..06-06 physical; closing reports (5,4)
       then (3,4) (the latest counts); 780 paid 2025-06-16; follow-ups MoU 2025-12-06 (= end + 6
       months exactly) and joint_project_proposal 2026-05-01
    X2 VO clu-pl HO big-fr, vop CXC-P: completed 2025-09-22..09-26 virtual; report (2,4); 390
       reduced paid 2025-10-06; follow-ups tech_transfer 2026-03-27 (end + 6 months + 1 day),
       commercial_agreement 2026-09-27 (end + 12 months + 1 day)
    X3 VO sme-pl HO clu-es, vop CXC-P: 390 advance paid 2025-08-01, then CANCELLED 2025-08-20
    X4 VO sme-it HO clu-de, vop CXC-OTHER (hosted only: hop CXC-P): completed 2025-10-17,
       report (5,5), 1100 paid, follow-up MoU — counts for nothing
    X5 VO clu-de HO sme-pl, vop CXC-P: completed 2026-02-02..02-06 physical; report (5,4); 780 paid
Outreach: OUT1 2025-04-15 conference DE 120 attendees, orgs clu-de sme-de big-fr
          OUT2 2025-10-08 B2B ES 60 attendees, orgs sme-es sme-pl clu-es sme-de, 25 meetings
          OUT3 2026-03-01 newsletter PL 800 recipients; OUT4 2026-04-10 webinar PL 45, sme-it, 3 meetings
Agreements: A1 2025-05-05 MoU clu-de+clu-es; A2 2025-11-20 cooperation_agreement clu-pl+sme-pl,
          type corrected to consortium_agreement
Milestones: MS1 joint_strategy draft 2025-06-01; D2.1 action_plan adopted 2025-09-01;
          MS1 joint_strategy adopted 2025-12-15
Services: clu-pl digitalisation 2025-07-15; clu-es internationalisation 2026-01-20
Labels: clu-de bronze 2023-05-10, silver 2025-11-30; clu-pl silver 2024-06-01, silver 2026-05-01;
          clu-es bronze 2026-03-15
Survey PANEL: baselines sme-de (recorded twice: the second, last one counts), sme-es, sme-pl,
          sme-it; endlines sme-de, sme-es, sme-pl (sme-it has none)
Targets: O1 LoP 10 (baseline 0), O1 RP1 3 then revised to 4; O2 RP2 30 incremental; R2 LoP 80
          (baseline 70); O3 LoP 6 and O3 LoP gender=F 3
The last entry is recorded on 2026-09-28, so every target window has fully elapsed (expected 100%).
"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

import pytest
from test_indicators_log import (
    ProjectLog,
    agreement,
    baseline,
    cancelled,
    closing_report,
    coaching,
    commitment,
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

from indicators import FigureResult, ProjectIndicators, canonical_json, evaluate_all, kpi_series

# Positions worth naming (the log below is appended in this order).
BEFORE_RP1_TARGET_REVISION = 51  # the correction of S1, recorded 2025-06-28
BEFORE_LATE_ENTRY = 68  # S5 (dated 2025-04-08) is appended at 69
BEFORE_RETRACTION = 78  # S4 is retracted at 79


def build_log() -> ProjectLog:
    """The scenario, in commit order; the position of each event is noted on its right."""
    log = ProjectLog()
    _register(log)
    s2 = _first_period(log)
    _second_period(log, s2)
    _third_period(log)
    return log


def _register(log: ProjectLog) -> None:
    """The project, organisations, people, pre-project labels, baselines and targets (1–27)."""
    add = log.add
    add(
        project(
            [
                ("RP1", "2025-01-01", "2025-06-30"),
                ("RP2", "2025-07-01", "2025-12-31"),
                ("RP3", "2026-01-01", "2026-06-30"),
            ],
            ["clu-de", "clu-es", "clu-pl"],
        ),
        on="2025-01-01",
        partner="clu-de",
        recorded="2025-01-01T08:00:00",
    )  # 1
    for org in (
        organisation("clu-de", "cluster_org", "DE", "more_developed", "digital"),
        organisation("clu-es", "cluster_org", "ES", "transition", "agri_food"),
        organisation("clu-pl", "cluster_org", "PL", "less_developed", "electronics"),
        organisation("sme-de", "SME", "DE", "more_developed", "digital", "micro"),
        organisation("sme-es", "SME", "ES", "transition", "agri_food", "small"),
        organisation("sme-pl", "SME", "PL", "less_developed", "electronics", "medium"),
        organisation("big-fr", "large", "FR", "more_developed", "mobility_transport_automotive", "large"),
        organisation("sme-it", "SME", "IT", "more_developed", "textile", "small"),
    ):
        add(org, on="2025-01-01", partner="clu-de")  # 2..9
    for person in (
        participant("p1", "clu-de", "cluster_manager", "F"),
        participant("p2", "clu-es", "cluster_staff", "M"),
        participant("p3", "clu-pl", "cluster_staff", "X"),
        participant("p4", "sme-de", "SME_staff", "F"),
        participant("p5", "sme-es", "SME_staff", "undisclosed"),
        participant("p6", "clu-de", "cluster_staff", "M"),
        participant("p7", "sme-pl", "SME_staff", "M"),
        participant("p8", "clu-es", "cluster_manager", "F"),
    ):
        add(person, on="2025-01-01", partner="clu-de")  # 10..17
    add(label("clu-de", "bronze", "2023-05-10"), partner="clu-de")  # 18 (before the project: allowed)
    add(label("clu-pl", "silver", "2024-06-01"), partner="clu-pl")  # 19
    add(baseline("O1", "LoP", "0"), on="2024-12-15")  # 20
    add(baseline("R2", "LoP", "70"), on="2024-12-15")  # 21
    add(target("O1", "LoP", "10"), on="2025-01-02")  # 22
    add(target("O1", "RP1", "3"), on="2025-01-02")  # 23
    add(target("O2", "RP2", "30", cumulative=False), on="2025-01-02")  # 24
    add(target("R2", "LoP", "80"), on="2025-01-02")  # 25
    add(target("O3", "LoP", "6"), on="2025-01-02")  # 26
    add(target("O3", "LoP", "3", key="gender=F"), on="2025-01-02")  # 27


def _first_period(log: ProjectLog) -> uuid.UUID:
    """What is recorded during RP1 (28–52); returns S2, corrected in RP2."""
    add = log.add
    sme_de_baseline: dict[str, Any] = {"exports": ["AT"], "digital": 40, "green": ["energy_efficiency"]}
    add(
        survey("sme-de", "baseline", turnover="900000", fte="7", **sme_de_baseline),
        on="2025-02-01",
        partner="clu-de",
    )  # 28
    add(
        survey("sme-es", "baseline", turnover="4000000", fte="30", exports=["FR"], digital=60),
        on="2025-02-10",
        partner="clu-es",
    )  # 29
    add(coaching("E1", "clu-de", "sme-de", "3.5"), on="2025-02-14", partner="clu-de")  # 30
    add(
        survey(
            "sme-pl",
            "baseline",
            turnover="20000000",
            fte="200",
            exports=["DE", "CZ"],
            digital=70,
            green=["renewable_energy"],
        ),
        on="2025-03-01",
        partner="clu-pl",
    )  # 31
    add(survey("sme-it", "baseline", turnover="2000000", fte="15"), on="2025-03-05", partner="clu-pl")  # 32
    # sme-de answers the baseline again: this last recorded response is the one that counts.
    add(
        survey("sme-de", "baseline", turnover="1000000", fte="8", **sme_de_baseline),
        on="2025-02-01",
        partner="clu-de",
        recorded="2025-03-07T10:00:00",
    )  # 33
    s1 = add(
        training(
            "S1",
            ["2025-03-10", "2025-03-11"],
            [("p1", "clu-de", "8"), ("p2", "clu-es", "6"), ("p4", "sme-de", "8"), ("p6", "clu-de", "0")],
            topic="strategy",
            hours="8",
            country="DE",
        ),
        partner="clu-de",
    )  # 34
    add(feedback("S1", 5, "p1"), on="2025-03-11", partner="clu-de")  # 35
    add(feedback("S1", 3, "p4"), on="2025-03-11", partner="clu-de")  # 36
    add(coaching("E1", "clu-de", "sme-de", "2"), on="2025-04-01", partner="clu-de")  # 37
    add(
        outreach("OUT1", "conference", 120, ["clu-de", "sme-de", "big-fr"], "DE"),
        on="2025-04-15",
        partner="clu-de",
    )  # 38
    add(exchange("X1", "sme-es", "clu-de"), on="2025-04-20", partner="clu-es")  # 39
    add(agreement("A1", "MoU", ["clu-de", "clu-es"], "2025-05-05"), partner="clu-de")  # 40
    add(commitment("X1", "2025-06-02", "2025-06-06"), on="2025-05-10", partner="clu-es")  # 41
    s2 = add(
        training(
            "S2",
            ["2025-05-20"],
            [("p2", "clu-es", "4"), ("p3", "clu-pl", "4"), ("p5", "sme-es", "3.5")],
            topic="digital",
            format="online",
            hours="4",
            country="ES",
        ),
        partner="clu-es",
    )  # 42
    add(feedback("S2", 4, "p5"), on="2025-05-20", partner="clu-es")  # 43
    add(feedback("S2", 2), on="2025-05-20", partner="clu-es")  # 44 (anonymous)
    add(milestone("MS1", "joint_strategy", "draft"), on="2025-06-01", partner="clu-de")  # 45
    add(completed("X1", "2025-06-02", "2025-06-06"), partner="clu-es")  # 46
    add(closing_report("X1", 5, 4), on="2025-06-10", partner="clu-es")  # 47
    add(lump_sum("X1", "780", "2025-06-16"), partner="clu-es")  # 48
    add(exchange("X3", "sme-pl", "clu-es"), on="2025-06-20", partner="clu-pl")  # 49
    add(commitment("X3", "2025-09-01", "2025-09-05"), on="2025-06-25", partner="clu-pl")  # 50
    add(
        correction(
            s1,
            attendees=[
                {"participant_id": "p1", "org_id": "clu-de", "attended_hours": "8"},
                {"participant_id": "p2", "org_id": "clu-es", "attended_hours": "7"},
                {"participant_id": "p4", "org_id": "sme-de", "attended_hours": "8"},
                {"participant_id": "p6", "org_id": "clu-de", "attended_hours": "0"},
            ],
        ),
        on="2025-06-28",
        partner="clu-de",
        recorded="2025-06-28T17:00:00",
    )  # 51
    add(target("O1", "RP1", "4"), on="2025-06-29")  # 52: the RP1 target is revised
    return s2


def _second_period(log: ProjectLog, s2: uuid.UUID) -> None:
    """What is recorded during RP2 (53–82), the late entry, the retraction and two corrections."""
    add = log.add
    add(service("clu-pl", "digitalisation", "2025-07-15"), partner="clu-pl")  # 53
    # S2 was in fact held on 2 July: the correction moves it (and its feedback) from RP1 to RP2.
    add(
        correction(s2, dates=["2025-07-02"], occurred_on="2025-07-02"),
        on="2025-07-20",
        partner="clu-es",
        recorded="2025-07-20T17:00:00",
    )  # 54
    add(lump_sum("X3", "390", "2025-08-01", reduced=True), partner="clu-pl")  # 55
    add(coaching("E2", "clu-es", "clu-pl", "4", mode="onsite"), on="2025-08-20", partner="clu-es")  # 56
    add(cancelled("X3"), on="2025-08-20", partner="clu-pl")  # 57
    add(exchange("X2", "clu-pl", "big-fr"), on="2025-08-25", partner="clu-pl")  # 58
    add(milestone("D2.1", "action_plan", "adopted"), on="2025-09-01", partner="clu-pl")  # 59
    add(
        training(
            "S3",
            ["2025-09-15"],
            [("p3", "clu-pl", "6"), ("p4", "sme-de", "5"), ("p7", "sme-pl", "6")],
            topic="green",
            format="hybrid",
            hours="6",
            country="PL",
        ),
        partner="clu-pl",
    )  # 60
    add(feedback("S3", 4, "p7"), on="2025-09-15", partner="clu-pl")  # 61
    add(
        exchange("X4", "sme-it", "clu-de", vop="CXC-OTHER", hop="CXC-P"), on="2025-09-20", partner="clu-de"
    )  # 62
    add(completed("X2", "2025-09-22", "2025-09-26", mode="virtual"), partner="clu-pl")  # 63
    add(closing_report("X2", 2, 4), on="2025-09-30", partner="clu-pl")  # 64
    add(size_change("sme-pl", "large"), on="2025-10-01", partner="clu-pl")  # 65
    add(lump_sum("X2", "390", "2025-10-06", reduced=True), partner="clu-pl")  # 66
    add(
        outreach("OUT2", "B2B", 60, ["sme-es", "sme-pl", "clu-es", "sme-de"], "ES", b2b=25),
        on="2025-10-08",
        partner="clu-es",
    )  # 67
    add(completed("X4", "2025-10-13", "2025-10-17"), partner="clu-de")  # 68
    add(
        training(
            "S5",
            ["2025-04-08"],
            [("p5", "sme-es", "2"), ("p2", "clu-es", "2")],
            topic="governance",
            format="online",
            hours="2",
            country="ES",
        ),
        partner="clu-es",
        recorded="2025-10-20T10:00:00",
    )  # 69: the late entry
    add(closing_report("X4", 5, 5), on="2025-10-20", partner="clu-de")  # 70
    add(lump_sum("X4", "1100", "2025-10-27"), partner="clu-de")  # 71
    add(follow_up("X4", "MoU", "2025-11-01", ["sme-it", "clu-de"]), partner="clu-de")  # 72
    s4 = add(
        training(
            "S4",
            ["2025-11-05"],
            [("p1", "clu-de", "3"), ("p8", "clu-es", "3")],
            topic="skills",
            hours="3",
            country="DE",
        ),
        partner="clu-de",
    )  # 73
    add(feedback("S4", 5, "p8"), on="2025-11-05", partner="clu-de")  # 74
    add(coaching("E3", "clu-pl", "sme-pl", "1.5"), on="2025-11-10", partner="clu-pl")  # 75
    a2 = add(
        agreement("A2", "cooperation_agreement", ["clu-pl", "sme-pl"], "2025-11-20"), partner="clu-pl"
    )  # 76
    add(label("clu-de", "silver", "2025-11-30"), partner="clu-de")  # 77
    add(follow_up("X1", "MoU", "2025-12-06", ["sme-es", "clu-de"]), partner="clu-es")  # 78
    add(retraction(s4), on="2025-12-10", partner="clu-de", recorded="2025-12-10T17:00:00")  # 79
    add(closing_report("X1", 3, 4), on="2025-12-12", partner="clu-es")  # 80: the latest report of X1
    add(milestone("MS1", "joint_strategy", "adopted"), on="2025-12-15", partner="clu-de")  # 81
    add(
        correction(a2, type="consortium_agreement"),
        on="2025-12-20",
        partner="clu-pl",
        recorded="2025-12-20T17:00:00",
    )  # 82


def _third_period(log: ProjectLog) -> None:
    """What is recorded during RP3 and after the project end (83–97)."""
    add = log.add
    add(exchange("X5", "clu-de", "sme-pl"), on="2026-01-10", partner="clu-de")  # 83
    add(service("clu-es", "internationalisation", "2026-01-20"), partner="clu-es")  # 84
    add(completed("X5", "2026-02-02", "2026-02-06"), partner="clu-de")  # 85
    add(closing_report("X5", 5, 4), on="2026-02-10", partner="clu-de")  # 86
    add(lump_sum("X5", "780", "2026-02-20"), partner="clu-de")  # 87
    add(outreach("OUT3", "newsletter", 800, [], "PL"), on="2026-03-01", partner="clu-pl")  # 88
    add(label("clu-es", "bronze", "2026-03-15"), partner="clu-es")  # 89
    add(follow_up("X2", "tech_transfer", "2026-03-27", ["clu-pl", "big-fr"]), partner="clu-pl")  # 90
    add(outreach("OUT4", "webinar", 45, ["sme-it"], "PL", b2b=3), on="2026-04-10", partner="clu-pl")  # 91
    add(label("clu-pl", "silver", "2026-05-01"), partner="clu-pl")  # 92
    add(follow_up("X1", "joint_project_proposal", "2026-05-01", ["sme-es", "clu-de"]), partner="clu-es")  # 93
    add(
        survey(
            "sme-de",
            "endline",
            turnover="1080000",
            fte="10",
            exports=["AT", "CH"],
            new_products=2,
            digital=55,
            green=["energy_efficiency"],
            investment="50000",
            attribution="0.5",
        ),
        on="2026-05-15",
        partner="clu-de",
    )  # 94
    add(
        survey(
            "sme-es",
            "endline",
            turnover="3800000",
            fte="29.5",
            exports=["FR"],
            process=True,
            digital=60,
            green=["circular_economy"],
            investment="120000",
            attribution="0.25",
        ),
        on="2026-05-20",
        partner="clu-es",
    )  # 95
    add(
        survey(
            "sme-pl",
            "endline",
            turnover="23000000",
            fte="240",
            exports=["DE"],
            digital=70,
            green=["renewable_energy"],
            investment="1000000",
            attribution="0.1",
        ),
        on="2026-05-25",
        partner="clu-pl",
    )  # 96
    add(follow_up("X2", "commercial_agreement", "2026-09-27", ["clu-pl", "big-fr"]), partner="clu-pl")  # 97


@pytest.fixture(scope="module")
def log() -> ProjectLog:
    return build_log()


@pytest.fixture(scope="module")
def table(log: ProjectLog) -> ProjectIndicators:
    return evaluate_all(log.entries)


def text(value: Decimal | None) -> str | None:
    """A served Decimal as its canonical text (the bytes a snapshot hashes)."""
    return None if value is None else str(value)


def per_period(result: FigureResult) -> list[tuple[str | None, str | None]]:
    """(own value, cumulative value) of RP1, RP2, RP3."""
    return [(text(p.value.value), text(p.cumulative.value)) for p in result.points]


def cells(result: FigureResult, by: str) -> dict[str, str | None]:
    """The project-to-date value of each category of one dimension."""
    breakdown = next(b for b in result.breakdowns if b.by == by)
    return {c.category: text(c.figure.value) if c.figure else None for c in breakdown.cells}


# figure id: (total, n, [(RP1, cumulative), (RP2, cumulative), (RP3, cumulative)])
EXPECTED: dict[str, tuple[str | None, int, list[tuple[str | None, str | None]]]] = {
    # O1: live sessions S1 (RP1), S5 (late, dated 2025-04-08: RP1), S2 (corrected to 07-02: RP2),
    # S3 (RP2); S4 retracted. RP1 2, RP2 2, RP3 0 → 4. n = attendees p1..p7 = 7 (p8 was only in S4).
    "O1": ("4", 7, [("2", "2"), ("2", "4"), ("0", "4")]),
    # O2: S1 8+7+8+0 = 23 (p2 corrected 6→7); S5 2+2 = 4 → RP1 27.00.
    #     S2 4+4+3.5 = 11.5; S3 6+5+6 = 17 → RP2 28.50. Total 55.50. n = p1..p7 = 7.
    "O2": ("55.50", 7, [("27.00", "27.00"), ("28.50", "55.50"), ("0.00", "55.50")]),
    # O3: managers/staff with > 0 h in a live session: p1 (S1), p2 (S1, S2, S5), p3 (S2, S3);
    #     p6 had 0 h, p8 only in retracted S4. RP1 {p1,p2} = 2, RP2 {p2,p3} = 2,
    #     cumulative RP2 {p1,p2,p3} = 3 (not 2 + 2).
    "O3": ("3", 3, [("2", "2"), ("2", "3"), ("0", "3")]),
    # O4: C1 3.5 + C2 2 = 5.50 (RP1); C3 4 + C4 1.5 = 5.50 (RP2); total 11.00.
    #     n = coachees {sme-de, clu-pl, sme-pl} = 3.
    "O4": ("11.00", 3, [("5.50", "5.50"), ("5.50", "11.00"), ("0.00", "11.00")]),
    # O5: counted completed exchanges X1 (06-06), X2 (09-26), X5 (2026-02-06); X3 cancelled,
    #     X4 paid by another partnership. n = {sme-es, clu-de, clu-pl, big-fr, sme-pl} = 5.
    "O5": ("3", 5, [("1", "1"), ("1", "2"), ("1", "3")]),
    # O6: X1 {sme-es, clu-de}, X2 {clu-pl, big-fr}, X5 {clu-de, sme-pl}: 2 per period,
    #     cumulative 2, 4, 5 (clu-de is in X1 and X5).
    "O6": ("5", 5, [("2", "2"), ("2", "4"), ("2", "5")]),
    # O7: RP1 sme-de (C1, S1, C2), sme-es (S5, X1 as VO) = 2; RP2 sme-es (S2, OUT2), sme-de (S3,
    #     OUT2), sme-pl (S3 on 09-15 while medium) = 3 — but not sme-pl at OUT2 or C4 (large by
    #     then); RP3: X5's host sme-pl is large, clu-de no SME → 0. OUT1 is no B2B; X4 not counted.
    "O7": ("3", 3, [("2", "2"), ("3", "3"), ("0", "3")]),
    # O8: RP1 X1 ES+DE, A1 DE+ES → {DE, ES} = 2; RP2 X2 PL+FR, A2 PL+PL → {PL, FR} = 2;
    #     RP3 X5 DE+PL = 2; cumulative {DE, ES, PL, FR} = 4 (X4's IT does not count).
    #     n = {sme-es, clu-de, clu-es, clu-pl, big-fr, sme-pl} = 6.
    "O8": ("4", 6, [("2", "2"), ("2", "4"), ("2", "4")]),
    # O9.contacts: 120 (RP1) | 60 (RP2) | 800 + 45 = 845 (RP3) → 1025.
    #     n = persons: at least the largest event's 800 contacts (more than the 7 organisations
    #     reached {clu-de, sme-de, big-fr, sme-es, sme-pl, clu-es, sme-it}) = 800.
    "O9.contacts": ("1025", 800, [("120", "120"), ("60", "180"), ("845", "1025")]),
    # O9.orgs: RP1 {clu-de, sme-de, big-fr} 3; RP2 {sme-es, sme-pl, clu-es, sme-de} 4;
    #     RP3 {sme-it} 1; cumulative 3, 6 (sme-de twice), 7.
    "O9.orgs": ("7", 7, [("3", "3"), ("4", "6"), ("1", "7")]),
    # O10: 0 | 25 | 0 + 3 (a webinar's meetings count too) → 28.
    "O10": ("28", 7, [("0", "0"), ("25", "25"), ("3", "28")]),
    # O11.sum: X1 780 (RP1), X2 390 (completed RP2), X5 780 (RP3) → 1950.00; X3's 390 (cancelled)
    #     and X4's 1100 (hosted only) are out. n = paid VOs {sme-es, clu-pl, clu-de} = 3.
    "O11.sum": ("1950.00", 3, [("780.00", "780.00"), ("390.00", "1170.00"), ("780.00", "1950.00")]),
    # O11.mean: 1950 / 3 exchanges = 650.00; per period 780/1, 390/1, 780/1;
    #     cumulative RP2 = 1170 / 2 = 585.00.
    "O11.mean": ("650.00", 3, [("780.00", "780.00"), ("390.00", "585.00"), ("780.00", "650.00")]),
    # R1: latest reports X1 (3,4) [the (5,4) report was replaced], X2 (2,4), X5 (5,4):
    #     satisfied 0+1, 0+1, 1+1 = 4 of 6 → 66.67. RP1 1/2 = 50.00, RP2 1/2 = 50.00,
    #     RP3 2/2 = 100.00; cumulative RP2 2/4 = 50.00. X1's second report (recorded in RP2)
    #     stays in RP1, the exchange's completion period. n = {sme-es, clu-de, clu-pl, big-fr, sme-pl} = 5.
    "R1": ("66.67", 5, [("50.00", "50.00"), ("50.00", "50.00"), ("100.00", "66.67")]),
    # R2: feedback on live sessions: S1 F1 5 ✓, F2 3 ✗ (RP1: 1/2 = 50.00); S2 (moved to RP2) F3 4 ✓,
    #     F4 2 ✗; S3 F6 4 ✓ (RP2: 2/3 = 66.67); RP3 none → null. Total 3/5 = 60.00; F5 (on
    #     retracted S4) voided. n = {p1, p4, p5, the anonymous one, p7} = 5.
    "R2": ("60.00", 5, [("50.00", "50.00"), ("66.67", "60.00"), (None, "60.00")]),
    # R3.6m: X1 MoU 2025-12-06 = 06-06 + 6 months (edge, inclusive) ✓; X2 tech_transfer
    #     2026-03-27 > 09-26 + 6 months = 2026-03-26 ✗; X5 none ✗ → 1/3 = 33.33.
    #     RP1 1/1, RP2 0/1, RP3 0/1; cumulative 1/1, 1/2, 1/3. n = VO+HO of the 3 = 5.
    "R3.6m": ("33.33", 5, [("100.00", "100.00"), ("0.00", "50.00"), ("0.00", "33.33")]),
    # R3.12m: X1 ✓ (MoU, and proposal 2026-05-01 ≤ 2026-06-06); X2 tech_transfer ≤ 2026-09-26 ✓
    #     (commercial_agreement 2026-09-27 is one day late); X5 ✗ → 2/3 = 66.67.
    "R3.12m": ("66.67", 5, [("100.00", "100.00"), ("100.00", "100.00"), ("0.00", "66.67")]),
    # R4: A1 (RP1), A2 (RP2) → 2. n = parties {clu-de, clu-es, clu-pl, sme-pl} = 4.
    "R4": ("2", 4, [("1", "1"), ("1", "2"), ("0", "2")]),
    # R5: the draft (06-01) and the adopted action plan (09-01) do not count; MS1 adopted
    #     2025-12-15 does: no at the end of RP1, yes from RP2. n = recording partner {clu-de}.
    "R5": ("1", 1, [("0", "0"), ("1", "1"), ("1", "1")]),
    # R6: clu-pl 2025-07-15 (RP2), clu-es 2026-01-20 (RP3).
    "R6": ("2", 2, [("0", "0"), ("1", "1"), ("1", "2")]),
    # R7: baselines (latest award before 2025-01-01): clu-de bronze, clu-pl silver, clu-es none.
    #     End RP1: nobody above baseline → 0. End RP2: clu-de silver (11-30) > bronze → 1.
    #     End RP3: + clu-es bronze (2026-03-15) > none → 2; clu-pl silver again = silver → no.
    "R7": ("2", 2, [("0", "0"), ("1", "1"), ("2", "2")]),
    # Impact. Panel = SMEs at baseline with baseline and endline in PANEL: sme-de, sme-es, sme-pl
    # (sme-pl was medium at its 2025-03-01 baseline, large at endline: it stays). No endline is
    # dated before 2026 → RP1 and RP2 are null with n = 0.
    # I1: sme-de 100·(1 080 000 − 1 000 000)/1 000 000 = 8; sme-es 100·(3 800 000 − 4 000 000)/
    #     4 000 000 = −5; sme-pl 100·(23 000 000 − 20 000 000)/20 000 000 = 15 → median of
    #     [−5, 8, 15] = 8.00. (With sme-de's first baseline, 900 000, it would be 20 → median 15.)
    "I1": ("8.00", 3, [(None, None), (None, None), ("8.00", "8.00")]),
    # I2: Σ endline FTE 10 + 29.5 + 240 = 279.5 − Σ baseline 8 + 30 + 200 = 238 → 41.50
    #     (sme-de's first baseline said 7 FTE: that would give 42.50).
    "I2": ("41.50", 3, [(None, None), (None, None), ("41.50", "41.50")]),
    # I3: sme-de AT → AT, CH (new CH) ✓; sme-es FR → FR ✗; sme-pl DE, CZ → DE ✗ → 1/3 = 33.33.
    "I3": ("33.33", 3, [(None, None), (None, None), ("33.33", "33.33")]),
    # I4: sme-de new_products 2 ✓; sme-es process ✓; sme-pl ✗ → 2/3 = 66.67.
    "I4": ("66.67", 3, [(None, None), (None, None), ("66.67", "66.67")]),
    # I5: sme-de digital 40 → 55 ✓; sme-es 60 → 60 but circular_economy is new ✓;
    #     sme-pl 70 → 70, renewable_energy kept ✗ → 2/3 = 66.67.
    "I5": ("66.67", 3, [(None, None), (None, None), ("66.67", "66.67")]),
    # I6.gross: 50 000 + 120 000 + 1 000 000 = 1 170 000.00.
    "I6.gross": ("1170000.00", 3, [(None, None), (None, None), ("1170000.00", "1170000.00")]),
    # I6.attributed: 50 000·0.5 + 120 000·0.25 + 1 000 000·0.1 = 25 000 + 30 000 + 100 000.
    "I6.attributed": ("155000.00", 3, [(None, None), (None, None), ("155000.00", "155000.00")]),
}


@pytest.mark.parametrize("figure_id", list(EXPECTED))
def test_every_figure_matches_the_hand_computed_total_n_and_periods(
    table: ProjectIndicators, figure_id: str
) -> None:
    total, n, periods = EXPECTED[figure_id]
    result = table.figure(figure_id)
    assert (text(result.total.value), result.total.n) == (total, n)
    assert per_period(result) == periods


def test_the_scenario_covers_every_figure_of_the_catalog(table: ProjectIndicators) -> None:
    assert [f.figure_id for f in table.figures] == list(EXPECTED)
    assert [p.period_id for p in table.periods] == ["RP1", "RP2", "RP3"]
    assert (table.as_of_position, str(table.as_of_date)) == (97, "2026-09-28")


def test_percentages_carry_their_numerator_and_denominator(table: ProjectIndicators) -> None:
    def fraction(figure_id: str) -> tuple[str | None, str | None]:
        total = table.figure(figure_id).total
        return text(total.numerator), text(total.denominator)

    # R1 4/6, R2 3/5, R3 1/3 and 2/3, I3 1/3, I4 2/3, I5 2/3 (see EXPECTED).
    assert [fraction(f) for f in ("R1", "R2", "R3.6m", "R3.12m", "I3", "I4", "I5")] == [
        ("4", "6"),
        ("3", "5"),
        ("1", "3"),
        ("2", "3"),
        ("1", "3"),
        ("2", "3"),
        ("2", "3"),
    ]


def test_r5_is_yes_since_the_adoption_day(table: ProjectIndicators) -> None:
    assert str(table.figure("R5").total.since) == "2025-12-15"


def test_the_panel_and_its_response_rate(table: ProjectIndicators) -> None:
    # Baseline respondents sme-de, sme-es, sme-pl, sme-it = 4; panel 3 → 3/4 = 75.00%.
    panel = table.panel
    assert (panel.baseline_respondents, panel.panel_size) == (4, 3)
    assert (text(panel.response_rate.value), panel.response_rate.n) == ("75.00", 3)
    assert table.figure("I6.gross").self_reported and table.figure("I6.attributed").self_reported


def test_training_cells_take_the_venue_and_the_delivering_partner(table: ProjectIndicators) -> None:
    o1 = table.figure("O1")
    # Venues: S1 DE; S2, S5 ES; S3 PL. Delivering partners clu-de (S1), clu-es (S2, S5), clu-pl (S3).
    assert cells(o1, "country") == {"DE": "1", "ES": "2", "PL": "1"}
    assert cells(o1, "region_category") == {"less_developed": "1", "more_developed": "1", "transition": "2"}
    assert cells(o1, "topic") == {"digital": "1", "governance": "1", "green": "1", "strategy": "1"}
    # O2 by the attendee's gender: F p1 8 + p4 8 + 5 = 21; M p2 7 + 4 + 2, p6 0, p7 6 = 19;
    # X p3 4 + 6 = 10; undisclosed p5 3.5 + 2 = 5.5 (21 + 19 + 10 + 5.5 = 55.5).
    assert cells(table.figure("O2"), "gender") == {
        "F": "21.00",
        "M": "19.00",
        "X": "10.00",
        "undisclosed": "5.50",
    }
    # R2 by respondent: F (p1 ✓, p4 ✗) 50.00; undisclosed (p5 ✓) 100.00; M (p7 ✓) 100.00;
    # unknown (the anonymous F4 ✗) 0.00.
    assert cells(table.figure("R2"), "gender") == {
        "F": "50.00",
        "M": "100.00",
        "undisclosed": "100.00",
        "unknown": "0.00",
    }


def test_person_cells_take_the_persons_attributes(table: ProjectIndicators) -> None:
    o3 = table.figure("O3")
    # p1 F clu-de (DE), p2 M clu-es (ES), p3 X clu-pl (PL): one cell each.
    assert cells(o3, "gender") == {"F": "1", "M": "1", "X": "1"}
    assert cells(o3, "country") == {"DE": "1", "ES": "1", "PL": "1"}
    assert cells(o3, "org") == {"clu-de": "1", "clu-es": "1", "clu-pl": "1"}


def test_coaching_cells_take_the_coachee(table: ProjectIndicators) -> None:
    o4 = table.figure("O4")
    # sme-de 3.5 + 2; clu-pl 4; sme-pl 1.5 — large on 2025-11-10.
    assert cells(o4, "coachee_org") == {"clu-pl": "4.00", "sme-de": "5.50", "sme-pl": "1.50"}
    assert cells(o4, "size_class") == {"large": "1.50", "micro": "5.50", "n/a": "4.00"}


def test_exchange_cells_take_the_visitor_and_the_host_country(table: ProjectIndicators) -> None:
    o5 = table.figure("O5")
    # VOs: sme-es (ES, SME, small), clu-pl (PL, cluster_org), clu-de (DE, cluster_org);
    # HOs: clu-de (DE), big-fr (FR), sme-pl (PL); modes physical, virtual, physical.
    assert cells(o5, "country") == {"DE": "1", "ES": "1", "PL": "1"}
    assert cells(o5, "vo_type") == {"SME": "1", "cluster_org": "2"}
    assert cells(o5, "ho_country") == {"DE": "1", "FR": "1", "PL": "1"}
    assert cells(o5, "mode") == {"physical": "2", "virtual": "1"}
    assert cells(o5, "size_class") == {"n/a": "2", "small": "1"}
    # R1 by side: VO 3 ✗, 2 ✗, 5 ✓ → 33.33; HO 4, 4, 4 ✓ → 100.00.
    assert cells(table.figure("R1"), "role_vo_ho") == {"HO": "100.00", "VO": "33.33"}
    # O11 by the payment's reduced flag: X2 390 (reduced); X1 780 + X5 780 = 1560.
    assert cells(table.figure("O11.sum"), "reduced") == {"no": "1560.00", "yes": "390.00"}
    assert cells(table.figure("O11.mean"), "reduced") == {"no": "780.00", "yes": "390.00"}


def test_o6_role_cells_overlap_and_o6_o7_cells_take_the_organisations_own_attributes(
    table: ProjectIndicators,
) -> None:
    o6 = table.figure("O6")
    # VO {sme-es, clu-pl, clu-de} 3 + HO {clu-de, big-fr, sme-pl} 3 = 6 > 5: clu-de is in both.
    assert cells(o6, "role_vo_ho") == {"HO": "3", "VO": "3"}
    assert cells(o6, "org_type") == {"SME": "2", "cluster_org": "2", "large": "1"}
    o7 = table.figure("O7")
    # Class at the first counted activity: sme-de micro (C1), sme-es small (S5), sme-pl medium
    # (S3, before it became large).
    assert cells(o7, "size_class") == {"medium": "1", "micro": "1", "small": "1"}
    # training {sme-de, sme-es, sme-pl}; exchange {sme-es}; coaching {sme-de}; B2B {sme-es, sme-de}.
    assert cells(o7, "activity_type") == {"B2B": "2", "coaching": "1", "exchange": "1", "training": "3"}


def test_r3_follow_up_type_cells_share_the_denominator(table: ProjectIndicators) -> None:
    # 12 months: MoU (X1), joint_project_proposal (X1), tech_transfer (X2), each 1 of the 3.
    assert cells(table.figure("R3.12m"), "follow_up_type") == {
        "MoU": "33.33",
        "joint_project_proposal": "33.33",
        "tech_transfer": "33.33",
    }
    assert cells(table.figure("R3.6m"), "follow_up_type") == {"MoU": "33.33"}


def test_outcome_cells(table: ProjectIndicators) -> None:
    # A2's type was corrected from cooperation_agreement; A1 spans DE and ES, A2 only PL.
    assert cells(table.figure("R4"), "agreement_type") == {"MoU": "1", "consortium_agreement": "1"}
    assert cells(table.figure("R4"), "cross_border") == {"no": "1", "yes": "1"}
    assert cells(table.figure("R7"), "level") == {"bronze": "1", "silver": "1"}
    assert cells(table.figure("R6"), "service_area") == {"digitalisation": "1", "internationalisation": "1"}


def test_impact_cells_take_the_attributes_at_the_baseline_interview(table: ProjectIndicators) -> None:
    # sme-de micro (+2 FTE), sme-es small (−0.5), sme-pl medium at its baseline (+40).
    assert cells(table.figure("I2"), "size_class") == {"medium": "40.00", "micro": "2.00", "small": "-0.50"}
    # product: sme-de 1/3; process: sme-es 1/3.
    assert cells(table.figure("I4"), "innovation_type") == {"process": "33.33", "product": "33.33"}
    assert cells(table.figure("I5"), "transition_strand") == {"digital": "33.33", "green": "33.33"}


def test_targets_progress_and_status_at_the_end(table: ProjectIndicators) -> None:
    o1 = table.figure("O1")
    assert o1.target is not None and o1.points[0].target is not None
    # LoP: 100·(4 − 0)/(10 − 0) = 40.00; the window has fully elapsed → 40 < 60 → off_track.
    assert (text(o1.target.progress), text(o1.target.expected), o1.target.status) == (
        "40.00",
        "100.00",
        "off_track",
    )
    # RP1: the revised target 4 is in force; cumulative RP1 = 2 → 50.00 → off_track.
    rp1 = o1.points[0].target
    assert (text(rp1.target), text(rp1.actual), text(rp1.progress), rp1.status) == (
        "4",
        "2",
        "50.00",
        "off_track",
    )
    # O2 RP2 incremental 30: RP2's own 28.50 → 100·28.5/30 = 95.00 ≥ 90 → on_track.
    o2 = table.figure("O2").points[1].target
    assert o2 is not None
    assert (text(o2.actual), text(o2.progress), o2.status) == ("28.50", "95.00", "on_track")
    # R2 LoP 80 from baseline 70, actual 60: 100·(60 − 70)/(80 − 70) = −100.00.
    r2 = table.figure("R2").target
    assert r2 is not None
    assert (text(r2.baseline), text(r2.progress), r2.status) == ("70", "-100.00", "off_track")
    # O3 LoP 6: 3 → 50.00; the gender=F cell (p1 only) against 3 → 33.33.
    o3 = table.figure("O3")
    assert o3.target is not None and text(o3.target.progress) == "50.00"
    female = next(c for b in o3.breakdowns if b.by == "gender" for c in b.cells if c.category == "F")
    assert female.target is not None
    assert (female.target.disaggregation_key, text(female.target.progress)) == ("gender=F", "33.33")


def test_targets_as_of_before_the_rp1_revision(log: ProjectLog) -> None:
    early = evaluate_all(log.entries, as_of=BEFORE_RP1_TARGET_REVISION)
    # As of 2025-06-28: S1 and S2 (still dated 05-20) are O1's; S5 is not known yet.
    o1 = early.figure("O1")
    assert text(o1.total.value) == "2"
    rp1, lop = o1.points[0].target, o1.target
    assert rp1 is not None and lop is not None
    # RP1 target 3 (not yet revised): 100·2/3 = 66.67; elapsed 179 of RP1's 181 days (from the
    # project start, the target being cumulative) = 98.90%; 66.67 < 0.9·98.90 but ≥ 0.6·98.90.
    assert (text(rp1.target), text(rp1.progress), text(rp1.expected), rp1.status) == (
        "3",
        "66.67",
        "98.90",
        "at_risk",
    )
    # LoP: 100·2/10 = 20.00; 179 of 546 days = 32.78%; 20 ≥ 0.6·32.78 = 19.67 → at_risk.
    assert (text(lop.progress), text(lop.expected), lop.status) == ("20.00", "32.78", "at_risk")


def test_a_late_entry_changes_an_earlier_periods_figure(log: ProjectLog) -> None:
    before = evaluate_all(log.entries, as_of=BEFORE_LATE_ENTRY)
    after = evaluate_all(log.entries, as_of=BEFORE_LATE_ENTRY + 1)
    # S5 (2 h + 2 h, dated 2025-04-08) lands in RP1, recorded in RP2's time.
    assert text(before.figure("O1").points[0].value.value) == "1"
    assert text(after.figure("O1").points[0].value.value) == "2"
    assert text(before.figure("O2").points[0].value.value) == "23.00"
    assert text(after.figure("O2").points[0].value.value) == "27.00"


def test_the_retraction_recounts_o3_and_voids_the_feedback(log: ProjectLog) -> None:
    before = evaluate_all(log.entries, as_of=BEFORE_RETRACTION)
    # With S4 live: p8 is a trained manager (4 persons), and F5 (5, by p8) is a satisfied response:
    # R2 = (3 + 1)/(5 + 1) = 66.67 with the feedback recorded up to then.
    assert text(before.figure("O3").total.value) == "4"
    assert text(before.figure("R2").total.value) == "66.67"
    assert text(before.figure("O1").total.value) == "5"


def test_quarter_series_bucket_by_occurred_on_and_exchange_completion(log: ProjectLog) -> None:
    o1 = kpi_series(log.entries, "O1", period="quarter")
    # 2025-Q1 S1; Q2 S5; Q3 S2 (07-02), S3; then nothing up to 2026-Q3 (the last follow-up's quarter).
    assert [(p.period.period_id, text(p.value.value)) for p in o1.figure.points] == [
        ("2025-Q1", "1"),
        ("2025-Q2", "1"),
        ("2025-Q3", "2"),
        ("2025-Q4", "0"),
        ("2026-Q1", "0"),
        ("2026-Q2", "0"),
        ("2026-Q3", "0"),
    ]
    o11 = kpi_series(log.entries, "O11.sum", period="quarter")
    # X2's 390 was paid on 2025-10-06 but counts with its completion (2025-09-26) in Q3.
    assert [text(p.value.value) for p in o11.figure.points][:4] == ["0.00", "780.00", "390.00", "0.00"]


def test_a_series_split_by_gender_recounts_each_cell(log: ProjectLog) -> None:
    series = kpi_series(log.entries, "O3", by="gender")
    rp2 = series.figure.points[1]
    # RP2's own: p2 (M), p3 (X); cumulative adds p1 (F) from RP1; F has nothing in RP2 itself.
    assert {c.category: text(c.figure.value) for c in rp2.cells if c.figure} == {"F": "0", "M": "1", "X": "1"}
    assert {c.category: text(c.figure.value) for c in rp2.cumulative_cells if c.figure} == {
        "F": "1",
        "M": "1",
        "X": "1",
    }
    assert text(series.figure.total.value) == "3"


def test_the_result_is_the_same_bytes_every_time(log: ProjectLog, table: ProjectIndicators) -> None:
    again = evaluate_all(list(reversed(log.entries)))  # read order does not matter, positions do
    assert canonical_json(again) == canonical_json(table)
