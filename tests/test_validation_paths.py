"""Bad input is refused as problem+json naming the field, the item of a list included.

The hostile inputs are the ones that once caused a 500 (found by tests/test_openapi_fuzz.py):
they are tried here on every run, whatever the fuzzer happens to draw.
"""

from __future__ import annotations

import json
from typing import Any, NamedTuple

import httpx
import pytest

from tests.conftest import Database, bearer
from tests.story import REGISTRATION, founding_events, organisation, training

PROJECT = "demo"
EVENTS = f"/api/v1/projects/{PROJECT}/events"
STREAM = f"/api/v1/projects/{PROJECT}/streams/project"
INDICATORS = f"/api/v1/projects/{PROJECT}/indicators"
JSON = {"Content-Type": "application/json"}
NDJSON = {"Accept": "application/x-ndjson"}
BEYOND_BIGINT = 2**63


class Demo(NamedTuple):
    """The demo project as recorded: an admin's headers and the log's head."""

    admin: dict[str, str]
    head: int


async def record_demo_project(service: httpx.AsyncClient, db: Database) -> Demo:
    """Project "demo" with partners, people and a training, recorded through the API."""
    admin = await bearer(db, "admin")
    created = await service.post(
        "/api/v1/projects", json={"project_id": PROJECT, "data": REGISTRATION}, headers=admin
    )
    assert created.status_code == 201, created.text
    events = [*founding_events(), training("TRN-1", "2025-03-04", [("p-1", "clu-at", "6")])]
    recorded = await service.post(EVENTS, json=events, headers=admin)
    assert recorded.status_code == 201, recorded.text
    return Demo(admin, recorded.json()["events"][-1]["position"])


def _training(**changes: Any) -> dict[str, Any]:
    """A valid training of the demo project, with `changes` to its envelope."""
    return {**training("TRN-9", "2025-03-05", [("p-1", "clu-at", "6")]), **changes}


def _with_data(**changes: Any) -> dict[str, Any]:
    """A valid training of the demo project, with `changes` to its `data`."""
    event = _training()
    return {**event, "data": {**event["data"], **changes}}


def _organisation_named(name: str) -> dict[str, Any]:
    """A new SME of the demo project called `name`."""
    event = organisation("sme-9", "AT", org_type="SME", size="small")
    return {**event, "data": {**event["data"], "name": name}}


def _nested(depth: int) -> bytes:
    """A training whose `data` carries a JSON object nested `depth` deep."""
    deep = b'{"a": ' * depth + b"1" + b"}" * depth
    return json.dumps(_training()).encode().replace(b'"data": {', b'"data": {"deep": ' + deep + b", ", 1)


# (what, method, path, httpx keywords, the field the problem names or None): each was answered
# with a 500 when it was added here.
HOSTILE: list[tuple[str, str, str, dict[str, Any], str | None]] = [
    ("after beyond bigint", "GET", f"{EVENTS}?after={BEYOND_BIGINT}", {}, "after"),
    ("NDJSON after beyond bigint", "GET", f"{EVENTS}?after={BEYOND_BIGINT}", {"headers": NDJSON}, "after"),
    ("from_version beyond int4", "GET", f"{STREAM}?from_version=2147483648", {}, "from_version"),
    ("NUL in the project", "GET", "/api/v1/projects/de%00mo/events", {}, "project"),
    (
        "NUL in the project of a write",
        "POST",
        "/api/v1/projects/de%00mo/events",
        {"json": _training()},
        "project",
    ),
    ("NUL in the project of a stream", "GET", "/api/v1/projects/de%00mo/streams/project", {}, "project"),
    ("NUL in the stream", "GET", f"/api/v1/projects/{PROJECT}/streams/pro%00ject", {}, "stream"),
    ("NUL in an event's stream", "POST", EVENTS, {"json": _training(stream="activity-\u0000")}, "stream"),
    ("NUL in a listed event's stream", "POST", EVENTS, {"json": [_training(stream="a\u0000")]}, "[0].stream"),
    (
        "NUL in an event's partner",
        "POST",
        EVENTS,
        {"json": _training(partner_org_id="clu\u0000")},
        "partner_org_id",
    ),
    ("NUL in an event's topic", "POST", EVENTS, {"json": _with_data(topic="digi\u0000tal")}, "data.topic"),
    # Accepted into the log, it stalled the organisations read model (its `name` column is text).
    (
        "NUL in an organisation's name",
        "POST",
        EVENTS,
        {"json": [_organisation_named("A\u0000B")]},
        "[0].data.name",
    ),
    ("NUL in a key of an event's data", "POST", EVENTS, {"json": _with_data(**{"x\u0000": 1})}, None),
    (
        "NUL in a listed event's topic",
        "POST",
        EVENTS,
        {"json": [_with_data(topic="\u0000")]},
        "[0].data.topic",
    ),
    (
        "NUL in the Idempotency-Key",
        "POST",
        EVENTS,
        {"json": _training(), "headers": {"Idempotency-Key": "\x00"}},
        "Idempotency-Key",
    ),
    (
        "NUL in a new project's data",
        "POST",
        "/api/v1/projects",
        {"json": {"project_id": "p2", "data": {**REGISTRATION, "call_id": "\u0000"}}},
        "data.call_id",
    ),
    ("JSON nested 5000 deep", "POST", EVENTS, {"content": _nested(5000), "headers": JSON}, "body"),
    ("JSON nested 990 deep", "POST", EVENTS, {"content": _nested(990), "headers": JSON}, None),
    ("as_of a superscript digit", "GET", f"{INDICATORS}?as_of=%C2%B2", {}, "as_of"),
    ("as_of a superscript digit, series", "GET", f"{INDICATORS}/O1/series?as_of=%C2%B2", {}, "as_of"),
    ("NUL in the project of indicators", "GET", "/api/v1/projects/de%00mo/indicators", {}, "project"),
    ("NUL in the project of participants", "GET", "/api/v1/projects/de%00mo/participants", {}, "project"),
    ("NUL in the project of snapshots", "GET", "/api/v1/projects/de%00mo/snapshots", {}, "project"),
    ("NUL in a snapshot id", "GET", f"/api/v1/projects/{PROJECT}/snapshots/s%00", {}, "snapshot_id"),
    ("NUL in the project of the audit", "GET", "/api/v1/projects/de%00mo/audit/verify", {}, "project"),
    ("NUL in the project of imports", "GET", "/api/v1/projects/de%00mo/imports", {}, "project"),
]


