"""The error contract, route by route: bad input is a 4xx problem+json naming the field at fault.

Each test here pins a defect an independent check of a live service found: a field left unnamed,
a problem without `type` or `errors[]`, an unknown project answered 200, a doubled charset.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import httpx

from tests.conftest import Database
from tests.story import training
from tests.test_personal_data import ZOFIA, enrolment
from tests.test_validation_paths import record_demo_project

PROJECT = "demo"
API = f"/api/v1/projects/{PROJECT}"
EVENTS = f"{API}/events"
SNAPSHOTS = f"{API}/snapshots"
PARTICIPANTS = f"{API}/participants"
UNKNOWN = "/api/v1/projects/nope"
PROBLEMS = "https://impactlog.dev/problems/"
EVIDENCE = {"uri": "https://files.example.org/a.pdf", "sha256": "0" * 64}
BEFORE_THE_FINAL_PERIOD_ENDS = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)


async def demo_project(service: httpx.AsyncClient, db: Database) -> dict[str, str]:
    """Project "demo" with partners, people and a training; an admin's headers."""
    return (await record_demo_project(service, db)).admin


async def head(service: httpx.AsyncClient, admin: dict[str, str]) -> int:
    """The demo log's head position."""
    return int((await service.get(EVENTS, headers=admin)).json()["head"])


def a_training(**changes: Any) -> dict[str, Any]:
    """A valid training of the demo project, with `changes` to its envelope."""
    return {**training("TRN-9", "2025-03-05", [("p-1", "clu-at", "6")]), **changes}


def without(event: dict[str, Any], field: str) -> dict[str, Any]:
    """The event without one of its envelope fields."""
    return {k: v for k, v in event.items() if k != field}


