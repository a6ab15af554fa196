"""Publishing snapshots: one per milestone whatever happens, pinned to the log, served as JSON,
CSV and a printable report.

Also the scenario helpers the other snapshot and audit tests share: the story project recorded
through the real API, an app with the snapshot and audit routes wired as service/app.py wires
them, and publishers on their own pools (separate "processes").
"""

from __future__ import annotations

import asyncio
import contextlib
import csv
import datetime as dt
import hashlib
import io
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx
import msgspec
import pytest
from litestar import Litestar

from events.admission import WriteModelAdmission
from events.catalog import ProjectRegistered
from events.read import read_log
from events.store import EventStore
from indicators.kpi_catalog import CATALOG_VERSION
from indicators.results import Period
from indicators.snapshot import decode_document, manifest_of
from indicators.snapshot_publisher import SnapshotPublisher
from indicators.snapshot_schedule import Milestone, end_of_day
from indicators.snapshot_signing import SnapshotSigner, signature_is_valid
from indicators.snapshot_store import fetch_snapshot, list_snapshots
from service.app import run_services
from service.audit_api import AuditController
from service.auth import token_authentication
from service.log_api import LogController
from service.problems import EXCEPTION_HANDLERS
from service.projects_api import ProjectsController
from service.scheduler import SchedulerSettings
from service.settings import Settings
from service.snapshots_api import SnapshotsController
from tests.conftest import MIGRATIONS, Database, bearer
from tests.story import REGISTRATION, founding_events, participant, training

SIGNING_KEY = "5e" * 32
# After both reporting periods of the story project (RP1 ends 2025-12-31, RP2 2026-12-31).
AFTER_THE_PROJECT = dt.datetime(2027, 2, 1, 9, 0, tzinfo=dt.UTC)
PROJECT = "demo"
BASE = f"/api/v1/projects/{PROJECT}"
SYSTEM = {"actor": "test", "actor_role": "admin"}

Clock = Callable[[], dt.datetime]


def scheduler_settings(**changes: Any) -> SchedulerSettings:
    """Scheduler settings for tests: off unless asked, no grace, a fixed signing key."""
    defaults: dict[str, Any] = {
        "enabled": False,
        "periodic": None,
        "grace": dt.timedelta(),
        "check_every": dt.timedelta(minutes=15),
        "signing_key": SIGNING_KEY,
    }
    return SchedulerSettings(**{**defaults, **changes})


def settings_for(db: Database) -> Settings:
    """Service settings on the test's database (the pool is given; nothing is embedded)."""
    return Settings(
        database_url=db.dsn,
        data_dir=Path("/nonexistent"),
        migrations_dir=MIGRATIONS,
        host="127.0.0.1",
        port=0,
        pool_min=1,
        pool_max=4,
        log_level="INFO",
        max_body_bytes=1024 * 1024,
    )


@contextlib.asynccontextmanager
async def snapshot_service(
    db: Database, clock: Clock = lambda: AFTER_THE_PROJECT
) -> AsyncIterator[httpx.AsyncClient]:
    """The app's routes for projects, the log, snapshots and audits, with the services started
    as service/app.py starts them, and an HTTP client to it."""
    settings = settings_for(db)
    app = Litestar(
        route_handlers=[ProjectsController, LogController, SnapshotsController, AuditController],
        middleware=[token_authentication],
        exception_handlers=EXCEPTION_HANDLERS,
        debug=False,
    )
    async with run_services(app, settings, db.pool, None, scheduler_settings()):
        publisher: SnapshotPublisher = app.state.snapshot_publisher
        publisher.clock = clock
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://impactlog.test") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


