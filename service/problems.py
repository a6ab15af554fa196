"""The one place that turns errors into HTTP answers: RFC 9457 problem+json, never a bare 500."""

from __future__ import annotations

import logging
import re
import socket
from typing import Any

import asyncpg
import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.params import ParameterKwarg
from litestar.status_codes import HTTP_500_INTERNAL_SERVER_ERROR
from litestar.types import ExceptionHandlersMap

from events.errors import (
    AppendOutcomeUnknown,
    DuplicateEventId,
    EventStoreError,
    IdempotencyKeyReused,
    ProjectAlreadyExists,
    ProjectNotFound,
    WrongExpectedVersion,
)
from service.recording import CommandRejected

log = logging.getLogger("impactlog.http")

PROBLEM_JSON = "application/problem+json"

_TITLES = {
    400: "Bad request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    413: "Request body too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    500: "Internal server error",
    503: "Service unavailable",
}


class FieldProblem(msgspec.Struct, frozen=True):
    """One offending field: its path in the request body and what is wrong with it."""

    field: str
    message: str


class Problem(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """An RFC 9457 problem document, with the offending fields when there are some."""

    type: str = "about:blank"
    title: str
    status: int
    detail: str
    errors: list[FieldProblem] = []


class RequestRefused(Exception):
    """A well-formed request that the project's state refuses: `status`, the problem `kind`
    (`snapshot-refused`, say) and the fields at fault as (field, message)."""

    def __init__(self, status: int, kind: str, problems: list[tuple[str, str]]) -> None:
        super().__init__(f"{problems[0][0]}: {problems[0][1]}")
        self.status = status
        self.kind = kind
        self.problems = problems


def problem_response(
    status: int,
    detail: str,
    errors: list[FieldProblem] | None = None,
    headers: dict[str, str] | None = None,
    kind: str | None = None,
) -> Response[bytes]:
    """A problem+json response."""
    body = Problem(
        type=f"https://impactlog.dev/problems/{kind}" if kind else "about:blank",
        title=_TITLES.get(status, "Error"),
        status=status,
        detail=detail,
        errors=errors or [],
    )
    return Response(
        msgspec.json.encode(body), status_code=status, media_type=PROBLEM_JSON, headers=headers or {}
    )


_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)
# msgspec names an unknown or missing field in its message, and gives the object's path only.
_NAMED = re.compile(r"^Object (?:contains unknown|missing required) field `(?P<name>[^`]+)`$")


def field_from_validation(message: str, root: str = "") -> FieldProblem:
    """Split msgspec's "Expected `int`, got `str` - at `$[0].data.x`" into path and message; an
    unknown or missing field is named by its own path (`[0].data.colour`), not its object's."""
    match = _AT.match(message)
    assert match is not None
    path = (match["path"] or "").lstrip(".")
    named = _NAMED.match(match["message"])
    if named is not None:
        path = f"{path}.{named['name']}" if path else named["name"]
    return FieldProblem(field=f"{root}{path}" or "body", message=match["message"])


def _wire_name(request: Request[Any, Any, Any], key: str) -> str:
    """The name a client sent a handler's parameter under (`Idempotency-Key`, not `idempotency_key`)."""
    signature = getattr(request.scope.get("route_handler"), "parsed_fn_signature", None)
    parameter = signature.parameters.get(key) if signature is not None else None
    definition = getattr(parameter, "kwarg_definition", None)
    if isinstance(definition, ParameterKwarg):
        declared = definition.header or definition.query or definition.cookie
        # HeaderParameter(name=…) and its siblings carry the wire name as `name`.
        return declared or getattr(definition, "name", None) or key
    return key


def _body_path(error: ValidationException) -> str | None:
    """Where in the body msgspec found the problem, e.g. `[3].occurred_on` in a list of events.

    Litestar keeps only the body's name (`data`) when the path starts with an index; msgspec's
    own message, the exception's cause, still has the whole path.
    """
    cause = error.__cause__
    if not isinstance(cause, msgspec.ValidationError):
        return None
    path = field_from_validation(str(cause)).field
    if path != "data" and not path.startswith(("data.", "data[")):
        return None
    return path.removeprefix("data").lstrip(".") or "body"


def _validation(request: Request[Any, Any, Any], error: ValidationException) -> Response[bytes]:
    errors: list[FieldProblem] = []
    for item in error.extra if isinstance(error.extra, list) else []:
        if isinstance(item, dict):
            key = str(item.get("key") or item.get("source") or "body")
            if item.get("source") == "body":
                key = _body_path(error) or ("body" if key == "data" else key)
            else:
                key = _wire_name(request, key)
            errors.append(FieldProblem(field=key, message=str(item.get("message", ""))))
    if not errors and error.detail:
        errors.append(field_from_validation(str(error.detail)))
    detail = f"{errors[0].field}: {errors[0].message}" if errors else str(error.detail)
    return problem_response(400, detail, errors, kind="invalid-request")


def _http(request: Request[Any, Any, Any], error: HTTPException) -> Response[bytes]:
    if isinstance(error, ValidationException):
        return _validation(request, error)
    status = error.status_code
    headers = dict(error.headers or {})
    if status == 413:
        limit = request.app.request_max_body_size
        message = f"the body is larger than the {limit} bytes this service accepts" if limit else "too large"
        return problem_response(
            413, message, [FieldProblem("body", message)], headers=headers, kind="body-too-large"
        )
    if status == 400:
        # Litestar's own 400s before any handler ran: a body that is not JSON, say.
        message = str(error.detail)
        return problem_response(
            400, message, [FieldProblem("body", message)], headers=headers, kind="invalid-request"
        )
    return problem_response(status, str(error.detail), headers=headers)


