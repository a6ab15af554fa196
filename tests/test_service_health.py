"""The service starts on a real database and reports its health and metrics over HTTP."""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import httpx

from events.envelope import NewEvent
from events.store import EventStore
from service.embedded_db import _prune_dead_handles
from tests.conftest import MIGRATIONS, Database, bearer
from tests.story import REGISTRATION, founding_events


async def test_health_shows_database_migrations_and_log_heads(
    service: httpx.AsyncClient, store: EventStore
) -> None:
    await store.create_project("demo")
    await store.append(
        "demo", [NewEvent(stream_id="project", type="T", data={}, occurred_on=dt.date(2025, 1, 1))]
    )
    response = await service.get("/health")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["reachable"] is True
    assert body["migration_level"] == len(list(MIGRATIONS.glob("*.sql")))
    head = await store.head("demo")
    assert head is not None
    assert body["projects"] == [{"project_id": "demo", "position": 1, "hash": head.hash}]


async def test_metrics_count_appends_and_group_sizes(service: httpx.AsyncClient, db: Database) -> None:
    admin = await bearer(db, "admin")
    created = await service.post(
        "/api/v1/projects", json={"project_id": "demo", "data": REGISTRATION}, headers=admin
    )
    assert created.status_code == 201
    staff = await bearer(db, "staff", "demo")
    retry = {**staff, "Idempotency-Key": "founding-1"}
    recorded = await service.post("/api/v1/projects/demo/events", json=founding_events()[:3], headers=retry)
    assert recorded.status_code == 201
    # The client retries (its answer was lost): the same answer, and nothing counted as appended.
    again = await service.post("/api/v1/projects/demo/events", json=founding_events()[:3], headers=retry)
    assert again.status_code in (200, 201) and again.json() == recorded.json()
    response = await service.get("/metrics")
    assert response.status_code == 200
    text = response.text
    assert 'impactlog_events_appended_total{project="demo"} 4.0' in text
    assert 'impactlog_append_requests_total{project="demo"} 3.0' in text
    assert "impactlog_append_group_requests_bucket" in text
    assert "impactlog_append_request_seconds_count 3.0" in text


def test_dead_pids_are_pruned_from_the_embedded_servers_handle_list(tmp_path: Path) -> None:
    handles = tmp_path / ".handle_pids.json"
    handles.write_text(json.dumps([os.getpid(), 2**22 + 12345]))
    _prune_dead_handles(tmp_path)
    assert json.loads(handles.read_text()) == [os.getpid()]
