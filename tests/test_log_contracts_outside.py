"""The event log's contracts checked from the outside: through the HTTP API (two service
"processes" where it matters) and, where only the database can tell, as its superuser.

Nothing here uses the service's own integrity or canonical-encoding code: the hash chain is
recomputed from the NDJSON export with hashlib and json, following only the recipe in
docs/architecture.md ("Canonical bytes and the hash chain (recompute it by hand)").
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import datetime as dt
import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from tests.conftest import Database, bearer, running_service
from tests.story import REGISTRATION, founding_events, organisation, training

A, B = "demo", "other"


def events_url(project: str = A) -> str:
    return f"/api/v1/projects/{project}/events"


def verify_url(project: str = A) -> str:
    return f"/api/v1/projects/{project}/audit/verify"


async def new_project(service: httpx.AsyncClient, db: Database, project: str = A) -> dict[str, str]:
    """The project with its founding events (positions 1..7); returns a staff token's headers."""
    admin = await bearer(db, "admin", name=f"admin-{project}")
    created = await service.post(
        "/api/v1/projects", json={"project_id": project, "data": REGISTRATION}, headers=admin
    )
    assert created.status_code == 201, created.text
    staff = await bearer(db, "staff", project, name=f"staff-{project}")
    founded = await service.post(events_url(project), json=founding_events(), headers=staff)
    assert founded.status_code == 201, founded.text
    return staff


async def ndjson(
    service: httpx.AsyncClient, headers: dict[str, str], project: str = A
) -> list[dict[str, Any]]:
    response = await service.get(events_url(project), headers={**headers, "Accept": "application/x-ndjson"})
    assert response.status_code == 200, response.text
    # NDJSON lines end at "\n" only: str.splitlines() would also cut at a raw U+2028 in a payload.
    return [json.loads(line) for line in response.text.split("\n") if line]


async def head(service: httpx.AsyncClient, headers: dict[str, str], project: str = A) -> int:
    response = await service.get(events_url(project), params={"limit": 1}, headers=headers)
    assert response.status_code == 200, response.text
    value: int = response.json()["head"]
    return value