@pytest.mark.parametrize(
    ("method", "path", "keywords", "field"),
    [pytest.param(method, path, keywords, field, id=what) for what, method, path, keywords, field in HOSTILE],
)
async def test_an_input_that_once_caused_a_500_is_refused_as_a_client_error_and_nothing_is_written(
    service: httpx.AsyncClient,
    db: Database,
    method: str,
    path: str,
    keywords: dict[str, Any],
    field: str | None,
) -> None:
    # As admin, whom the guards let through to every project, so the input reaches the code.
    admin, head = await record_demo_project(service, db)
    headers = {**admin, **keywords.get("headers", {})}
    response = await service.request(method, path, **{**keywords, "headers": headers})
    assert 400 <= response.status_code < 500, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    if field is not None:
        assert [e["field"] for e in response.json()["errors"]][:1] == [field], response.text
    log = await service.get(EVENTS, headers=admin)
    assert log.json()["head"] == head


async def test_a_listed_event_with_a_bad_envelope_field_is_named_by_its_index(
    service: httpx.AsyncClient, db: Database
) -> None:
    admin = (await record_demo_project(service, db)).admin
    listed = [_training(), _training(), _training(), {**_training(), "occurred_on": "not a date"}]
    response = await service.post(EVENTS, json=listed, headers=admin)
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["errors"][0]["field"] == "[3].occurred_on"
    assert problem["detail"].startswith("[3].occurred_on: ")
    assert "at `$" not in problem["errors"][0]["message"]


async def test_a_listed_event_with_an_unknown_field_or_a_wrong_type_is_named_by_its_index(
    service: httpx.AsyncClient, db: Database
) -> None:
    admin = (await record_demo_project(service, db)).admin
    unknown = await service.post(EVENTS, json=[_training(), {**_training(), "colour": "red"}], headers=admin)
    assert unknown.status_code == 400, unknown.text
    assert unknown.json()["errors"][0]["field"] == "[1].colour"
    assert "colour" in unknown.json()["errors"][0]["message"]
    not_a_dict = await service.post(EVENTS, json=[_training(), {**_training(), "data": 5}], headers=admin)
    assert not_a_dict.json()["errors"][0]["field"] == "[1].data"
    not_an_event = await service.post(EVENTS, json=[_training(), 7], headers=admin)
    assert not_an_event.json()["errors"][0]["field"] == "[1]"


async def test_a_single_event_names_its_field_without_an_index(
    service: httpx.AsyncClient, db: Database
) -> None:
    admin = (await record_demo_project(service, db)).admin
    response = await service.post(EVENTS, json={**_training(), "occurred_on": "2025-02-30"}, headers=admin)
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == "occurred_on"


async def test_a_listed_event_failing_a_catalog_rule_is_named_by_its_index_and_catalog_field(
    service: httpx.AsyncClient, db: Database
) -> None:
    admin = (await record_demo_project(service, db)).admin
    bad = _with_data(dates=["2025-03-06"])  # a training's occurred_on is its (first) date
    response = await service.post(EVENTS, json=[_training(), _training(), bad], headers=admin)
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["field"].startswith("[2].")


async def test_a_body_that_is_neither_an_event_nor_a_list_is_named_body(
    service: httpx.AsyncClient, db: Database
) -> None:
    admin = (await record_demo_project(service, db)).admin
    response = await service.post(EVENTS, json=5, headers=admin)
    assert response.status_code == 400, response.text
    assert response.json()["errors"][0]["field"] == "body"


async def test_an_empty_idempotency_key_is_refused_naming_the_header(
    service: httpx.AsyncClient, db: Database
) -> None:
    admin = (await record_demo_project(service, db)).admin
    response = await service.post(EVENTS, json=_training(), headers={**admin, "Idempotency-Key": ""})
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["errors"][0]["field"] == "Idempotency-Key"
    assert problem["detail"].startswith("Idempotency-Key: ")


async def test_a_body_that_is_not_json_and_a_body_too_large_name_the_body(
    service: httpx.AsyncClient, db: Database
) -> None:
    admin = await bearer(db, "admin")
    headers = {**admin, "Content-Type": "application/json"}
    truncated = await service.post("/api/v1/projects", content=b'{"type":', headers=headers)
    assert truncated.status_code == 400, truncated.text
    assert truncated.headers["content-type"].startswith("application/problem+json")
    assert truncated.json()["errors"][0]["field"] == "body"
    huge = await service.post("/api/v1/projects", content=b" " * (2 * 1024 * 1024), headers=headers)
    assert huge.status_code == 413, huge.text
    body = huge.json()
    assert body["errors"][0]["field"] == "body" and "bytes" in body["detail"]
