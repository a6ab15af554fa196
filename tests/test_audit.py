"""Auditors reproduce every published figure: the hash chain from the database or an export,
snapshots replayed from the raw log byte for byte, diffs that name the corrections behind them,
and a log that says who recorded what, when and why."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import click
import httpx
from click.testing import CliRunner, Result

from service.snapshot_cli import audit, export, snapshot
from tests.conftest import Database, bearer
from tests.story import training
from tests.test_snapshots import BASE, PROJECT, SIGNING_KEY, client, record, story_project

__all__ = ["client"]  # the fixture, shared with test_snapshots

FORGE = "UPDATE events SET data = json_build_object('forged', true) WHERE project_id = $1 AND position = $2"
CORRECTION_REASON = "Attendance list re-counted: TRN-1 lasted 8 hours, p-1 attended all of it"


def schema_dsn(db: Database) -> str:
    """The test's database with its schema as the search path (asyncpg passes it on)."""
    parts = urlsplit(db.dsn)
    query = "&".join(q for q in (parts.query, urlencode({"search_path": db.schema})) if q)
    return urlunsplit(parts._replace(query=query))


async def run_cli(db: Database | None, command: click.Command, *args: str) -> Result:
    """A real command in a worker thread (it runs its own event loop); no database when db is None."""
    env = {"IMPACTLOG_SIGNING_KEY": SIGNING_KEY, "DATABASE_URL": schema_dsn(db) if db is not None else ""}
    return await asyncio.to_thread(CliRunner().invoke, command, list(args), env=env)


async def tamper_with_event(db: Database, position: int) -> None:
    """What only a superuser can do: switch the log's trigger off and rewrite a row."""
    async with db.pool.acquire() as connection, connection.transaction():
        await connection.execute("ALTER TABLE events DISABLE TRIGGER events_no_update_delete")
        await connection.execute(FORGE, PROJECT, position)
        await connection.execute("ALTER TABLE events ENABLE TRIGGER events_no_update_delete")


async def corrected_story(client: httpx.AsyncClient, db: Database) -> dict[str, Any]:
    """Interim RP1 published; then a correction of TRN-1 and a late training dated in RP1; then
    an ad-hoc snapshot. Returns staff headers and the correction's position."""
    staff = await story_project(client, db)
    interim = await client.post(
        f"{BASE}/snapshots", json={"kind": "interim", "period_id": "RP1"}, headers=staff
    )
    assert interim.status_code == 201, interim.text
    trainings = [
        e
        for e in (await client.get(f"{BASE}/events", headers=staff)).json()["events"]
        if e["type"] == "TrainingDelivered"
    ]
    trn1 = trainings[0]
    correction = {
        "type": "CorrectionRecorded",
        "occurred_on": "2026-02-02",
        "partner_org_id": "clu-at",
        "data": {
            "target_event_id": trn1["event_id"],
            "field_changes": {
                "duration_hours": "8",
                "attendees": [
                    {"participant_id": "p-1", "org_id": "clu-at", "attended_hours": "8"},
                    {"participant_id": "p-2", "org_id": "sme-1", "attended_hours": "4"},
                ],
            },
            "reason": CORRECTION_REASON,
            "approved_by": "clu-at",
        },
    }
    late = training("TRN-LATE", "2025-11-20", [("p-3", "clu-pl", "2")], hours="2")
    (corrected,) = await record(client, staff, correction)
    (late_entry,) = await record(client, staff, late)
    adhoc = await client.post(f"{BASE}/snapshots", json={"kind": "adhoc"}, headers=staff)
    assert adhoc.status_code == 201, adhoc.text
    return {
        "staff": staff,
        "interim": interim.json(),
        "adhoc": adhoc.json(),
        "correction": corrected["position"],
        "late_entry": late_entry["position"],
        "trn1": trn1["position"],
    }


# --- the hash chain ----------------------------------------------------------------------------


async def test_verify_reports_an_intact_chain_over_http_and_on_the_command_line(
    client: httpx.AsyncClient, db: Database
) -> None:
    await story_project(client, db)
    auditor = await bearer(db, "auditor", PROJECT)
    report = (await client.get(f"{BASE}/audit/verify", headers=auditor)).json()
    assert report["ok"] is True and report["events_checked"] == report["head_position"] == 10
    result = await run_cli(db, audit, "verify", "--project", PROJECT)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["head_hash"] == report["head_hash"]
    assert "chain intact: 10 events" in result.stderr
    funder = await bearer(db, "funder", PROJECT)
    assert (await client.get(f"{BASE}/audit/verify", headers=funder)).status_code == 403


