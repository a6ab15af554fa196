"""Access control: bearer tokens (random, stored as hashes, revocable), roles, project scopes.

A token carries one role and a set of projects. The middleware turns the request's token into a
`Principal` (or answers 401); guards made by `allow` check the role and the route's `{project}`
(or answer 403). Who may do what is the table of guards at the end of this module.
"""

from __future__ import annotations

import builtins
import datetime as dt
import hashlib
import hmac
import re
import secrets
import uuid
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

import asyncpg
import msgspec
from litestar import Litestar
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import DefineMiddleware
from litestar.middleware.authentication import AbstractAuthenticationMiddleware, AuthenticationResult
from litestar.types import Guard

from events.connection import Executor
from events.read import read_head


class Role(StrEnum):
    """What a token may do; the projects it may do it on are listed on the token."""

    ADMIN = "admin"
    STAFF = "staff"
    FUNDER = "funder"
    AUDITOR = "auditor"


class Principal(msgspec.Struct, frozen=True, kw_only=True):
    """The authenticated caller: one live token."""

    token_id: uuid.UUID
    name: str
    role: Role
    projects: frozenset[str]

    def can_access(self, project_id: str) -> bool:
        """Admin tokens reach every project; the others only the projects they list."""
        return self.role is Role.ADMIN or project_id in self.projects


class TokenInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A token as `impactlog token list` shows it: everything but the secret."""

    token_id: uuid.UUID
    name: str
    role: Role
    projects: tuple[str, ...]
    created_at: dt.datetime
    revoked_at: dt.datetime | None


class TokenRequestError(ValueError):
    """A token cannot be created as asked (role, projects or name)."""


SECRET_PREFIX = "il_"
SESSION_PREFIX = "ils_"
# token_urlsafe(32): 32 random bytes, unpadded urlsafe base64.
_SECRET = re.compile(r"^il_[A-Za-z0-9_-]{43}$")
_SESSION_SECRET = re.compile(r"^ils_[A-Za-z0-9_-]{43}$")
# Names go into every event's metadata and onto command lines: keep them plain.
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}$")

INSERT_TOKEN = """
INSERT INTO access_tokens (token_id, name, role, projects, secret_hash) VALUES ($1, $2, $3, $4, $5)
"""
FIND_LIVE_TOKEN = """
SELECT token_id, name, role, projects, secret_hash
  FROM access_tokens WHERE secret_hash = $1 AND revoked_at IS NULL
"""
REVOKE_TOKEN = """
UPDATE access_tokens SET revoked_at = now()
 WHERE (name = $1 OR token_id = $2) AND revoked_at IS NULL
RETURNING token_id
"""
LIST_TOKENS = """
SELECT token_id, name, role, projects, created_at, revoked_at
  FROM access_tokens ORDER BY created_at, name
"""
INSERT_SESSION = """
INSERT INTO sessions (secret_hash, token_id, expires_at) VALUES ($1, $2, now() + $3::interval)
"""
FIND_LIVE_SESSION = """
SELECT t.token_id, t.name, t.role, t.projects, s.secret_hash
  FROM sessions s JOIN access_tokens t ON t.token_id = s.token_id
 WHERE s.secret_hash = $1 AND s.ended_at IS NULL AND s.expires_at > now() AND t.revoked_at IS NULL
"""
# Ended or expired sessions are kept a while (when did that browser last sign in?), then go.
PURGE_OLD_SESSIONS = """
DELETE FROM sessions WHERE expires_at < now() - interval '30 days'
"""
END_SESSION = """
UPDATE sessions SET ended_at = now() WHERE secret_hash = $1 AND ended_at IS NULL
"""


def secret_hash(secret: str) -> bytes:
    """sha256 of the secret's text: what the database keeps instead of the secret."""
    return hashlib.sha256(secret.encode()).digest()


