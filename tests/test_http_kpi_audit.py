"""An outside examiner's audit of the KPI figures, through the HTTP API only.

Every scenario is its own small project: staff post raw wire events (the catalog's field names as
DOMAIN.md (a)/(e) spell them), then a funder and an auditor read the figures. Every expected value
is a literal computed by hand from DOMAIN.md section (f), with the arithmetic in a comment; nothing
here is derived from the engine's code.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.conftest import Database, bearer

Json = dict[str, Any]

PARTNERSHIP = "CXC-AUDIT"

NUTS = {
    "AT": ("AT13", "more_developed"),
    "PL": ("PL22", "less_developed"),
    "ES": ("ES51", "more_developed"),
    "DE": ("DE21", "more_developed"),
    "FR": ("FR10", "more_developed"),
    "IT": ("ITC4", "more_developed"),
    "CZ": ("CZ01", "more_developed"),
}


class Project:
    """One project with staff, funder and auditor tokens."""

    def __init__(self, service: httpx.AsyncClient, project_id: str) -> None:
        self.service = service
        self.id = project_id
        self.base = f"/api/v1/projects/{project_id}"
        self.staff: dict[str, str] = {}
        self.funder: dict[str, str] = {}
        self.auditor: dict[str, str] = {}

    async def post(self, *events: Json) -> list[Json]:
        """Post events as staff (one transaction); they must be recorded."""
        answer = await self.service.post(f"{self.base}/events", json=list(events), headers=self.staff)
        assert answer.status_code == 201, answer.text
        recorded: list[Json] = answer.json()["events"]
        return recorded

    async def refused(self, event: Json) -> httpx.Response:
        answer = await self.service.post(f"{self.base}/events", json=event, headers=self.staff)
        return answer

    async def figures(self, who: dict[str, str] | None = None, **params: Any) -> dict[str, Json]:
        answer = await self.service.get(f"{self.base}/indicators", params=params, headers=who or self.auditor)
        assert answer.status_code == 200, answer.text
        return {f["figure_id"]: f for f in answer.json()["indicators"]["figures"]}

    async def series(self, kpi: str, who: dict[str, str] | None = None, **params: Any) -> Json:
        answer = await self.service.get(
            f"{self.base}/indicators/{kpi}/series", params=params, headers=who or self.auditor
        )
        assert answer.status_code == 200, answer.text
        figure: Json = answer.json()["figure"]
        return figure


async def new_project(
    service: httpx.AsyncClient,
    db: Database,
    project_id: str,
    partners: tuple[str, ...] = ("clu-at", "clu-pl", "clu-es"),
    start: str = "2025-01-01",
    end: str = "2026-12-31",
    periods: list[Json] | None = None,
) -> Project:
    project = Project(service, project_id)
    registration = {
        "grant_no": "101000001",
        "call_id": "SMP-COSME-2024-CLUSTER",
        "start_date": start,
        "end_date": end,
        "reporting_periods": periods
        or [
            {"period_id": "RP1", "start": "2025-01-01", "end": "2025-12-31", "kind": "interim"},
            {"period_id": "RP2", "start": "2026-01-01", "end": "2026-12-31", "kind": "final"},
        ],
        "partnership_id": PARTNERSHIP,
        "partners": list(partners),
    }
    admin = await bearer(db, "admin")
    created = await service.post(
        "/api/v1/projects", json={"project_id": project_id, "data": registration}, headers=admin
    )
    assert created.status_code == 201, created.text
    project.staff = await bearer(db, "staff", project_id, name=f"staff-{project_id}")
    project.funder = await bearer(db, "funder", project_id, name=f"funder-{project_id}")
    project.auditor = await bearer(db, "auditor", project_id, name=f"auditor-{project_id}")
    return project


# ---- raw wire events, field names as DOMAIN.md (a)/(e) spell them ---------------------------------


def event(kind: str, on: str, data: Json, partner: str = "clu-at") -> Json:
    return {"type": kind, "occurred_on": on, "partner_org_id": partner, "data": data}


def org(
    org_id: str, country: str, org_type: str = "cluster_org", size: str = "n/a", on: str = "2025-01-10"
) -> Json:
    nuts2, region = NUTS[country]
    return event(
        "OrganisationRegistered",
        on,
        {
            "org_id": org_id,
            "name": f"Organisation {org_id}",
            "org_type": org_type,
            "country": country,
            "nuts2": nuts2,
            "region_category": region,
            "nace": "C25.62",
            "ecosystem": "electronics",
            "eccp_profile_id": None,
            "cluster_member_of": [],
            "size_class": size,
            "headcount": 12,
            "turnover_band": "2m_to_10m",
        },
    )


def partner_orgs() -> list[Json]:
    return [org("clu-at", "AT"), org("clu-pl", "PL"), org("clu-es", "ES")]


def person(pid: str, org_id: str, role: str = "cluster_staff", gender: str = "F") -> Json:
    return event(
        "ParticipantRegistered",
        "2025-01-12",
        {"participant_id": pid, "org_id": org_id, "role": role, "gender": gender},
    )


def training(
    session_id: str,
    dates: list[str],
    attendees: list[tuple[str, str, Any]],
    duration: str = "8",
    topic: str = "digital",
    country: str = "AT",
    partner: str = "clu-at",
) -> Json:
    return event(
        "TrainingDelivered",
        dates[0],
        {
            "session_id": session_id,
            "dates": dates,
            "topic": topic,
            "format": "onsite",
            "duration_hours": duration,
            "country": country,
            "trainers": [],
            "attendees": [{"participant_id": p, "org_id": o, "attended_hours": h} for p, o, h in attendees],
        },
        partner,
    )


def feedback(activity_id: str, on: str, satisfaction: int, respondent: str | None = None) -> Json:
    return event(
        "FeedbackCollected",
        on,
        {
            "activity_id": activity_id,
            "respondent_id": respondent,
            "satisfaction": satisfaction,
            "knowledge_gain": 3,
            "recommend": satisfaction >= 4,
        },
    )


def retraction(target_event_id: str, on: str, reason: str = "recorded in error") -> Json:
    return event(
        "ActivityRetracted",
        on,
        {"target_event_id": target_event_id, "reason": reason, "approved_by": "coordinator"},
    )


def correction(target_event_id: str, on: str, changes: Json) -> Json:
    return event(
        "CorrectionRecorded",
        on,
        {
            "target_event_id": target_event_id,
            "field_changes": changes,
            "reason": "attendance list re-checked",
            "approved_by": "coordinator",
        },
    )


def exchange(
    xid: str,
    vo: str,
    ho: str,
    vop: str = PARTNERSHIP,
    hop: str = "CXC-HOST",
    on: str = "2025-02-01",
    partner: str = "clu-at",
) -> Json:
    return event(
        "ExchangeRegistered",
        on,
        {
            "exchange_id": xid,
            "vo_org_id": vo,
            "ho_org_id": ho,
            "vop_id": vop,
            "hop_id": hop,
            "objectives": ["learn"],
            "activity_types": ["study_visit"],
        },
        partner,
    )


def completed(
    xid: str, start: str, end: str, mode: str = "physical", partner: str = "clu-at", days: int = 5
) -> Json:
    return event(
        "ExchangeCompleted",
        end,
        {
            "exchange_id": xid,
            "actual_start": start,
            "actual_end": end,
            "working_days": days,
            "mode": mode,
            "distance_km": 900,
        },
        partner,
    )


def closing_report(xid: str, on: str, vo: int, ho: int) -> Json:
    return event(
        "ExchangeClosingReportSubmitted",
        on,
        {
            "exchange_id": xid,
            "satisfaction_vo": vo,
            "satisfaction_ho": ho,
            "objectives_met": "fully",
            "follow_up_planned": [],
        },
    )


def lump_sum(xid: str, on: str, amount: str, reduced: bool = False) -> Json:
    return event(
        "LumpSumPaid", on, {"exchange_id": xid, "amount_eur": amount, "paid_on": on, "reduced": reduced}
    )


def cancelled(xid: str, on: str) -> Json:
    return event("ExchangeCancelled", on, {"exchange_id": xid, "reason": "visitor withdrew"})


def follow_up(source: str, on: str, orgs: list[str], kind: str = "joint_project_proposal") -> Json:
    return event(
        "FollowUpCooperationRecorded",
        on,
        {"source_activity_id": source, "type": kind, "org_ids": orgs, "date": on},
    )


def agreement(aid: str, on: str, parties: list[str], kind: str = "MoU") -> Json:
    return event(
        "PartnershipAgreementSigned",
        on,
        {
            "agreement_id": aid,
            "type": kind,
            "parties": parties,
            "scope": "joint services",
            "signed_on": on,
            "doc_hash": "3b64b713ee889b210be87e60384c100d1108a186d9cb118a51b0b2a96a908ec4",
        },
    )


def outreach(
    oid: str,
    on: str,
    kind: str,
    attendees: int,
    orgs: list[str],
    b2b: int = 0,
    country: str = "AT",
    countries: list[str] | None = None,
) -> Json:
    return event(
        "OutreachEventHeld",
        on,
        {
            "outreach_id": oid,
            "event_type": kind,
            "attendees": attendees,
            "orgs_reached": orgs,
            "sme_count": 0,
            "countries": countries or [country],
            "country": country,
            "b2b_meetings": b2b,
        },
    )


# ---- reading figures ----------------------------------------------------------------------------


def point(figure: Json, period_id: str) -> Json:
    found: Json = next(p for p in figure["points"] if p["period"]["period_id"] == period_id)
    return found


def value(figure_value: Json | None) -> Any:
    assert figure_value is not None
    return figure_value["value"]


def cells(cell_list: list[Json]) -> dict[str, Json]:
    return {c["category"]: c for c in cell_list}


def breakdown(figure: Json, by: str) -> dict[str, Json]:
    found = next(b for b in figure["breakdowns"] if b["by"] == by)
    return cells(found["cells"])


def cell_value(cell: Json) -> Any:
    return None if cell["figure"] is None else cell["figure"]["value"]


def event_id(recorded: list[Json], index: int = 0) -> str:
    return str(recorded[index]["event_id"])


def position(recorded: list[Json]) -> int:
    return int(recorded[-1]["position"])


# ---- O1 / O2 / O3 / R2: a session recorded twice, one record retracted ---------------------------


async def test_o1_session_recorded_twice_then_one_record_retracted(
    service: httpx.AsyncClient, db: Database
) -> None:
    p = await new_project(service, db, "audit-o1")
    await p.post(
        *partner_orgs(),
        org("sme-1", "PL", "SME", "small"),
        person("p-1", "clu-at", "cluster_staff"),
        person("p-2", "sme-1", "SME_staff", "M"),
        person("p-3", "clu-pl", "cluster_manager", "M"),
    )
    first = await p.post(training("TRN-1", ["2025-03-04"], [("p-1", "clu-at", "6"), ("p-2", "sme-1", "4")]))
    # The same session recorded a second time by another partner, with another attendee list.
    second = await p.post(
        training(
            "TRN-1",
            ["2025-03-04"],
            [("p-1", "clu-at", "6"), ("p-3", "clu-pl", "2")],
            partner="clu-pl",
        )
    )
    await p.post(feedback("TRN-1", "2025-03-05", 5), feedback("TRN-1", "2025-03-05", 3))
    twice = await p.figures()
    # "a session recorded twice is fixed by retracting one record, not de-duplicated by the engine"
    assert value(twice["O1"]["total"]) == "2"
    assert value(twice["O2"]["total"]) == "18.00"  # 6 + 4 + 6 + 2
    assert value(twice["O3"]["total"]) == "2"  # p-1 (staff), p-3 (manager); p-2 is SME_staff

    retracted = await p.post(retraction(event_id(second), "2025-03-10", "recorded twice"))
    after = await p.figures()
    assert value(after["O1"]["total"]) == "1"
    assert value(after["O2"]["total"]) == "10.00"  # 6 + 4
    assert value(after["O3"]["total"]) == "1"  # distinct recomputed: p-3 only attended the retracted record
    # The feedback names TRN-1, which another live record still carries: it stays. 1 of 2 ≥ 4.
    r2 = after["R2"]["total"]
    assert (r2["numerator"], r2["denominator"], r2["value"]) == ("1", "2", "50.00")

    # A view as of the position before the retraction still includes the retracted record.
    before = await p.figures(as_of=position(retracted) - 1)
    assert value(before["O1"]["total"]) == "2" and value(before["O3"]["total"]) == "2"
    # And the retracted record can still not be retracted twice ("a retraction cannot itself be
    # retracted"): retracting the retraction is refused.
    again = await p.refused(retraction(event_id(retracted), "2025-03-11"))
    assert again.status_code == 422, again.text
    # "a new event that references only the retracted activity is refused" — its correction too
    fix = await p.refused(correction(event_id(second), "2025-03-12", {"duration_hours": "7"}))
    assert fix.status_code == 422, fix.text
    assert event_id(first) != event_id(second)


# ---- O2 fractional hours, O3 roles and "trained", O3 distinct per period vs cumulative -----------


async def test_o2_fractional_hours_and_o3_distinct_per_period_and_cumulative(
    service: httpx.AsyncClient, db: Database
) -> None:
    p = await new_project(service, db, "audit-o2")
    await p.post(
        *partner_orgs(),
        org("sme-1", "PL", "SME", "small"),
        person("p-1", "clu-at", "cluster_staff"),
        person("p-2", "sme-1", "SME_staff", "M"),
        person("p-3", "clu-pl", "cluster_manager", "M"),
        person("p-4", "sme-1", "cluster_staff", "X"),  # staff role at an SME: still counts for O3
        person("p-5", "clu-es", "other", "F"),
    )
    await p.post(
        training(
            "TRN-A",
            ["2025-03-04", "2025-03-05"],
            [
                ("p-1", "clu-at", "7.5"),
                ("p-2", "sme-1", "2.25"),
                ("p-3", "clu-pl", "0"),
                ("p-5", "clu-es", 1),
            ],
        ),
        training("TRN-B", ["2025-05-06"], [("p-1", "clu-at", "3.75"), ("p-4", "sme-1", "0.5")], duration="4"),
    )
    figures = await p.figures()
    # O2 = 7.5 + 2.25 + 0 + 1 + 3.75 + 0.5 = 15.00 (every attendee, whatever the role)
    assert value(figures["O2"]["total"]) == "15.00"
    # O3: cluster_manager/cluster_staff with attended_hours > 0: p-1, p-4 (p-3 attended 0 h,
    # p-2 is SME_staff, p-5 is "other") = 2
    assert value(figures["O3"]["total"]) == "2"
    # O1 counts sessions, one per session_id however many dates: 2
    assert value(figures["O1"]["total"]) == "2"

    o3 = await p.series("O3", period="quarter")
    # Q1: {p-1} = 1; Q2: {p-1, p-4} = 2; cumulative to end Q2: {p-1, p-4} = 2 (not 1 + 2 = 3)
    assert value(point(o3, "2025-Q1")["value"]) == "1"
    assert value(point(o3, "2025-Q2")["value"]) == "2"
    assert value(point(o3, "2025-Q2")["cumulative"]) == "2"
    assert value(point(o3, "2025-Q3")["value"]) == "0"
    assert value(point(o3, "2025-Q3")["cumulative"]) == "2"
    o2 = await p.series("O2", period="quarter")
    assert value(point(o2, "2025-Q1")["value"]) == "10.75"  # 7.5 + 2.25 + 0 + 1
    assert value(point(o2, "2025-Q2")["value"]) == "4.25"  # 3.75 + 0.5
    assert value(point(o2, "2025-Q2")["cumulative"]) == "15.00"

    # "attended_hours must lie between 0 and duration_hours": 4.5 h in a 4 h session is refused.
    over = await p.refused(training("TRN-C", ["2025-06-02"], [("p-1", "clu-at", "4.5")], duration="4"))
    assert over.status_code == 422, over.text


# ---- Exchanges: the VOP rule, cancellations, O5 / O6 / O7 / O8 / O11 / R1 -----------------------


async def test_exchanges_vop_rule_cancelled_and_o5_o6_o8_o11_r1(
    service: httpx.AsyncClient, db: Database
) -> None:
    p = await new_project(service, db, "audit-x")
    await p.post(
        *partner_orgs(),
        org("sme-pl", "PL", "SME", "small"),
        org("big-fr", "FR", "large", "large"),
        org("sme-de", "DE", "SME", "micro"),
        org("sme-it", "IT", "SME", "small"),
        org("sme-cz", "CZ", "SME", "small"),
    )
    recorded = await p.post(
        # X1 counted: registered by clu-pl, completed by clu-at; sme-pl visits clu-at.
        exchange("X1", "sme-pl", "clu-at", partner="clu-pl"),
        completed("X1", "2025-05-12", "2025-05-16", partner="clu-at"),
        closing_report("X1", "2025-05-20", vo=5, ho=3),
        lump_sum("X1", "2025-05-28", "780.00"),
        lump_sum("X1", "2025-06-10", "100.00"),
        # X2 counted: clu-at visits a large French company (virtual).
        exchange("X2", "clu-at", "big-fr"),
        completed("X2", "2025-07-14", "2025-07-18", mode="virtual"),
        closing_report("X2", "2025-07-20", vo=4, ho=4),
        closing_report("X2", "2025-07-25", vo=2, ho=4),  # the latest report replaces the first
        lump_sum("X2", "2025-07-30", "390.00", reduced=True),
        # X3 is not ours: our partnership only hosts (hop_id); it never counts.
        exchange("X3", "sme-de", "clu-es", vop="CXC-OTHER", hop=PARTNERSHIP),
        completed("X3", "2025-06-02", "2025-06-06"),
        closing_report("X3", "2025-06-10", vo=5, ho=5),
        lump_sum("X3", "2025-06-20", "1100.00"),
        # X4 ours but cancelled before completion.
        exchange("X4", "sme-it", "clu-es"),
        cancelled("X4", "2025-04-01"),
        # X5 ours, registered but not completed yet.
        exchange("X5", "sme-cz", "clu-pl"),
    )
    # As of X2's registration (before its completion): only X1 is a completed exchange, so
    # O6 {sme-pl, clu-at} = 2, O8 {PL, AT} = 2, O11 = 880 (X2 not paid yet)
    early = await p.figures(as_of=int(recorded[5]["position"]))
    assert [value(early[k]["total"]) for k in ("O5", "O6", "O8", "O11.sum")] == ["1", "2", "2", "880.00"]
    # "cancelling a completed exchange is refused"
    refused = await p.refused(cancelled("X1", "2025-08-01"))
    assert refused.status_code == 422, refused.text

    f = await p.figures()
    assert value(f["O5"]["total"]) == "2"  # X1, X2 (X3 not VOP, X4 cancelled, X5 not completed)
    assert value(f["O6"]["total"]) == "3"  # {sme-pl, clu-at} ∪ {clu-at, big-fr}
    # O6 by role: clu-at visited (X2) and hosted (X1): it is in both cells, 2 + 2 = 4 > 3
    roles = breakdown(f["O6"], next(b["by"] for b in f["O6"]["breakdowns"] if "role" in b["by"]))
    assert {k: cell_value(c) for k, c in roles.items()} == {"VO": "2", "HO": "2"}
    assert value(f["O7"]["total"]) == "1"  # sme-pl; big-fr is large, clu-at a cluster org
    assert value(f["O8"]["total"]) == "3"  # PL, AT, FR (not DE/ES of X3, IT of X4, CZ of X5)
    assert value(f["O11.sum"]["total"]) == "1270.00"  # 780 + 100 + 390 (X3's 1100 not ours)
    assert value(f["O11.mean"]["total"]) == "635.00"  # 1270 / 2 exchanges with a payment
    r1 = f["R1"]["total"]
    # X1: 5, 3; X2 latest report: 2, 4 → responses ≥ 4: 5, 4 → 2 of 4 = 50.00
    assert (r1["numerator"], r1["denominator"], r1["value"]) == ("2", "4", "50.00")

    r1_roles = await p.series("R1", by="role_vo_ho")
    # VO responses: X1 5, X2 2 → 1 of 2; HO responses: X1 3, X2 4 → 1 of 2
    roles_r1 = {
        k: (c["figure"]["numerator"], c["figure"]["denominator"], cell_value(c))
        for k, c in breakdown(r1_roles, "role_vo_ho").items()
    }
    assert roles_r1 == {"VO": ("1", "2", "50.00"), "HO": ("1", "2", "50.00")}
    o5 = await p.series("O5", period="quarter", by="partner")
    # bucketed by ExchangeCompleted.occurred_on (= actual_end): X1 2025-Q2, X2 2025-Q3
    assert value(point(o5, "2025-Q2")["value"]) == "1"
    assert value(point(o5, "2025-Q3")["value"]) == "1"
    # partner = ExchangeRegistered's partner_org_id: X1 clu-pl (completed by clu-at), X2 clu-at
    q2 = {k: cell_value(c) for k, c in cells(point(o5, "2025-Q2")["cells"]).items()}
    assert q2.get("clu-pl") == "1" and q2.get("clu-at") in (None, "0"), q2
    # every exchange figure takes the partner of ExchangeRegistered (X1: clu-pl), even though
    # X1's payments and closing report were recorded by clu-at
    o11 = await p.series("O11.sum", by="partner")
    assert {k: cell_value(c) for k, c in breakdown(o11, "partner").items()} == {
        "clu-pl": "880.00",  # 780 + 100
        "clu-at": "390.00",
    }
    r1_partner = await p.series("R1", by="partner")
    assert {k: cell_value(c) for k, c in breakdown(r1_partner, "partner").items()} == {
        "clu-pl": "50.00",  # X1: 5, 3
        "clu-at": "50.00",  # X2: 2, 4
    }
    by_country = await p.series("O5", by="country")
    # country = the visiting organisation's: X1 PL, X2 AT
    assert {k: cell_value(c) for k, c in breakdown(by_country, "country").items()} == {"PL": "1", "AT": "1"}
    by_ho = await p.series("O5", by="ho_country")
    assert {k: cell_value(c) for k, c in breakdown(by_ho, "ho_country").items()} == {"AT": "1", "FR": "1"}


# ---- O7 (size class in time, large companies, sources) and O4 -----------------------------------


async def test_o7_smes_engaged_with_size_class_changes_and_o4_coaching_hours(
    service: httpx.AsyncClient, db: Database
) -> None:
    p = await new_project(service, db, "audit-o7")
    await p.post(
        *partner_orgs(),
        org("sme-a", "PL", "SME", "small"),
        org("sme-b", "PL", "SME", "medium"),
        org("big-c", "DE", "large", "large"),
        org("clu-x", "DE", "cluster_org", "small"),  # a cluster org never counts, whatever its size
        org("sme-d", "ES", "SME", "large"),  # org_type SME but large when registered
        org("sme-e", "AT", "SME", "micro"),
        org("sme-f", "AT", "SME", "micro"),
        org("sme-g", "AT", "SME", "micro"),
        person("a1", "sme-a", "SME_staff"),
        person("b1", "sme-b", "SME_staff"),
        person("c1", "big-c", "other"),
        person("x1", "clu-x", "cluster_staff"),
        person("d1", "sme-d", "SME_staff"),
    )
    await p.post(
        # sme-b becomes large from 2025-06-01 (reference year 2024: never applied retroactively)
        event(
            "OrganisationSizeClassChanged",
            "2025-06-01",
            {"org_id": "sme-b", "size_class": "large", "reference_year": 2024, "basis": "turnover"},
        ),
        # sme-d becomes medium from 2025-09-01
        event(
            "OrganisationSizeClassChanged",
            "2025-09-01",
            {"org_id": "sme-d", "size_class": "medium", "reference_year": 2024, "basis": "turnover"},
        ),
        training(
            "T1",
            ["2025-03-04"],
            [("a1", "sme-a", "4"), ("b1", "sme-b", "4"), ("c1", "big-c", "4"), ("x1", "clu-x", "4")],
        ),
        outreach("OUT-B2B", "2025-04-10", "B2B", 30, ["sme-e", "big-c"], b2b=5),
        outreach("OUT-CONF", "2025-04-11", "conference", 80, ["sme-f"]),
        training("T2", ["2025-07-01"], [("d1", "sme-d", "2")]),  # sme-d large on that day
        training("T3", ["2025-08-01"], [("b1", "sme-b", "2")]),  # sme-b large on that day
        agreement("AG-1", "2025-08-20", ["clu-at", "sme-g"]),  # agreements do not "engage" SMEs
        event(
            "CoachingSessionHeld",
            "2025-10-01",
            {
                "engagement_id": "CO-1",
                "coach_org_id": "clu-at",
                "coachee_org_id": "sme-d",
                "topic": "strategy",
                "hours": "3.5",
                "mode": "online",
                "output": "action plan",
            },
        ),
        event(
            "CoachingSessionHeld",
            "2025-10-02",
            {
                "engagement_id": "CO-2",
                "coach_org_id": "clu-pl",
                "coachee_org_id": "big-c",
                "topic": "digital",
                "hours": "2",
                "mode": "onsite",
                "output": "roadmap",
            },
        ),
    )
    f = await p.figures()
    # O7 = {sme-a (T1, small), sme-b (T1, medium then), sme-e (B2B), sme-d (coaching, medium then)}
    assert value(f["O7"]["total"]) == "4"
    # O4 = 3.5 + 2 (hours of the session, whatever the coachee's type) = 5.50
    assert value(f["O4"]["total"]) == "5.50"

    o7 = await p.series("O7", period="quarter", by="size_class")
    # Q1 {sme-a, sme-b} = 2; Q2 {sme-e} = 1; Q3: sme-d (T2) and sme-b (T3) were large → 0;
    # Q4 {sme-d} = 1; cumulative at Q4 = 4
    assert [value(point(o7, q)["value"]) for q in ("2025-Q1", "2025-Q2", "2025-Q3", "2025-Q4")] == [
        "2",
        "1",
        "0",
        "1",
    ]
    assert value(point(o7, "2025-Q4")["cumulative"]) == "4"
    # size-class cell = class at the first counted activity: sme-e micro, sme-a small,
    # sme-b medium (T1, before it became large), sme-d medium (coaching, after the change)
    sizes = {k: cell_value(c) for k, c in breakdown(o7, "size_class").items()}
    assert sizes == {"micro": "1", "small": "1", "medium": "2"}, sizes


# ---- O8 countries (exchanges and agreement parties), R4 agreements -------------------------------


async def test_o8_countries_across_exchanges_and_agreements_and_r4(
    service: httpx.AsyncClient, db: Database
) -> None:
    p = await new_project(service, db, "audit-o8")
    await p.post(
        *partner_orgs(),
        org("sme-de", "DE", "SME", "small"),
        org("org-fr", "FR", "RTO/univ"),
        org("sme-pl", "PL", "SME", "small"),
        org("sme-it", "IT", "SME", "small"),
        org("sme-cz", "CZ", "SME", "small"),
    )
    recorded = await p.post(
        exchange("X1", "sme-de", "clu-es"),
        completed("X1", "2025-03-10", "2025-03-14"),
        exchange("X2", "sme-cz", "org-fr", vop="CXC-OTHER"),  # not ours
        completed("X2", "2025-03-10", "2025-03-14"),
        exchange("X3", "sme-it", "clu-at"),  # ours, never completed
        agreement("AG-1", "2025-04-02", ["clu-at", "clu-pl"]),  # cross-border AT-PL
        agreement("AG-2", "2025-04-03", ["clu-at", "org-fr"], kind="cooperation_agreement"),  # retracted
        agreement("AG-3", "2025-05-05", ["clu-pl", "sme-pl"], kind="consortium_agreement"),  # domestic
        follow_up("X1", "2025-06-01", ["sme-de", "clu-es"], kind="MoU"),  # not an R4 agreement
        outreach("OUT-1", "2025-06-10", "fair", 50, [], countries=["IT", "CZ", "FR"]),  # not O8
    )
    await p.post(retraction(event_id(recorded, 6), "2025-04-10", "signed under another project"))
    f = await p.figures()
    # O8 = {DE, ES} (X1) ∪ {AT, PL} (AG-1) ∪ {PL} (AG-3) = 4; FR only via the retracted AG-2,
    # the non-VOP X2 and outreach; IT only via the uncompleted X3 and outreach; CZ likewise
    assert value(f["O8"]["total"]) == "4"
    o8 = await p.series("O8", period="quarter")
    # Q1 {DE, ES}; Q2 {AT, PL} ∪ {PL} = 2; cumulative at Q2 = 4 (never a sum of period values)
    assert value(point(o8, "2025-Q1")["value"]) == "2" and value(point(o8, "2025-Q2")["value"]) == "2"
    assert value(point(o8, "2025-Q2")["cumulative"]) == "4"
    # R4 = AG-1 + AG-3 (any type, domestic or not) = 2; the follow-up MoU is not an agreement
    assert value(f["R4"]["total"]) == "2"
    r4 = await p.series("R4", by="cross_border")
    # cross-border when the parties span two or more countries: AG-1 (AT, PL) yes, AG-3 (PL) no
    assert {k: cell_value(c) for k, c in breakdown(r4, "cross_border").items()} == {"yes": "1", "no": "1"}


# ---- O9 two figures, O10 over every outreach type ------------------------------------------------


async def test_o9_contacts_and_distinct_orgs_and_o10_over_every_event_type(
    service: httpx.AsyncClient, db: Database
) -> None:
    p = await new_project(service, db, "audit-o9")
    await p.post(
        *partner_orgs(),
        org("o-a", "AT", "SME", "small"),
        org("o-b", "PL", "SME", "small"),
        org("o-c", "ES", "public"),
        org("o-d", "DE", "large", "large"),
        org("o-e", "FR", "RTO/univ"),
    )
    recorded = await p.post(
        outreach("OUT-1", "2025-02-10", "conference", 120, ["o-a", "o-b", "o-c"], b2b=0, country="AT"),
        outreach("OUT-2", "2025-04-15", "B2B", 40, ["o-b", "o-c", "o-d"], b2b=25, country="PL"),
        outreach("OUT-3", "2025-05-01", "newsletter", 500, [], b2b=0, country="AT"),
        outreach("OUT-4", "2025-06-20", "fair", 60, ["o-e"], b2b=12, country="ES"),
        outreach("OUT-5", "2025-06-21", "webinar", 30, ["o-a"], b2b=3, country="DE"),
    )
    await p.post(retraction(event_id(recorded, 4), "2025-06-30", "duplicate"))
    f = await p.figures()
    assert value(f["O9.contacts"]["total"]) == "720"  # 120 + 40 + 500 + 60 (OUT-5 retracted)
    assert value(f["O9.orgs"]["total"]) == "5"  # {o-a, o-b, o-c} ∪ {o-b, o-c, o-d} ∪ {o-e}
    assert value(f["O10"]["total"]) == "37"  # 0 + 25 + 0 + 12: the fair's meetings count too
    o10 = await p.series("O10", by="country")
    countries = {k: cell_value(c) for k, c in breakdown(o10, "country").items() if cell_value(c) != "0"}
    assert countries == {"PL": "25", "ES": "12"}
    orgs = await p.series("O9.orgs", period="quarter")
    # Q1 {o-a, o-b, o-c} = 3; Q2 {o-b, o-c, o-d, o-e} = 4; cumulative Q2 = 5 (not 3 + 4 = 7)
    assert value(point(orgs, "2025-Q1")["value"]) == "3"
    assert value(point(orgs, "2025-Q2")["value"]) == "4"
    assert value(point(orgs, "2025-Q2")["cumulative"]) == "5"


# ---- R2: feedback on a retracted session, on an outreach event, rounding, empty denominator -----


async def test_r2_feedback_on_a_retracted_session_and_rounding(
    service: httpx.AsyncClient, db: Database
) -> None:
    p = await new_project(service, db, "audit-r2")
    await p.post(*partner_orgs(), person("p-1", "clu-at"))
    recorded = await p.post(
        training("S1", ["2025-03-28"], [("p-1", "clu-at", "2")], topic="digital"),
        training("S2", ["2025-05-06"], [("p-1", "clu-at", "2")], topic="green"),
        outreach("OUT-1", "2025-05-07", "webinar", 40, []),
    )
    await p.post(
        # S1 was held in Q1; its feedback arrives in Q2 but "takes its session's quarter"
        feedback("S1", "2025-04-02", 5),
        feedback("S1", "2025-04-02", 4),
        feedback("S1", "2025-04-03", 2),
        feedback("S2", "2025-05-06", 5),
        feedback("OUT-1", "2025-05-08", 1),  # not a training: never an R2 response
    )
    before = await p.figures()
    r2 = before["R2"]["total"]
    # S1: 5, 4, 2; S2: 5 → 3 of 4 ≥ 4 = 75.00
    assert (r2["numerator"], r2["denominator"], r2["value"]) == ("3", "4", "75.00")

    retracted = await p.post(retraction(event_id(recorded, 1), "2025-05-20", "never took place"))
    after = await p.figures()
    r2 = after["R2"]["total"]
    # S2's feedback is voided with it: 2 of 3 = 66.666… → half-up to 2 decimals = 66.67
    assert (r2["numerator"], r2["denominator"], r2["value"]) == ("2", "3", "66.67")
    series = await p.series("R2", period="quarter", by="topic")
    q1 = point(series, "2025-Q1")["value"]
    assert (q1["numerator"], q1["denominator"], q1["value"]) == ("2", "3", "66.67")
    q2 = point(series, "2025-Q2")["value"]
    # nothing left in Q2: the denominator is 0, so the value is null (never 0)
    assert (q2["denominator"], q2["value"]) in (("0", None),)
    assert {k: cell_value(c) for k, c in breakdown(series, "topic").items() if c["figure"]["n"]} == {
        "digital": "66.67"
    }
    # each response takes its session's country (the venue, AT here), not the respondent's
    by_country = await p.series("R2", by="country")
    assert {k: cell_value(c) for k, c in breakdown(by_country, "country").items()} == {"AT": "66.67"}
    # "after the retraction, a new event that references only the retracted activity is refused"
    late = await p.refused(feedback("S2", "2025-05-21", 4))
    assert late.status_code == 422, late.text
    # As of before the retraction, the old view stands.
    old = (await p.figures(as_of=position(retracted) - 1))["R2"]["total"]
    assert (old["numerator"], old["denominator"], old["value"]) == ("3", "4", "75.00")


async def test_r2_percentages_round_half_up(service: httpx.AsyncClient, db: Database) -> None:
    p = await new_project(service, db, "audit-half")
    await p.post(*partner_orgs(), person("p-1", "clu-at"))
    await p.post(training("S1", ["2025-03-04"], [("p-1", "clu-at", "2")]))
    # 1 satisfied response of 32: 100·1/32 = 3.125 exactly → half-up 3.13 (half-even would give 3.12)
    await p.post(feedback("S1", "2025-03-05", 5), *[feedback("S1", "2025-03-05", 3) for _ in range(31)])
    r2 = (await p.figures())["R2"]["total"]
    assert (r2["numerator"], r2["denominator"], r2["value"]) == ("1", "32", "3.13")
    # four more satisfied: 5 of 36 = 13.888… → 13.89
    await p.post(*[feedback("S1", "2025-03-06", 4) for _ in range(4)])
    r2 = (await p.figures())["R2"]["total"]
    assert (r2["numerator"], r2["denominator"], r2["value"]) == ("5", "36", "13.89")
    # RP2 has no responses at all: null, not 0
    rp2 = point((await p.figures())["R2"], "RP2")["value"]
    assert rp2["value"] is None and rp2["denominator"] == "0"


# ---- R3: 6- and 12-month windows, boundary days ---------------------------------------------------


async def test_r3_follow_up_windows_with_boundary_days(service: httpx.AsyncClient, db: Database) -> None:
    p = await new_project(service, db, "audit-r3")
    await p.post(
        *partner_orgs(),
        org("sme-1", "PL", "SME", "small"),
        org("sme-2", "DE", "SME", "small"),
    )
    done = await p.post(
        exchange("X1", "sme-1", "clu-at"),
        completed("X1", "2025-03-10", "2025-03-14"),
        exchange("X2", "sme-1", "clu-es"),
        completed("X2", "2025-04-07", "2025-04-11"),
        exchange("X3", "sme-2", "clu-at"),
        completed("X3", "2025-05-12", "2025-05-16"),
        exchange("X4", "sme-2", "clu-es"),
        completed("X4", "2025-06-09", "2025-06-13"),
        exchange("X5", "sme-2", "clu-pl"),
        completed("X5", "2025-06-16", "2025-06-20"),
        exchange("X6", "sme-1", "clu-pl", vop="CXC-OTHER"),  # not ours
        completed("X6", "2025-03-10", "2025-03-14"),
    )
    await p.post(
        follow_up("X1", "2025-09-14", ["sme-1", "clu-at"]),  # = end + 6 months exactly: in both
        follow_up("X2", "2025-10-12", ["sme-1", "clu-es"]),  # end + 6 months + 1 day: 12 m only
        follow_up("X3", "2026-05-16", ["sme-2", "clu-at"]),  # = end + 12 months exactly: 12 m only
        follow_up("X4", "2026-06-14", ["sme-2", "clu-es"]),  # end + 12 months + 1 day: neither
        follow_up("X5", "2025-06-20", ["sme-2", "clu-pl"]),  # on actual_end itself: in both
        follow_up("X6", "2025-04-01", ["sme-1", "clu-pl"]),  # not a counted exchange
    )
    f = await p.figures()
    six, twelve = f["R3.6m"]["total"], f["R3.12m"]["total"]
    # denominator: counted completed exchanges X1..X5 = 5
    assert (six["numerator"], six["denominator"], six["value"]) == ("2", "5", "40.00")  # X1, X5
    # 12 months: X1, X2, X3, X5
    assert (twelve["numerator"], twelve["denominator"], twelve["value"]) == ("4", "5", "80.00")
    # As of the last completion (before any follow-up): 0 of 5 = 0.00, not null
    early = (await p.figures(as_of=position(done)))["R3.12m"]["total"]
    assert (early["numerator"], early["denominator"], early["value"]) == ("0", "5", "0.00")
    # bucketed by the exchange's completion: Q1 X1 (1 of 1), Q2 X2..X5 (X2, X3, X5: 3 of 4)
    series = await p.series("R3.12m", period="quarter")
    q1, q2 = point(series, "2025-Q1")["value"], point(series, "2025-Q2")["value"]
    assert (q1["numerator"], q1["denominator"], q1["value"]) == ("1", "1", "100.00")
    assert (q2["numerator"], q2["denominator"], q2["value"]) == ("3", "4", "75.00")
    # X4 actually ended a day later (2025-06-14): its 12-month window now reaches 2026-06-14,
    # the day of its follow-up → 5 of 5 = 100.00 (occurred_on is corrected with actual_end)
    await p.post(
        correction(event_id(done, 7), "2025-07-01", {"actual_end": "2025-06-14", "occurred_on": "2025-06-14"})
    )
    twelve = (await p.figures())["R3.12m"]["total"]
    assert (twelve["numerator"], twelve["denominator"], twelve["value"]) == ("5", "5", "100.00")


# ---- R5 draft vs adopted; R7 label upgrade vs the baseline label --------------------------------


def milestone(code: str, on: str, kind: str, status: str) -> Json:
    return event(
        "StrategyMilestoneReached",
        on,
        {"milestone_code": code, "kind": kind, "status": status, "evidence": f"https://docs.example/{code}"},
    )


async def test_r5_only_an_adopted_strategy_or_roadmap(service: httpx.AsyncClient, db: Database) -> None:
    p = await new_project(service, db, "audit-r5")
    await p.post(*partner_orgs())
    drafts = await p.post(
        milestone("MS1", "2025-03-01", "joint_strategy", "draft"),
        milestone("MS2", "2025-04-01", "action_plan", "adopted"),
        milestone("MS3", "2025-05-01", "roadmap", "submitted"),
        milestone("D2.1", "2025-05-02", "deliverable", "adopted"),
    )
    assert value((await p.figures())["R5"]["total"]) == "0"  # no adopted strategy/roadmap yet
    await p.post(milestone("MS4", "2025-09-15", "roadmap", "adopted"))
    f = await p.figures()
    assert value(f["R5"]["total"]) == "1" and f["R5"]["total"]["since"] == "2025-09-15"
    series = await p.series("R5", period="quarter")
    # 'yes' from the occurred_on of the first adopted one: not in Q2, yes in Q3
    assert value(point(series, "2025-Q2")["cumulative"]) == "0"
    assert value(point(series, "2025-Q3")["cumulative"]) == "1"
    assert value((await p.figures(as_of=position(drafts)))["R5"]["total"]) == "0"


async def test_r7_label_upgrades_against_the_label_at_project_start(
    service: httpx.AsyncClient, db: Database
) -> None:
    partners = ("clu-at", "clu-pl", "clu-es", "clu-de", "clu-cz")
    p = await new_project(service, db, "audit-r7", partners=partners)
    await p.post(
        *partner_orgs(), org("clu-de", "DE"), org("clu-cz", "CZ"), org("sme-x", "DE", "SME", "small")
    )

    def label(org_id: str, level: str, on: str) -> Json:
        return event(
            "ESCALabelAwarded",
            on,
            {
                "org_id": org_id,
                "level": level,
                "awarded_on": on,
                "valid_until": f"{int(on[:4]) + 2}{on[4:]}",
                "assessor": "ESCA",
            },
        )

    await p.post(
        label("clu-at", "bronze", "2023-05-01"),  # baseline bronze (before the 2025-01-01 start)
        label("clu-at", "silver", "2025-06-01"),  # → silver: upgrade
        label("clu-pl", "silver", "2024-03-01"),  # baseline silver
        label("clu-pl", "bronze", "2025-08-01"),  # latest by awarded_on: bronze < silver
        label("clu-es", "bronze", "2025-10-01"),  # baseline none → bronze: upgrade
        label("clu-de", "gold", "2021-02-01"),  # baseline gold (expired: validity is ignored)
        label("clu-de", "gold", "2025-11-01"),  # gold = gold: no upgrade
        label("sme-x", "bronze", "2025-05-01"),  # not a partner
        # awarded on the start day itself: not "dated before the start", so the baseline is none
        label("clu-cz", "bronze", "2025-01-01"),
    )
    # a late entry: clu-pl gold dated 2025-07-01, recorded last but not its most recent award
    await p.post(label("clu-pl", "gold", "2025-07-01"))
    assert value((await p.figures())["R7"]["total"]) == "3"  # clu-at, clu-es, clu-cz


# ---- Impact panel: I1 median (even count), I2, I3, I4, I5, I6, response rate, empty panel -------


def survey(
    org_id: str,
    wave: str,
    on: str,
    turnover: str,
    fte: str,
    exports: list[str],
    new_products: int = 0,
    process: bool = False,
    digital: int = 50,
    green: list[str] | None = None,
    invest: str = "0",
    attribution: str = "0",
) -> Json:
    return event(
        "SMESurveyResponseRecorded",
        on,
        {
            "survey_id": "PANEL-1",
            "wave": wave,
            "org_id": org_id,
            "ref_year": int(on[:4]) - 1,
            "turnover_eur": turnover,
            "employees_fte": fte,
            "export_turnover_eur": "0",
            "export_countries": exports,
            "new_products": new_products,
            "process_innovation": process,
            "digital_score": digital,
            "green_measures": green or [],
            "investment_raised_eur": invest,
            "attribution_share": attribution,
        },
    )


async def test_impact_panel_median_even_count_and_i2_to_i6(service: httpx.AsyncClient, db: Database) -> None:
    p = await new_project(service, db, "audit-impact")
    await p.post(
        *partner_orgs(),
        *[org(f"s{i}", "PL", "SME", "small") for i in (1, 2, 3, 4, 6)],
        org("s5", "PL", "SME", "micro"),
    )
    B, M, E = "2025-02-03", "2025-11-03", "2026-10-05"  # baseline, midline, endline interviews
    await p.post(
        survey("s1", "baseline", B, "900000", "10", ["DE"], green=["energy_efficiency"]),  # superseded below
        survey("s1", "baseline", B, "1000000", "10", ["DE"], digital=40, green=["energy_efficiency"]),
        survey("s2", "baseline", B, "2000000", "20", ["DE", "CZ"], new_products=3, digital=50),
        survey("s3", "baseline", B, "500000", "5", [], digital=30),
        survey(
            "s4",
            "baseline",
            B,
            "800000",
            "8",
            [],
            process=True,
            digital=60,
            green=["renewable_energy", "energy_efficiency"],
        ),
        survey("s5", "baseline", B, "0", "2", [], digital=10),  # s5 is micro (see below)
        survey("s6", "baseline", B, "3000000", "50", ["FR"], invest="5000"),  # never answers again
        survey("s1", "midline", M, "1050000", "11", ["DE"], invest="30000", attribution="0.5"),
    )
    empty = await p.figures()
    # no endline yet: the panel is empty → every impact KPI null with n = 0
    for kpi in ("I1", "I2", "I3", "I4", "I5", "I6.gross", "I6.attributed"):
        assert empty[kpi]["total"]["value"] is None and empty[kpi]["total"]["n"] == 0, kpi
    await p.post(
        # s5 becomes large before its endline: it was an SME at baseline, so it stays in the panel
        event(
            "OrganisationSizeClassChanged",
            "2026-01-15",
            {"org_id": "s5", "size_class": "large", "reference_year": 2025, "basis": "turnover"},
        ),
        survey(
            "s1",
            "endline",
            E,
            "1100000",
            "12",
            ["DE", "FR"],
            digital=40,
            green=["energy_efficiency"],
            invest="50000",
            attribution="0.5",
        ),
        # s2's endline is recorded twice: the last one counts
        survey("s2", "endline", E, "9999999", "99", ["US"], new_products=5, digital=99, invest="999999"),
        survey(
            "s2",
            "endline",
            E,
            "2100000",
            "19",
            ["CZ"],
            new_products=0,
            digital=55,
            invest="100000",
            attribution="0.2",
        ),
        survey("s3", "endline", E, "400000", "5", [], process=True, digital=20, green=["renewable_energy"]),
        survey(
            "s4",
            "endline",
            E,
            "1000000",
            "10",
            ["IT"],
            process=False,
            digital=60,
            green=["renewable_energy"],
            invest="10000",
            attribution="1",
        ),
        survey("s5", "endline", E, "300000", "3", [], digital=11),
    )
    f = await p.figures()
    # panel = s1..s5 (5), baseline respondents s1..s6 (6) → 5/6 = 83.333… → 83.33
    body = (await service.get(f"{p.base}/indicators", headers=p.auditor)).json()["indicators"]["panel"]
    assert (body["panel_size"], body["baseline_respondents"]) == (5, 6)
    assert body["response_rate"]["value"] == "83.33"
    # I1 over panel SMEs with baseline turnover > 0 (s5 has 0): s1 +10 (1.0M→1.1M, the last
    # baseline counts), s2 +5, s3 −20, s4 +25 → sorted −20, 5, 10, 25 → (5 + 10)/2 = 7.5
    assert value(f["I1"]["total"]) == "7.50" and f["I1"]["total"]["n"] == 4
    # I2 = (12 + 19 + 5 + 10 + 3) − (10 + 20 + 5 + 8 + 2) = 49 − 45 = 4 (s6 excluded)
    assert value(f["I2"]["total"]) == "4.00"
    # I3: new ISO2 at endline: s1 (FR), s4 (IT) → 2 of 5 = 40.00
    i3 = f["I3"]["total"]
    assert (i3["numerator"], i3["denominator"], i3["value"]) == ("2", "5", "40.00")
    # I4 endline new_products > 0 or process_innovation: s3 only (s2's 3 products and s4's
    # process were at baseline) → 1 of 5 = 20.00
    i4 = f["I4"]["total"]
    assert (i4["numerator"], i4["denominator"], i4["value"]) == ("1", "5", "20.00")
    # I5: digital strictly up (s2 50→55, s5 10→11) or a new green measure (s3 renewable_energy); s4 kept
    # 60 and lost one measure; s1 unchanged → 3 of 5 = 60.00
    i5 = f["I5"]["total"]
    assert (i5["numerator"], i5["denominator"], i5["value"]) == ("3", "5", "60.00")
    # I6 gross = Σ endline investment over the panel = 50000 + 100000 + 0 + 10000 + 0 = 160000
    # (not the midline 30000, not s6's 5000); attributed = 25000 + 20000 + 10000 = 55000
    assert value(f["I6.gross"]["total"]) == "160000.00"
    assert value(f["I6.attributed"]["total"]) == "55000.00"
    assert f["I6.gross"]["self_reported"] and f["I6.attributed"]["self_reported"]
    # disaggregated by the SME's attributes at its baseline interview: s5 was micro then (large now)
    # small: (12 + 19 + 5 + 10) − (10 + 20 + 5 + 8) = 46 − 43 = 3; micro: 3 − 2 = 1
    i2 = await p.series("I2", by="size_class")
    assert {k: cell_value(c) for k, c in breakdown(i2, "size_class").items()} == {
        "small": "3.00",
        "micro": "1.00",
    }


# ---- Periods: calendar quarters, a mid-quarter start, an event after the end date ----------------


async def test_quarters_with_a_mid_quarter_start_and_an_event_after_the_end(
    service: httpx.AsyncClient, db: Database
) -> None:
    periods = [
        {"period_id": "RP1", "start": "2025-02-15", "end": "2025-08-14", "kind": "interim"},
        {"period_id": "RP2", "start": "2025-08-15", "end": "2026-02-14", "kind": "final"},
    ]
    p = await new_project(service, db, "audit-q", start="2025-02-15", end="2026-02-14", periods=periods)
    await p.post(
        org("clu-at", "AT", on="2025-02-15"),
        org("clu-pl", "PL", on="2025-02-15"),
        org("clu-es", "ES", on="2025-02-15"),
        event(
            "ParticipantRegistered",
            "2025-02-15",
            {"participant_id": "p-1", "org_id": "clu-at", "role": "cluster_staff", "gender": "F"},
        ),
    )
    await p.post(
        *[
            training(f"T{i}", [day], [("p-1", "clu-at", "1")])
            for i, day in enumerate(
                ["2025-02-20", "2025-03-31", "2025-04-01", "2025-08-14", "2025-08-15", "2026-02-14"]
            )
        ],
        training("T-late", ["2026-03-10"], [("p-1", "clu-at", "1")]),  # after the end date
        training("T-later", ["2026-04-10"], [("p-1", "clu-at", "1")]),  # after the end, next quarter
    )
    rp = await p.series("O1")
    # RP1: 02-20, 03-31, 04-01, 08-14 = 4; RP2: 08-15, 2026-02-14 and the after-end 03-10 and
    # 04-10 = 4 ("counts in the final reporting period")
    assert value(point(rp, "RP1")["value"]) == "4"
    assert value(point(rp, "RP2")["value"]) == "4"
    assert value(point(rp, "RP2")["cumulative"]) == "8"
    quarters = await p.series("O1", period="quarter")
    first = quarters["points"][0]
    # "a project starting mid-quarter has a partial first quarter": 2025-Q1 from 2025-02-15
    assert first["period"] == {"period_id": "2025-Q1", "start": "2025-02-15", "end": "2025-03-31"}
    # calendar quarters of occurred_on: Q1 2, Q2 1, Q3 2 (08-14, 08-15), Q4 0, 2026-Q1 2, and the
    # after-end 2026-04-10 in its own calendar quarter 2026-Q2 (not lost from the quarter series)
    assert [value(p_["value"]) for p_ in quarters["points"]] == ["2", "1", "2", "0", "2", "1"]
    assert [p_["period"]["period_id"] for p_ in quarters["points"]] == [
        "2025-Q1",
        "2025-Q2",
        "2025-Q3",
        "2025-Q4",
        "2026-Q1",
        "2026-Q2",
    ]
    assert value(quarters["points"][-1]["cumulative"]) == "8"


# ---- "as of": a late entry and a correction appear only from their positions ---------------------


async def test_as_of_shows_a_late_entry_and_a_correction_only_after_their_positions(
    service: httpx.AsyncClient, db: Database
) -> None:
    p = await new_project(service, db, "audit-asof")
    await p.post(*partner_orgs(), person("p-1", "clu-at"))
    t1 = await p.post(training("T1", ["2025-03-04"], [("p-1", "clu-at", "6")], duration="6"))
    t2 = await p.post(training("T2", ["2025-05-06"], [("p-1", "clu-at", "4")], duration="4"))
    late = await p.post(training("T0", ["2025-02-10"], [("p-1", "clu-at", "2")], duration="2"))
    fixed = await p.post(
        correction(
            event_id(t1),
            "2025-06-01",
            {"attendees": [{"participant_id": "p-1", "org_id": "clu-at", "attended_hours": "3"}]},
        )
    )
    # (f): a correction moves an event "if occurred_on itself is corrected"; occurred_on must equal a
    # training's first date, so correcting the dates alone moves occurred_on with them.
    moved = await p.post(correction(event_id(t2), "2025-08-01", {"dates": ["2025-07-08"]}))

    async def o2(at: int) -> list[str]:
        series = await p.series("O2", period="quarter", as_of=at)
        return [value(point(series, q)["value"]) for q in ("2025-Q1", "2025-Q2", "2025-Q3")]

    assert await o2(position(t2)) == ["6.00", "4.00", "0.00"]  # T1 6 in Q1, T2 4 in Q2
    assert await o2(position(late)) == ["8.00", "4.00", "0.00"]  # late T0 (Feb) joins Q1: 6 + 2
    assert await o2(position(fixed)) == ["5.00", "4.00", "0.00"]  # T1 corrected to 3 h: 3 + 2
    # correcting the first date moves T2's figures to the quarter of its new occurred_on
    assert await o2(position(moved)) == ["5.00", "0.00", "4.00"]
    head = await p.series("O2", period="quarter")
    assert value(head["total"]) == "9.00"  # 3 + 4 + 2
    # "an as-of date means the last position whose recorded_at is on or before that date": every
    # event was recorded today, so today's date is the head and yesterday's is before position 1
    today = datetime.now(UTC).date()
    answer = await service.get(f"{p.base}/indicators", params={"as_of": today.isoformat()}, headers=p.auditor)
    assert answer.json()["indicators"]["as_of_position"] == position(moved)
    answer = await service.get(
        f"{p.base}/indicators", params={"as_of": (today - timedelta(days=1)).isoformat()}, headers=p.auditor
    )
    assert answer.json()["indicators"]["as_of_position"] == 0


# ---- Small-cell suppression: funder vs auditor, n = distinct persons behind the cell -------------


async def test_small_cells_suppressed_for_the_funder_only(service: httpx.AsyncClient, db: Database) -> None:
    p = await new_project(service, db, "audit-supp")
    women = [f"w{i}" for i in range(1, 6)]
    await p.post(
        *partner_orgs(),
        *[person(w, "clu-at", "cluster_staff", "F") for w in women],
        person("m1", "clu-pl", "cluster_manager", "M"),
        person("m2", "clu-pl", "cluster_manager", "M"),
    )
    await p.post(
        training("T1", ["2025-03-04"], [(w, "clu-at", "2") for w in women]),  # clu-at: 5 persons, 10 h
        # clu-pl: 2 persons but 16 hours: the cell is small however large its value
        training("T2", ["2025-03-05"], [("m1", "clu-pl", "8"), ("m2", "clu-pl", "8")], partner="clu-pl"),
    )
    for who, hidden in ((p.funder, True), (p.auditor, False)):
        o3 = await p.series("O3", who=who, by="gender")
        genders = breakdown(o3, "gender")
        # F: 5 distinct persons → shown to both; M: 2 persons → suppressed for the funder only
        assert not genders["F"]["suppressed"] and cell_value(genders["F"]) == "5"
        assert genders["M"]["suppressed"] is hidden
        assert cell_value(genders["M"]) == (None if hidden else "2")
        # totals are never suppressed: 7 persons
        assert value(o3["total"]) == "7"
        rp1 = cells(point(o3, "RP1")["cells"])
        assert rp1["M"]["suppressed"] is hidden and not rp1["F"]["suppressed"]
        assert value(point(o3, "RP1")["value"]) == "7"  # a period's total is not a cell
        o2 = await p.series("O2", who=who, by="partner")
        partners = breakdown(o2, "partner")
        assert not partners["clu-at"]["suppressed"] and cell_value(partners["clu-at"]) == "10.00"
        assert partners["clu-pl"]["suppressed"] is hidden  # n = 2 persons, value 16
        assert cell_value(partners["clu-pl"]) == (None if hidden else "16.00")
        assert value(o2["total"]) == "26.00"  # 10 + 16
    # n counts distinct persons, not attendance rows: e1 alone attends five clu-es sessions
    await p.post(
        person("e1", "clu-es", "cluster_staff", "F"),
        *[
            training(f"E{i}", [f"2025-0{i}-10"], [("e1", "clu-es", "1")], partner="clu-es", country="ES")
            for i in range(4, 9)
        ],
    )
    for who, hidden in ((p.funder, True), (p.auditor, False)):
        o2 = breakdown(await p.series("O2", who=who, by="partner"), "partner")
        assert o2["clu-es"]["suppressed"] is hidden  # 5 rows, 5 hours, but n = 1 person
        o1 = breakdown(await p.series("O1", who=who, by="partner"), "partner")
        assert o1["clu-es"]["suppressed"] is hidden  # 5 sessions, 1 person behind them
        assert cell_value(o1["clu-es"]) == (None if hidden else "5")
    # The CSV form says the same: the clu-pl row is blank and flagged for the funder only.
    for who, shown in ((p.funder, ""), (p.auditor, "16.00")):
        answer = await service.get(
            f"{p.base}/indicators/O2/series", params={"by": "partner"}, headers={**who, "Accept": "text/csv"}
        )
        rows = list(csv.DictReader(io.StringIO(answer.text)))
        row = next(r for r in rows if r["period_id"] == "RP1" and r["category"] == "clu-pl")
        assert (row["value"], row["suppressed"]) == (shown, "true" if not shown else "false")
        total = next(r for r in rows if r["period_id"] == "RP1" and r["category"] == "total")
        assert (total["value"], total["suppressed"]) == ("31.00", "false")  # 10 + 16 + 5
    # The indicators overview suppresses the same small cells for the funder.
    overview = await p.figures(p.funder)
    assert breakdown(overview["O3"], "gender")["M"]["suppressed"]
    assert not breakdown(overview["O3"], "gender")["F"]["suppressed"]


# ---- Targets: the last TargetSet at the position, progress against the baseline -----------------


def target(indicator: str, period: str, amount: str, on: str = "2025-01-15", key: str | None = None) -> Json:
    return event(
        "TargetSet",
        on,
        {
            "indicator_id": indicator,
            "period_id": period,
            "value": amount,
            "cumulative": True,
            "disaggregation_key": key,
            "rationale": "work plan",
        },
    )


def baseline(indicator: str, amount: str, on: str = "2024-12-15", key: str | None = None) -> Json:
    return event(
        "BaselineRecorded",
        on,
        {
            "indicator_id": indicator,
            "period_id": "LoP",
            "value": amount,
            "cumulative": True,
            "disaggregation_key": key,
            "rationale": "before the project",
        },
    )


async def test_targets_revisions_and_progress(service: httpx.AsyncClient, db: Database) -> None:
    p = await new_project(service, db, "audit-target")
    await p.post(*partner_orgs(), person("p-1", "clu-at"))
    await p.post(
        baseline("O1", "2"), target("O1", "RP1", "10"), baseline("R2", "0"), target("R2", "RP1", "80")
    )
    first = await p.post(
        *[training(f"T{i}", [f"2025-0{i}-04"], [("p-1", "clu-at", "1")]) for i in range(3, 8)],
        feedback("T3", "2025-03-05", 5),
        feedback("T3", "2025-03-05", 4),
        feedback("T3", "2025-03-05", 1),
    )
    await p.post(target("O1", "RP1", "12", on="2025-06-30"))  # a revision: the last one is in force
    for who in (p.funder, p.auditor):
        f = await p.figures(who)
        o1 = point(f["O1"], "RP1")["target"]
        # actual 5 sessions, baseline 2, target 12 → 100·(5 − 2)/(12 − 2) = 30.00
        assert (o1["actual"], o1["baseline"], o1["target"], o1["progress"]) == ("5", "2", "12", "30.00")
        r2 = point(f["R2"], "RP1")["target"]
        # R2 = 2/3; progress = 100·(66.666… − 0)/(80 − 0) = 83.333… → 83.33 (the rounded 66.67
        # would give 83.3375 → 83.34: "targets compare the unrounded value")
        assert (r2["target"], r2["progress"]) == ("80", "83.33")
    # As of before the revision the first target (10) was in force: 100·(5 − 2)/(10 − 2) = 37.50
    earlier = point((await p.figures(as_of=position(first)))["O1"], "RP1")["target"]
    assert (earlier["target"], earlier["progress"]) == ("10", "37.50")
    # A target for one cell (disaggregation key country=AT): T3..T7 are held in AT, 1 h each → 5;
    # a second TargetSet for the same key replaces the first: 100·(5 − 0)/(8 − 0) = 62.50
    await p.post(
        baseline("O2", "0", key="country=AT"),
        target("O2", "RP1", "20", key="country=AT"),
        target("O2", "RP1", "8", key="country=AT"),
    )
    o2 = await p.series("O2", by="country")
    at = cells(point(o2, "RP1")["cells"])["AT"]["target"]
    assert (at["target"], at["actual"], at["progress"]) == ("8", "5.00", "62.50")
    assert point(o2, "RP1")["target"] is None  # no target for the total
    # A cumulative RP2 target compares the cumulative actual: 5 (RP1) + 3 (RP2) = 8 sessions;
    # 100·(8 − 2)/(20 − 2) = 33.333… → 33.33 (the RP2-only 3 would give 5.56)
    await p.post(
        target("O1", "RP2", "20", on="2025-12-01"),
        *[training(f"U{i}", [f"2026-0{i}-04"], [("p-1", "clu-at", "1")]) for i in range(2, 5)],
    )
    rp2 = point((await p.figures())["O1"], "RP2")
    assert value(rp2["value"]) == "3" and value(rp2["cumulative"]) == "8"
    assert (rp2["target"]["actual"], rp2["target"]["progress"]) == ("8", "33.33")
    # A distinct-count KPI: p-1 is trained in RP1 and RP2 but is one person. Cumulative RP2 target 4,
    # baseline 0: 100·(1 − 0)/(4 − 0) = 25.00 (a sum of period values, 2, would give 50.00)
    await p.post(baseline("O3", "0"), target("O3", "RP2", "4", on="2025-12-02"))
    o3 = point((await p.figures())["O3"], "RP2")
    assert (o3["target"]["actual"], o3["target"]["progress"]) == ("1", "25.00")


# ---- Dimensions of training- and person-based figures --------------------------------------------


async def test_training_country_region_and_person_dimensions(
    service: httpx.AsyncClient, db: Database
) -> None:
    p = await new_project(service, db, "audit-dims")
    await p.post(
        *partner_orgs(),
        person("p-at", "clu-at", "cluster_staff", "X"),
        person("p-pl", "clu-pl", "cluster_manager", "undisclosed"),
        person("p-es", "clu-es", "cluster_staff", "F"),
    )
    # clu-pl (less developed region) delivers a session in Spain (more developed venue)
    await p.post(
        training(
            "T1",
            ["2025-03-04"],
            [("p-at", "clu-at", "3"), ("p-pl", "clu-pl", "3")],
            country="ES",
            partner="clu-pl",
        ),
        training("T2", ["2025-03-05"], [("p-es", "clu-es", "2")], country="ES", partner="clu-es"),
    )
    o1 = await p.series("O1", by="region_category")
    # region category of a training = the delivering partner's: T1 clu-pl less_developed, T2 more
    regions = {k: cell_value(c) for k, c in breakdown(o1, "region_category").items()}
    assert regions == {"less_developed": "1", "more_developed": "1"}
    o2 = await p.series("O2", by="country")
    assert {k: cell_value(c) for k, c in breakdown(o2, "country").items()} == {"ES": "8.00"}  # venue
    o3 = await p.series("O3", by="country")
    # person-based: the country of the person's organisation, not the venue
    assert {k: cell_value(c) for k, c in breakdown(o3, "country").items()} == {
        "AT": "1",
        "PL": "1",
        "ES": "1",
    }
    o3g = await p.series("O3", by="gender")
    # "X and undisclosed are categories of their own"
    genders = {k: cell_value(c) for k, c in breakdown(o3g, "gender").items() if c["figure"]["n"]}
    assert genders == {"X": "1", "undisclosed": "1", "F": "1"}
    o3p = await p.series("O3", by="partner")
    # partner = the envelope partner of the contributing event: T1 clu-pl (2 persons), T2 clu-es
    assert {k: cell_value(c) for k, c in breakdown(o3p, "partner").items()} == {"clu-pl": "2", "clu-es": "1"}


# ---- Percentages: Σnum/Σden for totals, cumulative values and cells ------------------------------


async def test_percentage_totals_are_sum_of_numerators_over_sum_of_denominators(
    service: httpx.AsyncClient, db: Database
) -> None:
    p = await new_project(service, db, "audit-pct")
    await p.post(*partner_orgs(), person("p-1", "clu-at"))
    sessions = await p.post(
        training("S1", ["2025-03-04"], [("p-1", "clu-at", "1")], topic="digital"),
        training("S2", ["2025-05-06"], [("p-1", "clu-at", "1")], topic="green"),
        feedback("S1", "2025-03-05", 5),
        feedback("S1", "2025-03-05", 2),
        feedback("S1", "2025-03-05", 1),
        feedback("S2", "2025-05-07", 4),
    )
    series = await p.series("R2", period="quarter", by="topic")
    # cells: digital 1/3 = 33.33, green 1/1 = 100.00; total 2/4 = 50.00 (not (33.33 + 100)/2 = 66.67)
    topics = {k: cell_value(c) for k, c in breakdown(series, "topic").items()}
    assert topics == {"digital": "33.33", "green": "100.00"}
    assert value(series["total"]) == "50.00"
    # Q1 1/3, Q2 1/1; cumulative at Q2 = 2/4 = 50.00 (not a mean of period percentages)
    q2 = point(series, "2025-Q2")
    assert value(q2["value"]) == "100.00"
    cum = q2["cumulative"]
    assert (cum["numerator"], cum["denominator"], cum["value"]) == ("2", "4", "50.00")
    # S1's topic was really "green": its responses follow the session's (corrected) topic
    await p.post(correction(event_id(sessions, 0), "2025-06-01", {"topic": "green"}))
    series = await p.series("R2", by="topic")
    topics = {k: cell_value(c) for k, c in breakdown(series, "topic").items() if c["figure"]["n"]}
    assert topics == {"green": "50.00"}  # (1 + 1)/(3 + 1)


# ---- R3 across a leap day: "actual_end + 12 calendar months", not 365 days ----------------------


async def test_r3_twelve_calendar_months_across_a_leap_day(service: httpx.AsyncClient, db: Database) -> None:
    periods = [
        {"period_id": "RP1", "start": "2027-01-01", "end": "2027-12-31", "kind": "interim"},
        {"period_id": "RP2", "start": "2028-01-01", "end": "2028-12-31", "kind": "final"},
    ]
    p = await new_project(service, db, "audit-leap", start="2027-01-01", end="2028-12-31", periods=periods)
    await p.post(
        *[org(o, c, on="2027-01-05") for o, c in (("clu-at", "AT"), ("clu-pl", "PL"), ("clu-es", "ES"))],
        org("sme-1", "PL", "SME", "small", on="2027-01-05"),
    )
    await p.post(
        exchange("X1", "sme-1", "clu-at", on="2027-05-01"),
        completed("X1", "2027-06-07", "2027-06-11"),
        exchange("X2", "sme-1", "clu-es", on="2027-09-01"),
        completed("X2", "2027-09-27", "2027-10-01"),
        # X1: 2027-06-11 + 12 calendar months = 2028-06-11 (366 days later, across 2028-02-29)
        follow_up("X1", "2028-06-11", ["sme-1", "clu-at"]),
        # X2: 2027-10-01 + 6 calendar months = 2028-04-01 (183 days, across 2028-02-29)
        follow_up("X2", "2028-04-01", ["sme-1", "clu-es"]),
    )
    f = await p.figures()
    twelve, six = f["R3.12m"]["total"], f["R3.6m"]["total"]
    assert (twelve["numerator"], twelve["denominator"], twelve["value"]) == ("2", "2", "100.00")
    assert (six["numerator"], six["denominator"], six["value"]) == ("1", "2", "50.00")  # X2 only


# ---- A retracted exchange registration voids its lifecycle ---------------------------------------


async def test_a_retracted_exchange_voids_its_lifecycle(service: httpx.AsyncClient, db: Database) -> None:
    p = await new_project(service, db, "audit-xret")
    await p.post(*partner_orgs(), org("sme-1", "PL", "SME", "small"), org("sme-2", "DE", "SME", "micro"))
    recorded = await p.post(
        exchange("X1", "sme-1", "clu-at"),
        completed("X1", "2025-03-10", "2025-03-14"),
        closing_report("X1", "2025-03-20", vo=5, ho=5),
        lump_sum("X1", "2025-03-28", "780.00"),
        follow_up("X1", "2025-05-02", ["sme-1", "clu-at"]),
        exchange("X2", "sme-2", "clu-es"),
        completed("X2", "2025-04-07", "2025-04-11"),
        closing_report("X2", "2025-04-20", vo=2, ho=4),
        lump_sum("X2", "2025-04-28", "390.00"),
    )
    before = await p.figures()
    assert value(before["O5"]["total"]) == "2" and value(before["O11.sum"]["total"]) == "1170.00"
    await p.post(retraction(event_id(recorded, 0), "2025-06-01", "registered under the wrong partnership"))
    f = await p.figures()
    # only X2 is left: O5 1, O6 {sme-2, clu-es} 2, O7 {sme-2} 1, O8 {DE, ES} 2, O11 390 / 1
    assert value(f["O5"]["total"]) == "1"
    assert value(f["O6"]["total"]) == "2"
    assert value(f["O7"]["total"]) == "1"
    assert value(f["O8"]["total"]) == "2"
    assert value(f["O11.sum"]["total"]) == "390.00" and value(f["O11.mean"]["total"]) == "390.00"
    r1, r3 = f["R1"]["total"], f["R3.6m"]["total"]
    assert (r1["numerator"], r1["denominator"], r1["value"]) == ("1", "2", "50.00")  # X2: 2, 4
    assert (r3["numerator"], r3["denominator"], r3["value"]) == ("0", "1", "0.00")  # X1's follow-up voided
    refused = await p.refused(follow_up("X1", "2025-06-05", ["sme-1", "clu-at"]))
    assert refused.status_code == 422, refused.text


# ---- Corrections apply in log order; a payload field named `type` can be corrected ---------------


async def test_corrections_in_log_order_and_of_a_payload_type_field(
    service: httpx.AsyncClient, db: Database
) -> None:
    p = await new_project(service, db, "audit-corr")
    await p.post(*partner_orgs(), person("p-1", "clu-at"))
    recorded = await p.post(
        event(
            "CoachingSessionHeld",
            "2025-03-04",
            {
                "engagement_id": "CO-1",
                "coach_org_id": "clu-at",
                "coachee_org_id": "clu-pl",
                "topic": "strategy",
                "hours": "2",
                "mode": "online",
                "output": "action plan",
            },
        ),
        agreement("AG-1", "2025-04-02", ["clu-at", "clu-pl"], kind="MoU"),
    )
    await p.post(
        correction(event_id(recorded, 0), "2025-03-10", {"hours": "3"}),
        correction(event_id(recorded, 0), "2025-03-11", {"hours": "4.5"}),  # the later one wins
        correction(event_id(recorded, 1), "2025-04-10", {"type": "cooperation_agreement"}),
    )
    f = await p.figures()
    assert value(f["O4"]["total"]) == "4.50"
    r4 = await p.series("R4", by="agreement_type")
    assert {k: cell_value(c) for k, c in breakdown(r4, "agreement_type").items() if c["figure"]["n"]} == {
        "cooperation_agreement": "1"
    }
    # an identity field cannot be corrected
    refused = await p.refused(correction(event_id(recorded, 0), "2025-03-12", {"engagement_id": "CO-9"}))
    assert refused.status_code == 422, refused.text


# ---- "as of" covers reference data too: a late size-class change, a corrected country ----------


async def test_as_of_applies_to_reference_data_recorded_late(
    service: httpx.AsyncClient, db: Database
) -> None:
    p = await new_project(service, db, "audit-ref")
    await p.post(
        *partner_orgs(),
        org("sme-q", "PL", "SME", "small"),
        org("sme-r", "DE", "SME", "small"),
        person("q1", "sme-q", "SME_staff"),
        person("r1", "sme-r", "SME_staff"),
    )
    trained = await p.post(
        training("T1", ["2025-03-04"], [("q1", "sme-q", "2"), ("r1", "sme-r", "2")]),
        exchange("X1", "sme-r", "clu-at"),
        completed("X1", "2025-03-10", "2025-03-14"),
    )
    # recorded late: sme-q had become large on 2025-02-01, before the training
    changed = await p.post(
        event(
            "OrganisationSizeClassChanged",
            "2025-02-01",
            {"org_id": "sme-q", "size_class": "large", "reference_year": 2024, "basis": "turnover"},
        )
    )
    # sme-r's country was wrong: it is Czech
    sme_r = next(
        e
        for e in (await service.get(f"{p.base}/events", headers=p.auditor)).json()["events"]
        if e["type"] == "OrganisationRegistered" and e["data"]["org_id"] == "sme-r"
    )
    fixed = await p.post(correction(sme_r["event_id"], "2025-03-20", {"country": "CZ", "nuts2": "CZ01"}))

    then = await p.figures(as_of=position(trained))
    assert value(then["O7"]["total"]) == "2"  # sme-q small, sme-r small as known then
    assert value(then["O8"]["total"]) == "2"  # X1: DE, AT
    at_change = await p.figures(as_of=position(changed))
    assert value(at_change["O7"]["total"]) == "1"  # sme-q was large on 2025-03-04: only sme-r
    now = await p.figures()
    assert value(now["O7"]["total"]) == "1"
    o8 = await p.series("O8", by="country")
    assert value(o8["total"]) == "2"  # X1: CZ (corrected), AT
    o5 = await p.series("O5", by="country")  # the VO's country, corrected from this position on
    assert {k: cell_value(c) for k, c in breakdown(o5, "country").items()} == {"CZ": "1"}
    before_fix = await p.series("O5", by="country", as_of=position(fixed) - 1)
    assert {k: cell_value(c) for k, c in breakdown(before_fix, "country").items()} == {"DE": "1"}


async def test_panel_membership_is_decided_at_the_baseline_interview(
    service: httpx.AsyncClient, db: Database
) -> None:
    p = await new_project(service, db, "audit-panel")
    await p.post(
        *partner_orgs(),
        org("s-a", "PL", "SME", "small"),
        org("s-b", "PL", "SME", "large"),  # org_type SME but large at its baseline interview
    )
    B, E = "2025-02-03", "2026-10-05"
    await p.post(
        survey("s-a", "baseline", B, "100000", "4", []),
        survey("s-b", "baseline", B, "100000", "300", []),
        survey("clu-at", "baseline", B, "100000", "9", []),  # a cluster organisation
        event(
            "OrganisationSizeClassChanged",
            "2025-06-01",
            {"org_id": "s-a", "size_class": "large", "reference_year": 2024, "basis": "turnover"},
        ),
        event(
            "OrganisationSizeClassChanged",
            "2025-06-01",
            {"org_id": "s-b", "size_class": "medium", "reference_year": 2024, "basis": "turnover"},
        ),
        survey("s-a", "endline", E, "120000", "6", []),
        survey("s-b", "endline", E, "120000", "200", []),
        survey("clu-at", "endline", E, "120000", "10", []),
    )
    f = await p.figures()
    # panel = {s-a} (an SME at its baseline even though large now); s-b was large at baseline,
    # clu-at is never an SME. I1 = 100·(120000 − 100000)/100000 = 20.00; I2 = 6 − 4 = 2
    assert value(f["I1"]["total"]) == "20.00" and f["I1"]["total"]["n"] == 1
    assert value(f["I2"]["total"]) == "2.00" and f["I2"]["total"]["n"] == 1
    panel = (await service.get(f"{p.base}/indicators", headers=p.funder)).json()["indicators"]["panel"]
    # Whether s-b and clu-at are "baseline respondents" is not spelled out by (f); only the
    # panel size is asserted.
    assert panel["panel_size"] == 1


# ---- R6 services; the country of an online session; R1 responses are both satisfactions ---------


async def test_r6_services_of_any_organisation(service: httpx.AsyncClient, db: Database) -> None:
    p = await new_project(service, db, "audit-r6")
    await p.post(*partner_orgs(), org("sme-1", "PL", "SME", "small"))

    def launched(org_id: str, on: str, area: str = "digitalisation") -> Json:
        return event(
            "ClusterServiceLaunched",
            on,
            {"org_id": org_id, "service_area": area, "target_group": "SMEs", "launched_on": on},
        )

    recorded = await p.post(
        launched("clu-at", "2025-03-01"),
        launched("clu-at", "2025-04-01"),  # an improved service counts as well
        launched("sme-1", "2025-05-01"),  # whichever organisation launched it
        launched("clu-pl", "2025-06-01"),
    )
    await p.post(retraction(event_id(recorded, 3), "2025-06-10"))
    assert value((await p.figures())["R6"]["total"]) == "3"  # 4 − the retracted one


async def test_online_session_country_and_closing_report_fields(
    service: httpx.AsyncClient, db: Database
) -> None:
    p = await new_project(service, db, "audit-online")
    await p.post(*partner_orgs(), person("p-1", "clu-at"), org("sme-1", "PL", "SME", "small"))
    online = training("T1", ["2025-03-04"], [("p-1", "clu-at", "1")], country="DE", partner="clu-pl")
    online["data"]["format"] = "online"
    await p.post(online)
    # (f): the country dimension "is TrainingDelivered.country (the venue; for online sessions the
    # organising partner's country)": an online session has no venue, so it counts under PL, the
    # organising partner clu-pl's country, whatever country the record carries.
    o1 = await p.series("O1", by="country")
    assert {k: cell_value(c) for k, c in breakdown(o1, "country").items()} == {"PL": "1"}

    await p.post(exchange("X1", "sme-1", "clu-at"), completed("X1", "2025-03-10", "2025-03-14"))
    # R1's "denominator = responses given": a closing report may give one side's satisfaction only.
    partial = closing_report("X1", "2025-03-20", vo=4, ho=4)
    del partial["data"]["satisfaction_ho"]
    await p.post(partial)
    r1 = (await p.figures())["R1"]["total"]
    # one response given (the VO's 4, satisfied): 1 / 1 = 100.00
    assert (r1["numerator"], r1["denominator"], r1["value"]) == ("1", "1", "100.00")


async def test_dependants_of_a_retracted_activity_stay_void_after_it_is_recorded_again(
    service: httpx.AsyncClient, db: Database
) -> None:
    p = await new_project(service, db, "audit-rerecord")
    await p.post(*partner_orgs(), person("p-1", "clu-at"), org("sme-1", "PL", "SME", "small"))
    t1 = await p.post(
        training("T1", ["2025-03-04"], [("p-1", "clu-at", "1")]),
        feedback("T1", "2025-03-05", 5),
        feedback("T1", "2025-03-05", 1),
    )
    await p.post(retraction(event_id(t1), "2025-03-10"))
    gone = (await p.figures())["R2"]["total"]
    assert (value((await p.figures())["O1"]["total"]), gone["denominator"], gone["value"]) == ("0", "0", None)
    # "record the activity again instead": accepted, and new feedback may name it again
    await p.post(training("T1", ["2025-03-04"], [("p-1", "clu-at", "2")]), feedback("T1", "2025-03-06", 4))
    f = await p.figures()
    assert (value(f["O1"]["total"]), value(f["O2"]["total"])) == ("1", "2.00")
    r2 = f["R2"]["total"]
    # AMBIGUOUS: the old feedback (5, 1) references T1, and after the re-recording a live record
    # carries T1 again; (f) voids dependants "unless another live record still carries that same
    # id". The service reads "still" as "at the retraction": the old responses stay void, so
    # R2 = 1 of 1 (the literal alternative would give 2 of 3 = 66.67).
    assert (r2["numerator"], r2["denominator"], r2["value"]) == ("1", "1", "100.00")
    x1 = await p.post(
        exchange("X1", "sme-1", "clu-at"),
        completed("X1", "2025-03-10", "2025-03-14"),
        lump_sum("X1", "2025-03-20", "100.00"),
    )
    await p.post(retraction(event_id(x1), "2025-03-25"), exchange("X1", "sme-1", "clu-at"))
    f = await p.figures()
    # same reading for an exchange: the re-registered X1 has no live completion or payment yet
    assert (value(f["O5"]["total"]), value(f["O11.sum"]["total"])) == ("0", "0.00")


async def test_green_measures_take_any_term(service: httpx.AsyncClient, db: Database) -> None:
    p = await new_project(service, db, "audit-green")
    await p.post(*partner_orgs(), org("s1", "PL", "SME", "small"))
    # Catalog (a) types green_measures[] without a vocabulary (unlike the fields it marks "enum"):
    # free values such as "solar" are kept as written.
    await p.post(survey("s1", "baseline", "2025-02-03", "1", "1", [], green=["solar"]))
    await p.post(survey("s1", "baseline", "2025-02-03", "1", "1", [], green=["renewable_energy"]))