async def test_a_tampered_row_fails_verify_and_reproduce_loudly(
    client: httpx.AsyncClient, db: Database
) -> None:
    staff = await story_project(client, db)
    await client.post(f"{BASE}/snapshots", json={"kind": "interim", "period_id": "RP1"}, headers=staff)
    await tamper_with_event(db, 8)
    auditor = await bearer(db, "auditor", PROJECT)
    report = (await client.get(f"{BASE}/audit/verify", headers=auditor)).json()
    assert (report["ok"], report["first_bad_position"]) == (False, 8)
    verified = await run_cli(db, audit, "verify", "--project", PROJECT)
    assert verified.exit_code == 1 and "chain broken at position 8" in verified.stderr

    reproduction = (await client.get(f"{BASE}/snapshots/demo.interim.RP1/verify", headers=auditor)).json()
    assert reproduction["verdict"] == "log_tampered" and reproduction["reproduced"] is False
    assert reproduction["chain"]["first_bad_position"] == 8
    reproduced = await run_cli(db, audit, "reproduce", "--snapshot", "demo.interim.RP1")
    assert reproduced.exit_code == 1
    assert "NOT reproduced" in reproduced.stderr and "log broken at position 8" in reproduced.stderr


async def test_an_export_is_verified_offline_and_a_forged_line_is_named(
    client: httpx.AsyncClient, db: Database, tmp_path: Path
) -> None:
    await story_project(client, db)
    exported = await run_cli(db, export, "--project", PROJECT)
    assert exported.exit_code == 0, exported.output
    log = tmp_path / "log.ndjson"
    log.write_bytes(exported.stdout_bytes)
    assert len(log.read_text().splitlines()) == 10
    offline = await run_cli(None, audit, "verify", "--file", str(log))  # no DATABASE_URL, no database
    assert offline.exit_code == 0, offline.output
    assert json.loads(offline.stdout)["head_position"] == 10

    lines = log.read_text().splitlines()
    forged = json.loads(lines[6])
    forged["data"]["name"] = "Forged Organisation"
    lines[6] = json.dumps(forged)
    log.write_text("\n".join(lines) + "\n")
    refused = await run_cli(None, audit, "verify", "--file", str(log))
    assert refused.exit_code == 1 and "chain broken at position 7" in refused.stderr


async def test_the_ndjson_api_export_verifies_like_the_cli_export(
    client: httpx.AsyncClient, db: Database
) -> None:
    staff = await story_project(client, db)
    over_http = await client.get(f"{BASE}/events", headers={**staff, "Accept": "application/x-ndjson"})
    exported = await run_cli(db, export, "--project", PROJECT)
    assert over_http.content == exported.stdout_bytes


# --- reproducing snapshots ---------------------------------------------------------------------


async def test_a_published_snapshot_is_reproduced_from_the_raw_log(
    client: httpx.AsyncClient, db: Database
) -> None:
    staff = await story_project(client, db)
    await client.post(f"{BASE}/snapshots", json={"kind": "interim", "period_id": "RP1"}, headers=staff)
    funder = await bearer(db, "funder", PROJECT)
    result = (await client.get(f"{BASE}/snapshots/demo.interim.RP1/verify", headers=funder)).json()
    assert (result["verdict"], result["reproduced"], result["signature_valid"]) == ("reproduced", True, True)
    assert result["recomputed_content_hash"] == result["content_hash"]
    assert result["chain"]["head_position"] == result["as_of_position"]
    cli = await run_cli(db, audit, "reproduce", "--snapshot", "demo.interim.RP1")
    assert cli.exit_code == 0 and "reproduced: demo.interim.RP1" in cli.stderr


async def test_a_late_correction_leaves_the_interim_reproducible_and_the_diff_names_it(
    client: httpx.AsyncClient, db: Database
) -> None:
    story = await corrected_story(client, db)
    auditor = await bearer(db, "auditor", PROJECT)
    interim, adhoc = story["interim"]["snapshot_id"], story["adhoc"]["snapshot_id"]
    reproduced = (await client.get(f"{BASE}/snapshots/{interim}/verify", headers=auditor)).json()
    assert reproduced["verdict"] == "reproduced"

    diff = (await client.get(f"{BASE}/snapshots/{adhoc}/diff/{interim}", headers=auditor)).json()
    assert (diff["earlier"]["snapshot_id"], diff["later"]["snapshot_id"]) == (interim, adhoc)
    figures = {f["figure_id"]: f for f in diff["figures"]}
    o2 = figures["O2"]
    total = next(c for c in o2["changes"] if c["path"] == "total.value")
    assert (total["before"], total["after"]) == ("18.00", "22.00")  # +2 corrected, +2 late
    correction = next(e for e in o2["events"] if e["kind"] == "correction")
    assert correction["position"] == story["correction"]
    assert correction["reason"] == CORRECTION_REASON and correction["recorded_by"] == "staff-at"
    assert (correction["target_position"], correction["target_type"]) == (story["trn1"], "TrainingDelivered")
    late = next(e for e in o2["events"] if e["kind"] == "late_entry")
    assert late["position"] == story["late_entry"] and late["occurred_on"] == "2025-11-20"
    assert "late_entry" in [e["kind"] for e in figures["O1"]["events"]]
    assert "O4" not in figures  # no coaching was recorded: its hours did not change

    cli = await run_cli(db, snapshot, "diff", interim, adhoc)
    assert cli.exit_code == 0 and CORRECTION_REASON in cli.stdout