@contextlib.asynccontextmanager
async def second_process(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    """Another service instance on the same schema with its own pool: a second process."""
    # As large as the first one's: with a pool of 4 the writes below stall for good (see
    # test_writers_on_many_projects_do_not_starve_the_default_pool).
    pool = await db.new_pool(min_size=1, max_size=12)
    try:
        async with running_service(Database(db.dsn, db.schema, pool)) as client:
            yield client
    finally:
        await pool.close()


# --- the auditor's own recomputation, from docs/architecture.md only ------------------------------

CANONICAL_FIELDS = (
    "data",
    "event_id",
    "metadata",
    "occurred_on",
    "position",
    "project_id",
    "schema_version",
    "stream_id",
    "stream_version",
    "type",
)


def doc_canonical(event: dict[str, Any]) -> bytes:
    """The documented canonical bytes of one exported event."""
    obj = {name: event[name] for name in CANONICAL_FIELDS}
    # "YYYY-MM-DDTHH:MM:SS.ffffffZ (UTC, always 6 fractional digits)"
    moment = dt.datetime.fromisoformat(event["recorded_at"]).astimezone(dt.UTC)
    obj["recorded_at"] = moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def doc_chain(export: list[dict[str, Any]]) -> tuple[list[int], str]:
    """Positions whose stored hash (or prev_hash link) the documented recipe does not reproduce,
    each checked against the stored hash before it; and the head hash the recipe computes."""
    bad: list[int] = []
    stored_prev = bytes(32)
    computed = bytes(32)
    for expected_position, event in enumerate(export, start=1):
        assert event["position"] == expected_position
        mine = hashlib.sha256(stored_prev + doc_canonical(event)).digest()
        computed = hashlib.sha256(computed + doc_canonical(event)).digest()
        if mine.hex() != event["hash"] or event["prev_hash"] != stored_prev.hex():
            bad.append(event["position"])
        stored_prev = bytes.fromhex(event["hash"])
    return bad, computed.hex()


# --- 1. many writers ------------------------------------------------------------------------------


async def test_many_writers_on_two_processes_keep_each_project_dense_and_in_commit_order(
    service: httpx.AsyncClient, db: Database
) -> None:
    staff_a = await new_project(service, db, A)
    staff_b = await new_project(service, db, B)
    auditor = await bearer(db, "auditor", A, B)
    answers: dict[str, list[dict[str, Any]]] = {A: [], B: []}
    done = asyncio.Event()
    seen: list[dict[str, Any]] = []

    async with second_process(db) as other:
        clients = [service, other]

        async def single_writer(task: int) -> None:
            for n in range(10):
                body = organisation(f"w{task}-{n}", "AT")
                response = await clients[task % 2].post(events_url(A), json=body, headers=staff_a)
                assert response.status_code == 201, response.text
                answers[A] += response.json()["events"]

        async def list_writer(task: int) -> None:
            for n in range(4):
                body = [organisation(f"l{task}-{n}-{k}", "PL") for k in range(5)]
                response = await clients[task % 2].post(events_url(A), json=body, headers=staff_a)
                assert response.status_code == 201, response.text
                landed = response.json()["events"]
                # A list lands in request order (and, as built, side by side).
                assert [e["stream"] for e in landed] == [f"org-l{task}-{n}-{k}" for k in range(5)]
                assert [e["position"] for e in landed] == list(
                    range(landed[0]["position"], landed[0]["position"] + 5)
                )
                answers[A] += landed

        async def other_project_writer(task: int) -> None:
            for n in range(10):
                body = organisation(f"b{task}-{n}", "ES")
                response = await clients[(task + 1) % 2].post(events_url(B), json=body, headers=staff_b)
                assert response.status_code == 201, response.text
                answers[B] += response.json()["events"]

        async def reader() -> None:
            # Polls the JSON pages: each page must continue exactly where the last one stopped;
            # an N seen before N-1 would show up as a gap here.
            while True:
                after = seen[-1]["position"] if seen else 0
                page = (
                    await service.get(events_url(A), params={"after": after, "limit": 37}, headers=auditor)
                ).json()
                for event in page["events"]:
                    assert event["position"] == (seen[-1]["position"] if seen else 0) + 1
                    seen.append(event)
                if not page["events"]:
                    if done.is_set() and after >= page["head"]:
                        return
                    await asyncio.sleep(0.002)

        tail = asyncio.create_task(reader())
        await asyncio.gather(
            *(single_writer(t) for t in range(50)),
            *(list_writer(t) for t in range(5)),
            *(other_project_writer(t) for t in range(10)),
        )
        done.set()
        await asyncio.wait_for(tail, 30)

    total_a = 7 + 50 * 10 + 5 * 4 * 5
    total_b = 7 + 10 * 10
    assert sorted(e["position"] for e in answers[A]) == list(range(8, total_a + 1))
    assert sorted(e["position"] for e in answers[B]) == list(range(8, total_b + 1))
    assert [e["position"] for e in seen] == list(range(1, total_a + 1))
    # The answers tell the truth: each event id sits at the position its writer was given.
    by_position = {e["position"]: e["event_id"] for e in seen}
    assert all(by_position[e["position"]] == e["event_id"] for e in answers[A])
    # recorded_at never goes back along the log ("as of a date" is a prefix).
    stamps = [dt.datetime.fromisoformat(e["recorded_at"]) for e in seen]
    assert stamps == sorted(stamps)
    log_b = await ndjson(service, auditor, B)
    assert [e["position"] for e in log_b] == list(range(1, total_b + 1))
    assert {e["project_id"] for e in log_b} == {B}
    for project, total in ((A, total_a), (B, total_b)):
        report = (await service.get(verify_url(project), headers=auditor)).json()
        assert (report["ok"], report["head_position"]) == (True, total)


async def test_writers_on_many_projects_do_not_starve_the_default_pool(db: Database) -> None:
    pool = await db.new_pool(min_size=1, max_size=16)  # the service's default IMPACTLOG_POOL_MAX
    stack = contextlib.AsyncExitStack()
    tasks: list[asyncio.Task[None]] = []
    try:
        service = await stack.enter_async_context(running_service(Database(db.dsn, db.schema, pool)))
        admin = await bearer(db, "admin")
        projects = [f"p{n}" for n in range(6)]
        for project in projects:
            body = {"project_id": project, "data": REGISTRATION}
            assert (await service.post("/api/v1/projects", json=body, headers=admin)).status_code == 201
        for _ in range(60):  # the service's background tasks have taken their connections
            if pool.get_size() - pool.get_idle_size() >= 6:
                break
            await asyncio.sleep(0.05)

        async def writer(project: str, task: int) -> None:
            for n in range(5):
                body = organisation(f"o-{task}-{n}", "AT")
                response = await service.post(events_url(project), json=body, headers=admin)
                assert response.status_code in (201, 503), response.text

        tasks = [asyncio.create_task(writer(p, t)) for p in projects for t in range(8)]
        _, pending = await asyncio.wait(tasks, timeout=5)
        written = await db.pool.fetchval("SELECT count(*) FROM events")
        assert not pending, f"{len(pending)} of {len(tasks)} writers hung; {written} of 246 events written"
    finally:
        for task in tasks:
            task.cancel()
        pool.terminate()  # ends the stuck transactions, so the schema can be dropped
        with contextlib.suppress(Exception):
            await asyncio.wait_for(stack.aclose(), 5)


# --- 2. idempotency -------------------------------------------------------------------------------


async def test_one_key_sent_concurrently_to_two_processes_writes_one_copy_and_answers_alike(
    service: httpx.AsyncClient, db: Database
) -> None:
    staff = await new_project(service, db)
    body = [organisation("org-k1", "AT"), organisation("org-k2", "PL"), organisation("org-k3", "ES")]
    async with second_process(db) as other:
        # A lost answer, retried at once: the "same" request arrives several times, on both
        # processes, each with its own request id.
        responses = await asyncio.gather(
            *(
                client.post(
                    events_url(),
                    json=body,
                    headers={**staff, "Idempotency-Key": "upload-1", "X-Request-Id": str(uuid.uuid4())},
                )
                for client in [service, other] * 4
            )
        )
    assert {r.status_code for r in responses} == {201}
    assert len({r.content for r in responses}) == 1
    assert [e["position"] for e in responses[0].json()["events"]] == [8, 9, 10]
    log = await ndjson(service, staff)
    assert len(log) == 10
    assert sum(e["stream_id"] == "org-org-k1" for e in log) == 1


async def test_idempotency_keys_and_client_event_ids_from_the_outside(
    service: httpx.AsyncClient, db: Database
) -> None:
    staff = await new_project(service, db)
    staff_b = await new_project(service, db, B)
    body = [organisation("org-k1", "AT"), organisation("org-k2", "PL")]
    for event in body:
        event["event_id"] = str(uuid.uuid4())
    keyed = {**staff, "Idempotency-Key": "batch-7"}
    first = await service.post(events_url(), json=body, headers=keyed)
    assert first.status_code == 201
    again = await service.post(events_url(), json=body, headers={**keyed, "X-Request-Id": "retry"})
    assert (again.status_code, again.content) == (201, first.content)

    # Same key, other content (one byte of one payload): refused, nothing written.
    other = copy.deepcopy(body)
    other[1]["data"]["headcount"] = 13
    refused = await service.post(events_url(), json=other, headers=keyed)
    assert refused.status_code == 422
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    assert problem["type"].endswith("/idempotency-key-reused")
    assert problem["errors"][0]["field"] == "Idempotency-Key"
    # Same key, only a date differs: also other content (the fingerprint includes dates).
    moved = copy.deepcopy(body)
    moved[0]["occurred_on"] = "2025-01-11"
    assert (await service.post(events_url(), json=moved, headers=keyed)).status_code == 422
    assert await head(service, staff) == 9

    # The same client event ids in a new request, without the key: the original answer.
    by_ids = await service.post(events_url(), json=body, headers=staff)
    assert (by_ids.status_code, by_ids.json()) == (201, first.json())
    # ... with other content: 409 naming the event; a half-known request is refused whole.
    changed = await service.post(events_url(), json=other, headers=staff)
    assert changed.status_code == 409 and changed.json()["type"].endswith("/duplicate-event-id")
    assert changed.json()["errors"][0]["field"] == "[1].event_id"
    half = await service.post(events_url(), json=[body[0], organisation("org-k9", "AT")], headers=staff)
    assert half.status_code == 409
    assert await head(service, staff) == 9

    # Keys are per project: the same key on another project is a new request there.
    elsewhere = await service.post(
        events_url(B), json=[organisation("org-k1", "AT")], headers={**staff_b, "Idempotency-Key": "batch-7"}
    )
    assert elsewhere.status_code == 201 and elsewhere.json()["events"][0]["position"] == 8

    # A refused request does not use up its key (observed behaviour, reasonable; not documented).
    bad = training("TRN-1", "2025-03-04", [("p-404", "clu-at", "6")])
    fresh_key = {**staff, "Idempotency-Key": "batch-8"}
    assert (await service.post(events_url(), json=bad, headers=fresh_key)).status_code == 422
    good = training("TRN-1", "2025-03-04", [("p-1", "clu-at", "6")])
    assert (await service.post(events_url(), json=good, headers=fresh_key)).status_code == 201
    assert (await service.post(events_url(), json=bad, headers=fresh_key)).status_code == 422
    assert await head(service, staff) == 10


# Failed at 475a896 (the id was matched on stream, type and data only: 201 with the original
# position); passes with the working tree's migration 0011 and events/append.py change.
async def test_the_same_event_id_with_another_date_is_other_content(
    service: httpx.AsyncClient, db: Database
) -> None:
    staff = await new_project(service, db)
    event = {**organisation("org-d", "AT"), "event_id": str(uuid.uuid4())}
    assert (await service.post(events_url(), json=event, headers=staff)).status_code == 201
    later = {**event, "occurred_on": "2025-01-11"}  # hashed, and the date KPIs bucket by
    response = await service.post(events_url(), json=later, headers=staff)
    assert await head(service, staff) == 8
    assert response.status_code == 409, response.text
    assert response.json()["errors"][0]["field"] == "[0].event_id"


async def test_the_same_key_with_another_partner_is_other_content(
    service: httpx.AsyncClient, db: Database
) -> None:
    staff = await new_project(service, db)
    keyed = {**staff, "Idempotency-Key": "k-partner"}
    assert (
        await service.post(events_url(), json=organisation("org-p", "AT"), headers=keyed)
    ).status_code == 201
    other = {**organisation("org-p", "AT"), "partner_org_id": "clu-pl"}
    response = await service.post(events_url(), json=other, headers=keyed)
    assert await head(service, staff) == 8
    assert response.status_code == 422, response.text


# --- 3. expected versions -------------------------------------------------------------------------


async def test_expected_version_conflicts_write_nothing_alone_in_a_list_or_in_a_race(
    service: httpx.AsyncClient, db: Database
) -> None:
    staff = await new_project(service, db)
    created = await service.post(
        events_url(), json={**organisation("org-e1", "AT"), "expected_version": 0}, headers=staff
    )
    assert created.status_code == 201 and created.json()["events"][0]["stream_version"] == 1
    again = await service.post(
        events_url(), json={**organisation("org-e1", "AT"), "expected_version": 0}, headers=staff
    )
    assert again.status_code == 409 and again.json()["type"].endswith("/wrong-expected-version")
    assert again.json()["errors"][0]["field"] == "[0].expected_version"

    # In a list the third event's conflict refuses the first two as well.
    listed = [
        {**organisation("org-e2", "AT"), "expected_version": 0},
        organisation("org-e3", "PL"),
        {**training("TRN-1", "2025-03-04", [("p-1", "clu-at", "6")]), "expected_version": 3},
    ]
    refused = await service.post(events_url(), json=listed, headers=staff)
    assert refused.status_code == 409 and refused.json()["errors"][0]["field"] == "[2].expected_version"
    assert await head(service, staff) == 8
    for stream in ("org-org-e2", "org-org-e3", "activity-TRN-1"):
        assert (await service.get(f"/api/v1/projects/{A}/streams/{stream}", headers=staff)).json() == []
    listed[2]["expected_version"] = 0
    accepted = await service.post(events_url(), json=listed, headers=staff)
    assert [e["position"] for e in accepted.json()["events"]] == [9, 10, 11]
    target = accepted.json()["events"][2]["event_id"]

    # Eight corrections race for version 1 of the training's stream: one wins, seven get 409.
    def correction(hours: int) -> dict[str, Any]:
        return {
            "type": "CorrectionRecorded",
            "occurred_on": "2025-03-10",
            "expected_version": 1,
            "stream": "activity-TRN-1",
            "data": {
                "target_event_id": target,
                "field_changes": {"duration_hours": str(hours)},
                "reason": "recount",
                "approved_by": "clu-at",
            },
        }

    race = await asyncio.gather(
        *(service.post(events_url(), json=correction(6 + n), headers=staff) for n in range(8))
    )
    assert sorted(r.status_code for r in race) == [201] + [409] * 7
    assert await head(service, staff) == 12


# --- 4. immutability ------------------------------------------------------------------------------


async def test_the_superuser_cannot_update_delete_or_truncate_events(
    service: httpx.AsyncClient, db: Database
) -> None:
    staff = await new_project(service, db)
    before = await ndjson(service, staff)
    connection = await db.connect()
    try:
        assert await connection.fetchval("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")
        for statement in (
            "UPDATE events SET data = '{}' WHERE position = 3",
            "UPDATE events SET type = type",  # even a no-op rewrite
            "DELETE FROM events WHERE position = 7",
            "DELETE FROM events",
            "TRUNCATE events",
            "TRUNCATE events CASCADE",
            """INSERT INTO events SELECT * FROM events WHERE position = 2
               ON CONFLICT (project_id, position) DO UPDATE SET type = 'Forged'""",
        ):
            with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
                await connection.execute(statement)
    finally:
        await connection.close()
    assert await ndjson(service, staff) == before
    assert (await service.get(verify_url(), headers=staff)).json()["ok"] is True


# Failed at 475a896 (ordinary ENABLE triggers: the UPDATE went through); passes with the
# working tree's migration 0011 (ENABLE ALWAYS).
async def test_the_triggers_also_hold_under_replication_role(
    service: httpx.AsyncClient, db: Database
) -> None:
    await new_project(service, db)
    connection = await db.connect()
    try:
        await connection.execute("BEGIN")
        await connection.execute("SET LOCAL session_replication_role = replica")
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="append-only"):
            await connection.execute("UPDATE events SET type = type WHERE position = 2")
    finally:
        await connection.execute("ROLLBACK")
        await connection.close()