def named_fields(response: httpx.Response, status: int) -> list[str]:
    """The fields a problem+json answer of `status` names, checked to be a whole problem."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"].startswith(PROBLEMS), problem
    assert {"title", "status", "detail"} <= problem.keys() and problem["status"] == status
    assert problem["errors"], problem
    return [error["field"] for error in problem["errors"]]


async def test_an_unknown_or_missing_event_field_is_named_by_its_path(
    service: httpx.AsyncClient, db: Database
) -> None:
    admin = await demo_project(service, db)
    before = await head(service, admin)
    cases = [
        ({**a_training(), "colour": "red"}, "colour"),
        (without(a_training(), "type"), "type"),
        ([a_training(), {**a_training(), "colour": "red"}], "[1].colour"),
        ([a_training(), without(a_training(), "occurred_on")], "[1].occurred_on"),
        (a_training(evidence=[{**EVIDENCE, "foo": 1}]), "evidence[0].foo"),
        ([a_training(evidence=[without(EVIDENCE, "sha256")])], "[0].evidence[0].sha256"),
    ]
    for body, field in cases:
        response = await service.post(EVENTS, json=body, headers=admin)
        assert named_fields(response, 400) == [field], response.text
        assert response.json()["detail"].startswith(f"{field}: ")
    assert await head(service, admin) == before


async def test_an_unknown_or_missing_field_of_a_snapshot_or_participant_is_named(
    service: httpx.AsyncClient, db: Database
) -> None:
    admin = await demo_project(service, db)
    before = await head(service, admin)
    unknown = await service.post(SNAPSHOTS, json={"kind": "adhoc", "colour": "red"}, headers=admin)
    assert named_fields(unknown, 400) == ["colour"]
    missing = await service.post(SNAPSHOTS, json={"period_id": "RP1"}, headers=admin)
    assert named_fields(missing, 400) == ["kind"]
    person = await service.post(PARTICIPANTS, json=enrolment(**ZOFIA, colour="red"), headers=admin)
    assert named_fields(person, 400) == ["colour"]
    nameless = await service.post(PARTICIPANTS, json=without(enrolment(), "org_id"), headers=admin)
    assert named_fields(nameless, 400) == ["org_id"]
    assert await head(service, admin) == before


async def test_a_refused_snapshot_names_its_period_and_never_says_none(
    service: httpx.AsyncClient, db: Database
) -> None:
    admin = await demo_project(service, db)
    service.app.state.snapshot_publisher.clock = lambda: BEFORE_THE_FINAL_PERIOD_ENDS  # type: ignore[attr-defined]
    before = await head(service, admin)
    for body in ({"kind": "interim"}, {"kind": "interim", "period_id": "RP9"}, {"kind": "final"}):
        response = await service.post(SNAPSHOTS, json=body, headers=admin)
        assert named_fields(response, 422) == ["period_id"], response.text
        assert response.json()["type"] == f"{PROBLEMS}snapshot-refused"
        assert "None" not in response.text
    no_period = await service.post(SNAPSHOTS, json={"kind": "interim"}, headers=admin)
    assert "period_id is required" in no_period.json()["errors"][0]["message"]
    assert await head(service, admin) == before
    assert (await service.get(SNAPSHOTS, headers=admin)).json() == []


async def test_the_audit_log_refuses_a_position_beyond_bigint_naming_after(
    service: httpx.AsyncClient, db: Database
) -> None:
    admin = await demo_project(service, db)
    response = await service.get(f"{API}/audit/log", params={"after": 2**63}, headers=admin)
    assert named_fields(response, 400) == ["after"]


async def test_every_indicator_route_checks_the_project_in_its_path(
    service: httpx.AsyncClient, db: Database
) -> None:
    admin = await demo_project(service, db)
    for route in ("indicators", "indicators/O1/series", "indicators/O1/evidence"):
        response = await service.get(f"/api/v1/projects/Bad%00x/{route}", headers=admin)
        assert named_fields(response, 400) == ["project"], route


async def test_a_min_position_beyond_any_log_is_refused_naming_it(
    service: httpx.AsyncClient, db: Database
) -> None:
    admin = await demo_project(service, db)
    for route in ("indicators", "indicators/O1/series", "indicators/O1/evidence"):
        response = await service.get(f"{API}/{route}", params={"min_position": 2**62 + 1}, headers=admin)
        assert named_fields(response, 400) == ["min_position"], route


async def test_the_dashboard_csv_says_its_charset_once(service: httpx.AsyncClient, db: Database) -> None:
    admin = await demo_project(service, db)
    response = await service.get(f"/projects/{PROJECT}/dashboard/indicators.csv", headers=admin)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"


async def test_participants_and_imports_of_an_unknown_project_are_not_found(
    service: httpx.AsyncClient, db: Database
) -> None:
    admin = await demo_project(service, db)
    before = await head(service, admin)
    csv_file = {**admin, "Content-Type": "text/csv"}
    answers = [
        await service.get(f"{UNKNOWN}/participants", headers=admin),
        await service.post(f"{UNKNOWN}/participants", json=enrolment(), headers=admin),
        await service.get(f"{UNKNOWN}/participants/p-1", headers=admin),
        await service.get(f"{UNKNOWN}/participants/p-1/export", headers=admin),
        await service.post(f"{UNKNOWN}/participants/p-1/erasure", headers=admin),
        await service.get(f"{UNKNOWN}/imports", headers=admin),
        await service.post(f"{UNKNOWN}/imports", content=b"a,b\r\n1,2\r\n", headers=csv_file),
    ]
    for response in answers:
        assert response.status_code == 404, (response.request.url, response.text)
        assert response.json()["type"] == f"{PROBLEMS}project-not-found"
        assert "'nope'" in response.json()["detail"]
    assert await head(service, admin) == before


async def test_a_participant_conflict_or_unknown_participant_names_participant_id(
    service: httpx.AsyncClient, db: Database
) -> None:
    admin = await demo_project(service, db)
    first = await service.post(PARTICIPANTS, json=enrolment(), headers=admin)
    assert first.status_code == 201, first.text
    before = await head(service, admin)
    other = await service.post(PARTICIPANTS, json=enrolment(name="Somebody Else"), headers=admin)
    assert named_fields(other, 409) == ["participant_id"]
    assert "Somebody" not in other.text
    unknown = await service.get(f"{PARTICIPANTS}/p-404", headers=admin)
    assert named_fields(unknown, 404) == ["participant_id"]
    assert "p-404" in unknown.json()["errors"][0]["message"]
    assert await head(service, admin) == before
