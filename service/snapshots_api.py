"""Snapshots over HTTP: list, read (JSON, CSV, printable HTML), reproduce by replay, diff, publish.

GET  /api/v1/projects/{project}/snapshots                       published snapshots, oldest first
POST /api/v1/projects/{project}/snapshots                       publish (staff, admin): {kind, period_id?}
GET  /api/v1/projects/{project}/snapshots/{id}                  the document, byte for byte as hashed
GET  /api/v1/projects/{project}/snapshots/{id}.csv | {id}.html  the same as CSV or a printable report
GET  /api/v1/projects/{project}/snapshots/{id}/verify           replay the log and recompute it
GET  /api/v1/projects/{project}/snapshots/{a}/diff/{b}          changed figures and the events behind them
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

import msgspec
from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State
from litestar.exceptions import HTTPException, NotFoundException
from litestar.params import JSONBody, PathParameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_422_UNPROCESSABLE_ENTITY

from events.errors import ProjectNotFound
from events.read import read_head
from indicators.report import snapshot_csv, snapshot_html
from indicators.snapshot import SnapshotError, decode_document
from indicators.snapshot_audit import (
    Reproduction,
    SnapshotDiff,
    SnapshotNotFound,
    diff_snapshots,
    published_snapshot,
    reproduce_snapshot,
)
from indicators.snapshot_publisher import SnapshotPublisher
from indicators.snapshot_store import SnapshotRecord, StoredSnapshot, list_snapshots
from service.auth import actor_metadata, principal_of, publish_snapshots, read_snapshots
from service.problems import RequestRefused
from service.projects_api import ProjectInPath

CSV_MEDIA = "text/csv"
HTML_MEDIA = "text/html"
# The report inlines its charts as SVG and its style; it needs nothing else from anywhere.
REPORT_POLICY = "default-src 'none'; style-src 'unsafe-inline'; img-src data:"


# Snapshot ids as the publisher makes them ("demo.interim.RP1", "….csv"); a NUL or an
# oversized name is a 400 naming the parameter, not a database error.
SnapshotInPath = Annotated[str, PathParameter(pattern=r"^[^\x00/]{1,300}$", description="A snapshot id")]


class PublishSnapshot(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What to publish: an interim or final snapshot of a reporting period (final defaults to the
    final period), a periodic one of a calendar period ("2025-Q1", "2025-03"), or an ad-hoc one as
    of the newest event."""

    kind: Literal["interim", "final", "periodic", "adhoc"]
    period_id: Annotated[str, msgspec.Meta(min_length=1, max_length=200)] | None = None


# A final snapshot defaults to the final reporting period; these have no default.
PERIOD_REQUIRED = ("interim", "periodic")


def _refused(field: str, message: str) -> RequestRefused:
    """A publish request the project's reporting periods refuse (422), naming the field."""
    return RequestRefused(HTTP_422_UNPROCESSABLE_ENTITY, "snapshot-refused", [(field, message)])


class SnapshotSummary(msgspec.Struct, frozen=True, kw_only=True):
    """A published snapshot: what pins it, where its event is, where to read it."""

    snapshot_id: str
    project_id: str
    kind: str
    period_id: str | None
    as_of_position: int
    log_head_hash: str
    content_hash: str
    signature: str
    event_position: int | None
    published_at: str | None
    links: dict[str, str]


def summary(record: SnapshotRecord) -> SnapshotSummary:
    """The summary of a stored snapshot, with links to its renderings and checks."""
    base = f"/api/v1/projects/{record.project_id}/snapshots/{record.snapshot_id}"
    return SnapshotSummary(
        snapshot_id=record.snapshot_id,
        project_id=record.project_id,
        kind=record.kind,
        period_id=record.period_id,
        as_of_position=record.as_of_position,
        log_head_hash=record.head_hash,
        content_hash=record.content_hash,
        signature=record.signature,
        event_position=record.event_position,
        published_at=record.published_at.isoformat() if record.published_at else None,
        links={"json": base, "csv": f"{base}.csv", "html": f"{base}.html", "verify": f"{base}/verify"},
    )


async def _stored(state: State, project: str, name: str) -> tuple[StoredSnapshot, str]:
    """The published snapshot a path names, and the rendering asked for by its suffix."""
    try:
        return await published_snapshot(state.pool, project, name), "json"
    except SnapshotNotFound:
        for suffix in ("csv", "html"):
            if name.endswith(f".{suffix}"):
                return await _published(state, project, name.removesuffix(f".{suffix}")), suffix
        raise NotFoundException(detail=f"no published snapshot {name!r} in project {project!r}") from None


