"""KPIs over HTTP, computed from the log the API wrote: totals, series, CSV, as-of, suppression."""

from __future__ import annotations

import csv
import io

import httpx
import pytest

from indicators import timeline_store
from service.demo import load_demo
from tests.conftest import Database, bearer
from tests.story import REGISTRATION, founding_events, participant, training

BASE = "/api/v1/projects/demo"


async def small_project(service: httpx.AsyncClient, db: Database) -> dict[str, str]:
    admin = await bearer(db, "admin")
    created = await service.post(
        "/api/v1/projects", json={"project_id": "demo", "data": REGISTRATION}, headers=admin
    )
    assert created.status_code == 201
    staff = await bearer(db, "staff", "demo")
    events = [
        *founding_events(),
        participant("p-3", "clu-pl", role="cluster_manager", gender="M"),
        training("TRN-1", "2025-03-04", [("p-1", "clu-at", "6"), ("p-2", "sme-1", "4")]),
        training("TRN-2", "2025-05-06", [("p-1", "clu-at", "3"), ("p-3", "clu-pl", "5")], hours="5"),
    ]
    assert (await service.post(f"{BASE}/events", json=events, headers=staff)).status_code == 201
    return staff


def figure(body: dict, figure_id: str) -> dict:  # type: ignore[type-arg]
    return next(f for f in body["indicators"]["figures"] if f["figure_id"] == figure_id)


async def test_trainings_count_and_hours_show_up_in_the_indicators(
    service: httpx.AsyncClient, db: Database
) -> None:
    await small_project(service, db)
    auditor = await bearer(db, "auditor", "demo")
    body = (await service.get(f"{BASE}/indicators", headers=auditor)).json()
    # Two sessions; 6 + 4 + 3 + 5 = 18 attended hours; p-1 and p-3 are cluster staff/manager.
    assert figure(body, "O1")["total"]["value"] == "2"
    assert figure(body, "O2")["total"]["value"] == "18.00"
    assert figure(body, "O3")["total"]["value"] == "2"
    assert {s["indicator_id"] for s in body["reference_sheets"]} >= {"O1", "R1", "I6"}
    # As of the position before the second training: one session, 10 hours.
    head = body["indicators"]["as_of_position"]
    earlier = (await service.get(f"{BASE}/indicators", params={"as_of": head - 1}, headers=auditor)).json()
    assert figure(earlier, "O1")["total"]["value"] == "1"
    assert figure(earlier, "O2")["total"]["value"] == "10.00"


async def test_a_series_by_quarter_and_its_csv(service: httpx.AsyncClient, db: Database) -> None:
    staff = await small_project(service, db)
    series = await service.get(f"{BASE}/indicators/O2/series", params={"period": "quarter"}, headers=staff)
    assert series.status_code == 200
    points = {p["period"]["period_id"]: p for p in series.json()["figure"]["points"]}
    assert points["2025-Q1"]["value"]["value"] == "10.00"
    assert points["2025-Q2"]["value"]["value"] == "8.00"
    assert points["2025-Q2"]["cumulative"]["value"] == "18.00"
    as_csv = await service.get(
        f"{BASE}/indicators/O2/series",
        params={"period": "quarter", "by": "country"},
        headers={**staff, "Accept": "text/csv"},
    )
    assert as_csv.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(as_csv.text)))
    q1 = [r for r in rows if r["period_id"] == "2025-Q1"]
    assert q1[0]["category"] == "total" and q1[0]["value"] == "10.00"
    assert any(r["dimension"] == "country" and r["category"] == "AT" for r in q1)


async def test_unknown_kpi_and_dimension_are_400_naming_the_parameter(
    service: httpx.AsyncClient, db: Database
) -> None:
    staff = await small_project(service, db)
    unknown = await service.get(f"{BASE}/indicators/O99/series", headers=staff)
    assert unknown.status_code == 400 and unknown.json()["errors"][0]["field"] == "kpi"
    bad_by = await service.get(f"{BASE}/indicators/O1/series", params={"by": "shoe_size"}, headers=staff)
    assert bad_by.status_code == 400 and bad_by.json()["errors"][0]["field"] == "by"
    bad_as_of = await service.get(f"{BASE}/indicators", params={"as_of": "yesterday"}, headers=staff)
    assert bad_as_of.status_code == 400 and bad_as_of.json()["errors"][0]["field"] == "as_of"


async def test_funders_see_small_cells_suppressed_auditors_do_not(
    service: httpx.AsyncClient, db: Database
) -> None:
    await small_project(service, db)
    funder = await bearer(db, "funder", "demo")
    auditor = await bearer(db, "auditor", "demo")
    params = {"by": "gender"}
    hidden = (await service.get(f"{BASE}/indicators/O3/series", params=params, headers=funder)).json()
    shown = (await service.get(f"{BASE}/indicators/O3/series", params=params, headers=auditor)).json()
    assert hidden["figure"]["total"] == shown["figure"]["total"]
    hidden_cells = [c for p in hidden["figure"]["points"] for c in p["cells"]]
    shown_cells = [c for p in shown["figure"]["points"] for c in p["cells"]]
    assert hidden_cells and all(c["suppressed"] and c["figure"] is None for c in hidden_cells)
    assert all(not c["suppressed"] and c["figure"] is not None for c in shown_cells)