async def test_a_tampered_snapshot_document_is_not_reproduced_and_the_forged_figure_is_named(
    client: httpx.AsyncClient, db: Database
) -> None:
    staff = await story_project(client, db)
    await client.post(f"{BASE}/snapshots", json={"kind": "interim", "period_id": "RP1"}, headers=staff)
    async with db.pool.acquire() as connection, connection.transaction():
        await connection.execute("ALTER TABLE snapshots DISABLE TRIGGER snapshots_no_update_delete")
        await connection.execute(
            "UPDATE snapshots SET document = replace(document::text, '\"18.00\"', '\"81.00\"')::json"
        )
        await connection.execute("ALTER TABLE snapshots ENABLE TRIGGER snapshots_no_update_delete")
    auditor = await bearer(db, "auditor", PROJECT)
    result = (await client.get(f"{BASE}/snapshots/demo.interim.RP1/verify", headers=auditor)).json()
    assert result["verdict"] == "snapshot_tampered" and not result["reproduced"]
    assert "the stored document does not match its content hash" in result["problems"]
    o2 = next(d for d in result["differences"] if d["figure_id"] == "O2")
    assert {"path": "total.value", "before": "81.00", "after": "18.00"} in o2["changes"]


async def test_published_snapshots_cannot_be_changed_or_deleted(
    client: httpx.AsyncClient, db: Database
) -> None:
    staff = await story_project(client, db)
    await client.post(f"{BASE}/snapshots", json={"kind": "adhoc"}, headers=staff)
    for statement in ("UPDATE snapshots SET signature = 'x'", "DELETE FROM snapshots", "TRUNCATE snapshots"):
        async with db.pool.acquire() as connection:
            try:
                await connection.execute(statement)
            except Exception as refused:
                assert "immutable" in str(refused)
            else:
                raise AssertionError(f"{statement} was allowed")


# --- the auditor's view of the log -------------------------------------------------------------


async def test_the_auditors_log_shows_who_recorded_each_event_when_and_why(
    client: httpx.AsyncClient, db: Database
) -> None:
    story = await corrected_story(client, db)
    auditor = await bearer(db, "auditor", PROJECT)
    page = (await client.get(f"{BASE}/audit/log", headers=auditor)).json()
    entries = {e["position"]: e for e in page["entries"]}
    correction = entries[story["correction"]]
    assert correction["type"] == "CorrectionRecorded" and correction["why"] == CORRECTION_REASON
    assert (correction["recorded_by"], correction["actor_role"]) == ("staff-at", "staff")
    assert correction["recorded_at"] and correction["occurred_on"] == "2026-02-02"
    assert correction["hash"] and correction["prev_hash"] == entries[story["correction"] - 1]["hash"]
    published = [e for e in page["entries"] if e["type"] == "SnapshotPublished"]
    assert [e["recorded_by"] for e in published] == ["staff-at", "staff-at"]
    cli = await run_cli(
        db, audit, "log", "--project", PROJECT, "--after", str(story["correction"] - 1), "--limit", "1"
    )
    assert cli.exit_code == 0 and json.loads(cli.stdout)["why"] == CORRECTION_REASON


async def test_the_command_line_publishes_lists_and_shows_snapshots(
    client: httpx.AsyncClient, db: Database
) -> None:
    await story_project(client, db)
    published = await run_cli(
        db, snapshot, "publish", "--project", PROJECT, "--kind", "interim", "--period", "RP1"
    )
    assert published.exit_code == 0, published.output
    assert json.loads(published.stdout)["snapshot_id"] == "demo.interim.RP1"
    again = await run_cli(
        db, snapshot, "publish", "--project", PROJECT, "--kind", "interim", "--period", "RP1"
    )
    assert "already published demo.interim.RP1" in again.stderr
    listed = await run_cli(db, snapshot, "list", "--project", PROJECT)
    assert listed.stdout.startswith("demo.interim.RP1\tinterim\tRP1\t")
    shown = await run_cli(db, snapshot, "show", "demo.interim.RP1", "--format", "csv")
    assert shown.stdout.startswith("snapshot_id,level,")
    missing = await run_cli(db, snapshot, "show", "demo.interim.RP9")
    assert missing.exit_code == 1 and "no published snapshot 'demo.interim.RP9'" in missing.output
    key = await run_cli(None, snapshot, "key")
    assert json.loads(published.stdout)["signature"].split(":")[1] == key.stdout.strip()
