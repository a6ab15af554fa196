"""Staff record events over HTTP: validation, conflicts, idempotency, reading the log back."""

from __future__ import annotations

import copy
import json

import httpx

from events.integrity import verify_export
from tests.conftest import Database, bearer
from tests.story import REGISTRATION, founding_events, training

EVENTS = "/api/v1/projects/demo/events"


async def create_project(service: httpx.AsyncClient, db: Database) -> dict[str, str]:
    admin = await bearer(db, "admin")
    response = await service.post(
        "/api/v1/projects", json={"project_id": "demo", "data": REGISTRATION}, headers=admin
    )
    assert response.status_code == 201, response.text
    return await bearer(db, "staff", "demo", name="staff-at")


async def test_staff_record_a_list_all_or_nothing_and_get_positions(
    service: httpx.AsyncClient, db: Database
) -> None:
    staff = await create_project(service, db)
    response = await service.post(EVENTS, json=founding_events(), headers=staff)
    assert response.status_code == 201, response.text
    landed = response.json()["events"]
    assert [e["position"] for e in landed] == [2, 3, 4, 5, 6, 7]
    assert landed[0]["stream"] == "org-clu-at"
    one = training("TRN-1", "2025-03-04", [("p-1", "clu-at", "6"), ("p-2", "sme-1", "4")])
    response = await service.post(EVENTS, json=one, headers=staff)
    assert response.status_code == 201
    assert response.json()["events"][0] == {
        "event_id": response.json()["events"][0]["event_id"],
        "position": 8,
        "stream": "activity-TRN-1",
        "stream_version": 1,
    }


async def test_a_missing_participant_is_refused_naming_the_field_and_nothing_is_written(
    service: httpx.AsyncClient, db: Database
) -> None:
    staff = await create_project(service, db)
    bad = training("TRN-1", "2025-03-04", [("p-1", "clu-at", "6"), ("p-404", "clu-at", "6")])
    response = await service.post(EVENTS, json=[*founding_events(), bad], headers=staff)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["status"] == 422
    assert problem["errors"][0]["field"] == "[6].data.attendees[1].participant_id"
    assert "p-404" in problem["errors"][0]["message"]
    log = await service.get(EVENTS, headers=staff)
    assert log.json()["head"] == 1


async def test_bad_types_and_dates_name_the_field(service: httpx.AsyncClient, db: Database) -> None:
    staff = await create_project(service, db)
    await service.post(EVENTS, json=founding_events(), headers=staff)
    wrong_hours = training("TRN-1", "2025-03-04", [("p-1", "clu-at", "9")], hours="6")
    response = await service.post(EVENTS, json=wrong_hours, headers=staff)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"].startswith("data.attendees[0].attended_hours")
    moved = training("TRN-2", "2025-03-04", [("p-1", "clu-at", "6")])
    moved["occurred_on"] = "2025-03-05"
    response = await service.post(EVENTS, json=moved, headers=staff)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "occurred_on"
    unknown = {"type": "TrainingDelivered", "occurred_on": "2025-03-04", "data": {"session_id": 5}}
    response = await service.post(EVENTS, json=unknown, headers=staff)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"].startswith("data.")
    not_a_type = {"type": "Party", "occurred_on": "2025-03-04", "data": {}}
    response = await service.post(EVENTS, json=not_a_type, headers=staff)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "type"
    before_start = training("TRN-3", "2024-12-04", [("p-1", "clu-at", "6")])
    response = await service.post(EVENTS, json=before_start, headers=staff)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "occurred_on"
    malformed = await service.post(EVENTS, content=b"{not json", headers=staff)
    assert malformed.status_code == 400
    assert malformed.headers["content-type"].startswith("application/problem+json")
    missing = await service.post(EVENTS, json={"type": "TrainingDelivered"}, headers=staff)
    assert missing.status_code == 400
    assert "occurred_on" in missing.text or "data" in missing.text


async def test_idempotency_key_replays_and_refuses_other_content(
    service: httpx.AsyncClient, db: Database
) -> None:
    staff = await create_project(service, db)
    await service.post(EVENTS, json=founding_events(), headers=staff)
    one = training("TRN-1", "2025-03-04", [("p-1", "clu-at", "6")])
    keyed = {**staff, "Idempotency-Key": "upload-42"}
    first = await service.post(EVENTS, json=one, headers=keyed)
    again = await service.post(EVENTS, json=one, headers=keyed)
    assert first.status_code == again.status_code == 201
    assert first.json() == again.json()
    other = copy.deepcopy(one)
    other["data"]["duration_hours"] = "7"
    refused = await service.post(EVENTS, json=other, headers=keyed)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "Idempotency-Key"
    assert (await service.get(EVENTS, headers=staff)).json()["head"] == 8