def _uuid_or_none(text: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(text)
    except ValueError:
        return None


class TokenStore:
    """Create, revoke, list and check access tokens in the `access_tokens` table, and the
    dashboard sessions signed in with them in `sessions`.

    Nothing is cached: every request reads its token's row (one unique-index probe; a session adds
    one primary-key probe), so a revoke or a sign-out takes effect on the very next request, in
    every process.
    """

    def __init__(self, db: Executor) -> None:
        self._db = db

    async def create(
        self, role: Role | str, projects: Iterable[str] = (), name: str | None = None
    ) -> tuple[Principal, str]:
        """Make a token; return it and its secret, which is shown once and never stored."""
        role = self._role(role)
        scope = frozenset(projects)
        await self._check_scope(role, scope)
        name = self._name(role, name)
        secret = SECRET_PREFIX + secrets.token_urlsafe(32)
        principal = Principal(token_id=uuid.uuid4(), name=name, role=role, projects=scope)
        try:
            await self._db.execute(
                INSERT_TOKEN, principal.token_id, name, role.value, sorted(scope), secret_hash(secret)
            )
        except asyncpg.UniqueViolationError as error:
            raise TokenRequestError(
                f"a token named {name!r} exists already; choose another --name"
            ) from error
        return principal, secret

    async def revoke(self, name_or_id: str) -> bool:
        """Revoke a live token by name or id; False when there is no such live token."""
        revoked = await self._db.fetchval(REVOKE_TOKEN, name_or_id, _uuid_or_none(name_or_id))
        return revoked is not None

    async def list(self) -> builtins.list[TokenInfo]:
        """Every token, revoked ones included, oldest first; secrets are not kept to list."""
        rows = await self._db.fetch(LIST_TOKENS)
        return [
            TokenInfo(
                token_id=r["token_id"],
                name=r["name"],
                role=Role(r["role"]),
                projects=tuple(r["projects"]),
                created_at=r["created_at"],
                revoked_at=r["revoked_at"],
            )
            for r in rows
        ]

    async def authenticate(self, secret: str) -> Principal | None:
        """The live token with this secret, or None (unknown, malformed or revoked)."""
        if not _SECRET.match(secret):
            return None
        return await self._principal(FIND_LIVE_TOKEN, secret_hash(secret))

    async def open_session(self, principal: Principal, lifetime: dt.timedelta) -> str:
        """Start a dashboard session for this token; return its secret (for the cookie only)."""
        secret = SESSION_PREFIX + secrets.token_urlsafe(32)
        await self._db.execute(PURGE_OLD_SESSIONS)
        await self._db.execute(INSERT_SESSION, secret_hash(secret), principal.token_id, lifetime)
        return secret

    async def authenticate_session(self, secret: str) -> Principal | None:
        """The token of the live session with this secret, or None (unknown, malformed, ended,
        expired, or its token revoked)."""
        if not _SESSION_SECRET.match(secret):
            return None
        return await self._principal(FIND_LIVE_SESSION, secret_hash(secret))

    async def end_session(self, secret: str) -> None:
        """End the session with this secret, if there is one (signing out)."""
        if _SESSION_SECRET.match(secret):
            await self._db.execute(END_SESSION, secret_hash(secret))

    async def _principal(self, query: str, digest: bytes) -> Principal | None:
        # The index probe compares hashes of the caller's input, so its timing tells nothing about
        # any stored secret; the constant-time compare keeps that true whatever finds the row.
        row = await self._db.fetchrow(query, digest)
        if row is None or not hmac.compare_digest(bytes(row["secret_hash"]), digest):
            return None
        return Principal(
            token_id=row["token_id"],
            name=row["name"],
            role=Role(row["role"]),
            projects=frozenset(row["projects"]),
        )

    @staticmethod
    def _role(role: Role | str) -> Role:
        try:
            return Role(role)
        except ValueError:
            choices = ", ".join(r.value for r in Role)
            raise TokenRequestError(f"unknown role {role!r}; choose one of {choices}") from None

    async def _check_scope(self, role: Role, projects: frozenset[str]) -> None:
        if role is Role.ADMIN:
            if projects:
                raise TokenRequestError("admin tokens reach every project; give no --project")
            return
        if not projects:
            raise TokenRequestError(f"a {role} token needs at least one --project")
        # A typo would otherwise make a token for nothing, or for a project someone creates later.
        unknown = sorted([p for p in projects if await read_head(self._db, p) is None])
        if unknown:
            raise TokenRequestError(f"no such project: {', '.join(unknown)} (create the project first)")

    @staticmethod
    def _name(role: Role, name: str | None) -> str:
        if name is None:
            return f"{role}-{secrets.token_hex(4)}"
        # A name that reads as a token id would make `revoke` ambiguous.
        if not _NAME.match(name) or _uuid_or_none(name) is not None:
            raise TokenRequestError(
                f"token name {name!r}: 1-64 letters, digits and . _ @ + -, starting with a letter or "
                "digit, and not a UUID"
            )
        return name


# --- HTTP: who is calling -----------------------------------------------------------------------

SESSION_COOKIE = "impactlog_session"
# Regular expressions searched in the path: anchored, so /healthz or /api/v1/health stay guarded.
PUBLIC_PATHS = ["^/health$", "^/metrics$", "^/schema(/|$)"]
_REALM = 'Bearer realm="impactlog"'


def _unauthenticated(detail: str, *, invalid: bool) -> NotAuthorizedException:
    # RFC 6750 §3: the challenge names the scheme; error=invalid_token when one was presented.
    challenge = f'{_REALM}, error="invalid_token"' if invalid else _REALM
    return NotAuthorizedException(detail=detail, headers={"WWW-Authenticate": challenge})


class Credential(msgspec.Struct, frozen=True, kw_only=True):
    """What the caller sent to authenticate: a token, or a dashboard session's secret."""

    secret: str
    session: bool  # from the session cookie, not the Authorization header


def presented_secret(connection: ASGIConnection[Any, Any, Any, Any]) -> Credential | None:
    """What the caller sent: `Authorization: Bearer <token>`, else the dashboard's session cookie."""
    header = connection.headers.get("authorization")
    if header is not None:
        scheme, _, secret = header.strip().partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise _unauthenticated("the Authorization header must be `Bearer <token>`", invalid=True)
        return Credential(secret=secret.strip(), session=False)
    cookie = connection.cookies.get(SESSION_COOKIE)
    return None if cookie is None else Credential(secret=cookie, session=True)


def token_store(app: Litestar) -> TokenStore:
    """The app's token store (set on app.state.tokens by the lifespan)."""
    tokens = getattr(app.state, "tokens", None)
    if not isinstance(tokens, TokenStore):
        raise RuntimeError("app.state.tokens is not a TokenStore: the lifespan must set it")
    return tokens


async def authenticate_credential(app: Litestar, credential: Credential) -> Principal | None:
    """The Principal behind a token or a session secret, or None when it is not live."""
    tokens = token_store(app)
    if credential.session:
        return await tokens.authenticate_session(credential.secret)
    return await tokens.authenticate(credential.secret)


class TokenAuthenticationMiddleware(AbstractAuthenticationMiddleware):
    """Turn the request's bearer token into `request.user` (a Principal), or answer 401."""

    async def authenticate_request(
        self, connection: ASGIConnection[Any, Any, Any, Any]
    ) -> AuthenticationResult:
        """Look the presented token or session up; missing, unknown, ended or revoked are refused."""
        credential = presented_secret(connection)
        if credential is None:
            raise _unauthenticated(
                "an access token is required: send `Authorization: Bearer <token>`", invalid=False
            )
        principal = await authenticate_credential(connection.app, credential)
        if principal is None:
            raise _unauthenticated("the access token is not valid or has been revoked", invalid=True)
        # `auth` holds the token id, never the secret, so nothing downstream can leak it.
        return AuthenticationResult(user=principal, auth=principal.token_id)


# Add to the app's middleware; /health, /metrics and the OpenAPI pages stay open.
token_authentication = DefineMiddleware(TokenAuthenticationMiddleware, exclude=PUBLIC_PATHS)


def principal_of(request: ASGIConnection[Any, Any, Any, Any]) -> Principal:
    """The caller's Principal; usable as a dependency: `Provide(principal_of, sync_to_thread=False)`."""
    user = request.scope.get("user")
    if not isinstance(user, Principal):
        # Only a route the middleware skipped gets here; refuse rather than act anonymously.
        raise _unauthenticated("an access token is required for this route", invalid=False)
    return user


def actor_metadata(principal: Principal) -> dict[str, str]:
    """What every event's metadata records about the token that wrote it."""
    return {"actor": principal.name, "actor_role": principal.role.value, "token_id": str(principal.token_id)}


# --- HTTP: what the caller may do -------------------------------------------------------------

# Routes name their project path parameter this; the guards check the caller may reach it.
PROJECT_PARAMETER = "project"


def allow(*roles: Role | str) -> Guard:
    """A guard admitting these roles on projects their token lists (and admin everywhere)."""
    allowed = frozenset(Role(r) for r in roles)  # a typo fails at import, not at request time
    names = ", ".join(sorted(allowed)) or "none but admin"

    def guard(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
        principal = principal_of(connection)
        if principal.role is Role.ADMIN:
            return
        if principal.role not in allowed:
            raise PermissionDeniedException(
                detail=f"token {principal.name!r} ({principal.role}) may not do this; allowed roles: {names}"
            )
        project = connection.path_params.get(PROJECT_PARAMETER)
        if project is not None and not principal.can_access(str(project)):
            raise PermissionDeniedException(
                detail=f"token {principal.name!r} has no access to project {project!r}"
            )

    guard.__qualname__ = guard.__name__ = f"allow({names})"
    return guard


# Who may do what, on the projects their token lists (admin: everything, on every project).
#
# | guard               | staff | funder | auditor | routes                                      |
# |---------------------|-------|--------|---------|---------------------------------------------|
# | write_events        |   x   |        |         | POST …/events, imports                      |
# | read_log            |   x   |        |    x    | GET …/events (+NDJSON), streams             |
# | verify_log          |   x   |        |    x    | GET …/audit/verify                          |
# | read_indicators     |   x   |   x    |    x    | GET …/indicators, …/series                  |
# | read_snapshots      |   x   |   x    |    x    | GET …/snapshots, …/{id}(.html/.csv/verify)  |
# | publish_snapshots   |   x   |        |         | POST …/snapshots                            |
# | view_dashboard      |   x   |   x    |    x    | GET /projects/{project}/dashboard           |
# | administer          |       |        |         | project creation, anything global           |
#
# Staff read their own projects' log: they correct mistakes by new events that name the events
# they correct, and it reveals nothing beyond what they wrote with their partners.
write_events = allow(Role.STAFF)
read_log = allow(Role.STAFF, Role.AUDITOR)
verify_log = allow(Role.STAFF, Role.AUDITOR)
read_indicators = allow(Role.STAFF, Role.FUNDER, Role.AUDITOR)
read_snapshots = allow(Role.STAFF, Role.FUNDER, Role.AUDITOR)
publish_snapshots = allow(Role.STAFF)
view_dashboard = allow(Role.STAFF, Role.FUNDER, Role.AUDITOR)
administer = allow()