# --- 5. tamper evidence and the documented recipe ------------------------------------------------


async def rich_log(service: httpx.AsyncClient, db: Database) -> dict[str, str]:
    """A log with what canonical bytes must survive: non-ASCII, control characters, nested
    metadata, a sealed participant, a correction, a retraction and a snapshot event."""
    staff = await new_project(service, db)
    odd = organisation("org-ü", "DE")
    odd["data"]["name"] = 'Zürich — Œuvre "Ω" 😀 \u2028 tab\t\\ end\u001f'
    odd["work_package"] = "WP3"
    odd["correlation_id"] = "ĉ-1"
    odd["evidence"] = [{"uri": "https://files.example.org/ä.pdf", "sha256": "a" * 64}]
    trn = training("TRN-1", "2025-03-04", [("p-1", "clu-at", "6"), ("p-2", "sme-1", "4")])
    trn2 = training("TRN-2", "2025-03-05", [("p-1", "clu-at", "6")])
    landed = await service.post(events_url(), json=[odd, trn, trn2], headers=staff)
    assert landed.status_code == 201, landed.text
    ids = [e["event_id"] for e in landed.json()["events"]]
    person = {
        "participant_id": "p-zk",
        "org_id": "clu-pl",
        "role": "cluster_manager",
        "gender": "F",
        "name": "Zofia Wiśniewska-Kałuża",
        "email": "zofia.k@example.pl",
        "occurred_on": "2025-02-03",
    }
    registered = await service.post(f"/api/v1/projects/{A}/participants", json=person, headers=staff)
    assert registered.status_code == 201, registered.text
    fixes = [
        {
            "type": "CorrectionRecorded",
            "occurred_on": "2025-03-10",
            "data": {
                "target_event_id": ids[1],
                "field_changes": {"duration_hours": "7", "topic": "green"},
                "reason": "Anwesenheitsliste geprüft",
                "approved_by": "clu-at",
            },
        },
        {
            "type": "ActivityRetracted",
            "occurred_on": "2025-03-11",
            "data": {"target_event_id": ids[2], "reason": "double entry", "approved_by": "clu-at"},
        },
    ]
    assert (await service.post(events_url(), json=fixes, headers=staff)).status_code == 201
    published = await service.post(f"/api/v1/projects/{A}/snapshots", json={"kind": "adhoc"}, headers=staff)
    assert published.status_code == 201, published.text
    return staff


