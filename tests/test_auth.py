"""Access control: tokens are random, kept as hashes, revocable; roles and projects are enforced."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import uuid
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx
import pytest
from click.testing import CliRunner
from litestar import Litestar, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath

from events.store import EventStore
from service.auth import (
    Principal,
    Role,
    TokenRequestError,
    TokenStore,
    actor_metadata,
    administer,
    principal_of,
    read_log,
    secret_hash,
    token_authentication,
    write_events,
)
from service.problems import EXCEPTION_HANDLERS
from service.token_cli import token
from tests.conftest import Database


@pytest.fixture
async def tokens(db: Database, store: EventStore) -> TokenStore:
    """A token store on the test's schema, with projects "alpha" and "beta" created."""
    await store.create_project("alpha")
    await store.create_project("beta")
    return TokenStore(db.pool)


# --- the token store ---------------------------------------------------------------------------


async def test_a_token_authenticates_until_it_is_revoked(tokens: TokenStore) -> None:
    made, secret = await tokens.create(Role.STAFF, ["alpha"], name="anna")
    assert secret.startswith("il_") and len(secret) == 46
    assert await tokens.authenticate(secret) == made
    assert made.projects == frozenset({"alpha"}) and made.role is Role.STAFF

    assert await tokens.revoke("anna") is True
    assert await tokens.authenticate(secret) is None
    assert await tokens.revoke("anna") is False  # revoked already


async def test_sessions_expired_a_month_ago_are_purged_when_someone_signs_in(
    tokens: TokenStore, db: Database
) -> None:
    made, _ = await tokens.create(Role.FUNDER, ["alpha"], name="funder")
    old = await tokens.open_session(made, dt.timedelta(hours=8))
    recent = await tokens.open_session(made, dt.timedelta(hours=8))
    await db.pool.execute(
        "UPDATE sessions SET created_at = now() - interval '41 days', expires_at = now() - interval '40 days'"
        " WHERE secret_hash = $1",
        secret_hash(old),
    )
    await tokens.open_session(made, dt.timedelta(hours=8))
    kept = {bytes(r["secret_hash"]) for r in await db.pool.fetch("SELECT secret_hash FROM sessions")}
    assert secret_hash(old) not in kept and secret_hash(recent) in kept and len(kept) == 2


async def test_a_token_can_be_revoked_by_its_id(tokens: TokenStore) -> None:
    made, secret = await tokens.create(Role.FUNDER, ["alpha"])
    assert await tokens.revoke(str(made.token_id)) is True
    assert await tokens.authenticate(secret) is None
    assert await tokens.revoke("nobody") is False


async def test_the_database_keeps_only_a_hash_of_the_secret(tokens: TokenStore, db: Database) -> None:
    _, secret = await tokens.create(Role.ADMIN, name="root")
    row = await db.pool.fetchrow("SELECT * FROM access_tokens WHERE name = 'root'")
    assert row is not None
    stored = " ".join(repr(v) for v in row.values()) + bytes(row["secret_hash"]).hex()
    body = secret.removeprefix("il_")
    assert not any(body[i : i + 8] in stored for i in range(len(body) - 7))
    assert bytes(row["secret_hash"]) == hashlib.sha256(secret.encode()).digest()


async def test_secrets_are_random(tokens: TokenStore) -> None:
    made = [await tokens.create(Role.AUDITOR, ["beta"]) for _ in range(20)]
    assert len({secret for _, secret in made}) == 20
    assert len({p.name for p, _ in made}) == 20


async def test_a_wrong_secret_of_the_same_shape_is_refused(tokens: TokenStore) -> None:
    _, secret = await tokens.create(Role.STAFF, ["alpha"])
    last = "A" if secret[-1] != "A" else "B"
    assert await tokens.authenticate(secret[:-1] + last) is None
    assert await tokens.authenticate("il_" + "A" * 43) is None
    for malformed in ("", "il_", secret + "x", secret[3:], secret.upper(), "il_" + "é" * 43):
        assert await tokens.authenticate(malformed) is None


@pytest.mark.parametrize(
    ("role", "projects", "name", "message"),
    [
        ("staff", [], None, "needs at least one --project"),
        ("funder", [], None, "needs at least one --project"),
        ("auditor", [], None, "needs at least one --project"),
        ("admin", ["alpha"], None, "give no --project"),
        ("staff", ["alpha", "gamma"], None, "no such project: gamma"),
        ("owner", ["alpha"], None, "unknown role 'owner'"),
        ("staff", ["alpha"], "has space", "token name 'has space'"),
        ("staff", ["alpha"], str(uuid.uuid4()), "not a UUID"),
    ],
)
async def test_a_token_is_refused_for_a_bad_request(
    tokens: TokenStore, role: str, projects: list[str], name: str | None, message: str
) -> None:
    with pytest.raises(TokenRequestError, match=message):
        await tokens.create(role, projects, name)
    assert await tokens.list() == []