@pytest.fixture
async def client(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client to the app with snapshot routes, its clock after the project's end."""
    async with snapshot_service(db) as running:
        yield running


def publisher_on(pool: Any, clock: Clock = lambda: AFTER_THE_PROJECT) -> SnapshotPublisher:
    """A publisher as another process would have it: its own store, reading the log fresh."""
    return SnapshotPublisher(
        EventStore(pool, admission=WriteModelAdmission()), SnapshotSigner.from_hex(SIGNING_KEY), clock=clock
    )


async def story_project(client: httpx.AsyncClient, db: Database) -> dict[str, str]:
    """The story partnership with two trainings in RP1; returns staff headers."""
    admin = await bearer(db, "admin")
    created = await client.post(
        "/api/v1/projects", json={"project_id": PROJECT, "data": REGISTRATION}, headers=admin
    )
    assert created.status_code == 201, created.text
    staff = await bearer(db, "staff", PROJECT, name="staff-at")
    events = [
        *founding_events(),
        participant("p-3", "clu-pl", role="cluster_manager", gender="M"),
        training("TRN-1", "2025-03-04", [("p-1", "clu-at", "6"), ("p-2", "sme-1", "4")]),
        training("TRN-2", "2025-05-06", [("p-1", "clu-at", "3"), ("p-3", "clu-pl", "5")], hours="5"),
    ]
    recorded = await client.post(f"{BASE}/events", json=events, headers=staff)
    assert recorded.status_code == 201, recorded.text
    return staff


async def record(
    client: httpx.AsyncClient, staff: dict[str, str], *events: dict[str, Any]
) -> list[dict[str, Any]]:
    """Record events through the API; their positions and ids."""
    response = await client.post(f"{BASE}/events", json=list(events), headers=staff)
    assert response.status_code == 201, response.text
    landed: list[dict[str, Any]] = response.json()["events"]
    return landed


async def logged_types(db: Database, event_type: str) -> int:
    """How many events of a type the project's log holds."""
    return sum(1 for e in await read_log(db.pool, PROJECT, limit=100_000) if e.type == event_type)


# --- publishing --------------------------------------------------------------------------------


async def test_publishing_an_interim_snapshot_twice_gives_one_snapshot(
    client: httpx.AsyncClient, db: Database
) -> None:
    staff = await story_project(client, db)
    first = await client.post(
        f"{BASE}/snapshots", json={"kind": "interim", "period_id": "RP1"}, headers=staff
    )
    again = await client.post(
        f"{BASE}/snapshots", json={"kind": "interim", "period_id": "RP1"}, headers=staff
    )
    assert (first.status_code, again.status_code) == (201, 200), first.text
    assert first.json() == again.json()
    assert first.json()["snapshot_id"] == "demo.interim.RP1"
    listed = (await client.get(f"{BASE}/snapshots", headers=staff)).json()
    assert [s["snapshot_id"] for s in listed] == ["demo.interim.RP1"]
    assert await logged_types(db, "SnapshotPublished") == 1


async def test_the_document_pins_every_kpi_to_the_log_position_and_hash(
    client: httpx.AsyncClient, db: Database
) -> None:
    staff = await story_project(client, db)
    published = (
        await client.post(f"{BASE}/snapshots", json={"kind": "interim", "period_id": "RP1"}, headers=staff)
    ).json()
    funder = await bearer(db, "funder", PROJECT)
    response = await client.get(f"{BASE}/snapshots/demo.interim.RP1", headers=funder)
    assert response.status_code == 200
    body = response.content
    assert (
        hashlib.sha256(body).hexdigest() == published["content_hash"] == response.headers["etag"].strip('"')
    )
    document = decode_document(body)
    position = document.as_of_position
    (at_position,) = await read_log(db.pool, PROJECT, after=position - 1, limit=1)
    assert document.log_head_hash == at_position.hash == published["log_head_hash"]
    assert (document.kind, document.period, document.catalog_version) == (
        "interim",
        Period(period_id="RP1", start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31)),
        CATALOG_VERSION,
    )
    assert document.code_version.startswith("impactlog ")
    o2 = document.indicators.figure("O2")
    assert o2.total.value is not None and str(o2.total.value) == "18.00"
    assert [p.period.period_id for p in o2.points] == ["RP1", "RP2"]
    assert signature_is_valid(published["signature"], manifest_of(document, published["content_hash"]))
    # The log says what was reported: the event after the position carries its pins.
    (event,) = [e for e in await read_log(db.pool, PROJECT, after=position) if e.type == "SnapshotPublished"]
    assert event.decoded_data()["as_of_seq"] == position
    assert event.decoded_metadata()["content_hash"] == published["content_hash"]
    assert event.position == published["event_position"] > position


async def test_the_document_is_the_funder_view_with_small_cells_suppressed(
    client: httpx.AsyncClient, db: Database
) -> None:
    staff = await story_project(client, db)
    await client.post(f"{BASE}/snapshots", json={"kind": "interim", "period_id": "RP1"}, headers=staff)
    auditor = await bearer(db, "auditor", PROJECT)
    document = decode_document(
        (await client.get(f"{BASE}/snapshots/demo.interim.RP1", headers=auditor)).content
    )
    o3 = document.indicators.figure("O3")
    cells = [cell for breakdown in o3.breakdowns for cell in breakdown.cells]
    assert cells and all(cell.suppressed and cell.figure is None for cell in cells)
    assert o3.total.value is not None and int(o3.total.value) == 2  # totals are never suppressed


