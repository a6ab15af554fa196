"""One structured log line per HTTP request: method, path, status, duration, project."""

from __future__ import annotations

import logging
import time
from typing import Any

from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

log = logging.getLogger("impactlog.http")


class RequestLogging(ASGIMiddleware):
    """Log each HTTP request once it has been answered (never its body: it may hold personal data)."""

    scopes = ("http",)  # type: ignore[assignment]

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        """Time the request and note the status it was answered with."""
        started = time.perf_counter()
        status = 500

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await next_app(scope, receive, sending)
        finally:
            params: dict[str, Any] = scope.get("path_params") or {}
            log.info(
                "request",
                extra={
                    "method": scope.get("method"),
                    "path": scope.get("path"),
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "project": params.get("project"),
                },
            )


request_logging = RequestLogging()
