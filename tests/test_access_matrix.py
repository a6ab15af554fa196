"""Who may call what: every route × role × own/foreign project answers as the matrix says.

Staff write only to their projects; funders read indicators, snapshots and dashboards; auditors
read the log; nobody reads another project's data. The matrix below is the access policy as
data, one row per route of the app. A route the app serves without a row fails the test (add
its row when you add the route), and so does a row for a route that is gone.

Each cell is two letters, for a token's own project and for a foreign one:

    A  allowed: the request succeeds (2xx)
    D  denied: 403 (wrong role, or a project the token does not list)
    U  unauthenticated: 401 (no token, or one that is not valid)
    R  redirected (3xx): a page sends a browser without a session to the login page

Pages are requested as a browser asks for them (Accept: text/html) and answer D and U with
HTML pages; the API answers them with problem+json. (A script asking a page for anything but
HTML gets the API's 401 instead of the redirect.)

Admin tokens list no projects and reach every one, so "own" and "foreign" mean the same two
projects for them; routes without a `{project}` answer both columns alike.
"""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from litestar import Litestar
from litestar.routes import HTTPRoute

from service.app import create_app
from service.dashboard.assets import asset_url
from service.imports.columns import TRAINING_ATTENDANCE
from service.settings import Settings
from tests.conftest import Database, bearer
from tests.story import REGISTRATION, organisation, participant

OWN = "alpha"
FOREIGN = "beta"
ROLES = ("admin", "staff", "funder", "auditor", "anonymous")
# Served by Litestar's OpenAPI plugin, public by design (service.auth.PUBLIC_PATHS).
UNLISTED_PREFIXES = ("/schema",)
UNLISTED_METHODS = frozenset({"HEAD", "OPTIONS"})
BROWSER = {"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"}

Body = Callable[[str], Any]


@dataclass(frozen=True)
class Row:
    """One route's expected answers; `body` makes a valid request body from a fresh id.

    A route may have several rows when the answer depends on another path parameter.
    """

    method: str
    path: str
    admin: str
    staff: str
    funder: str
    auditor: str
    anonymous: str
    # Values for the path's parameters other than {project}; "{snapshot}" in a value is the
    # snapshot the set-up published in the request's project.
    path_parameters: dict[str, str] = field(default_factory=dict)
    body: Body | None = None
    # A raw body (bytes, media type) instead of JSON, e.g. a spreadsheet to import.
    content: Callable[[str], tuple[bytes, str]] | None = None

    @property
    def route(self) -> tuple[str, str]:
        return (self.method, self.path)

    def expected(self, role: str, project: str) -> str:
        cell: str = getattr(self, role)
        return cell[0] if project == OWN else cell[1]


def new_organisation(fresh: str) -> dict[str, Any]:
    """A valid event for any project, never a duplicate: a newly registered organisation."""
    return organisation(f"org-{fresh}", "AT")


def new_project(fresh: str) -> dict[str, Any]:
    """A valid registration of a project nobody has created yet."""
    return {"project_id": f"new-{fresh}", "data": REGISTRATION}


def new_participant(fresh: str) -> dict[str, Any]:
    """A person registered through the vault (their name never enters the log)."""
    return {
        "participant_id": f"p-{fresh}",
        "org_id": "clu-at",
        "role": "cluster_staff",
        "gender": "F",
        "name": "Test Person",
    }


def attendance_csv(fresh: str) -> tuple[bytes, str]:
    """A one-row attendance list for a new session, as a CSV upload."""
    session = [f"TRN-{fresh}", "2025-03-04", "", "digital", "onsite", "6", "AT", "clu-at", ""]
    row = [*session, "p-1", "clu-at", "2"]
    out = io.StringIO()
    csv.writer(out).writerows([list(TRAINING_ATTENDANCE.names), row])
    return out.getvalue().encode(), "text/csv"