async def test_token_names_are_unique_even_after_a_revoke(tokens: TokenStore) -> None:
    await tokens.create(Role.STAFF, ["alpha"], name="anna")
    await tokens.revoke("anna")
    with pytest.raises(TokenRequestError, match="exists already"):
        await tokens.create(Role.STAFF, ["beta"], name="anna")


async def test_the_list_shows_every_token_and_no_secret(tokens: TokenStore) -> None:
    admin, _ = await tokens.create(Role.ADMIN, name="root")
    staff, _ = await tokens.create(Role.STAFF, ["beta", "alpha"], name="anna")
    await tokens.revoke("anna")
    listed = await tokens.list()
    assert [(t.name, t.role, t.projects) for t in listed] == [
        ("root", Role.ADMIN, ()),
        ("anna", Role.STAFF, ("alpha", "beta")),
    ]
    assert [t.token_id for t in listed] == [admin.token_id, staff.token_id]
    assert listed[0].revoked_at is None and listed[1].revoked_at is not None


# --- the CLI -----------------------------------------------------------------------------------
# The real commands against the test's schema: asyncpg passes DSN query parameters on as server
# settings, so `?search_path=<schema>` points the CLI's own pool at it. The commands run their
# own event loop (asyncio.run), hence a worker thread: this test's loop is already running.


def schema_dsn(db: Database) -> str:
    parts = urlsplit(db.dsn)
    query = "&".join(q for q in (parts.query, urlencode({"search_path": db.schema})) if q)
    return urlunsplit(parts._replace(query=query))


async def run_cli(db: Database, *args: str) -> Any:
    runner = CliRunner()
    env = {"DATABASE_URL": schema_dsn(db)}
    return await asyncio.to_thread(runner.invoke, token, list(args), env=env)


async def test_cli_create_prints_the_secret_last_and_it_works(tokens: TokenStore, db: Database) -> None:
    result = await run_cli(db, "create", "--role", "staff", "--project", "alpha", "--project", "beta")
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip().splitlines()[-1]
    principal = await tokens.authenticate(secret)
    assert principal is not None
    assert principal.role is Role.STAFF and principal.projects == {"alpha", "beta"}
    assert principal.name.startswith("staff-")
    assert principal.name in result.stderr


async def test_cli_lists_and_revokes(tokens: TokenStore, db: Database) -> None:
    made = await run_cli(db, "create", "--role", "admin", "--name", "root")
    secret = made.stdout.strip().splitlines()[-1]
    listed = await run_cli(db, "list")
    assert listed.exit_code == 0
    assert listed.stdout.startswith("root\tadmin\t*\t")
    assert secret not in listed.output

    revoked = await run_cli(db, "revoke", "root")
    assert revoked.exit_code == 0, revoked.output
    assert await tokens.authenticate(secret) is None


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["create", "--role", "staff"], "a staff token needs at least one --project"),
        (["create", "--role", "admin", "--project", "alpha"], "admin tokens reach every project"),
        (["create", "--role", "owner"], "'owner' is not one of"),
        (["revoke", "nobody"], "no live token 'nobody'"),
    ],
)
async def test_cli_refuses_bad_input_with_a_clear_message(
    tokens: TokenStore, db: Database, args: list[str], message: str
) -> None:
    result = await run_cli(db, *args)
    assert result.exit_code != 0
    assert message in result.output
    assert await tokens.list() == []


# --- HTTP: middleware and guards ---------------------------------------------------------------


@get("/api/v1/projects/{project:str}/events", guards=[read_log])
async def read_events(project: FromPath[str]) -> dict[str, str]:
    return {"project": project}


@post("/api/v1/projects/{project:str}/events", guards=[write_events])
async def append_events(project: FromPath[str], principal: NamedDependency[Principal]) -> dict[str, str]:
    return actor_metadata(principal)


@post("/api/v1/projects", guards=[administer])
async def create_project() -> dict[str, str]:
    return {"created": "yes"}


@get("/health")
async def health() -> dict[str, str]:
    return {"status": "ok"}