async def test_a_writer_reads_its_own_write_with_min_position(
    service: httpx.AsyncClient, db: Database
) -> None:
    staff = await small_project(service, db)
    before = (await service.get(f"{BASE}/indicators", headers=staff)).json()
    written = await service.post(
        f"{BASE}/events",
        json=training("TRN-3", "2025-06-10", [("p-3", "clu-pl", "2")], hours="2"),
        headers=staff,
    )
    position = written.json()["events"][0]["position"]
    after = (await service.get(f"{BASE}/indicators", params={"min_position": position}, headers=staff)).json()
    assert after["indicators"]["as_of_position"] >= position
    assert figure(before, "O1")["total"]["value"] == "2" and figure(after, "O1")["total"]["value"] == "3"


async def test_the_demo_project_has_every_kpi(service: httpx.AsyncClient, db: Database) -> None:
    await load_demo(service.app.state.recorder, "demo")  # type: ignore[attr-defined]
    funder = await bearer(db, "funder", "demo")
    body = (await service.get(f"{BASE}/indicators", headers=funder)).json()
    ids = {f["indicator_id"] for f in body["indicators"]["figures"]}
    assert ids == {f"O{i}" for i in range(1, 12)} | {f"R{i}" for i in range(1, 8)} | {
        f"I{i}" for i in range(1, 7)
    }
    assert all(f["total"]["value"] is not None for f in body["indicators"]["figures"])


async def test_a_figure_drills_down_to_the_events_behind_it(service: httpx.AsyncClient, db: Database) -> None:
    staff = await small_project(service, db)
    auditor = await bearer(db, "auditor", "demo")
    log = (await service.get(f"{BASE}/events", headers=auditor)).json()["events"]
    trainings = [e["position"] for e in log if e["type"] == "TrainingDelivered"]
    o1 = (await service.get(f"{BASE}/indicators/O1/evidence", headers=auditor)).json()
    assert [e["position"] for e in o1["events"]] == trainings and o1["count"] == 2
    assert o1["events"][0]["recorded_by"] == staff_name(log)
    q2 = await service.get(
        f"{BASE}/indicators/O1/evidence",
        params={"period": "quarter", "period_id": "2025-Q2"},
        headers=auditor,
    )
    assert [e["position"] for e in q2.json()["events"]] == trainings[1:]
    funder = await bearer(db, "funder", "demo")
    assert (await service.get(f"{BASE}/indicators/O3/evidence", headers=funder)).status_code == 403
    assert (await service.get(f"{BASE}/indicators/O1/evidence", headers=funder)).status_code == 200
    bad = await service.get(f"{BASE}/indicators/O1/evidence", params={"period_id": "1999-Q1"}, headers=staff)
    assert bad.status_code == 400 and bad.json()["errors"][0]["field"] == "period_id"


def staff_name(log: list[dict]) -> str:  # type: ignore[type-arg]
    return str(next(e for e in log if e["type"] == "TrainingDelivered")["metadata"]["actor"])


async def test_the_summary_view_lists_each_figure_to_date_as_the_full_list_does(
    service: httpx.AsyncClient, db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await small_project(service, db)
    funder = await bearer(db, "funder", "demo")
    full = (await service.get(f"{BASE}/indicators", headers=funder)).json()
    head = full["indicators"]["as_of_position"]
    # The full lists from the engine, then the summaries read off the timelines (timeline_store.py).
    wholes = {
        as_of: (await service.get(f"{BASE}/indicators", params={"as_of": as_of}, headers=funder)).json()
        for as_of in (head, head - 1)
    }
    monkeypatch.setattr(timeline_store, "TIMELINES_FROM", 0)
    for as_of, whole in wholes.items():
        params = {"view": "summary", "as_of": as_of}
        summary = (await service.get(f"{BASE}/indicators", params=params, headers=funder)).json()
        assert summary["indicators"]["as_of_position"] == as_of
        assert {s["indicator_id"] for s in summary["reference_sheets"]} >= {"O1", "R1", "I6"}
        assert [
            {key: f[key] for key in ("figure_id", "total", "baseline", "target")}
            for f in whole["indicators"]["figures"]
        ] == [
            {key: f[key] for key in ("figure_id", "total", "baseline", "target")}
            for f in summary["indicators"]["figures"]
        ]
        assert "breakdowns" not in summary["indicators"]["figures"][0]
    assert figure(summary, "O2")["total"]["value"] == "10.00"  # as of the first training


async def test_an_unknown_view_is_400_naming_it(service: httpx.AsyncClient, db: Database) -> None:
    staff = await small_project(service, db)
    answer = await service.get(f"{BASE}/indicators", params={"view": "everything"}, headers=staff)
    assert answer.status_code == 400
    assert "view" in answer.text
