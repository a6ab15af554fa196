"""No input can cause a 500: schemathesis fuzzes every operation of the OpenAPI document.

Each operation gets a few cases of each kind, drawn with a fixed seed (the same requests on every
run, so a failure reproduces): the document's own examples, cases that fit the schema and cases
that break it, most of them aimed at a project that exists so they reach the code behind the
guards. They go to the real app (on the real PostgreSQL, in this test's loop) as an admin, whom
the guards let through everywhere, and the indicator routes also as a funder. An answer passes
when it is not a 5xx and, under /api, every 4xx is RFC 9457 problem+json. A failure lists each
wrong answer with a curl command that reproduces it.

Inputs that once caused a 500 are kept as plain requests in tests/test_validation_paths.py.
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core.result import Err
from schemathesis.schemas import APIOperation

from service.app import create_app
from service.dashboard import PAGE_PATHS
from service.imports import IMPORT_KINDS
from service.settings import Settings
from tests.conftest import MIGRATIONS, Database, bearer, running_service
from tests.test_validation_paths import PROJECT, record_demo_project

# Per operation and kind: 3 kinds x 6 cases, plus the document's examples, keep the file well under
# a minute on two cores; the cases differ from operation to operation, so the whole API gets ~500.
CASES = 6
# An answer slower than this is a hang (read-your-writes waits at most 5 s, and is kept below it).
ANSWER_WITHIN = 10.0
PROBLEM_JSON = "application/problem+json"


# Built from its routes alone (nothing is started): the document is known at collection, and
# every operation is a test of its own.
APP = create_app(
    Settings(
        database_url=None,
        data_dir=Path("/nonexistent"),
        migrations_dir=MIGRATIONS,
        host="127.0.0.1",
        port=0,
        pool_min=1,
        pool_max=1,
        log_level="INFO",
        max_body_bytes=1024 * 1024,
    )
)
API = schemathesis.openapi.from_dict(APP.openapi_schema.to_schema())
Operation = APIOperation[Any, Any, Any, Any]


def _operations() -> dict[str, Operation]:
    """Every operation of the document by label ("GET /health"); one it cannot describe fails loudly."""
    found: dict[str, Operation] = {}
    for result in API.get_all_operations():
        if isinstance(result, Err):
            raise result.err()
        found[result.ok().label] = result.ok()
    return found


OPERATIONS = _operations()


def _drawn(strategy: st.SearchStrategy[Any], count: int) -> list[Any]:
    """`count` values of `strategy`, the same ones on every run."""
    values: list[Any] = []

    @settings(
        max_examples=count,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(value: Any) -> None:
        values.append(value)

    collect()
    return values


def _examples(operation: Operation, path_parameters: dict[str, str] | None) -> list[Any]:
    """One case for each example the document gives (e.g. one per event type)."""
    strategies = operation.get_strategies_from_examples(path_parameters=path_parameters)
    return [case for strategy in strategies for case in _drawn(strategy, 1)]


def cases_of(operation: Operation, known: dict[str, str]) -> list[Any]:
    """The document's examples and valid cases on things that exist (`known` path values), then
    invalid cases on the demo project and anywhere."""
    on_demo = {"project": PROJECT} if "project" in known else None
    return [
        *_examples(operation, known),
        *_drawn(operation.as_strategy(GenerationMode.POSITIVE, path_parameters=known), CASES),
        *_drawn(operation.as_strategy(GenerationMode.NEGATIVE, path_parameters=on_demo), CASES),
        *_drawn(operation.as_strategy(GenerationMode.NEGATIVE), CASES),
    ]


async def known_path_values(
    service: httpx.AsyncClient, admin: dict[str, str], operation: Operation
) -> dict[str, str]:
    """Path values of things that exist in the demo project, for the operation's parameters."""
    values = {
        "project": PROJECT,
        "participant_id": "p-1",
        "kpi": "O1",
        "stream": "project",
        "kind": IMPORT_KINDS[0],
    }
    if "{snapshot_id}" in operation.path or "{first}" in operation.path:
        published = await service.post(
            f"/api/v1/projects/{PROJECT}/snapshots", json={"kind": "adhoc"}, headers=admin
        )
        assert published.status_code == 201, published.text
        snapshot: str = published.json()["snapshot_id"]
        values |= {"snapshot_id": snapshot, "first": snapshot, "second": snapshot}
    return {name: value for name, value in values.items() if f"{{{name}}}" in operation.path}


