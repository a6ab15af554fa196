"""Signing people in to the pages: a token entered once opens a server-side session.

Signing in checks the token and stores a session row (table ``sessions``) under the sha256 of a
fresh random secret; the cookie (service.auth.SESSION_COOKIE) carries that secret, never the
access token. A request with the cookie is authenticated through its session to its token: the
session must not be ended or expired and the token not revoked, so signing out (which ends the
row) and revoking the token both take effect on the next request, wherever the cookie was copied.
Pages also accept ``Authorization: Bearer`` for scripts and monitoring. Because the cookie is
still a bearer secret for as long as its session lives it is:

- HttpOnly: no script can read it (and the pages run no script at all);
- SameSite=Strict: the browser never sends it with a request started by another site, so no
  other site can make a signed-in browser fetch a page or submit a form as the user (CSRF);
- Secure when the request came over TLS (directly, or through a proxy uvicorn trusts), so it
  never travels in clear there; on http://127.0.0.1 a Secure cookie would not be kept;
- limited to SESSION_HOURS, in the browser and in its row; the token behind it may live longer,
  signing in again costs a paste.

The login form itself is posted before any session exists, so SameSite cannot protect it: a
foreign page could post *its own* token and sign the victim in as someone else (login CSRF).
``same_origin_post`` refuses such posts by the Origin and Sec-Fetch-Site headers browsers send
with every form post; logout is a POST with the same check.

Page routes are excluded from the API's authentication middleware (PAGE_PATHS) and guarded by
``signed_in`` instead, which answers a browser without a valid session with a redirect to the
login page rather than a 401 document.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

import msgspec
from litestar import Request, Response, get, post
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.enums import RequestEncodingType
from litestar.exceptions import NotAuthorizedException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.params import Body, FromQuery
from litestar.response import Redirect

from service.auth import SESSION_COOKIE, Principal, authenticate_credential, presented_secret, token_store
from service.dashboard.rendering import render_page

SESSION_HOURS = 8
LOGIN_PATH = "/login"
LOGOUT_PATH = "/logout"
PROJECTS_PATH = "/projects"

# Routes served as pages: excluded from the API's token middleware, guarded by `signed_in` (or
# open: login, logout, static files, favicon). Anchored regular expressions, like PUBLIC_PATHS.
PAGE_PATHS = [
    "^/login$",
    "^/logout$",
    "^/static/",
    "^/favicon\\.ico$",
    "^/projects/?$",
    "^/projects/[^/]+/dashboard(/|$)",
]


class SignInRequired(Exception):
    """A page was asked for without a valid session or token."""


class LoginForm(msgspec.Struct, frozen=True, kw_only=True):
    """What the login form posts."""

    token: str = ""
    next: str = ""


def safe_next(target: str | None) -> str:
    """Where to go after signing in: a path on this site only (never "//host" or a URL)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return PROJECTS_PATH
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        return PROJECTS_PATH
    return target


def _secure(connection: ASGIConnection[Any, Any, Any, Any]) -> bool:
    return connection.scope.get("scheme") == "https"


def session_cookie(connection: ASGIConnection[Any, Any, Any, Any], secret: str) -> Cookie:
    """The session cookie carrying `secret` (see the module docstring for each attribute)."""
    return Cookie(
        key=SESSION_COOKIE,
        value=secret,
        path="/",
        max_age=SESSION_HOURS * 3600,
        httponly=True,
        samesite="strict",
        secure=_secure(connection),
    )


def cleared_cookie(connection: ASGIConnection[Any, Any, Any, Any]) -> Cookie:
    """An expired session cookie: the browser drops the one it has."""
    return Cookie(
        key=SESSION_COOKIE,
        value="",
        path="/",
        max_age=0,
        httponly=True,
        samesite="strict",
        secure=_secure(connection),
    )


def same_origin_post(request: Request[Any, Any, Any]) -> bool:
    """Whether a form post came from one of our own pages.

    Browsers send Origin with every form post, and Sec-Fetch-Site too; a client sending neither
    is not a browser another site could drive, so it passes.
    """
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return False
    origin = request.headers.get("origin")
    if origin is None:
        return True
    parts = urlsplit(origin)  # "null" (a sandboxed or privacy-stripped origin) has no host
    return parts.scheme in ("http", "https") and parts.netloc == request.headers.get("host")