async def test_the_documented_recipe_reproduces_every_hash_and_a_flipped_byte_is_named(
    service: httpx.AsyncClient, db: Database
) -> None:
    await rich_log(service, db)
    auditor = await bearer(db, "auditor", A)
    export = await ndjson(service, auditor)
    assert {"ParticipantRegistered", "CorrectionRecorded", "ActivityRetracted", "SnapshotPublished"} <= {
        e["type"] for e in export
    }
    bad, computed_head = doc_chain(export)
    assert bad == []
    report = (await service.get(verify_url(), headers=auditor)).json()
    assert report["ok"] is True and report["head_hash"] == computed_head == export[-1]["hash"]

    # One byte of one event's data, by a superuser who switched the trigger off (and back on).
    position = 4
    connection = await db.connect()
    try:
        old = await connection.fetchval("SELECT data::text FROM events WHERE position = $1", position)
        new = old.replace('"headcount":12', '"headcount":13')
        assert len(new) == len(old) and sum(a != b for a, b in zip(old, new, strict=True)) == 1
        await connection.execute("ALTER TABLE events DISABLE TRIGGER events_no_update_delete")
        try:
            await connection.execute("UPDATE events SET data = $1::json WHERE position = $2", new, position)
        finally:
            await connection.execute("ALTER TABLE events ENABLE TRIGGER events_no_update_delete")
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await connection.execute("UPDATE events SET data = $1::json WHERE position = $2", old, position)
    finally:
        await connection.close()

    report = (await service.get(verify_url(), headers=auditor)).json()
    assert (report["ok"], report["first_bad_position"]) == (False, position)
    tampered = await ndjson(service, auditor)
    assert tampered[position - 1]["data"]["headcount"] == 13
    assert doc_chain(tampered)[0] == [position]


