"""A snapshot: what a funder receives at a reporting milestone, as a pure value.

    header = SnapshotHeader(snapshot_id=..., project_id=..., kind="interim", period=..., as_of_position=P,
                            log_head_hash=h, catalog_version=CATALOG_VERSION, code_version=CODE_VERSION)
    document = build_document(entries, header)   # the funder view of every KPI as of P
    body = document_bytes(document)              # canonical bytes: sorted keys, no whitespace
    digest = content_hash(body)                  # sha256, hex

The document is the funder view (cells with n < 5 suppressed) of
``evaluate_all(entries, as_of=P, period="reporting_period")`` plus the header. Its bytes are the
log's canonical encoding (events.canonical.encode_canonical, which indicators.canonical_json
uses too), so the same log prefix and the same code always give the same bytes: that is what an
auditor's replay compares. When it was published is not in the document: the log records it (the
SnapshotPublished event's recorded_at).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from importlib import metadata
from typing import Literal, get_args

import msgspec

from events.canonical import encode_canonical
from events.collector import collector_paused
from events.entries import LogEntry
from indicators.evaluate import evaluate_all
from indicators.results import Period, ProjectIndicators
from indicators.suppression import suppress_for_funders

SnapshotKind = Literal["interim", "final", "periodic", "adhoc"]
SNAPSHOT_KINDS: tuple[str, ...] = get_args(SnapshotKind)
# Kinds tied to a period: one snapshot per (project, kind, period), published by the scheduler.
SCHEDULED_KINDS: tuple[str, ...] = ("interim", "final", "periodic")


def _code_version() -> str:
    try:
        return f"impactlog {metadata.version('impactlog')}"
    except metadata.PackageNotFoundError:  # pragma: no cover - run from a bare checkout
        return "impactlog (not installed)"


CODE_VERSION = _code_version()


class SnapshotError(ValueError):
    """A snapshot cannot be built or published as asked; the message says why."""


class SnapshotHeader(msgspec.Struct, frozen=True, kw_only=True):
    """What a snapshot is pinned to: fixed when it is published, taken as is when it is reproduced."""

    snapshot_id: str
    project_id: str
    kind: SnapshotKind
    # The reporting period ("RP1") or calendar period ("2025-Q1") it reports on; None: ad hoc.
    period: Period | None
    as_of_position: int
    # The log's hash at as_of_position (hex): the whole prefix the figures come from.
    log_head_hash: str
    catalog_version: str
    code_version: str


class SnapshotDocument(SnapshotHeader, frozen=True, kw_only=True):
    """The published document: the header and the funder view of every KPI as of its position."""

    indicators: ProjectIndicators


class SnapshotManifest(msgspec.Struct, frozen=True, kw_only=True):
    """What the signature covers: the header's pins and the document's content hash."""

    snapshot_id: str
    project_id: str
    kind: str
    period_id: str | None
    as_of_position: int
    log_head_hash: str
    content_hash: str
    catalog_version: str
    code_version: str


def snapshot_id_for(project_id: str, kind: str, key: str) -> str:
    """The id of a project's snapshot of `kind` for a period id (or, ad hoc, a position).

    Project ids hold no dots, so the project is everything before the first one.
    """
    return f"{project_id}.{kind}.{key}"


def project_of(snapshot_id: str) -> str:
    """The project a snapshot id belongs to ("demo.interim.RP1" → "demo")."""
    return snapshot_id.split(".", 1)[0]


def build_document(entries: Iterable[LogEntry], header: SnapshotHeader) -> SnapshotDocument:
    """Evaluate every KPI as of the header's position and attach the funder view to the header."""
    with collector_paused():  # the funder view copies every cell: no collection over the log meanwhile
        result = evaluate_all(entries, as_of=header.as_of_position, period="reporting_period")
        if result.as_of_position != header.as_of_position:
            raise SnapshotError(
                f"the log read ends at position {result.as_of_position}, "
                f"before the snapshot's position {header.as_of_position}"
            )
        fields = {name: getattr(header, name) for name in SnapshotHeader.__struct_fields__}
        return SnapshotDocument(**fields, indicators=suppress_for_funders(result))


def header_of(document: SnapshotDocument) -> SnapshotHeader:
    """The header of a document (to rebuild it from a fresh evaluation)."""
    return SnapshotHeader(**{name: getattr(document, name) for name in SnapshotHeader.__struct_fields__})


def document_bytes(document: SnapshotDocument) -> bytes:
    """The canonical bytes of a document: what is stored, hashed, signed and compared."""
    return encode_canonical(document)


def content_hash(body: bytes) -> str:
    """sha256 of a document's canonical bytes, lowercase hex."""
    return hashlib.sha256(body).hexdigest()


def decode_document(body: bytes) -> SnapshotDocument:
    """A stored document read back (its bytes are what was hashed; this is for reading figures)."""
    return msgspec.json.decode(body, type=SnapshotDocument)


def manifest_of(document: SnapshotDocument | SnapshotHeader, digest: str) -> SnapshotManifest:
    """The manifest a snapshot's signature covers."""
    return SnapshotManifest(
        snapshot_id=document.snapshot_id,
        project_id=document.project_id,
        kind=document.kind,
        period_id=document.period.period_id if document.period is not None else None,
        as_of_position=document.as_of_position,
        log_head_hash=document.log_head_hash,
        content_hash=digest,
        catalog_version=document.catalog_version,
        code_version=document.code_version,
    )


def manifest_bytes(manifest: SnapshotManifest) -> bytes:
    """The canonical bytes a signature is made over."""
    return encode_canonical(manifest)