async def test_expected_version_conflict_is_409(service: httpx.AsyncClient, db: Database) -> None:
    staff = await create_project(service, db)
    await service.post(EVENTS, json=founding_events(), headers=staff)
    one = training("TRN-1", "2025-03-04", [("p-1", "clu-at", "6")])
    assert (await service.post(EVENTS, json={**one, "expected_version": 0}, headers=staff)).status_code == 201
    conflict = await service.post(EVENTS, json={**one, "expected_version": 0}, headers=staff)
    assert conflict.status_code == 409
    assert conflict.json()["errors"][0]["field"] == "[0].expected_version"


async def test_the_log_reads_back_in_pages_and_as_ndjson_with_who_recorded_it(
    service: httpx.AsyncClient, db: Database
) -> None:
    staff = await create_project(service, db)
    await service.post(EVENTS, json=founding_events(), headers=staff)
    auditor = await bearer(db, "auditor", "demo")
    page = (await service.get(EVENTS, params={"limit": 4}, headers=auditor)).json()
    assert [e["position"] for e in page["events"]] == [1, 2, 3, 4]
    assert page["next_after"] == 4 and page["head"] == 7
    rest = (await service.get(EVENTS, params={"after": 4}, headers=auditor)).json()
    assert [e["position"] for e in rest["events"]] == [5, 6, 7] and rest["next_after"] is None
    assert rest["events"][0]["metadata"]["actor"] == "staff-at"
    streamed = await service.get(EVENTS, headers={**auditor, "Accept": "application/x-ndjson"})
    assert streamed.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(line) for line in streamed.text.split("\n")[:-1]]
    assert [e["position"] for e in lines] == list(range(1, 8))
    assert lines[0]["type"] == "ProjectRegistered" and len(lines[0]["hash"]) == 64
    stream = await service.get("/api/v1/projects/demo/streams/org-clu-pl", headers=auditor)
    assert [e["type"] for e in stream.json()] == ["OrganisationRegistered"]


async def test_a_line_separator_inside_an_event_stays_inside_its_ndjson_line(
    service: httpx.AsyncClient, db: Database
) -> None:
    staff = await create_project(service, db)
    founding = founding_events()
    founding[0]["data"]["name"] = "Cluster\u2028Upper\u2029Austria"  # pasted from a PDF, say
    assert (await service.post(EVENTS, json=founding, headers=staff)).status_code == 201
    auditor = await bearer(db, "auditor", "demo")
    streamed = await service.get(EVENTS, headers={**auditor, "Accept": "application/x-ndjson"})
    lines = streamed.content.split(b"\n")[:-1]  # NDJSON lines end at newlines only
    assert len(lines) == 7
    assert json.loads(lines[1])["data"]["name"] == "Cluster\u2028Upper\u2029Austria"
    assert verify_export(lines).ok


async def test_an_oversized_body_is_413(db: Database) -> None:
    from tests.conftest import running_service

    async with running_service(db, max_body_bytes=10_000) as service:
        staff = await create_project(service, db)
        big = [training(f"TRN-{i}", "2025-03-04", [("p-1", "clu-at", "6")]) for i in range(200)]
        response = await service.post(EVENTS, json=big, headers=staff)
        assert response.status_code == 413
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_creating_a_project_twice(service: httpx.AsyncClient, db: Database) -> None:
    admin = await bearer(db, "admin")
    body = {"project_id": "demo", "data": REGISTRATION}
    first = await service.post("/api/v1/projects", json=body, headers=admin)
    again = await service.post("/api/v1/projects", json=body, headers=admin)
    assert first.status_code == again.status_code == 201 and first.json() == again.json()
    other = {"project_id": "demo", "data": {**REGISTRATION, "grant_no": "999"}}
    assert (await service.post("/api/v1/projects", json=other, headers=admin)).status_code == 409
    bad_id = await service.post("/api/v1/projects", json={"project_id": "Demo!", "data": {}}, headers=admin)
    assert bad_id.status_code == 400 and "project_id" in bad_id.text