# Failed at 475a896: field_changes kept JSON floats in the hashed payload (stored 0.00001, which
# Python's json writes 1e-05), so the recipe missed that hash; passes with the working tree's
# CorrectionRecorded.__post_init__ (floats become decimals, written as strings).
async def test_the_documented_recipe_holds_when_a_correction_sends_numbers(
    service: httpx.AsyncClient, db: Database
) -> None:
    staff = await new_project(service, db)
    trn = training("TRN-1", "2025-03-04", [("p-1", "clu-at", "6")])
    landed = await service.post(events_url(), json=trn, headers=staff)
    target = landed.json()["events"][0]["event_id"]
    correction = {
        "type": "CorrectionRecorded",
        "occurred_on": "2025-03-10",
        "data": {
            "target_event_id": target,
            "field_changes": {
                "duration_hours": 7.0,
                "attendees": [{"participant_id": "p-1", "org_id": "clu-at", "attended_hours": 0.00001}],
            },
            "reason": "recount",
            "approved_by": "clu-at",
        },
    }
    accepted = await service.post(events_url(), json=correction, headers=staff)
    assert accepted.status_code == 201, accepted.text  # (a 4xx would also keep the contract)
    export = await ndjson(service, staff)
    stored = export[-1]["data"]["field_changes"]
    assert not isinstance(stored["duration_hours"], float)
    assert doc_chain(export)[0] == []


