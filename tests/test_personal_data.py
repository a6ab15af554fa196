"""Personal data in an immutable log: encrypted per person, shown as consent allows, exported on
request, erased by destroying the key — with the hash chain, the KPIs and published snapshots
left exactly as they were."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import datetime as dt
import hashlib
import json
import logging
import urllib.parse
from collections.abc import AsyncIterator
from typing import Any

import httpx
import msgspec
import pytest
from click.testing import CliRunner

from events.admission import WriteModelAdmission
from events.catalog import EncryptedPii
from events.entries import LogEntry, log_entry
from events.integrity import verify_chain
from events.read import iterate_log, read_head
from events.store import EventStore
from indicators import evaluate_all, suppress_for_funders
from indicators.results import canonical_json
from service.commands import EventCommand
from service.participant_cli import participant
from service.personal_data import (
    ANOTHER_PARTICIPANT,
    PersonalDataVault,
    VaultCheckedRecorder,
    associated_data,
    erase_participant,
    finish_erasures,
    unseal,
)
from service.recording import Recorder
from tests.conftest import Database, bearer, running_service
from tests.story import REGISTRATION, founding_events, training
from tests.story import participant as pseudonymous

PROJECT = "demo"
EVENTS = f"/api/v1/projects/{PROJECT}/events"
PARTICIPANTS = f"/api/v1/projects/{PROJECT}/participants"
ZOFIA = {"name": "Zofia Wiśniewska-Kałuża", "email": "zofia.k@example.pl", "job_title": "Cluster manager"}


@contextlib.asynccontextmanager
async def gdpr_service(db: Database, **overrides: Any) -> AsyncIterator[httpx.AsyncClient]:
    """The real app: create_app wires the participants and imports routes and the vault-checked
    Recorder."""
    async with running_service(db, **overrides) as client:
        assert isinstance(client.app.state.recorder, VaultCheckedRecorder)  # type: ignore[attr-defined]
        yield client


@pytest.fixture
async def service(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client to the wired service on this test's schema."""
    async with gdpr_service(db) as client:
        yield client


class People:
    """Tokens for a project with partners, one SME and two pseudonymous participants (p-1, p-2)."""

    def __init__(
        self, admin: dict[str, str], staff: dict[str, str], auditor: dict[str, str], funder: dict[str, str]
    ):
        self.admin, self.staff, self.auditor, self.funder = admin, staff, auditor, funder


async def set_up_project(service: httpx.AsyncClient, db: Database) -> People:
    admin = await bearer(db, "admin", name="dpo-admin")
    created = await service.post(
        "/api/v1/projects", json={"project_id": PROJECT, "data": REGISTRATION}, headers=admin
    )
    assert created.status_code == 201, created.text
    staff = await bearer(db, "staff", PROJECT, name="staff-at")
    recorded = await service.post(EVENTS, json=founding_events(), headers=staff)
    assert recorded.status_code == 201, recorded.text
    return People(admin, staff, await bearer(db, "auditor", PROJECT), await bearer(db, "funder", PROJECT))


def enrolment(participant_id: str = "p-zk", **fields: str) -> dict[str, Any]:
    return {
        "participant_id": participant_id,
        "org_id": "clu-pl",
        "role": "cluster_manager",
        "gender": "F",
        "occurred_on": "2025-02-03",
        "partner_org_id": "clu-pl",
        **(fields or ZOFIA),
    }


async def register(
    service: httpx.AsyncClient, people: People, participant_id: str = "p-zk"
) -> dict[str, Any]:
    response = await service.post(PARTICIPANTS, json=enrolment(participant_id), headers=people.staff)
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def all_stored_text(db: Database) -> str:
    """Every byte the database holds about events, as text: data, metadata, idempotency answers."""
    rows = await db.pool.fetch("SELECT data::text || metadata::text AS t FROM events")
    keys = await db.pool.fetch("SELECT key || result::text AS t FROM idempotency_keys")
    return "\n".join(r["t"] for r in [*rows, *keys])


async def log_entries(db: Database) -> list[LogEntry]:
    entries = []
    async for batch in iterate_log(db.pool, PROJECT):
        entries += [log_entry(e) for e in batch]
    return entries