def _request(case: Any, head: int, headers: dict[str, str]) -> httpx.Request:
    """The case as an httpx request with `headers`; a read-your-writes wait kept within the head."""
    sent = case.as_transport_kwargs(base_url="http://impactlog.test", headers=headers)
    params = dict(sent.get("params") or {})
    minimum = str(params.get("min_position", ""))
    if minimum.isdecimal() and int(minimum) > head:
        params["min_position"] = head  # a position beyond the head is waited for 5 s, by design
    body: dict[str, Any] = {}
    if "json" in sent:
        body["json"] = sent["json"]
    elif isinstance(sent.get("data"), bytes | str):
        body["content"] = sent["data"]
    elif sent.get("data") is not None or sent.get("files") is not None:
        body["data"], body["files"] = sent.get("data"), sent.get("files")
    return httpx.Request(
        sent["method"],
        sent["url"],
        params=params,
        headers={**sent.get("headers", {}), **headers},
        cookies=sent.get("cookies"),
        **body,
    )


def wrong_with(response: httpx.Response, path: str) -> str | None:
    """What is wrong with an answer: a 5xx, or a 4xx under /api that is not problem+json."""
    if response.status_code >= 500:
        return f"{response.status_code} {response.text[:300]}"
    problem = response.headers.get("content-type", "").startswith(PROBLEM_JSON)
    if path.startswith("/api/") and 400 <= response.status_code < 500 and not problem:
        return f"{response.status_code} is not problem+json: {response.text[:300]}"
    return None


@pytest.mark.parametrize("label", sorted(OPERATIONS))
async def test_no_request_causes_a_server_error_or_a_bare_client_error(label: str, db: Database) -> None:
    operation = OPERATIONS[label]
    wrong: list[str] = []
    skipped = 0
    async with running_service(db) as service:
        admin, head = await record_demo_project(service, db)
        cases = cases_of(operation, await known_path_values(service, admin, operation))
        # Admins pass every guard, so their cases reach every handler; funders read indicators
        # with small cells suppressed, another path through those routes.
        callers = [admin, await bearer(db, "funder", PROJECT)] if "/indicators" in label else [admin]
        for case in cases:
            for caller in callers:
                try:
                    request = _request(case, head, caller)
                except (UnicodeEncodeError, ValueError, TypeError):
                    skipped += 1  # a header or form no HTTP client can send; no server sees it
                    continue
                try:
                    response = await asyncio.wait_for(service.send(request), ANSWER_WITHIN)
                except Exception as error:  # a hang, or a streamed answer that broke after its 200
                    wrong.append(f"{request.method} {request.url} -> {error!r}")
                    continue
                found = wrong_with(response, request.url.path)
                if found:
                    wrong.append(f"{request.method} {request.url} -> {found}\n    {case.as_curl_command()}")
    assert not wrong, f"{len(wrong)} of {len(cases)} cases of {label} answered wrongly:\n" + "\n".join(wrong)
    assert skipped < len(cases) / 4, f"{skipped} of {len(cases)} cases could not be sent"


def test_every_route_but_the_pages_and_the_document_itself_is_fuzzed() -> None:
    # A route left out of the document would escape the fuzzer; only the dashboard's pages (HTML
    # for browsers, tested in test_dashboard*.py) and /schema itself may be.
    outside = [re.compile(pattern) for pattern in [*PAGE_PATHS, r"^/schema(/|$)"]]
    served = {
        f"{method} {route.path_format}"
        for route in APP.routes
        for method in getattr(route, "methods", ())
        if method not in {"HEAD", "OPTIONS"} and not any(p.match(route.path_format) for p in outside)
    }
    assert served == set(OPERATIONS)
    assert {"GET /api/v1/projects/{project}/audit/log", "POST /api/v1/projects/{project}/snapshots"} <= served
