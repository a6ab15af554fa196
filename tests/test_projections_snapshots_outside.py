"""Projection and snapshot contracts checked from the outside: real `impactlog serve` processes
and the CLI against a database of our own (`projaudit_<hex>`, dropped at the end), read models
compared row for row with SQL, crashes by SIGKILL and pg_terminate_backend.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.story import REGISTRATION, founding_events, organisation, training

ROOT = Path(__file__).resolve().parent.parent
CLI = str(Path(sys.executable).parent / "impactlog")  # the test run's own environment
# Real `impactlog serve` processes on a database of their own, on the server DATABASE_URL names
# (the embedded server of a machine without one serves the in-process tests only), read with psql.
BASE_DSN = os.environ.get("DATABASE_URL", "").rsplit("/", 1)[0]
pytestmark = pytest.mark.skipif(
    not BASE_DSN or shutil.which("psql") is None,
    reason="needs DATABASE_URL (a PostgreSQL server the test may create databases on) and psql",
)
SIGNING_KEY = "11" * 32
READ_MODELS = [
    "organisation_sources",
    "participant_sources",
    "exchange_sources",
    "activity_sources",
    "survey_sources",
    "organisations",
    "organisation_size_classes",
    "participants",
    "exchanges",
    "activities",
    "activity_attendance",
    "survey_responses",
]


def psql(dsn: str, sql: str) -> str:
    out = subprocess.run(
        ["psql", dsn, "-v", "ON_ERROR_STOP=1", "-Atq", "-c", sql], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


class Env:
    def __init__(self, dsn: str, data_dir: Path) -> None:
        self.dsn = dsn
        self.env = {
            **os.environ,
            "DATABASE_URL": dsn,
            "IMPACTLOG_DATA_DIR": str(data_dir),
            "IMPACTLOG_SIGNING_KEY": SIGNING_KEY,
            "IMPACTLOG_POOL_MAX": "12",
            "IMPACTLOG_LOG_LEVEL": "WARNING",
        }
        self.procs: list[subprocess.Popen[bytes]] = []
        self.admin = {"Authorization": f"Bearer {self.token('admin')}"}

    def cli(self, *args: str, check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([CLI, *args], env=self.env, capture_output=True, text=True, timeout=timeout)
        if check:
            assert done.returncode == 0, done.stderr[-2000:]
        return done

    def token(self, role: str, *projects: str) -> str:
        args = ["token", "create", "--role", role, "--name", f"{role}-{uuid.uuid4().hex[:6]}"]
        for p in projects:
            args += ["--project", p]
        return self.cli(*args).stdout.strip().splitlines()[-1]

    def serve(self, **extra: str) -> Server:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        log = open(f"/tmp/projaudit/serve-{port}.log", "wb")
        proc = subprocess.Popen(
            [CLI, "serve", "--port", str(port)], env={**self.env, **extra}, stdout=log, stderr=log
        )
        self.procs.append(proc)
        server = Server(proc, f"http://127.0.0.1:{port}")
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if server.client.get("/health").status_code in (200, 503):
                    return server
            assert proc.poll() is None, f"serve exited {proc.returncode}"
            time.sleep(0.2)
        raise AssertionError("serve did not start")

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGINT)
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        self.procs.clear()

    def new_project(self, server: Server, project: str) -> dict[str, str]:
        r = server.client.post(
            "/api/v1/projects", json={"project_id": project, "data": REGISTRATION}, headers=self.admin
        )
        assert r.status_code == 201, r.text
        staff = {"Authorization": f"Bearer {self.token('staff', project)}"}
        r = server.client.post(f"/api/v1/projects/{project}/events", json=founding_events(), headers=staff)
        assert r.status_code == 201, r.text
        return staff

    def read_models(self, project: str) -> dict[str, list[str]]:
        dump: dict[str, list[str]] = {}
        for table in READ_MODELS:
            rows = psql(
                self.dsn,
                f"SELECT to_jsonb(t)::text FROM {table} t WHERE project_id = '{project}' ORDER BY 1",
            )
            dump[table] = rows.splitlines()
        return dump

    def head(self, project: str) -> int:
        return int(
            psql(self.dsn, f"SELECT coalesce(max(position), 0) FROM events WHERE project_id = '{project}'")
        )


class Server:
    def __init__(self, proc: subprocess.Popen[bytes], url: str) -> None:
        self.proc = proc
        self.client = httpx.Client(base_url=url, timeout=30)

    def health(self) -> httpx.Response:
        return self.client.get("/health")

    def projections(self, project: str) -> list[dict[str, Any]]:
        return [p for p in self.health().json()["projections"] if p["project_id"] == project]


@pytest.fixture(scope="module")
def env() -> Iterator[Env]:
    Path("/tmp/projaudit").mkdir(exist_ok=True)
    name = f"projaudit_{uuid.uuid4().hex[:10]}"
    psql(f"{BASE_DSN}/postgres", f"CREATE DATABASE {name}")
    data_dir = Path(f"/tmp/projaudit/{name}")
    data_dir.mkdir()
    dsn = f"{BASE_DSN}/{name}"
    try:
        subprocess.run(
            [CLI, "migrate"], env={**os.environ, "DATABASE_URL": dsn}, check=True, capture_output=True
        )
        e = Env(dsn, data_dir)
        try:
            yield e
        finally:
            e.stop_all()
    finally:
        psql(f"{BASE_DSN}/postgres", f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def wait_for(predicate: Any, timeout: float = 30, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if predicate():
                return
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def caught_up(server: Server, env: Env, project: str) -> bool:
    head = env.head(project)
    projections = server.projections(project)
    return len(projections) == 5 and all(p["checkpoint"] == head for p in projections)


def activity_batch(
    tag: str, n: int, partner: str = "clu-at", day: str = "2025-03-03"
) -> list[dict[str, Any]]:
    """An SME, a participant of it and a training it attends: touches several read models."""
    org, person = f"sme-{tag}-{n}", f"p-{tag}-{n}"
    sme = organisation(org, "AT", org_type="SME", size="micro")
    sme["partner_org_id"] = partner
    sme["occurred_on"] = day
    person_event = {
        "type": "ParticipantRegistered",
        "occurred_on": day,
        "partner_org_id": partner,
        "data": {"participant_id": person, "org_id": org, "role": "SME_staff", "gender": "F"},
    }
    session = training(f"s-{tag}-{n}", day, [(person, org, "6")])
    session["partner_org_id"] = partner
    return [sme, person_event, session]


# --- 1 + 2: two serve processes, crashes, takeover, rebuild from zero ------------------------------


def test_two_processes_one_runner_crashes_mid_catch_up_then_replay_equals_live(env: Env) -> None:
    project = "pa-crash"
    a = env.serve()
    staff = env.new_project(a, project)
    b = env.serve()
    wait_for(lambda: caught_up(a, env, project) and caught_up(b, env, project), what="both caught up")
    assert a.health().status_code == 200 and b.health().status_code == 200
    pa, pb = a.projections(project), b.projections(project)
    for x, y in zip(pa, pb, strict=True):
        assert x["projection"] == y["projection"]
        assert [x["running"], y["running"]].count(True) == 1, (x, y)
        assert x["holder_pid"] == y["holder_pid"] is not None
    # Whoever holds the runners is the one we kill; the writer uses the other.
    holder, other = (a, b) if any(p["running"] for p in pa) else (b, a)

    stop = threading.Event()
    errors: list[str] = []

    def writer() -> None:
        n = 0
        while not stop.is_set() and n < 200:
            r = other.client.post(
                f"/api/v1/projects/{project}/events", json=activity_batch("w", n), headers=staff
            )
            if r.status_code != 201:
                errors.append(r.text)
            n += 1

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        # The runner sessions lose their backends three times while the log grows...
        killed: set[int] = set()
        for _ in range(3):
            time.sleep(0.4)
            pids = {p["holder_pid"] for p in other.projections(project) if p["holder_pid"]}
            for pid in pids:
                psql(env.dsn, f"SELECT pg_terminate_backend({pid}, 5000)")
            killed |= pids
        # ...then the holding process is SIGKILLed in the middle of its catch-up.
        time.sleep(0.3)
        holder.proc.kill()
        holder.proc.wait()
        time.sleep(1.0)
    finally:
        stop.set()
        thread.join()
    assert not errors, errors[:3]
    assert killed
    wait_for(lambda: caught_up(other, env, project), timeout=40, what="survivor caught up")
    # Every runner is the survivor's, on a live session (a runner between two tries of its lock, on a
    # loaded machine, shows as not running for a moment: waited for, not sampled once).
    wait_for(
        lambda: all(p["running"] and p["holder_pid"] not in killed for p in other.projections(project)),
        timeout=20,
        what=f"every runner held by the survivor: {other.projections(project)}",
    )
    assert other.health().status_code == 200

    # Read-your-writes through min_position.
    r = other.client.post(f"/api/v1/projects/{project}/events", json=activity_batch("ryw", 0), headers=staff)
    assert r.status_code == 201, r.text
    position = r.json()["events"][-1]["position"]
    ind = other.client.get(
        f"/api/v1/projects/{project}/indicators", params={"min_position": position}, headers=staff
    )
    assert ind.status_code == 200, ind.text
    assert ind.json()["indicators"]["as_of_position"] >= position
    wait_for(lambda: caught_up(other, env, project), what="caught up after ryw")

    live = env.read_models(project)
    for table in ("organisation_sources", "activity_sources"):
        assert (
            psql(
                env.dsn,
                f"SELECT count(*) = count(DISTINCT position) FROM {table} WHERE project_id='{project}'",
            )
            == "t"
        )
    env.stop_all()
    env.cli("replay", "--project", project)
    assert env.read_models(project) == live
    assert len(live["organisations"]) >= 4 + 1


# --- 3: replay while the service is live and appending ---------------------------------------------


def totals(body: dict[str, Any]) -> dict[str, float]:
    out: dict[str, float] = {}
    for figure in body["indicators"]["figures"]:
        total = figure.get("total") or {}
        value = total.get("value") if isinstance(total, dict) else None
        if value is not None:
            out[figure.get("figure_id") or figure.get("id")] = float(value)
    return out


def test_replay_while_live_and_appending_never_shows_a_half_built_model(env: Env) -> None:
    project = "pa-replay"
    env.cli("demo", "--project", project)
    server = env.serve()
    staff = {"Authorization": f"Bearer {env.token('staff', project)}"}
    wait_for(lambda: caught_up(server, env, project), what="demo caught up")
    counts_sql = " UNION ALL ".join(
        f"SELECT '{t}', count(*) FROM {t} WHERE project_id = '{project}'" for t in READ_MODELS
    )

    def counts() -> dict[str, int]:
        rows = psql(env.dsn, counts_sql).splitlines()
        return {line.split("|")[0]: int(line.split("|")[1]) for line in rows}

    first_counts = counts()
    first_totals = totals(server.client.get(f"/api/v1/projects/{project}/indicators", headers=staff).json())
    assert first_counts["activities"] > 0
    dips: list[str] = []
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            now = counts()
            dips.extend(f"{t}: {now[t]} < {first_counts[t]}" for t in now if now[t] < first_counts[t])
            r = server.client.get(f"/api/v1/projects/{project}/indicators", headers=staff)
            if r.status_code != 200:
                dips.append(f"indicators {r.status_code}")
            else:
                seen = totals(r.json())
                dips.extend(
                    f"{k}: {seen.get(k)} < {v}" for k, v in first_totals.items() if (seen.get(k) or 0) < v
                )

    def write() -> None:
        for n in range(15):
            r = server.client.post(
                f"/api/v1/projects/{project}/events",
                json=activity_batch("rp", n, "mobitech-de", "2026-06-02"),
                headers=staff,
            )
            assert r.status_code == 201, r.text

    with concurrent.futures.ThreadPoolExecutor(3) as pool:
        poller = pool.submit(poll)
        writer = pool.submit(write)
        try:
            replayed = env.cli("replay", "--project", project, "--batch-size", "500", check=False)
            writer.result(timeout=60)
        finally:
            stop.set()
        poller.result(timeout=60)
    assert replayed.returncode == 0, replayed.stderr[-2000:]
    assert not dips, dips[:5]
    wait_for(lambda: caught_up(server, env, project), what="caught up after replay")
    assert server.health().status_code == 200
    live = env.read_models(project)
    env.stop_all()
    env.cli("replay", "--project", project)
    assert env.read_models(project) == live


# --- 4: snapshots ---------------------------------------------------------------------------------


def snapshot_events(env: Env, project: str) -> list[str]:
    return psql(
        env.dsn,
        f"SELECT data->>'snapshot_id' FROM events WHERE project_id='{project}' "
        "AND type = 'SnapshotPublished' ORDER BY position",
    ).splitlines()


def test_snapshots_publish_once_verify_reproduce_diff_and_detect_tampering(env: Env) -> None:
    project = "pa-snap"
    a = env.serve()
    b = env.serve()
    staff = env.new_project(a, project)
    funder = {"Authorization": f"Bearer {env.token('funder', project)}"}
    base = f"/api/v1/projects/{project}"
    r = a.client.post(f"{base}/events", json=activity_batch("s", 0) + activity_batch("s", 1), headers=staff)
    assert r.status_code == 201, r.text
    trained = r.json()["events"][2]["event_id"]

    # The same interim period published at once through two processes: one snapshot, one event.
    def publish(server: Server) -> httpx.Response:
        return server.client.post(
            f"{base}/snapshots", json={"kind": "interim", "period_id": "RP1"}, headers=staff
        )

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(publish, [a, b, a, b]))
    assert sorted(x.status_code for x in answers) == [200, 200, 200, 201], [x.text for x in answers]
    assert len({x.json()["snapshot_id"] for x in answers}) == 1
    interim = answers[0].json()
    sid = interim["snapshot_id"]
    assert psql(env.dsn, f"SELECT count(*) FROM snapshots WHERE project_id='{project}'") == "1"
    assert snapshot_events(env, project) == [sid]
    listed = a.client.get(f"{base}/snapshots", headers=funder).json()
    assert [s["snapshot_id"] for s in (listed if isinstance(listed, list) else listed["snapshots"])] == [sid]

    # Verify, reproduce with the CLI, and the figures equal the funder view as of P.
    v = a.client.get(f"{base}/snapshots/{sid}/verify", headers=funder).json()
    assert v["verdict"] == "reproduced", v
    done = env.cli("audit", "reproduce", "--snapshot", sid)
    assert "reproduced" in done.stdout + done.stderr
    document = a.client.get(f"{base}/snapshots/{sid}", headers=funder).json()
    as_of = a.client.get(f"{base}/indicators", params={"as_of": interim["as_of_position"]}, headers=funder)
    assert as_of.status_code == 200
    assert document["indicators"] == as_of.json()["indicators"]

    # A late entry for RP1 and a correction of an RP1 training after the snapshot: the diff shows both.
    late = training("s-late", "2025-05-05", [("p-2", "sme-1", "6"), ("p-1", "clu-at", "6")])
    correction = {
        "type": "CorrectionRecorded",
        "occurred_on": "2025-03-10",
        "partner_org_id": "clu-at",
        "data": {
            "target_event_id": trained,
            "reason": "hours entered wrongly",
            "approved_by": "clu-at",
            "field_changes": {"duration_hours": "9"},
        },
    }
    r = b.client.post(f"{base}/events", json=[late, correction], headers=staff)
    assert r.status_code == 201, r.text
    late_id, correction_id = (e["event_id"] for e in r.json()["events"])
    adhoc = b.client.post(f"{base}/snapshots", json={"kind": "adhoc"}, headers=staff)
    assert adhoc.status_code == 201, adhoc.text
    adhoc_id = adhoc.json()["snapshot_id"]
    again = a.client.post(f"{base}/snapshots", json={"kind": "adhoc"}, headers=staff)
    assert again.status_code == 200 and again.json()["snapshot_id"] == adhoc_id
    diff = a.client.get(f"{base}/snapshots/{adhoc_id}/diff/{sid}", headers=funder)
    assert diff.status_code == 200, diff.text
    body = diff.json()
    assert body["earlier"]["snapshot_id"] == sid and body["later"]["snapshot_id"] == adhoc_id
    text = json.dumps(body["figures"])
    assert body["figures"] and late_id in text and correction_id in text, text[:2000]

    # Tampering with one byte of one event inside the snapshot's range: verification names it.
    victim = int(
        psql(
            env.dsn,
            f"SELECT position FROM events WHERE project_id='{project}' AND type='TrainingDelivered' "
            "ORDER BY position LIMIT 1",
        )
    )
    triggers = psql(
        env.dsn,
        "SELECT string_agg(tgname, ',') FROM pg_trigger "
        "WHERE tgrelid = 'events'::regclass AND NOT tgisinternal",
    ).split(",")
    disable = "; ".join(f'ALTER TABLE events DISABLE TRIGGER "{t}"' for t in triggers)
    enable = "; ".join(f'ALTER TABLE events ENABLE TRIGGER "{t}"' for t in triggers)
    psql(
        env.dsn,
        f"BEGIN; {disable}; UPDATE events SET data = replace(data::text, 'digital', 'digitaL')::json "
        f"WHERE project_id='{project}' AND position={victim}; {enable}; COMMIT",
    )
    v = a.client.get(f"{base}/snapshots/{sid}/verify", headers=funder).json()
    assert v["verdict"] == "log_tampered", v
    assert v["chain"]["first_bad_position"] == victim
    chain = a.client.get(f"{base}/audit/verify", headers=staff).json()
    assert chain["ok"] is False and chain["first_bad_position"] == victim
    done = env.cli("audit", "reproduce", "--snapshot", sid, check=False)
    assert done.returncode != 0 and str(victim) in done.stdout + done.stderr
    env.stop_all()


# --- 5: two schedulers ----------------------------------------------------------------------------


def test_two_schedulers_publish_a_due_snapshot_exactly_once(env: Env) -> None:
    project = "pa-sched"
    plain = env.serve()
    env.new_project(plain, project)
    env.stop_all()
    extra = {"IMPACTLOG_SCHEDULER": "1", "IMPACTLOG_SNAPSHOT_GRACE_MINUTES": "0"}
    with concurrent.futures.ThreadPoolExecutor(2) as pool:
        list(pool.map(lambda _: env.serve(**extra), range(2)))
    expected = f"{project}.interim.RP1"
    wait_for(lambda: expected in snapshot_events(env, project), timeout=30, what="scheduled snapshot")
    time.sleep(2)
    env.stop_all()
    assert snapshot_events(env, project) == [expected]
    assert psql(env.dsn, f"SELECT count(*) FROM snapshots WHERE project_id='{project}'") == "1"