async def test_the_csv_has_a_row_per_indicator_period_and_disaggregation(
    client: httpx.AsyncClient, db: Database
) -> None:
    staff = await story_project(client, db)
    await client.post(f"{BASE}/snapshots", json={"kind": "interim", "period_id": "RP1"}, headers=staff)
    response = await client.get(f"{BASE}/snapshots/demo.interim.RP1.csv", headers=staff)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(response.text)))
    o2 = [r for r in rows if r["figure_id"] == "O2"]
    assert {(r["period_id"], r["category"]) for r in o2 if r["dimension"] == ""} == {
        ("RP1", "total"),
        ("RP2", "total"),
        ("LoP", "total"),
    }
    rp1 = next(r for r in o2 if r["period_id"] == "RP1")
    assert (rp1["value"], rp1["cumulative_value"]) == ("18.00", "18.00")
    by_country = [r for r in o2 if r["dimension"] == "country"]
    assert by_country and all(r["suppressed"] == "true" and r["value"] == "" for r in by_country)
    assert [r["level"] for r in rows] == sorted(
        (r["level"] for r in rows), key=["impact", "outcome", "output"].index
    )


async def test_the_printable_report_groups_by_level_and_inlines_its_charts(
    client: httpx.AsyncClient, db: Database
) -> None:
    staff = await story_project(client, db)
    await client.post(f"{BASE}/snapshots", json={"kind": "interim", "period_id": "RP1"}, headers=staff)
    response = await client.get(f"{BASE}/snapshots/demo.interim.RP1.html", headers=staff)
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    page = response.text
    impact, outcome, output = (
        page.index(f"<h2>{level} indicators</h2>") for level in ("Impact", "Outcome", "Output")
    )
    assert impact < outcome < output
    assert "<svg" in page and "Value per reporting period" in page
    # Nothing to fetch: no script, no external source, and a policy that allows none.
    assert "<script" not in page and 'src="http' not in page and 'href="http' not in page
    assert "default-src 'none'" in response.headers["content-security-policy"]
    assert "demo.interim.RP1" in page and "Training person-hours" in page


async def test_an_interim_snapshot_waits_for_the_end_of_its_period(db: Database) -> None:
    async with snapshot_service(db, clock=lambda: dt.datetime(2025, 12, 31, 23, 59, tzinfo=dt.UTC)) as client:
        staff = await story_project(client, db)
        early = await client.post(
            f"{BASE}/snapshots", json={"kind": "interim", "period_id": "RP1"}, headers=staff
        )
        assert early.status_code == 422 and "2026-01-01" in early.json()["detail"]
        unknown = await client.post(
            f"{BASE}/snapshots", json={"kind": "interim", "period_id": "RP9"}, headers=staff
        )
        assert unknown.status_code == 422 and "RP1" in unknown.json()["detail"]
        final_as_interim = await client.post(
            f"{BASE}/snapshots", json={"kind": "interim", "period_id": "RP2"}, headers=staff
        )
        assert final_as_interim.status_code == 422


async def test_only_staff_and_admins_publish_and_nobody_reads_another_projects_snapshots(
    client: httpx.AsyncClient, db: Database
) -> None:
    staff = await story_project(client, db)
    funder = await bearer(db, "funder", PROJECT)
    refused = await client.post(f"{BASE}/snapshots", json={"kind": "adhoc"}, headers=funder)
    assert refused.status_code == 403
    await client.post(f"{BASE}/snapshots", json={"kind": "adhoc"}, headers=staff)
    admin = await bearer(db, "admin")
    other = {"project_id": "other", "data": REGISTRATION}
    assert (await client.post("/api/v1/projects", json=other, headers=admin)).status_code == 201
    outsider = await bearer(db, "funder", "other")
    assert (await client.get(f"{BASE}/snapshots", headers=outsider)).status_code == 403
    assert (await client.get("/api/v1/projects/nowhere/snapshots", headers=admin)).status_code == 404


async def test_an_adhoc_snapshot_published_again_with_nothing_new_is_the_same_snapshot(
    client: httpx.AsyncClient, db: Database
) -> None:
    staff = await story_project(client, db)
    first = (await client.post(f"{BASE}/snapshots", json={"kind": "adhoc"}, headers=staff)).json()
    again = await client.post(f"{BASE}/snapshots", json={"kind": "adhoc"}, headers=staff)
    assert again.status_code == 200 and again.json()["snapshot_id"] == first["snapshot_id"]
    await record(client, staff, training("TRN-3", "2025-06-10", [("p-3", "clu-pl", "2")], hours="2"))
    later = (await client.post(f"{BASE}/snapshots", json={"kind": "adhoc"}, headers=staff)).json()
    assert later["snapshot_id"] != first["snapshot_id"]
    assert later["as_of_position"] == first["as_of_position"] + 2  # past the first snapshot's event
    assert await logged_types(db, "SnapshotPublished") == 2