# fmt: off
MATRIX = [
    #   method  path                                                     admin staff funder audit anon
    Row("GET",  "/health",                                               "AA", "AA", "AA", "AA", "AA"),
    Row("GET",  "/metrics",                                              "AA", "AA", "AA", "AA", "AA"),
    Row("POST", "/api/v1/projects",                                      "AA", "DD", "DD", "DD", "UU",
        body=new_project),
    Row("POST", "/api/v1/projects/{project}/events",                     "AA", "AD", "DD", "DD", "UU",
        body=new_organisation),
    Row("GET",  "/api/v1/projects/{project}/events",                     "AA", "AD", "DD", "AD", "UU"),
    Row("GET",  "/api/v1/projects/{project}/streams/{stream}",           "AA", "AD", "DD", "AD", "UU",
        path_parameters={"stream": "project"}),
    Row("GET",  "/api/v1/projects/{project}/indicators",                 "AA", "AD", "AD", "AD", "UU"),
    Row("GET",  "/api/v1/projects/{project}/indicators/{kpi}/series",    "AA", "AD", "AD", "AD", "UU",
        path_parameters={"kpi": "O1"}),
    Row("GET",  "/api/v1/projects/{project}/indicators/{kpi}/evidence",  "AA", "AD", "AD", "AD", "UU",
        path_parameters={"kpi": "O1"}),
    # O3 counts persons: funders may see the figure, not the people behind it.
    Row("GET",  "/api/v1/projects/{project}/indicators/{kpi}/evidence",  "AA", "AD", "DD", "AD", "UU",
        path_parameters={"kpi": "O3"}),
    # Personal data: staff manage their people; only admins export or erase a person.
    Row("POST", "/api/v1/projects/{project}/participants",               "AA", "AD", "DD", "DD", "UU",
        body=new_participant),
    Row("GET",  "/api/v1/projects/{project}/participants",               "AA", "AD", "DD", "DD", "UU"),
    Row("GET",  "/api/v1/projects/{project}/participants/{participant_id}", "AA", "AD", "DD", "DD", "UU",
        path_parameters={"participant_id": "p-kept"}),
    Row("GET",  "/api/v1/projects/{project}/participants/{participant_id}/export",
        "AA", "DD", "DD", "DD", "UU", path_parameters={"participant_id": "p-kept"}),
    Row("POST", "/api/v1/projects/{project}/participants/{participant_id}/erasure",
        "AA", "DD", "DD", "DD", "UU", path_parameters={"participant_id": "p-erased"}),
    Row("POST", "/api/v1/projects/{project}/imports",                    "AA", "AD", "DD", "DD", "UU",
        content=attendance_csv),
    Row("GET",  "/api/v1/projects/{project}/imports",                    "AA", "AD", "DD", "AD", "UU"),
    Row("GET",  "/api/v1/import-templates/{kind}",                       "AA", "AA", "DD", "DD", "UU",
        path_parameters={"kind": "training-attendance"}),
    # Snapshots: what funders receive; staff publish ad hoc, the scheduler the rest.
    Row("GET",  "/api/v1/projects/{project}/snapshots",                  "AA", "AD", "AD", "AD", "UU"),
    Row("POST", "/api/v1/projects/{project}/snapshots",                  "AA", "AD", "DD", "DD", "UU",
        body=lambda _: {"kind": "adhoc"}),
    Row("GET",  "/api/v1/projects/{project}/snapshots/{snapshot_id}",    "AA", "AD", "AD", "AD", "UU",
        path_parameters={"snapshot_id": "{snapshot}"}),
    Row("GET",  "/api/v1/projects/{project}/snapshots/{snapshot_id}",    "AA", "AD", "AD", "AD", "UU",
        path_parameters={"snapshot_id": "{snapshot}.csv"}),
    Row("GET",  "/api/v1/projects/{project}/snapshots/{snapshot_id}/verify", "AA", "AD", "AD", "AD", "UU",
        path_parameters={"snapshot_id": "{snapshot}"}),
    Row("GET",  "/api/v1/projects/{project}/snapshots/{first}/diff/{second}", "AA", "AD", "AD", "AD", "UU",
        path_parameters={"first": "{snapshot}", "second": "{snapshot}"}),
    # Audit: the hash chain and who recorded what, for auditors (and staff checking their log).
    Row("GET",  "/api/v1/projects/{project}/audit/verify",               "AA", "AD", "DD", "AD", "UU"),
    Row("GET",  "/api/v1/projects/{project}/audit/log",                  "AA", "AD", "DD", "AD", "UU"),
    # Pages: signed in by cookie or bearer; a browser without either goes to the login page.
    Row("GET",  "/login",                                                "AA", "AA", "AA", "AA", "AA"),
    Row("POST", "/login",                                                "UU", "UU", "UU", "UU", "UU",
        content=lambda _: (b"token=not-a-token&next=%2Fprojects", "application/x-www-form-urlencoded")),
    Row("POST", "/logout",                                               "RR", "RR", "RR", "RR", "RR"),
    Row("GET",  "/favicon.ico",                                          "AA", "AA", "AA", "AA", "AA"),
    Row("GET",  "/static/{name}",                                        "AA", "AA", "AA", "AA", "AA",
        path_parameters={"name": asset_url("dashboard.css").rsplit("/", 1)[1]}),
    Row("GET",  "/projects",                                             "AA", "AA", "AA", "AA", "RR"),
    Row("GET",  "/projects/{project}/dashboard",                         "AA", "AD", "AD", "AD", "RR"),
    Row("GET",  "/projects/{project}/dashboard/indicators.csv",          "AA", "AD", "AD", "AD", "RR"),
    Row("GET",  "/projects/{project}/dashboard/indicators.xlsx",         "AA", "AD", "AD", "AD", "RR"),
]
# fmt: on


