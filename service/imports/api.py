"""Spreadsheet imports over HTTP: upload a file, list what was imported, fetch a blank template.

POST …/imports takes the file as the raw body (Content-Type text/csv or the XLSX type, name in
`?filename=`) or as multipart/form-data field `file`. A refused file is answered 422 (409 when it
would only change recorded events) as problem+json with the row-by-row report in `rows`, or,
with `Accept: <the file's media type>`, as the annotated copy of the file itself.
"""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Any

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State, UploadFile
from litestar.params import FromPath, QueryParameter

from service.auth import Role, actor_metadata, allow, principal_of, read_log, write_events
from service.imports.annotate import annotated_copy
from service.imports.columns import IMPORT_KINDS, LAYOUTS, ImportKind
from service.imports.importer import ImportLedger, ImportOutcome, ImportRecord, import_file, import_id_of
from service.imports.planning import ImportRefused
from service.imports.sheets import MAX_FILE_BYTES, XLSX_MEDIA_TYPE, ImportFileError, RowProblem
from service.imports.templates import template_workbook
from service.problems import PROBLEM_JSON, FieldProblem, problem_response
from service.projects_api import ProjectInPath, project_head
from service.recording import Recorder

KindParameter = Annotated[
    ImportKind | None,
    QueryParameter(description="training-attendance | sme-survey (default: told by the header row)"),
]
FileNameParameter = Annotated[
    str | None,
    QueryParameter(
        max_length=255,
        pattern=r"^[^\x00-\x1f\x7f]*$",
        description="The file's name (raw uploads), kept in the ledger",
    ),
]


class ImportProblem(msgspec.Struct, frozen=True, kw_only=True):
    """problem+json for a refused file, with every bad cell in `rows`."""

    type: str
    title: str
    status: int
    detail: str
    import_id: str
    errors: list[FieldProblem]
    rows: list[RowProblem]


def _refused(refused: ImportRefused, content: bytes, import_id: str, accept: str) -> Response[bytes]:
    status = 409 if refused.conflict else 422
    copy = annotated_copy(content, refused.sheet, refused.problems)
    if copy is not None and copy.media_type in accept:
        return Response(
            copy.content,
            status_code=status,
            media_type=copy.media_type,
            headers={"Content-Disposition": f'attachment; filename="import-{import_id[:12]}{copy.suffix}"'},
        )
    first = refused.problems[0]
    detail = (
        f"{len(refused.problems)} problem(s), nothing was imported; first: row {first.row}"
        f"{', column ' + first.column if first.column else ''}: {first.reason}"
    )
    body = ImportProblem(
        type="https://impactlog.dev/problems/" + ("import-conflict" if refused.conflict else "import-rows"),
        title="Conflict" if refused.conflict else "Unprocessable content",
        status=status,
        detail=detail,
        import_id=import_id,
        errors=[
            FieldProblem(field=f"row {p.row}" + (f", {p.column}" if p.column else ""), message=p.reason)
            for p in refused.problems
        ],
        rows=refused.problems,
    )
    return Response(msgspec.json.encode(body), status_code=status, media_type=PROBLEM_JSON)


async def _upload(request: Request[Any, Any, Any], filename: str | None) -> tuple[bytes, str | None]:
    """The uploaded file's bytes and name, from a raw body or a multipart form's `file` field."""
    if (request.headers.get("content-type") or "").startswith("multipart/form-data"):
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            raise ImportFileError(400, "send the file in the multipart field `file`")
        name = filename or upload.filename
        # The ledger keeps the name: no control characters (a NUL cannot reach SQL), 255 at most.
        return await upload.read(), re.sub(r"[\x00-\x1f\x7f]", "", name)[:255] if name else None
    return await request.body(), filename


class ImportsController(Controller):
    """/api/v1/projects/{project}/imports."""

    path = "/api/v1/projects/{project:str}/imports"
    tags = ("imports",)

    @post(
        "/",
        guards=[write_events],
        status_code=201,
        request_max_body_size=MAX_FILE_BYTES,
        summary="Import a training attendance list or an SME survey wave (CSV or XLSX), all or nothing",
    )
    async def upload(
        self,
        request: Request[Any, Any, Any],
        state: State,
        project: ProjectInPath,
        kind: KindParameter = None,
        filename: FileNameParameter = None,
    ) -> Response[Any]:
        """201 imported; 200 when the same file was imported before or every row is already in the
        log; 422 with the row report (409 if rows would change recorded events); 413 over 20 MB."""
        await project_head(state, project)
        recorder: Recorder = state.recorder
        actor: dict[str, Any] = actor_metadata(principal_of(request))
        actor["request_id"] = request.headers.get("x-request-id") or str(uuid.uuid4())
        try:
            content, name = await _upload(request, filename)
            outcome: ImportOutcome = await import_file(
                recorder, project, content, actor=actor, file_name=name, kind=kind
            )
        except ImportFileError as error:
            return problem_response(error.status, error.message, kind="import-file")
        except ImportRefused as refused:
            return _refused(refused, content, import_id_of(content), request.headers.get("accept") or "")
        return Response(outcome, status_code=201 if outcome.status == "imported" else 200)

    @get("/", guards=[read_log], summary="Every import of the project: file, rows, events, who, when")
    async def list_imports(self, state: State, project: ProjectInPath) -> list[ImportRecord]:
        """The ledger, oldest first; positions lead to the events in the log (404: no project)."""
        await project_head(state, project)
        return await ImportLedger(state.pool).list(project)


@get(
    "/api/v1/import-templates/{kind:str}",
    guards=[allow(Role.STAFF)],
    tags=["imports"],
    media_type=XLSX_MEDIA_TYPE,
    summary="A blank XLSX template: headers, validation lists for enumerations, instructions",
)
async def import_template(kind: FromPath[str]) -> Response[bytes]:
    """training-attendance or sme-survey; 404 for another kind."""
    layout = LAYOUTS.get(kind)  # type: ignore[call-overload]  # any text may be asked for
    if layout is None:
        return problem_response(404, f"no template {kind!r}; choose one of {', '.join(IMPORT_KINDS)}")
    return Response(
        template_workbook(layout.kind),
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="{kind}.xlsx"'},
    )