@pytest.fixture
async def client(tokens: TokenStore) -> AsyncIterator[httpx.AsyncClient]:
    app = Litestar(
        route_handlers=[read_events, append_events, create_project, health],
        middleware=[token_authentication],
        dependencies={"principal": Provide(principal_of, sync_to_thread=False)},
        exception_handlers=EXCEPTION_HANDLERS,  # the service's own: problem+json, headers kept
        state=State({"tokens": tokens}),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://impactlog.test") as http_client:
        yield http_client


async def bearer(tokens: TokenStore, role: Role, *projects: str) -> dict[str, str]:
    _, secret = await tokens.create(role, projects)
    return {"Authorization": f"Bearer {secret}"}


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    body: dict[str, Any] = response.json()
    # RFC 9457 §4.2.1: an absent "type" means "about:blank".
    assert body["status"] == status and body["title"] and body["detail"]
    return body


async def test_a_request_without_a_token_gets_401_with_a_bearer_challenge(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/projects/alpha/events")
    body = assert_problem(response, 401)
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert "Authorization: Bearer" in body["detail"]


@pytest.mark.parametrize(
    "authorization",
    ["Bearer il_" + "A" * 43, "Bearer nonsense", "Basic dXNlcjpwYXNz", "Bearer", "il_" + "A" * 43],
)
async def test_an_invalid_token_gets_401(client: httpx.AsyncClient, authorization: str) -> None:
    response = await client.get("/api/v1/projects/alpha/events", headers={"Authorization": authorization})
    assert_problem(response, 401)
    assert response.headers["www-authenticate"] == 'Bearer realm="impactlog", error="invalid_token"'


async def test_a_revoked_token_is_refused_on_the_next_request(
    client: httpx.AsyncClient, tokens: TokenStore
) -> None:
    made, secret = await tokens.create(Role.AUDITOR, ["alpha"])
    headers = {"Authorization": f"bearer {secret}"}  # the scheme is case-insensitive
    assert (await client.get("/api/v1/projects/alpha/events", headers=headers)).status_code == 200
    await tokens.revoke(made.name)
    assert_problem(await client.get("/api/v1/projects/alpha/events", headers=headers), 401)


async def test_the_dashboard_session_cookie_carries_a_session_of_the_token_never_the_token(
    client: httpx.AsyncClient, tokens: TokenStore
) -> None:
    made, secret = await tokens.create(Role.STAFF, ["alpha"])
    client.cookies.set("impactlog_session", secret)
    assert_problem(await client.get("/api/v1/projects/alpha/events"), 401)
    session = await tokens.open_session(made, dt.timedelta(hours=1))
    assert await tokens.authenticate_session(session) == made
    assert await tokens.authenticate(session) is None  # a session is not a token
    client.cookies.set("impactlog_session", session)
    assert (await client.get("/api/v1/projects/alpha/events")).status_code == 200
    await tokens.end_session(session)
    assert await tokens.authenticate_session(session) is None
    assert_problem(await client.get("/api/v1/projects/alpha/events"), 401)


async def test_health_needs_no_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/health")).status_code == 200


@pytest.mark.parametrize(
    ("role", "read_own", "read_foreign", "write_own", "write_foreign", "create_project"),
    [
        (Role.ADMIN, 200, 200, 201, 201, 201),
        (Role.STAFF, 200, 403, 201, 403, 403),
        (Role.AUDITOR, 200, 403, 403, 403, 403),
        (Role.FUNDER, 403, 403, 403, 403, 403),
    ],
)
async def test_each_role_reaches_only_what_it_may_on_its_own_projects(
    client: httpx.AsyncClient,
    tokens: TokenStore,
    role: Role,
    read_own: int,
    read_foreign: int,
    write_own: int,
    write_foreign: int,
    create_project: int,
) -> None:
    headers = await bearer(tokens, role, *([] if role is Role.ADMIN else ["alpha"]))
    answers = {
        "read_own": await client.get("/api/v1/projects/alpha/events", headers=headers),
        "read_foreign": await client.get("/api/v1/projects/beta/events", headers=headers),
        "write_own": await client.post("/api/v1/projects/alpha/events", headers=headers),
        "write_foreign": await client.post("/api/v1/projects/beta/events", headers=headers),
        "create_project": await client.post("/api/v1/projects", headers=headers),
    }
    expected = {
        "read_own": read_own,
        "read_foreign": read_foreign,
        "write_own": write_own,
        "write_foreign": write_foreign,
        "create_project": create_project,
    }
    assert {k: r.status_code for k, r in answers.items()} == expected
    for response in answers.values():
        if response.status_code == 403:
            assert_problem(response, 403)


async def test_a_foreign_project_is_named_in_the_403(client: httpx.AsyncClient, tokens: TokenStore) -> None:
    _, secret = await tokens.create(Role.STAFF, ["alpha"], name="anna")
    response = await client.post(
        "/api/v1/projects/beta/events", headers={"Authorization": f"Bearer {secret}"}
    )
    assert assert_problem(response, 403)["detail"] == "token 'anna' has no access to project 'beta'"


async def test_events_record_the_token_that_wrote_them(client: httpx.AsyncClient, tokens: TokenStore) -> None:
    made, secret = await tokens.create(Role.STAFF, ["alpha"], name="anna")
    response = await client.post(
        "/api/v1/projects/alpha/events", headers={"Authorization": f"Bearer {secret}"}
    )
    assert response.json() == {"actor": "anna", "actor_role": "staff", "token_id": str(made.token_id)}


def test_a_guard_for_an_unknown_role_fails_at_definition() -> None:
    from service.auth import allow

    with pytest.raises(ValueError, match="funders"):
        allow("funders")