# --- 6. erasure -----------------------------------------------------------------------------------

PERSON = {"name": "Zofia Wiśniewska-Kałuża", "email": "zofia.k@example.pl", "job_title": "Klastrový manažér"}


async def every_read(service: httpx.AsyncClient, admin: dict[str, str]) -> str:
    """Everything the API serves about the project's people and log, as one text."""
    base = f"/api/v1/projects/{A}"
    paths = [
        f"{base}/participants",
        f"{base}/participants/p-zk",
        f"{base}/participants/p-zk/export",
        f"{base}/streams/participant-p-zk",
        f"{base}/audit/log",
        f"{base}/events",
        f"{base}/indicators/O3/evidence",
        f"{base}/snapshots",
    ]
    texts = [(await service.get(path, headers=admin)).text for path in paths]
    texts.append(
        (await service.get(f"{base}/events", headers={**admin, "Accept": "application/x-ndjson"})).text
    )
    return "\n".join(texts)


async def test_erasure_keeps_chain_and_kpis_byte_identical_and_leaves_no_personal_data(
    service: httpx.AsyncClient, db: Database
) -> None:
    staff = await new_project(service, db)
    admin = await bearer(db, "admin", name="dpo")
    auditor = await bearer(db, "auditor", A)
    enrol = {
        "participant_id": "p-zk",
        "org_id": "clu-pl",
        "role": "cluster_staff",
        "gender": "F",
        "occurred_on": "2025-02-03",
        **PERSON,
    }
    assert (
        await service.post(f"/api/v1/projects/{A}/participants", json=enrol, headers=staff)
    ).status_code == 201
    trainings = [
        training("TRN-1", "2025-03-04", [("p-1", "clu-at", "6"), ("p-zk", "clu-pl", "4")]),
        training("TRN-2", "2025-04-08", [("p-zk", "clu-pl", "3"), ("p-2", "sme-1", "3")], hours="3"),
    ]
    assert (await service.post(events_url(), json=trainings, headers=staff)).status_code == 201
    published = await service.post(f"/api/v1/projects/{A}/snapshots", json={"kind": "adhoc"}, headers=staff)
    assert published.status_code == 201, published.text
    snapshot = published.json()["snapshot_id"]
    p = await head(service, staff)

    base = f"/api/v1/projects/{A}"
    kpi_reads = [
        (f"{base}/indicators", {"as_of": str(p)}, {}),
        (f"{base}/indicators", {"as_of": str(p), "period": "quarter"}, {}),
        (f"{base}/indicators/O3/series", {"as_of": str(p), "by": "gender"}, {"Accept": "text/csv"}),
        (f"{base}/snapshots/{snapshot}", {}, {}),
        (f"{base}/snapshots/{snapshot}.csv", {}, {}),
    ]

    async def kpis() -> list[bytes]:
        found = []
        for path, params, extra in kpi_reads:
            response = await service.get(path, params=params, headers={**auditor, **extra})
            assert response.status_code == 200, (path, response.text)
            found.append(response.content)
        return found

    before = await kpis()
    at_head_before = (await service.get(f"{base}/indicators", headers=auditor)).json()["indicators"]
    visible = await every_read(service, admin)
    assert PERSON["name"] in visible and PERSON["email"] in visible  # the checks below can see it

    erased = await service.post(
        f"{base}/participants/p-zk/erasure", json={"request_date": "2025-07-01"}, headers=admin
    )
    assert erased.status_code == 201, erased.text
    assert erased.json()["event"]["position"] == p + 1

    report = (await service.get(verify_url(), headers=auditor)).json()
    assert report["ok"] is True and report["head_position"] == p + 1
    export = await ndjson(service, auditor)
    bad, computed_head = doc_chain(export)
    assert bad == [] and computed_head == report["head_hash"]
    assert await kpis() == before
    at_head_after = (await service.get(f"{base}/indicators", headers=auditor)).json()["indicators"]
    assert at_head_after["figures"] == at_head_before["figures"]
    verdict = (await service.get(f"{base}/snapshots/{snapshot}/verify", headers=auditor)).json()
    assert verdict["verdict"] == "reproduced", verdict

    view = (await service.get(f"{base}/participants/p-zk", headers=admin)).json()
    assert (view["personal_data"], view["personal"]) == ("erased", None)
    access = (await service.get(f"{base}/participants/p-zk/export", headers=admin)).json()
    assert access["personal"] is None and access["key"]["destroyed_at"] is not None
    served = await every_read(service, admin)
    for value in PERSON.values():
        assert value not in served
    # And nowhere in the database, in any table of the schema (only ciphertext is left).
    connection = await db.connect()
    try:
        tables = await connection.fetch("SELECT tablename FROM pg_tables WHERE schemaname = $1", db.schema)
        for table in tables:
            name = table["tablename"]
            text = await connection.fetchval(
                f"SELECT coalesce(string_agg(t::text, '|'), '') FROM \"{name}\" t"
            )
            for value in PERSON.values():
                assert value.lower() not in text.lower(), (name, value)
        key = await connection.fetchrow(
            "SELECT key, destroyed_at FROM participant_keys WHERE participant_id = 'p-zk'"
        )
        assert key["key"] is None and key["destroyed_at"] is not None
    finally:
        await connection.close()