# --- exactly once ------------------------------------------------------------------------------


class Crash(Exception):
    """A publisher dying between its two steps."""


async def test_a_crash_between_storing_and_announcing_is_finished_by_the_retry(
    client: httpx.AsyncClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    staff = await story_project(client, db)
    publisher = publisher_on(db.pool)

    async def crash(*args: Any, **kwargs: Any) -> Any:
        raise Crash("killed after the document was stored")

    monkeypatch.setattr(publisher.store, "append", crash)
    with pytest.raises(Crash):
        await publisher.publish(PROJECT, "interim", "RP1", actor=SYSTEM)
    # Stored but not announced: nobody sees it, and the log says nothing yet.
    assert (await client.get(f"{BASE}/snapshots", headers=staff)).json() == []
    assert [r.snapshot_id for r in await list_snapshots(db.pool, PROJECT, pending=True)] == [
        "demo.interim.RP1"
    ]
    assert await logged_types(db, "SnapshotPublished") == 0
    monkeypatch.undo()

    retried = await publisher_on(db.pool).publish(PROJECT, "interim", "RP1", actor=SYSTEM)
    assert not retried.created and retried.record.published
    assert await logged_types(db, "SnapshotPublished") == 1
    again = await publisher_on(db.pool).publish(PROJECT, "interim", "RP1", actor=SYSTEM)
    assert again.record == retried.record
    assert await logged_types(db, "SnapshotPublished") == 1


async def test_a_crash_after_the_event_was_appended_repeats_nothing(
    client: httpx.AsyncClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await story_project(client, db)
    publisher = publisher_on(db.pool)
    original = publisher.store.append

    async def append_then_crash(*args: Any, **kwargs: Any) -> Any:
        await original(*args, **kwargs)
        raise Crash("killed after the append committed, before answering")

    monkeypatch.setattr(publisher.store, "append", append_then_crash)
    with pytest.raises(Crash):
        await publisher.publish(PROJECT, "final", actor=SYSTEM)
    retried = await publisher_on(db.pool).publish(PROJECT, "final", actor=SYSTEM)
    assert retried.record.snapshot_id == "demo.final.RP2" and retried.record.published
    assert await logged_types(db, "SnapshotPublished") == 1


async def test_two_processes_publishing_one_milestone_at_once_publish_it_once(
    client: httpx.AsyncClient, db: Database
) -> None:
    await story_project(client, db)
    other_pool = await db.new_pool(min_size=1, max_size=4)
    try:
        results = await asyncio.gather(
            publisher_on(db.pool).publish(PROJECT, "interim", "RP1", actor=SYSTEM),
            publisher_on(other_pool).publish(PROJECT, "interim", "RP1", actor=SYSTEM),
        )
    finally:
        await other_pool.close()
    assert sorted(r.created for r in results) == [False, True]
    assert results[0].record == results[1].record
    assert len(await list_snapshots(db.pool, PROJECT)) == 1
    assert await logged_types(db, "SnapshotPublished") == 1


async def test_an_interim_snapshot_is_as_of_the_last_event_recorded_before_its_period_closed(
    client: httpx.AsyncClient, db: Database
) -> None:
    staff = await story_project(client, db)
    known_at_close = len(await read_log(db.pool, PROJECT, limit=1000))
    closed = dt.datetime.now(dt.UTC)
    await asyncio.sleep(0.01)  # appends never go back in time; this one lands after the close
    await record(client, staff, training("TRN-LATE", "2025-11-20", [("p-3", "clu-pl", "2")], hours="2"))
    rp1 = Period(period_id="RP1", start=dt.date(2025, 1, 1), end=dt.date(2025, 12, 31))
    # The same milestone as the scheduler's, with the period closing between the two appends.
    milestone = Milestone(
        kind="interim", period=rp1, reporting_period_id="RP1", as_of_before=closed, due_at=closed
    )
    publisher = publisher_on(db.pool)
    registration = msgspec.convert(REGISTRATION, type=ProjectRegistered, strict=False)
    published = await publisher.publish_milestone(PROJECT, registration, milestone, actor=SYSTEM)
    assert published.record.as_of_position == known_at_close
    stored = await fetch_snapshot(db.pool, PROJECT, published.record.snapshot_id)
    assert stored is not None
    assert str(decode_document(stored.document).indicators.figure("O1").total.value) == "2"
    assert end_of_day(rp1.end) == dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
