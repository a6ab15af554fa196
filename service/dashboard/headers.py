"""Security headers on every response of the service.

The dashboard is server-rendered HTML with inline SVG charts and one stylesheet of our own: it
runs no JavaScript and loads nothing from another host, so the content security policy can
forbid everything but same-origin styles, images and form posts. JSON answers get the same
headers; they cost nothing there and cover any HTML added later. A route that needs another
policy sets its own header: this middleware never replaces one that is already set.
"""

from __future__ import annotations

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

CONTENT_SECURITY_POLICY = "; ".join(
    (
        "default-src 'none'",
        "style-src 'self'",
        "img-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
    )
)

SECURITY_HEADERS: tuple[tuple[str, str], ...] = (
    ("content-security-policy", CONTENT_SECURITY_POLICY),
    ("x-content-type-options", "nosniff"),
    # frame-ancestors is the modern form; X-Frame-Options covers browsers that predate it.
    ("x-frame-options", "DENY"),
    # Page URLs name projects and dates: nothing of that leaves with a link to another site.
    # Not "no-referrer": browsers then send `Origin: null` with our own form posts, which the
    # login's cross-site check must refuse.
    ("referrer-policy", "same-origin"),
    ("cross-origin-opener-policy", "same-origin"),
    ("cross-origin-resource-policy", "same-origin"),
    ("permissions-policy", "camera=(), microphone=(), geolocation=(), payment=()"),
)
# Sent only over TLS (directly or behind a proxy uvicorn trusts): over plain HTTP it is ignored
# by browsers, and on a developer's http://127.0.0.1 it would be wrong.
HSTS = ("strict-transport-security", "max-age=31536000")


class SecurityHeadersMiddleware:
    """ASGI middleware adding SECURITY_HEADERS (and HSTS over https) to every HTTP response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; add the headers the response does not set itself."""
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        secure = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                for name, value in (*SECURITY_HEADERS, *((HSTS,) if secure else ())):
                    if name not in headers:
                        headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)
