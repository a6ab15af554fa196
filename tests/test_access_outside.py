"""Access control and personal data, checked from the outside (HTTP, and SQL where only the
database can tell).

Two projects, `alpha` (the caller's own) and `beta` (foreign). Beta holds things worth stealing:
a participant with a name and e-mail, a published snapshot, an import. Every route of the OpenAPI
document is tried with alpha-scoped tokens of each role against beta (and against alpha with
beta's resource ids): the answer may be 403 or 404, never 2xx, and never carries beta's data.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.conftest import Database, bearer, running_service
from tests.story import REGISTRATION, founding_events, training

OWN, FOREIGN = "alpha", "beta"
SECRET_PERSON = {
    "name": "Brunhilde Xq-Outsidecheck",
    "email": "brunhilde.xq@beta-leak.example",
    "job_title": "CFO",
}
BETA_SESSION = "TRN-BETA-SECRET-77"
BROWSER = {"Accept": "text/html"}
TABLES = (
    "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 AND table_type = 'BASE TABLE'"
)


class World:
    def __init__(self) -> None:
        self.admin: dict[str, str] = {}
        self.own: dict[str, dict[str, str]] = {}  # role -> headers, scoped to alpha only
        self.beta_staff: dict[str, str] = {}
        self.beta_snapshot = ""
        self.alpha_snapshot = ""
        self.beta_import = ""


def participants(project: str) -> str:
    return f"/api/v1/projects/{project}/participants"


async def make_project(service: httpx.AsyncClient, admin: dict[str, str], project: str) -> None:
    made = await service.post(
        "/api/v1/projects", json={"project_id": project, "data": REGISTRATION}, headers=admin
    )
    assert made.status_code == 201, made.text


@pytest.fixture
async def world(db: Database) -> AsyncIterator[tuple[httpx.AsyncClient, World]]:
    async with running_service(db) as service:
        w = World()
        w.admin = await bearer(db, "admin", name="outside-admin")
        for project in (OWN, FOREIGN):
            await make_project(service, w.admin, project)
        w.beta_staff = await bearer(db, "staff", FOREIGN, name="beta-staff")
        alpha_staff = await bearer(db, "staff", OWN, name="alpha-staff")
        for project, staff in ((OWN, alpha_staff), (FOREIGN, w.beta_staff)):
            r = await service.post(
                f"/api/v1/projects/{project}/events", json=founding_events(), headers=staff
            )
            assert r.status_code == 201, r.text
        # Beta: a person with personal data, trained, and a snapshot and an import.
        person = {
            "participant_id": "p-beta",
            "org_id": "clu-pl",
            "role": "cluster_manager",
            "gender": "F",
            "occurred_on": "2025-02-03",
            "partner_org_id": "clu-pl",
            **SECRET_PERSON,
        }
        r = await service.post(participants(FOREIGN), json=person, headers=w.beta_staff)
        assert r.status_code == 201, r.text
        r = await service.post(
            f"/api/v1/projects/{FOREIGN}/events",
            json=[training(BETA_SESSION, "2025-03-04", [("p-beta", "clu-pl", "4"), ("p-1", "clu-at", "6")])],
            headers=w.beta_staff,
        )
        assert r.status_code == 201, r.text
        csv_body = (
            "session_id,date,more_dates,topic,format,duration_hours,country,partner_org_id,trainers,"
            "participant_id,org_id,attended_hours\n"
            "TRN-BETA-IMP,2025-04-02,,digital,onsite,4,AT,clu-at,,p-1,clu-at,4\n"
        )
        r = await service.post(
            f"/api/v1/projects/{FOREIGN}/imports?filename=beta.csv",
            content=csv_body.encode(),
            headers={**w.beta_staff, "Content-Type": "text/csv"},
        )
        assert r.status_code == 201, r.text
        w.beta_import = r.json()["import_id"]
        for project, staff in ((OWN, alpha_staff), (FOREIGN, w.beta_staff)):
            r = await service.post(
                f"/api/v1/projects/{project}/snapshots", json={"kind": "adhoc"}, headers=staff
            )
            assert r.status_code in (200, 201), r.text
            if project == OWN:
                w.alpha_snapshot = r.json()["snapshot_id"]
            else:
                w.beta_snapshot = r.json()["snapshot_id"]
        w.own = {
            "staff": alpha_staff,
            "funder": await bearer(db, "funder", OWN, name="alpha-funder"),
            "auditor": await bearer(db, "auditor", OWN, name="alpha-auditor"),
        }
        yield service, w


WorldFixture = tuple[httpx.AsyncClient, World]


# --- every route, with a foreign-project token ---------------------------------------------------

BETA_MARKERS = (SECRET_PERSON["name"], SECRET_PERSON["email"], BETA_SESSION, "p-beta", "beta-staff")


def fill(path: str, project: str, w: World) -> str:
    values = {
        "project": project,
        "stream": f"activity-{BETA_SESSION}",
        "kpi": "O1",
        "participant_id": "p-beta",
        "kind": "training-attendance",
        "import_id": w.beta_import,
    }

    def one(match: re.Match[str]) -> str:
        name = match.group(1).split(":")[0]
        if name in values:
            return values[name]
        if name == "first":
            return w.alpha_snapshot
        if "snapshot" in name or name in ("id", "a", "b", "second"):
            return w.beta_snapshot
        return "x"

    return re.sub(r"\{([^}]+)\}", one, path)


async def test_no_token_scoped_to_alpha_reaches_beta_on_any_openapi_route(
    world: WorldFixture,
) -> None:
    service, w = world
    schema = (await service.get("/schema/openapi.json")).json()
    paths: dict[str, dict[str, Any]] = schema["paths"]
    assert len(paths) >= 15, sorted(paths)
    tried = 0
    leaks: list[str] = []
    for path, operations in sorted(paths.items()):
        for method in operations:
            if method.upper() not in ("GET", "POST", "PUT", "PATCH", "DELETE"):
                continue
            # Routes with a project: go at beta itself, and at alpha with beta's resource ids.
            targets = [FOREIGN, OWN] if "{project" in path else [None]
            for project in targets:
                url = fill(path, project or OWN, w)
                for role, headers in w.own.items():
                    kwargs: dict[str, Any] = {"headers": headers}
                    if method.upper() != "GET":
                        kwargs["json"] = {"kind": "adhoc"} if "snapshots" in path else {}
                        kwargs["headers"] = {**headers, "Idempotency-Key": uuid.uuid4().hex}
                    r = await service.request(method.upper(), url, **kwargs)
                    tried += 1
                    assert r.status_code < 500, (method, url, role, r.status_code, r.text[:300])
                    text = r.text
                    leaked = [m for m in BETA_MARKERS if m in text and m not in url]
                    if project == FOREIGN and 200 <= r.status_code < 300:
                        leaks.append(f"{role} {method.upper()} {url} -> {r.status_code}")
                    elif leaked:
                        leaks.append(f"{role} {method.upper()} {url} -> {r.status_code} shows {leaked}")
                    elif project == OWN and w.beta_snapshot in url and r.status_code == 200:
                        leaks.append(f"{role} {method.upper()} {url} -> 200 with beta's snapshot id")
    # Routes the schema lists once but serves in several shapes (snapshot exports).
    for suffix in (".csv", ".html", "/verify"):
        for role, headers in w.own.items():
            url = f"/api/v1/projects/{OWN}/snapshots/{w.beta_snapshot}{suffix}"
            r = await service.get(url, headers=headers)
            if r.status_code == 200:
                leaks.append(f"{role} GET {url} -> 200 with beta's snapshot")
    for role, headers in w.own.items():
        url = f"/api/v1/projects/{OWN}/streams/participant-p-beta"
        r = await service.get(url, headers=headers)
        if any(m in r.text for m in BETA_MARKERS if m not in url):
            leaks.append(f"{role} GET {url} shows beta's data")
    assert tried > 50
    assert not leaks, "\n".join(leaks)


async def test_pages_and_project_list_keep_to_the_tokens_projects(
    world: WorldFixture,
) -> None:
    service, w = world
    for role, headers in w.own.items():
        for suffix in ("", "/indicators.csv", "/indicators.xlsx"):
            r = await service.get(f"/projects/{FOREIGN}/dashboard{suffix}", headers=headers)
            assert r.status_code in (403, 404), (role, suffix, r.status_code)
        own = await service.get(f"/projects/{OWN}/dashboard?snapshot={w.beta_snapshot}", headers=headers)
        assert own.status_code != 200 or not any(m in own.text for m in BETA_MARKERS), role
        listing = await service.get("/projects", headers={**headers, **BROWSER})
        assert listing.status_code == 200, listing.text[:200]
        assert f"/projects/{FOREIGN}/" not in listing.text, role


# --- tokens at rest --------------------------------------------------------------------------------


async def test_no_table_of_the_schema_holds_a_token_or_session_secret_in_clear(
    world: WorldFixture, db: Database
) -> None:
    service, w = world
    secrets_seen = [h["Authorization"].split(" ", 1)[1] for h in (w.admin, w.beta_staff, *w.own.values())]
    login = await service.post("/login", data={"token": secrets_seen[-1], "next": "/projects"})
    assert login.status_code == 303, login.text[:300]
    session = login.cookies.get("impactlog_session")
    assert session
    tables = await db.pool.fetch(
        TABLES,
        db.schema,
    )
    assert len(tables) > 5
    for row in tables:
        dump = await db.pool.fetchval(
            f"SELECT coalesce(string_agg(t::text, E'\\n'), '') FROM \"{db.schema}\".\"{row['table_name']}\" t"
        )
        for secret in [*secrets_seen, session]:
            assert secret not in dump, row["table_name"]
            assert secret.encode().hex() not in dump, row["table_name"]


# --- revocation, scope, header variants ------------------------------------------------------------


async def test_a_revoked_token_and_its_dashboard_session_stop_on_the_next_request(
    world: WorldFixture, db: Database
) -> None:
    service, _ = world
    from service.auth import TokenStore

    _, secret = await TokenStore(db.pool).create("funder", [OWN], name="to-revoke")
    headers = {"Authorization": f"Bearer {secret}"}
    url = f"/api/v1/projects/{OWN}/indicators"
    assert (await service.get(url, headers=headers)).status_code == 200
    login = await service.post("/login", data={"token": secret, "next": "/projects"})
    session = login.cookies["impactlog_session"]
    service.cookies.clear()
    assert (await service.get(url, cookies={"impactlog_session": session})).status_code == 200
    assert await TokenStore(db.pool).revoke("to-revoke")
    assert (await service.get(url, headers=headers)).status_code == 401
    assert (await service.get(url, cookies={"impactlog_session": session})).status_code == 401
    page = await service.get(
        f"/projects/{OWN}/dashboard", cookies={"impactlog_session": session}, headers=BROWSER
    )
    assert page.status_code in (303, 401), page.status_code


async def test_a_scoped_role_without_projects_cannot_be_made_and_a_forged_row_is_refused(
    world: WorldFixture, db: Database
) -> None:
    _ = world
    from service.auth import TokenRequestError, TokenStore

    with pytest.raises(TokenRequestError):
        await TokenStore(db.pool).create("staff", [], name="no-scope")
    with pytest.raises(TokenRequestError):
        await TokenStore(db.pool).create("funder", ["gamma-does-not-exist"], name="ghost")
    # The table itself refuses a non-admin token with no projects (CHECK constraint).
    import asyncpg

    with pytest.raises(asyncpg.CheckViolationError):
        await db.pool.execute(
            "INSERT INTO access_tokens (token_id, name, role, projects, secret_hash)"
            " VALUES ($1, 'x', 'staff', '{}', $2)",
            uuid.uuid4(),
            b"\x00" * 32,
        )


@pytest.mark.parametrize(
    "template",
    [
        "bearer {t}",
        "BEARER {t}",
        "Bearer  {t}",
        "Bearer {t} ",
        " Bearer {t}",
        "Bearer\t{t}",
        "Bearer {t} {t}",
        "Bearer {t},{t}",
        "Bearer {t}, Bearer {t}",
        "Bearer",
        "Bearer ",
        "",
        "Token {t}",
        "Bearer {t}\u00e9",
        "Bearer " + "A" * 10000,
    ],
)
async def test_authorization_header_variants_never_500(world: WorldFixture, template: str) -> None:
    service, w = world
    token = w.own["auditor"]["Authorization"].split(" ", 1)[1]
    value = template.format(t=token)
    r = await service.get(
        f"/api/v1/projects/{OWN}/events", headers=[("Authorization", value.encode("utf-8"))]
    )
    assert r.status_code in (200, 401), (template, r.status_code, r.text[:200])
    if "{t} " in template.strip() + " " and template.strip().count("{t}") > 1:
        assert r.status_code == 401  # two tokens are not one
    # Two Authorization headers: the foreign one must not win against scope.
    both = await service.get(
        f"/api/v1/projects/{FOREIGN}/events",
        headers=[
            ("Authorization", value.encode("utf-8")),
            ("Authorization", w.beta_staff["Authorization"].encode()),
        ],
    )
    assert both.status_code in (401, 403, 200)
    assert both.status_code < 500


async def test_two_authorization_headers_are_not_a_way_round_scope(
    world: WorldFixture,
) -> None:
    service, w = world
    r = await service.get(
        f"/api/v1/projects/{FOREIGN}/participants",
        headers=[
            ("Authorization", w.own["auditor"]["Authorization"].encode()),
            ("Authorization", w.beta_staff["Authorization"].encode()),
        ],
    )
    assert r.status_code in (400, 401, 403), r.status_code
    assert SECRET_PERSON["email"] not in r.text


# --- dashboard cookie --------------------------------------------------------------------------------


async def test_session_cookie_is_httponly_samesite_strict_and_never_the_token(
    world: WorldFixture,
) -> None:
    service, w = world
    token = w.own["funder"]["Authorization"].split(" ", 1)[1]
    r = await service.post("/login", data={"token": token, "next": "/projects"})
    assert r.status_code == 303
    raw = [v for k, v in r.headers.multi_items() if k.lower() == "set-cookie"]
    (cookie,) = [c for c in raw if c.startswith("impactlog_session=")]
    attrs = [a.strip().lower() for a in cookie.split(";")]
    assert "httponly" in attrs
    assert "samesite=strict" in attrs
    assert "path=/" in attrs
    assert token not in cookie and token[3:] not in cookie
    value = cookie.split(";")[0].split("=", 1)[1]
    assert value and value != token
    # The cookie does not work as a bearer token.
    assert (
        await service.get(f"/api/v1/projects/{OWN}/indicators", headers={"Authorization": f"Bearer {value}"})
    ).status_code == 401
    # A cross-site login post is refused (login CSRF).
    service.cookies.clear()
    cross = await service.post(
        "/login", data={"token": token, "next": "/projects"}, headers={"Origin": "https://evil.example"}
    )
    assert cross.status_code == 403
    assert "impactlog_session=" not in cross.headers.get("set-cookie", "")


async def test_login_next_does_not_redirect_off_site(world: WorldFixture) -> None:
    service, w = world
    token = w.own["funder"]["Authorization"].split(" ", 1)[1]
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example", "https:evil.example"):
        service.cookies.clear()
        r = await service.post("/login", data={"token": token, "next": target})
        assert r.status_code == 303
        location = r.headers["location"]
        assert location.startswith("/") and not location.startswith("//") and "evil" not in location, location


# --- personal data by role ------------------------------------------------------------------------


async def test_funder_and_auditor_never_see_names_or_emails(world: WorldFixture, db: Database) -> None:
    service, w = world
    beta = {
        "funder": await bearer(db, "funder", FOREIGN, name="beta-funder"),
        "auditor": await bearer(db, "auditor", FOREIGN, name="beta-auditor"),
    }
    base = f"/api/v1/projects/{FOREIGN}"
    reads = [
        f"{base}/events",
        f"{base}/streams/participant-p-beta",
        f"{base}/streams/activity-{BETA_SESSION}",
        f"{base}/indicators",
        f"{base}/indicators/O1/series",
        f"{base}/indicators/O1/evidence",
        f"{base}/indicators/O3/evidence",
        f"{base}/audit/log",
        f"{base}/imports",
        f"{base}/snapshots",
        f"{base}/snapshots/{w.beta_snapshot}",
        f"{base}/snapshots/{w.beta_snapshot}.csv",
        f"{base}/snapshots/{w.beta_snapshot}.html",
        f"/projects/{FOREIGN}/dashboard",
        f"/projects/{FOREIGN}/dashboard/indicators.csv",
    ]
    for role, headers in beta.items():
        for url in reads:
            for accept in ("application/json", "application/x-ndjson", "text/csv", "text/html"):
                r = await service.get(url, headers={**headers, "Accept": accept})
                assert r.status_code < 500, (url, r.status_code)
                for value in SECRET_PERSON.values():
                    assert value not in r.text, (role, url, accept, value)
        for url in (
            f"{base}/participants",
            f"{base}/participants/p-beta",
            f"{base}/participants/p-beta/export",
        ):
            assert (await service.get(url, headers=headers)).status_code == 403, (role, url)
    # Funders: no person-level evidence (O3 counts persons).
    r = await service.get(f"{base}/indicators/O3/evidence", headers=beta["funder"])
    assert r.status_code == 403, r.text[:200]
    # Whatever evidence a funder may read names no participant id.
    r = await service.get(f"{base}/indicators/O1/evidence", headers=beta["funder"])
    if r.status_code == 200:
        assert "p-beta" not in r.text and "p-1" not in r.text


# --- erasure ----------------------------------------------------------------------------------------


async def test_after_erasure_no_read_shows_personal_data_and_the_log_holds_none_in_clear(
    world: WorldFixture, db: Database
) -> None:
    service, w = world
    base = f"/api/v1/projects/{FOREIGN}"
    before = await service.get(f"{base}/participants/p-beta/export", headers=w.admin)
    assert before.status_code == 200 and SECRET_PERSON["email"] in before.text
    erased = await service.post(f"{base}/participants/p-beta/erasure", json={}, headers=w.admin)
    assert erased.status_code == 201, erased.text
    export = await service.get(f"{base}/participants/p-beta/export", headers=w.admin)
    assert export.status_code == 200, export.text
    reads = [
        export,
        await service.get(f"{base}/participants/p-beta", headers=w.beta_staff),
        await service.get(f"{base}/participants", headers=w.beta_staff),
        await service.get(f"{base}/events", headers=w.admin),
        await service.get(f"{base}/events", headers={**w.admin, "Accept": "application/x-ndjson"}),
        await service.get(f"{base}/streams/participant-p-beta", headers=w.admin),
        await service.get(f"{base}/audit/log", headers=w.admin),
        await service.get(f"{base}/snapshots/{w.beta_snapshot}.html", headers=w.admin),
        await service.get(f"/projects/{FOREIGN}/dashboard", headers=w.admin),
    ]
    for r in reads:
        assert r.status_code == 200, (str(r.url), r.status_code)
        for value in SECRET_PERSON.values():
            assert value not in r.text, (str(r.url), value)
            assert value.encode() not in r.content
    view = (await service.get(f"{base}/participants/p-beta", headers=w.beta_staff)).json()
    assert view["personal_data"] == "erased" and view["personal"] is None
    assert export.json().get("personal") in (None, {}), export.json().get("personal")
    # Nothing in any table holds the person's name or e-mail in clear any more.
    tables = await db.pool.fetch(
        TABLES,
        db.schema,
    )
    for row in tables:
        dump = await db.pool.fetchval(
            f"SELECT coalesce(string_agg(t::text, E'\\n'), '') FROM \"{db.schema}\".\"{row['table_name']}\" t"
        )
        for value in (SECRET_PERSON["name"], SECRET_PERSON["email"]):
            assert value not in dump, (row["table_name"], value)
    # The chain still verifies.
    verify = await service.get(f"{base}/audit/verify", headers=w.admin)
    assert verify.status_code == 200 and verify.json()["ok"] is True