async def _published(state: State, project: str, snapshot_id: str) -> StoredSnapshot:
    try:
        return await published_snapshot(state.pool, project, snapshot_id)
    except SnapshotNotFound as missing:
        raise NotFoundException(detail=str(missing)) from missing


def _rendered(stored: StoredSnapshot, rendering: str) -> Response[Any]:
    """The document as stored (JSON), or rendered as CSV or HTML (worker thread: charts)."""
    record = stored.record
    headers = {"ETag": f'"{record.content_hash}"', "Impactlog-Signature": record.signature}
    if rendering == "json":
        return Response(stored.document, media_type="application/json", headers=headers)
    document = decode_document(stored.document)
    if rendering == "csv":
        headers["Content-Disposition"] = f'attachment; filename="{record.snapshot_id}.csv"'
        return Response(snapshot_csv(document), media_type=CSV_MEDIA, headers=headers)
    headers["Content-Security-Policy"] = REPORT_POLICY
    return Response(snapshot_html(document, record), media_type=HTML_MEDIA, headers=headers)


class SnapshotsController(Controller):
    """/api/v1/projects/{project}/snapshots…"""

    path = "/api/v1/projects/{project:str}/snapshots"
    tags = ("snapshots",)

    @get("/", guards=[read_snapshots], summary="Published snapshots, oldest first")
    async def list_published(self, state: State, project: ProjectInPath) -> list[SnapshotSummary]:
        """Every snapshot whose SnapshotPublished event is in the log."""
        if await read_head(state.pool, project) is None:
            raise ProjectNotFound(project)
        return [summary(record) for record in await list_snapshots(state.pool, project)]

    @post("/", guards=[publish_snapshots], summary="Publish a snapshot (201; 200 when it existed)")
    async def publish(
        self,
        request: Request[Any, Any, Any],
        state: State,
        project: ProjectInPath,
        data: JSONBody[PublishSnapshot],
    ) -> Response[SnapshotSummary]:
        """Publish (or find) the snapshot; interim/final/periodic only once their period has ended."""
        publisher: SnapshotPublisher = state.snapshot_publisher
        if data.period_id is None and data.kind in PERIOD_REQUIRED:
            raise _refused("period_id", f"period_id is required for {data.kind} snapshots")
        try:
            published = await publisher.publish(
                project, data.kind, data.period_id, actor=actor_metadata(principal_of(request))
            )
        except SnapshotError as refused:
            # Only a milestone's period can be refused; an ad-hoc snapshot has nothing else to name.
            raise _refused("kind" if data.kind == "adhoc" else "period_id", str(refused)) from refused
        status = HTTP_201_CREATED if published.created else HTTP_200_OK
        return Response(summary(published.record), status_code=status)

    @get(
        "/{snapshot_id:str}",
        guards=[read_snapshots],
        summary="A snapshot: JSON as hashed, or {id}.csv / {id}.html (printable report with charts)",
    )
    async def read_one(
        self, state: State, project: ProjectInPath, snapshot_id: SnapshotInPath
    ) -> Response[Any]:
        """The document byte for byte (ETag = content hash), or its CSV or HTML rendering."""
        stored, rendering = await _stored(state, project, snapshot_id)
        return await asyncio.to_thread(_rendered, stored, rendering)

    @get(
        "/{snapshot_id:str}/verify",
        guards=[read_snapshots],
        summary="Replay the log to the snapshot's position and recompute it byte for byte",
    )
    async def verify(self, state: State, project: ProjectInPath, snapshot_id: SnapshotInPath) -> Reproduction:
        """'reproduced', or every figure that differs, or where the log or the row was tampered."""
        try:
            return await reproduce_snapshot(state.pool, project, snapshot_id)
        except SnapshotNotFound as missing:
            raise NotFoundException(detail=str(missing)) from missing
        except SnapshotError as unreadable:
            raise HTTPException(
                status_code=HTTP_422_UNPROCESSABLE_ENTITY, detail=str(unreadable)
            ) from unreadable

    @get(
        "/{first:str}/diff/{second:str}",
        guards=[read_snapshots],
        summary="Every figure that changed between two snapshots, and the events that changed it",
    )
    async def diff(
        self, state: State, project: ProjectInPath, first: SnapshotInPath, second: SnapshotInPath
    ) -> SnapshotDiff:
        """Earlier → later whatever the order named; corrections, retractions and late entries listed."""
        try:
            return await diff_snapshots(state.pool, project, first, second)
        except SnapshotNotFound as missing:
            raise NotFoundException(detail=str(missing)) from missing