async def signed_in(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: the caller's session cookie or bearer token is live (request.user is set).

    A bad bearer token is a 401 (a script should fail loudly); a missing or stale cookie is a
    SignInRequired, which pages answer with the login page.
    """
    if isinstance(connection.scope.get("user"), Principal):
        return  # the API middleware ran on this route and authenticated already
    credential = presented_secret(connection)  # 401 for a malformed Authorization header
    if credential is None:
        raise SignInRequired
    principal = await authenticate_credential(connection.app, credential)
    if principal is None:
        if not credential.session:
            raise NotAuthorizedException(
                detail="the access token is not valid or has been revoked",
                headers={"WWW-Authenticate": 'Bearer realm="impactlog", error="invalid_token"'},
            )
        raise SignInRequired
    connection.scope["user"] = principal


def sign_in_response(request: Request[Any, Any, Any], _: SignInRequired) -> Response[Any]:
    """Browsers go to the login page (and come back after); other clients get a 401."""
    accept = request.headers.get("accept", "")
    if "text/html" not in accept:
        return Response(
            {
                "title": "Unauthorized",
                "status": 401,
                "detail": "sign in, or send `Authorization: Bearer <token>`",
            },
            status_code=401,
            media_type="application/problem+json",
            headers={"WWW-Authenticate": 'Bearer realm="impactlog"'},
        )
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    if request.headers.get("sec-fetch-site") == "cross-site" and request.method == "GET":
        # A link followed from another site (an e-mail, a report) arrives without the
        # SameSite=Strict cookie even when the user is signed in. Reload the page from our own
        # origin once: a signed-in browser then sends the cookie; otherwise it lands on login.
        return render_page(request, "continue.html", {"target": target}, status_code=200)
    response: Response[Any] = Redirect(f"{LOGIN_PATH}?next={quote(target, safe='/')}", status_code=303)
    if SESSION_COOKIE in request.cookies:
        response.set_cookie(cleared_cookie(request))
    return response


@get(LOGIN_PATH, include_in_schema=False)
async def login_page(
    request: Request[Any, Any, Any],
    next: FromQuery[str | None] = None,
    signed_out: FromQuery[bool] = False,
) -> Response[str]:
    """The sign-in form."""
    notice = "You have signed out." if signed_out else None
    return render_page(request, "login.html", {"next": safe_next(next), "error": None, "notice": notice})


@post(LOGIN_PATH, include_in_schema=False, status_code=303)
async def login(
    request: Request[Any, Any, Any],
    data: Annotated[LoginForm, Body(media_type=RequestEncodingType.URL_ENCODED)],
) -> Response[Any]:
    """Check the pasted token; on success open a session, set its cookie and go where the user was going."""
    target = safe_next(data.next)
    if not same_origin_post(request):
        raise PermissionDeniedException(detail="sign-in forms are accepted from this site's own pages only")
    secret = data.token.strip()
    principal = await token_store(request.app).authenticate(secret) if secret else None
    if principal is None:
        return render_page(
            request,
            "login.html",
            {"next": target, "error": "That token is not valid or has been revoked.", "notice": None},
            status_code=401,
        )
    if target == PROJECTS_PATH and len(principal.projects) == 1:
        (only,) = principal.projects
        target = f"/projects/{quote(only, safe='')}/dashboard"
    session = await token_store(request.app).open_session(principal, dt.timedelta(hours=SESSION_HOURS))
    response: Response[Any] = Redirect(target, status_code=303)
    response.set_cookie(session_cookie(request, session))
    return response


@post(LOGOUT_PATH, include_in_schema=False, status_code=303)
async def logout(request: Request[Any, Any, Any]) -> Response[Any]:
    """End the session and drop its cookie (the token itself stays valid until revoked)."""
    if not same_origin_post(request):
        raise PermissionDeniedException(detail="sign-out forms are accepted from this site's own pages only")
    session = request.cookies.get(SESSION_COOKIE)
    if session:
        await token_store(request.app).end_session(session)
    response: Response[Any] = Redirect(f"{LOGIN_PATH}?signed_out=1", status_code=303)
    response.set_cookie(cleared_cookie(request))
    return response
