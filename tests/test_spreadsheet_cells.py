"""Exports never hand a spreadsheet a formula that a partner typed (CSV injection): text starting
with = + - @ is made inert, numbers stay numbers."""

from __future__ import annotations

import csv
import io

import httpx
import pytest

from indicators.spreadsheet_cells import inert
from tests.conftest import Database, bearer
from tests.story import REGISTRATION, founding_events

PROJECT = "cells"
API = f"/api/v1/projects/{PROJECT}"
FORMULA = '=HYPERLINK("http://evil.example/","x")'


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (FORMULA, "'" + FORMULA),
        ("+cmd", "'+cmd"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("-x", "'-x"),
        ("\tx", "'\tx"),
        ("-12.50", "-12.50"),  # a negative figure stays a number
        ("+3", "+3"),
        ("digital", "digital"),
        ("", ""),
    ],
)
def test_text_a_spreadsheet_would_run_is_made_inert(text: str, shown: str) -> None:
    assert inert(text) == shown


async def test_a_topic_typed_as_a_formula_is_inert_in_every_export(
    service: httpx.AsyncClient, db: Database
) -> None:
    admin = await bearer(db, "admin")
    body = {"project_id": PROJECT, "data": REGISTRATION}
    assert (await service.post("/api/v1/projects", json=body, headers=admin)).status_code == 201
    staff = await bearer(db, "staff", PROJECT)
    coaching = {
        "type": "CoachingSessionHeld",
        "occurred_on": "2025-03-04",
        "partner_org_id": "clu-at",
        "data": {
            "engagement_id": "E-1",
            "coach_org_id": "clu-at",
            "coachee_org_id": "sme-1",
            "topic": FORMULA,  # an open vocabulary: any term without whitespace
            "hours": "2",
            "mode": "online",
            "output": "action plan",
        },
    }
    recorded = await service.post(f"{API}/events", json=[*founding_events(), coaching], headers=staff)
    assert recorded.status_code == 201, recorded.text
    auditor = await bearer(db, "auditor", PROJECT)
    series = await service.get(
        f"{API}/indicators/O4/series", params={"by": "topic"}, headers={**auditor, "Accept": "text/csv"}
    )
    categories = {row["category"] for row in csv.DictReader(io.StringIO(series.text))}
    assert "'" + FORMULA in categories and FORMULA not in categories
    published = await service.post(f"{API}/snapshots", json={"kind": "adhoc"}, headers=admin)
    assert published.status_code in (200, 201), published.text
    snapshot = published.json()["snapshot_id"]
    document = await service.get(f"{API}/snapshots/{snapshot}.csv", headers=auditor)
    assert document.status_code == 200, document.text
    categories = {row["category"] for row in csv.DictReader(io.StringIO(document.text))}
    assert "'" + FORMULA in categories and FORMULA not in categories