# --- 7. bad input ---------------------------------------------------------------------------------


async def test_a_list_refused_by_its_third_event_writes_none_of_it_whatever_the_reason(
    service: httpx.AsyncClient, db: Database
) -> None:
    staff = await new_project(service, db)
    good = [organisation("org-g1", "AT"), organisation("org-g2", "PL")]

    def third(**changes: Any) -> dict[str, Any]:
        event = training("TRN-9", "2025-03-04", [("p-1", "clu-at", "6")])
        for path, value in changes.items():
            holder = event
            *parents, leaf = path.split(".")
            for parent in parents:
                holder = holder[parent]
            holder[leaf] = value
        return event

    cases: list[tuple[Any, int, str]] = [
        (third(colour="red"), 400, "[2].colour"),  # unknown envelope field
        (third(occurred_on="2025-13-01"), 400, "[2].occurred_on"),
        (third(**{"data.duration_hours": "-1"}), 422, "[2].data.duration_hours"),  # catalog
        (third(**{"data.topic": "a\u0000b"}), 422, "[2].data.topic"),  # NUL
        (third(occurred_on="2025-03-05"), 422, "[2].occurred_on"),  # its own date differs
        (
            training("TRN-9", "2025-03-04", [("p-404", "clu-at", "6")]),
            422,
            "[2].data.attendees[0].participant_id",
        ),
        (training("TRN-9", "2024-03-04", [("p-1", "clu-at", "6")]), 422, "[2].occurred_on"),  # before start
        ({**third(), "expected_version": 4}, 409, "[2].expected_version"),
        ({**third(), "event_id": "x"}, 400, "[2].event_id"),
        ({**third(), "type": "Party"}, 422, "[2].type"),
    ]
    for bad, status, field in cases:
        response = await service.post(events_url(), json=[*good, bad], headers=staff)
        assert response.status_code == status, (field, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        fields = [e["field"] for e in response.json().get("errors", [])]
        assert any(f.startswith(field) for f in fields), (field, response.text)
    # A repeated client id inside one list, and an id already in the log, refuse the list too.
    same = str(uuid.uuid4())
    twice = [{**good[0], "event_id": same}, good[1], {**third(), "event_id": same}]
    assert (await service.post(events_url(), json=twice, headers=staff)).status_code == 409
    assert await head(service, staff) == 7
    for stream in ("org-org-g1", "org-org-g2", "activity-TRN-9"):
        assert (await service.get(f"/api/v1/projects/{A}/streams/{stream}", headers=staff)).json() == []
    # Nothing was half-written: the next good list takes the very next positions.
    accepted = await service.post(events_url(), json=[*good, third()], headers=staff)
    assert [e["position"] for e in accepted.json()["events"]] == [8, 9, 10]
    assert [e["stream_version"] for e in accepted.json()["events"]] == [1, 1, 1]
    assert (await service.get(verify_url(), headers=staff)).json()["ok"] is True


async def test_two_megabytes_of_valid_events_land_whole_or_not_at_all(db: Database) -> None:
    events = [organisation(f"org-{n:05d}", "AT") for n in range(3800)]
    for n, event in enumerate(events):
        event["data"]["name"] = f"{'N' * 150}{n}"
    body = json.dumps(events).encode()
    assert len(body) > 2_000_000
    async with running_service(db, max_body_bytes=10 * 1024 * 1024) as service:
        staff = await new_project(service, db)
        broken = copy.deepcopy(events)
        broken[-1]["data"]["country"] = "XX"
        refused = await service.post(events_url(), json=broken, headers=staff)
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["field"].startswith("[3799].data.")
        assert await head(service, staff) == 7
        headers = {**staff, "Content-Type": "application/json", "Idempotency-Key": "big"}
        landed = await service.post(events_url(), content=body, headers=headers)
        assert landed.status_code == 201, landed.text[:500]
        assert [e["position"] for e in landed.json()["events"]] == list(range(8, 8 + 3800))
        again = await service.post(events_url(), content=body, headers=headers)
        assert (again.status_code, again.content) == (201, landed.content)
        assert (await service.get(verify_url(), headers=staff)).json()["head_position"] == 3807
    # The test service's own limit (1 MiB): 413, nothing written.
    async with running_service(db) as service:
        staff = await bearer(db, "staff", A)
        other = json.dumps([organisation(f"x-{n:05d}", "AT") for n in range(3800)]).encode()
        too_big = await service.post(
            events_url(), content=other, headers={**staff, "Content-Type": "application/json"}
        )
        assert too_big.status_code == 413
        assert too_big.headers["content-type"].startswith("application/problem+json")
        assert await head(service, staff) == 3807


async def test_an_unknown_project_is_404_on_every_route_and_nothing_is_created(
    service: httpx.AsyncClient, db: Database
) -> None:
    staff = await new_project(service, db)
    admin = await bearer(db, "admin")
    base = "/api/v1/projects/nowhere"
    enrol = {
        "participant_id": "p-x",
        "org_id": "clu-at",
        "role": "cluster_staff",
        "gender": "F",
        "name": "X Y",
    }
    csv = (
        "session_id,date,more_dates,topic,format,duration_hours,country,partner_org_id,trainers,"
        "participant_id,org_id,attended_hours\nTRN-5,2025-04-02,,digital,onsite,4,AT,clu-at,,p-1,clu-at,4\n"
    )
    writes = [
        ("POST", f"{base}/events", {"json": organisation("org-n", "AT")}),
        ("POST", f"{base}/events", {"json": [organisation("org-n", "AT")]}),
        ("POST", f"{base}/participants", {"json": enrol}),
        ("POST", f"{base}/participants/p-x/erasure", {"json": {}}),
        ("POST", f"{base}/snapshots", {"json": {"kind": "adhoc"}}),
        (
            "POST",
            f"{base}/imports",
            {
                "content": csv.encode(),
                "params": {"filename": "a.csv"},
                "headers": {"Content-Type": "text/csv"},
            },
        ),
    ]
    reads = [
        f"{base}/events",
        f"{base}/streams/project",
        f"{base}/audit/verify",
        f"{base}/audit/log",
        f"{base}/indicators",
        f"{base}/indicators/O1/series",
        f"{base}/snapshots",
        f"{base}/participants",
        f"{base}/participants/p-x",
        f"{base}/participants/p-x/export",
        f"{base}/imports",
    ]
    for method, path, kwargs in [*writes, *(("GET", r, {}) for r in reads)]:
        extra = kwargs.pop("headers", {}) if isinstance(kwargs, dict) else {}
        response = await service.request(method, path, headers={**admin, **extra}, **kwargs)
        assert response.status_code == 404, (method, path, response.status_code, response.text)
        assert response.headers["content-type"].startswith("application/problem+json"), path
        if path.endswith("/p-x") or path.endswith("/export") or path.endswith("/erasure"):
            continue  # a participant's 404 may name participant_id
        assert response.json().get("type", "").endswith("/project-not-found"), (path, response.text)
        # A staff token of another project is kept out before anything is looked at.
        again = await service.request(method, path, headers={**staff, **extra}, **kwargs)
        assert again.status_code == 403, (path, again.text)
    connection = await db.connect()
    try:
        for table in ("log_heads", "events", "participant_keys", "imports", "idempotency_keys"):
            assert (
                await connection.fetchval(f"SELECT count(*) FROM {table} WHERE project_id = 'nowhere'") == 0
            )
    finally:
        await connection.close()


async def test_an_empty_list_for_an_unknown_project_is_404(service: httpx.AsyncClient, db: Database) -> None:
    admin = await bearer(db, "admin")
    response = await service.post("/api/v1/projects/nowhere/events", json=[], headers=admin)
    assert response.status_code == 404, response.text
