"""A small partnership told as wire events: what tests send to the API."""

from __future__ import annotations

from typing import Any

PARTNERS = ["clu-at", "clu-pl", "clu-es"]

REGISTRATION: dict[str, Any] = {
    "grant_no": "101074521",
    "call_id": "SMP-COSME-2024-CLUSTER",
    "start_date": "2025-01-01",
    "end_date": "2026-12-31",
    "reporting_periods": [
        {"period_id": "RP1", "start": "2025-01-01", "end": "2025-12-31", "kind": "interim"},
        {"period_id": "RP2", "start": "2026-01-01", "end": "2026-12-31", "kind": "final"},
    ],
    "partnership_id": "CXC-TWIN-2025",
    "partners": PARTNERS,
}


def organisation(
    org_id: str, country: str, org_type: str = "cluster_org", size: str = "n/a"
) -> dict[str, Any]:
    nuts = {"AT": "AT13", "PL": "PL22", "ES": "ES51", "DE": "DE21"}[country]
    region = "less_developed" if country == "PL" else "more_developed"
    return {
        "type": "OrganisationRegistered",
        "occurred_on": "2025-01-10",
        "partner_org_id": "clu-at",
        "data": {
            "org_id": org_id,
            "name": f"Organisation {org_id}",
            "org_type": org_type,
            "country": country,
            "nuts2": nuts,
            "region_category": region,
            "nace": "C25.62",
            "ecosystem": "electronics",
            "eccp_profile_id": None,
            "cluster_member_of": [],
            "size_class": size,
            "headcount": 12,
            "turnover_band": "2m_to_10m",
        },
    }


def participant(
    participant_id: str, org_id: str, role: str = "cluster_staff", gender: str = "F"
) -> dict[str, Any]:
    return {
        "type": "ParticipantRegistered",
        "occurred_on": "2025-01-12",
        "partner_org_id": "clu-at",
        "data": {"participant_id": participant_id, "org_id": org_id, "role": role, "gender": gender},
    }


def training(
    session_id: str, day: str, attendees: list[tuple[str, str, str]], hours: str = "6"
) -> dict[str, Any]:
    return {
        "type": "TrainingDelivered",
        "occurred_on": day,
        "partner_org_id": "clu-at",
        "data": {
            "session_id": session_id,
            "dates": [day],
            "topic": "digital",
            "format": "onsite",
            "duration_hours": hours,
            "country": "AT",
            "trainers": [],
            "attendees": [{"participant_id": p, "org_id": o, "attended_hours": h} for p, o, h in attendees],
        },
    }


def founding_events() -> list[dict[str, Any]]:
    """Partners, one SME and two people: what most tests need before activities."""
    return [
        organisation("clu-at", "AT"),
        organisation("clu-pl", "PL"),
        organisation("clu-es", "ES"),
        organisation("sme-1", "PL", org_type="SME", size="small"),
        participant("p-1", "clu-at"),
        participant("p-2", "sme-1", role="SME_staff", gender="M"),
    ]