async def test_personal_fields_never_enter_the_log_in_clear(
    service: httpx.AsyncClient, db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    people = await set_up_project(service, db)
    registration = await register(service, people)
    assert registration["replayed"] is False and registration["event"]["stream"] == "participant-p-zk"

    stored = await all_stored_text(db)
    for value in ZOFIA.values():
        assert value not in stored
        assert value not in caplog.text
    (event,) = [
        e
        for e in (await service.get(EVENTS, headers=people.auditor)).json()["events"]
        if e["stream_id"] == "participant-p-zk"
    ]
    pii = msgspec.convert(event["data"]["pii"], EncryptedPii)
    assert pii.key_id == registration["key_id"]
    key = await PersonalDataVault(db.pool).key_of(PROJECT, "p-zk")
    assert key is not None and key.key is not None and len(key.key) == 32
    opened = unseal(key.key, associated_data(PROJECT, "p-zk", pii.key_id), pii.ciphertext)
    assert opened is not None and opened.email == ZOFIA["email"]
    # Bound to its person: the same ciphertext does not open as anyone else's.
    assert unseal(key.key, associated_data(PROJECT, "p-1", pii.key_id), pii.ciphertext) is None

    view = (await service.get(f"{PARTICIPANTS}/p-zk", headers=people.staff)).json()
    assert view["personal_data"] == "shown" and view["personal"] == ZOFIA
    assert view["org_id"] == "clu-pl" and view["role"] == "cluster_manager"
    everyone = (await service.get(PARTICIPANTS, headers=people.staff)).json()
    assert [p["participant_id"] for p in everyone] == ["p-1", "p-2", "p-zk"]
    assert [p["personal_data"] for p in everyone] == ["none", "none", "shown"]
    for outsider in (people.auditor, people.funder):
        assert (await service.get(f"{PARTICIPANTS}/p-zk", headers=outsider)).status_code == 403
        assert (await service.get(f"{PARTICIPANTS}/p-zk/export", headers=outsider)).status_code == 403
    assert (await service.get(f"{PARTICIPANTS}/p-zk/export", headers=people.staff)).status_code == 403


async def test_registering_the_same_person_again_is_idempotent_and_other_data_conflicts(
    service: httpx.AsyncClient, db: Database
) -> None:
    people = await set_up_project(service, db)
    first = await register(service, people)
    again = await service.post(PARTICIPANTS, json=enrolment(), headers=people.staff)
    assert again.status_code == 200 and again.json()["event"] == first["event"] and again.json()["replayed"]
    other = await service.post(PARTICIPANTS, json=enrolment(name="Somebody Else"), headers=people.staff)
    assert other.status_code == 409 and "p-zk" in other.text and "Somebody" not in other.text
    pseudonymous_only = await service.post(PARTICIPANTS, json=enrolment("p-1"), headers=people.staff)
    assert pseudonymous_only.status_code == 409
    head = (await service.get(EVENTS, headers=people.staff)).json()["head"]
    assert head == 8


async def test_errors_never_echo_a_personal_field(service: httpx.AsyncClient, db: Database) -> None:
    people = await set_up_project(service, db)
    bad_email = enrolment(name="Zofia Wiśniewska-Kałuża", email="zofia at example dot pl")
    response = await service.post(PARTICIPANTS, json=bad_email, headers=people.staff)
    assert response.status_code == 400 and "email" in response.text
    assert "zofia" not in response.text.lower()
    unknown_org = {**enrolment(), "org_id": "clu-nowhere"}
    response = await service.post(PARTICIPANTS, json=unknown_org, headers=people.staff)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "data.org_id"
    assert all(value not in response.text for value in ZOFIA.values())
    # Refused before the vault made a key: nothing is written.
    assert await PersonalDataVault(db.pool).key_of(PROJECT, "p-zk") is None


async def test_the_general_event_path_refuses_pii_the_vault_did_not_seal(
    service: httpx.AsyncClient, db: Database
) -> None:
    people = await set_up_project(service, db)
    registration = await register(service, people)
    clear = base64.b64encode(b'{"name":"Jane Doe"}').decode()
    forged = pseudonymous("p-9", "clu-at")
    forged["data"]["pii"] = {"ciphertext": clear, "key_id": "key-made-up"}
    response = await service.post(EVENTS, json=[forged], headers=people.staff)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "[0].data.pii"
    assert "Jane" not in response.text

    # A real ciphertext copied onto another person does not open under that person's key.
    log = (await service.get(EVENTS, headers=people.staff)).json()["events"]
    real = next(e["data"]["pii"] for e in log if e["stream_id"] == "participant-p-zk")
    copied = pseudonymous("p-zk", "clu-at")
    copied["data"]["pii"] = real
    copied["data"]["participant_id"] = "p-10"
    assert (await service.post(EVENTS, json=copied, headers=people.staff)).status_code == 422

    erased = {
        "type": "ParticipantErased",
        "occurred_on": "2025-03-01",
        "data": {"participant_id": "p-zk", "key_id": registration["key_id"], "request_date": "2025-03-01"},
    }
    response = await service.post(EVENTS, json=erased, headers=people.staff)
    assert response.status_code == 422 and "erasure" in response.json()["errors"][0]["message"]
    rectified = {
        "type": "CorrectionRecorded",
        "occurred_on": "2025-03-01",
        "data": {
            "target_event_id": registration["event"]["event_id"],
            "field_changes": {"pii": {"ciphertext": clear, "key_id": registration["key_id"]}},
            "reason": "typo",
            "approved_by": "clu-at",
        },
    }
    response = await service.post(EVENTS, json=rectified, headers=people.staff)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "data.field_changes.pii"
    elsewhere = {**consent("ConsentRecorded", "2025-03-01"), "stream": "project"}
    response = await service.post(EVENTS, json=elsewhere, headers=people.staff)
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "stream"
    assert (await service.get(EVENTS, headers=people.staff)).json()["head"] == 8


def consent(event_type: str, day: str, purpose: str = "communication") -> dict[str, Any]:
    return {
        "type": event_type,
        "occurred_on": day,
        "data": {"participant_id": "p-zk", "purpose": purpose, "basis": "consent", "date": day},
    }


async def test_withdrawn_consent_for_contact_hides_personal_fields_except_from_subject_access(
    service: httpx.AsyncClient, db: Database
) -> None:
    people = await set_up_project(service, db)
    await register(service, people)
    given = [
        consent("ConsentRecorded", "2025-02-03"),
        consent("ConsentRecorded", "2025-02-03", "impact_survey"),
    ]
    assert (await service.post(EVENTS, json=given, headers=people.staff)).status_code == 201
    assert (await service.get(f"{PARTICIPANTS}/p-zk", headers=people.staff)).json()["personal"] == ZOFIA

    withdrawn = consent("ConsentWithdrawn", "2025-05-20")
    assert (await service.post(EVENTS, json=withdrawn, headers=people.staff)).status_code == 201
    view = (await service.get(f"{PARTICIPANTS}/p-zk", headers=people.staff)).json()
    assert view["personal"] is None and view["personal_data"] == "withheld"
    assert {c["purpose"]: c["status"] for c in view["consents"]} == {
        "communication": "withdrawn",
        "impact_survey": "given",
    }
    listed = (await service.get(PARTICIPANTS, headers=people.staff)).text
    assert all(value not in listed for value in ZOFIA.values())
    # Admin too sees it only in the subject-access export, which is the person's own copy.
    assert (await service.get(f"{PARTICIPANTS}/p-zk", headers=people.admin)).json()["personal"] is None
    export = (await service.get(f"{PARTICIPANTS}/p-zk/export", headers=people.admin)).json()
    assert export["personal"] == ZOFIA and export["personal_data"] == "held"

    # A consent dated before the withdrawal (recorded late) does not undo it; a newer one does.
    late = consent("ConsentRecorded", "2025-04-01")
    assert (await service.post(EVENTS, json=late, headers=people.staff)).status_code == 201
    assert (await service.get(f"{PARTICIPANTS}/p-zk", headers=people.staff)).json()["personal"] is None
    again = consent("ConsentRecorded", "2025-06-01")
    assert (await service.post(EVENTS, json=again, headers=people.staff)).status_code == 201
    assert (await service.get(f"{PARTICIPANTS}/p-zk", headers=people.staff)).json()["personal"] == ZOFIA


async def test_subject_access_exports_everything_held_and_hides_other_people(
    service: httpx.AsyncClient, db: Database
) -> None:
    people = await set_up_project(service, db)
    await register(service, people)
    events = [
        consent("ConsentRecorded", "2025-02-03"),
        training(
            "TRN-1", "2025-03-04", [("p-1", "clu-at", "6"), ("p-zk", "clu-pl", "4"), ("p-2", "sme-1", "6")]
        ),
        training("TRN-2", "2025-03-05", [("p-1", "clu-at", "6")]),
    ]
    assert (await service.post(EVENTS, json=events, headers=people.staff)).status_code == 201
    response = await service.get(f"{PARTICIPANTS}/p-zk/export", headers=people.admin)
    assert response.status_code == 200
    export = response.json()
    assert export["personal"] == ZOFIA and export["org_id"] == "clu-pl" and export["gender"] == "F"
    assert export["key"]["key_id"] and export["key"]["destroyed_at"] is None
    assert [e["type"] for e in export["events"]] == [
        "ParticipantRegistered",
        "ConsentRecorded",
        "TrainingDelivered",
    ]
    attendees = export["events"][2]["data"]["attendees"]
    assert [a["participant_id"] for a in attendees] == [ANOTHER_PARTICIPANT, "p-zk", ANOTHER_PARTICIPANT]
    assert "p-1" not in response.text and "p-2" not in response.text
    assert (await service.get(f"{PARTICIPANTS}/p%00zk/export", headers=people.admin)).status_code == 400
    missing = await service.get(f"{PARTICIPANTS}/p-404/export", headers=people.admin)
    assert missing.status_code == 404 and missing.headers["content-type"].startswith(
        "application/problem+json"
    )


async def test_erasure_destroys_the_key_and_leaves_chain_kpis_and_published_snapshots_unchanged(
    service: httpx.AsyncClient, db: Database
) -> None:
    people = await set_up_project(service, db)
    await register(service, people)
    activities = [
        consent("ConsentRecorded", "2025-02-03"),
        training("TRN-1", "2025-03-04", [("p-1", "clu-at", "6"), ("p-zk", "clu-pl", "4")]),
        training("TRN-2", "2025-04-08", [("p-zk", "clu-pl", "3"), ("p-2", "sme-1", "3")], hours="3"),
    ]
    assert (await service.post(EVENTS, json=activities, headers=people.staff)).status_code == 201

    # A snapshot is published: its figures are pinned to a position and the head hash there.
    head = await read_head(db.pool, PROJECT)
    assert head is not None
    published = canonical_json(suppress_for_funders(evaluate_all(await log_entries(db), as_of=head.position)))
    snapshot = {
        "type": "SnapshotPublished",
        "occurred_on": "2025-06-30",
        "data": {
            "snapshot_id": "demo.adhoc.1",
            "kind": "adhoc",
            "as_of_seq": head.position,
            "log_head_hash": head.hash,
            "definitions_version": "kpi-catalog",
            "code_version": "test",
            "signature": hashlib.sha256(published).hexdigest(),
        },
    }
    # The API's general path refuses a SnapshotPublished; the publisher writes to the store.
    refused = await service.post(EVENTS, json=snapshot, headers=people.staff)
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "type"
    direct = Recorder(EventStore(db.pool, admission=WriteModelAdmission()))
    await direct.record(PROJECT, [msgspec.convert(snapshot, EventCommand)], actor={"actor": "publisher"})
    before = evaluate_all(await log_entries(db))
    assert before.figure("O3").total.value == 2  # p-1 and p-zk are cluster staff who attended

    response = await service.post(
        f"{PARTICIPANTS}/p-zk/erasure", json={"request_date": "2025-07-01"}, headers=people.admin
    )
    assert response.status_code == 201, response.text
    receipt = response.json()
    assert receipt["request_date"] == "2025-07-01" and receipt["key_destroyed_at"]

    # Unrecoverable: the key is gone, nothing can bring it back, no view shows the person.
    row = await db.pool.fetchrow(
        "SELECT key, destroyed_at FROM participant_keys WHERE participant_id = 'p-zk'"
    )
    assert row is not None and row["key"] is None and row["destroyed_at"] is not None
    with pytest.raises(Exception, match="destroyed"):
        await db.pool.execute("UPDATE participant_keys SET key = $1, destroyed_at = NULL", b"k" * 32)
    view = (await service.get(f"{PARTICIPANTS}/p-zk", headers=people.staff)).json()
    assert view["personal_data"] == "erased" and view["personal"] is None
    export = (await service.get(f"{PARTICIPANTS}/p-zk/export", headers=people.admin)).json()
    assert export["personal"] is None and export["personal_data"] == "erased"
    assert export["key"]["destroyed_at"] is not None

    # Recorded: who asked (the admin's token) and when.
    erased = [
        e
        for e in (await service.get(EVENTS, headers=people.auditor)).json()["events"]
        if e["type"] == "ParticipantErased"
    ]
    assert len(erased) == 1 and erased[0]["position"] == receipt["event"]["position"]
    assert erased[0]["data"] == {
        "participant_id": "p-zk",
        "key_id": receipt["key_id"],
        "request_date": "2025-07-01",
    }
    assert erased[0]["metadata"]["actor"] == "dpo-admin" and erased[0]["metadata"]["actor_role"] == "admin"

    # The chain is intact, every KPI is the same, the snapshot reproduces byte for byte.
    report = await verify_chain(db.pool, PROJECT)
    assert report.ok and report.head_position == receipt["event"]["position"]
    entries = await log_entries(db)
    after = evaluate_all(entries)
    assert (after.figures, after.panel, after.periods) == (before.figures, before.panel, before.periods)
    reproduced = canonical_json(
        suppress_for_funders(evaluate_all(entries, as_of=snapshot["data"]["as_of_seq"]))
    )
    assert reproduced == published
    assert hashlib.sha256(reproduced).hexdigest() == snapshot["data"]["signature"]

    # Asking again answers with the same receipt; registering the id again is refused.
    again = await service.post(f"{PARTICIPANTS}/p-zk/erasure", headers=people.admin)
    assert again.status_code == 201 and again.json()["event"] == receipt["event"]
    assert again.json()["request_date"] == "2025-07-01"
    refused = await service.post(PARTICIPANTS, json=enrolment(), headers=people.staff)
    assert refused.status_code == 409
    nothing = await service.post(f"{PARTICIPANTS}/p-1/erasure", headers=people.admin)
    assert nothing.status_code == 409 and "nothing to erase" in nothing.text
    assert (await verify_chain(db.pool, PROJECT)).ok


async def test_a_snapshot_published_by_the_service_still_reproduces_after_an_erasure(
    service: httpx.AsyncClient, db: Database
) -> None:
    """The real publisher and the auditor's reproduction (a true replay into a scratch schema),
    before and after the person's key is destroyed: the same document, byte for byte."""
    people = await set_up_project(service, db)
    await register(service, people)
    activities = [
        consent("ConsentRecorded", "2025-02-03"),
        training("TRN-1", "2025-03-04", [("p-1", "clu-at", "6"), ("p-zk", "clu-pl", "4")]),
    ]
    assert (await service.post(EVENTS, json=activities, headers=people.staff)).status_code == 201
    snapshots = f"/api/v1/projects/{PROJECT}/snapshots"
    published = await service.post(snapshots, json={"kind": "adhoc"}, headers=people.staff)
    assert published.status_code == 201, published.text
    snapshot = published.json()
    document = await service.get(f"{snapshots}/{snapshot['snapshot_id']}", headers=people.auditor)
    assert document.status_code == 200, document.text
    assert ZOFIA["name"] not in document.text and ZOFIA["email"] not in document.text

    erased = await service.post(
        f"{PARTICIPANTS}/p-zk/erasure", json={"request_date": "2025-07-01"}, headers=people.admin
    )
    assert erased.status_code == 201, erased.text

    verified = await service.get(f"{snapshots}/{snapshot['snapshot_id']}/verify", headers=people.auditor)
    assert verified.status_code == 200, verified.text
    verdict = verified.json()
    assert verdict["reproduced"] and verdict["problems"] == [], verdict
    assert verdict["recomputed_content_hash"] == snapshot["content_hash"]
    again = await service.get(f"{snapshots}/{snapshot['snapshot_id']}", headers=people.auditor)
    assert again.content == document.content
    assert (await verify_chain(db.pool, PROJECT)).ok


async def test_an_erasure_interrupted_before_the_key_is_destroyed_is_finished_by_a_retry(
    service: httpx.AsyncClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = await set_up_project(service, db)
    await register(service, people)
    recorder = service.app.state.recorder  # type: ignore[attr-defined]
    actor = {"actor": "dpo-admin", "actor_role": "admin"}
    destroy = PersonalDataVault.destroy_key

    async def crash(self: PersonalDataVault, project_id: str, participant_id: str) -> Any:
        raise ConnectionError("the process died here")

    monkeypatch.setattr(PersonalDataVault, "destroy_key", crash)
    with pytest.raises(ConnectionError):
        await erase_participant(recorder, PROJECT, "p-zk", actor, dt.date(2025, 7, 1))
    # The event is in the log and the person is hidden already, though the key still exists.
    key = await PersonalDataVault(db.pool).key_of(PROJECT, "p-zk")
    assert key is not None and key.key is not None and key.erasure_requested_on == dt.date(2025, 7, 1)
    view = (await service.get(f"{PARTICIPANTS}/p-zk", headers=people.staff)).json()
    assert view["personal_data"] == "erased" and view["personal"] is None
    head = (await read_head(db.pool, PROJECT)).position  # type: ignore[union-attr]

    monkeypatch.setattr(PersonalDataVault, "destroy_key", destroy)
    (finished,) = await finish_erasures(recorder, PROJECT, actor)
    assert finished.event.position == head and finished.request_date == dt.date(2025, 7, 1)
    key = await PersonalDataVault(db.pool).key_of(PROJECT, "p-zk")
    assert key is not None and key.key is None
    assert (await read_head(db.pool, PROJECT)).position == head  # type: ignore[union-attr]
    assert await finish_erasures(recorder, PROJECT, actor) == []


def schema_dsn(db: Database) -> str:
    """The test database's URL with its schema as the search path (asyncpg passes unknown query
    parameters on as server settings), so a CLI command sees this test's schema."""
    parts = urllib.parse.urlsplit(db.dsn)
    query = [*urllib.parse.parse_qsl(parts.query), ("search_path", db.schema)]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


async def test_the_cli_exports_and_erases_a_participant(
    service: httpx.AsyncClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    people = await set_up_project(service, db)
    await register(service, people)
    monkeypatch.setenv("DATABASE_URL", schema_dsn(db))
    runner = CliRunner()

    def invoke(*args: str) -> Any:
        return runner.invoke(participant, list(args), catch_exceptions=False)

    exported = await asyncio.to_thread(invoke, "export", "--project", PROJECT, "--participant", "p-zk")
    assert exported.exit_code == 0, exported.output
    assert json.loads(exported.stdout)["personal"] == ZOFIA
    erased = await asyncio.to_thread(
        invoke, "erase", "--project", PROJECT, "--participant", "p-zk", "--request-date", "2025-07-02"
    )
    assert erased.exit_code == 0, erased.output
    receipt = json.loads(erased.stdout)
    assert receipt["request_date"] == "2025-07-02"
    assert all(value not in erased.output for value in ZOFIA.values())
    events = (await service.get(EVENTS, headers=people.auditor)).json()["events"]
    assert events[-1]["type"] == "ParticipantErased" and events[-1]["metadata"]["actor"].startswith("cli:")
    missing = await asyncio.to_thread(invoke, "erase", "--project", PROJECT, "--participant", "p-404")
    assert missing.exit_code == 1 and "p-404" in missing.output


async def test_a_refused_registration_leaves_nothing_in_the_vault(
    service: httpx.AsyncClient, db: Database
) -> None:
    people = await set_up_project(service, db)
    unknown_org = {**enrolment("p-ghost"), "org_id": "ghost"}
    refused = await service.post(PARTICIPANTS, json=unknown_org, headers=people.staff)
    assert refused.status_code == 422 and "data.org_id" in refused.text, refused.text
    too_early = {**enrolment("p-early"), "occurred_on": "2020-01-01"}
    refused = await service.post(PARTICIPANTS, json=too_early, headers=people.staff)
    assert refused.status_code == 422 and "occurred_on" in refused.text, refused.text
    assert await db.pool.fetchval("SELECT count(*) FROM participant_keys") == 0
    assert ZOFIA["name"] not in await all_stored_text(db)
    # The same person with a valid organisation is registered as usual.
    await register(service, people, "p-ghost")
    assert await db.pool.fetchval("SELECT count(*) FROM participant_keys") == 1