def served_routes(app: Litestar) -> set[tuple[str, str]]:
    """(method, path template) of every HTTP route the app serves, bar HEAD/OPTIONS and /schema."""
    found: set[tuple[str, str]] = set()
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or route.path_format.startswith(UNLISTED_PREFIXES):
            continue
        found |= {(method, route.path_format) for method in route.methods - UNLISTED_METHODS}
    return found


def app_without_services() -> Litestar:
    """The real app's routing table; nothing is started, so no database is needed."""
    return create_app(Settings.from_env())


def test_every_route_has_a_row_in_the_access_matrix() -> None:
    served = served_routes(app_without_services())
    listed = [row.route for row in MATRIX]
    cases = [(*row.route, sorted(row.path_parameters.items())) for row in MATRIX]
    assert len(cases) == len({repr(c) for c in cases}), "two rows of MATRIX send the same request"
    missing = sorted(served - set(listed))
    assert not missing, f"routes without a row in MATRIX (add who may call them): {missing}"
    stale = sorted(set(listed) - served)
    assert not stale, f"MATRIX rows for routes the app no longer serves: {stale}"


def test_every_cell_of_the_matrix_is_a_known_outcome() -> None:
    for row in MATRIX:
        for role in ROLES:
            cell = getattr(row, role)
            assert len(cell) == 2 and set(cell) <= {"A", "D", "U", "R"}, (row.route, role, cell)


def answered(status: int) -> str:
    """The matrix letter for a status: 2xx A, 3xx R, 403 D, 401 U; anything else is shown as is."""
    if 200 <= status < 300:
        return "A"
    if 300 <= status < 400:
        return "R"
    return {403: "D", 401: "U"}.get(status, str(status))


def cells() -> Iterator[tuple[Row, str, str]]:
    for row, role, project in itertools.product(MATRIX, ROLES, (OWN, FOREIGN)):
        if "{project}" not in row.path and project == FOREIGN:
            continue  # nothing to tell apart: the own-project request covers the route
        yield row, role, project


async def test_each_role_reaches_exactly_what_the_matrix_allows(
    service: httpx.AsyncClient, db: Database
) -> None:
    admin = await bearer(db, "admin")
    for project in (OWN, FOREIGN):
        created = await service.post(
            "/api/v1/projects", json={**new_project(""), "project_id": project}, headers=admin
        )
        assert created.status_code == 201, created.text
        people = [organisation("clu-at", "AT"), participant("p-1", "clu-at")]
        recorded = await service.post(f"/api/v1/projects/{project}/events", json=people, headers=admin)
        assert recorded.status_code == 201, recorded.text
        for person in ("kept", "erased"):
            registered = await service.post(
                f"/api/v1/projects/{project}/participants", json=new_participant(person), headers=admin
            )
            assert registered.status_code == 201, registered.text
    snapshots = {}
    for project in (OWN, FOREIGN):
        published = await service.post(
            f"/api/v1/projects/{project}/snapshots", json={"kind": "adhoc"}, headers=admin
        )
        assert published.status_code == 201, published.text
        snapshots[project] = published.json()["snapshot_id"]
    headers = {
        "admin": admin,
        "staff": await bearer(db, "staff", OWN),
        "funder": await bearer(db, "funder", OWN),
        "auditor": await bearer(db, "auditor", OWN),
        "anonymous": {},
    }
    wrong = []
    for number, (row, role, project) in enumerate(cells()):
        parameters = {k: v.format(snapshot=snapshots[project]) for k, v in row.path_parameters.items()}
        path = row.path.format(project=project, **parameters)
        fresh = f"{role}-{project}-{number}"
        sent = dict(headers[role]) if path.startswith("/api/") else {**headers[role], **BROWSER}
        if row.content is not None:
            content, media_type = row.content(fresh)
            response = await service.request(
                row.method,
                path,
                content=content,
                params={"filename": f"{fresh}.csv"},
                headers={**sent, "Content-Type": media_type},
            )
        else:
            body = row.body(fresh) if row.body else None
            response = await service.request(row.method, path, json=body, headers=sent)
        expected = row.expected(role, project)
        got = answered(response.status_code)
        if got != expected:
            wrong.append(
                f"{row.method} {path} as {role}: expected {expected}, got {response.status_code} "
                f"{response.text[:200]}"
            )
        elif got in "DU" and path.startswith("/api/"):
            assert response.headers["content-type"].startswith("application/problem+json"), path
        elif got == "R":
            assert response.headers["location"].startswith("/login"), (path, response.headers)
    assert not wrong, "answers that break the access matrix:\n" + "\n".join(wrong)