def _fields_refused(status: int, kind: str, problems: list[tuple[str, str]]) -> Response[bytes]:
    errors = [FieldProblem(field=f, message=m) for f, m in problems]
    return problem_response(status, f"{errors[0].field}: {errors[0].message}", errors, kind=kind)


def _command(request: Request[Any, Any, Any], error: CommandRejected) -> Response[bytes]:
    return _fields_refused(422, "invalid-event", error.problems)


def _refused(request: Request[Any, Any, Any], error: RequestRefused) -> Response[bytes]:
    return _fields_refused(error.status, error.kind, error.problems)


def _store(request: Request[Any, Any, Any], error: EventStoreError) -> Response[bytes]:
    if isinstance(error, WrongExpectedVersion):
        field = f"[{error.index}].expected_version"
        return problem_response(
            409, str(error), [FieldProblem(field, str(error))], kind="wrong-expected-version"
        )
    if isinstance(error, DuplicateEventId):
        field = f"[{error.index}].event_id"
        return problem_response(409, str(error), [FieldProblem(field, str(error))], kind="duplicate-event-id")
    if isinstance(error, IdempotencyKeyReused):
        return problem_response(
            422, str(error), [FieldProblem("Idempotency-Key", str(error))], kind="idempotency-key-reused"
        )
    if isinstance(error, ProjectNotFound):
        return problem_response(404, str(error), kind="project-not-found")
    if isinstance(error, ProjectAlreadyExists):
        return problem_response(
            409, str(error), [FieldProblem("project_id", str(error))], kind="project-exists"
        )
    if isinstance(error, AppendOutcomeUnknown):
        return problem_response(503, str(error), headers={"Retry-After": "1"}, kind="outcome-unknown")
    return problem_response(409, str(error))


def _log_error_class(request: Request[Any, Any, Any], error: Exception, level: int, message: str) -> None:
    # The class only: an error's message may quote the value that caused it.
    log.log(
        level,
        message,
        extra={"path": request.url.path, "method": request.method, "error": type(error).__name__},
    )


def _bad_characters(request: Request[Any, Any, Any], error: Exception) -> Response[bytes]:
    # PostgreSQL refuses NUL characters and values out of its integer ranges: the input is bad.
    # Inputs are checked where they enter, naming the field; reaching here means a check is
    # missing, so it is logged (the class only: the message may quote the value).
    _log_error_class(
        request, error, logging.WARNING, "input refused by PostgreSQL, not by a check where it entered"
    )
    return problem_response(
        400,
        "the request holds a value the log cannot store (a NUL character, or a number out of range)",
        kind="invalid-request",
    )


def _too_deep(request: Request[Any, Any, Any], error: RecursionError) -> Response[bytes]:
    # msgspec's JSON decoder stops at ~1000 levels, as it parses the body.
    message = "the JSON body is nested too deeply"
    return problem_response(400, message, [FieldProblem("body", message)], kind="invalid-request")


# The database cannot be reached, refuses connections, was shut down or dropped the connection, or
# no pooled connection freed up in time: nothing was written by this request (an append whose
# commit may have happened answers 503 outcome-unknown above), so retrying later is safe.
DATABASE_UNAVAILABLE: tuple[type[Exception], ...] = (
    OSError,
    TimeoutError,
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.OperatorInterventionError,
    asyncpg.TooManyConnectionsError,
    # The database named in DATABASE_URL is gone, or the server no longer lets the service in.
    asyncpg.InvalidCatalogNameError,
    asyncpg.exceptions.InvalidAuthorizationSpecificationError,
)


def _database_unavailable(request: Request[Any, Any, Any], error: Exception) -> Response[bytes]:
    if isinstance(error, OSError) and not _reaching_the_database(error):
        return _unexpected(request, error)  # a missing file, a permission: a fault of ours
    _log_error_class(request, error, logging.ERROR, "database unavailable")
    return problem_response(
        503,
        "the database is unavailable for the moment; nothing was written, retry shortly",
        headers={"Retry-After": "5"},
        kind="database-unavailable",
    )


def _reaching_the_database(error: OSError) -> bool:
    # asyncpg reports a failed connect as a plain OSError ("Multiple exceptions: [Errno 111] …")
    # or a ConnectionError; a name that does not resolve as socket.gaierror.
    return type(error) is OSError or isinstance(error, ConnectionError | TimeoutError | socket.gaierror)


def _unexpected(request: Request[Any, Any, Any], error: Exception) -> Response[bytes]:
    log.exception("unhandled error", extra={"path": request.url.path, "method": request.method})
    return problem_response(
        HTTP_500_INTERNAL_SERVER_ERROR, "an unexpected error occurred; it has been logged", kind="internal"
    )


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    HTTPException: _http,
    CommandRejected: _command,
    RequestRefused: _refused,
    EventStoreError: _store,
    asyncpg.DataError: _bad_characters,
    RecursionError: _too_deep,
    **dict.fromkeys(DATABASE_UNAVAILABLE, _database_unavailable),
    Exception: _unexpected,
}
