"""An auditor's checks of published snapshots: reproduce one from the raw log, diff two.

**Reproduce** is a true replay, not a read of any read model or cache: log rows 1..P are read
fresh from the events table, every row's hash is recomputed on the way (the chain must reach the
snapshot's head hash exactly at P), each row is decoded by the catalog, every KPI is evaluated
again by the pure engine and the document is rebuilt and re-encoded. It is reproduced when the
bytes equal the stored ones; otherwise each figure that differs is listed. The engine is a pure
function of the decoded rows, so no scratch schema is needed: nothing is written anywhere.

It also checks the stored row itself: its document against its content hash, its signature
against the manifest, and the SnapshotPublished event in the log against the row (the event's
metadata carries the content hash, hashed into the chain).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Literal

import msgspec

from events.connection import Executor
from events.entries import LogEntry, log_entry
from events.envelope import RecordedEvent
from events.integrity import ChainReport, ChainVerifier
from events.read import iterate_log, read_log
from indicators.kpi_catalog import CATALOG_VERSION
from indicators.snapshot import (
    SnapshotDocument,
    SnapshotError,
    build_document,
    content_hash,
    decode_document,
    document_bytes,
    header_of,
    manifest_of,
)
from indicators.snapshot_compare import FigureDifference, document_differences, figure_differences
from indicators.snapshot_diff import ChangedFigure, explain_changes
from indicators.snapshot_signing import signature_is_valid, signature_key
from indicators.snapshot_store import SnapshotRecord, StoredSnapshot, events_by_id, fetch_snapshot

Verdict = Literal["reproduced", "differs", "snapshot_tampered", "log_tampered"]


class SnapshotNotFound(LookupError):
    """No published snapshot with this id in this project."""

    def __init__(self, project_id: str, snapshot_id: str) -> None:
        super().__init__(f"no published snapshot {snapshot_id!r} in project {project_id!r}")
        self.snapshot_id = snapshot_id


class Reproduction(msgspec.Struct, frozen=True, kw_only=True):
    """The verdict of replaying the log up to a snapshot's position and recomputing it."""

    snapshot_id: str
    project_id: str
    verdict: Verdict
    reproduced: bool
    as_of_position: int
    log_head_hash: str
    content_hash: str
    recomputed_content_hash: str | None
    signature_valid: bool
    signing_key: str | None
    # The hash chain recomputed over positions 1..as_of_position.
    chain: ChainReport
    problems: tuple[str, ...]
    differences: tuple[FigureDifference, ...]
    catalog_version: str
    current_catalog_version: str
    seconds: float


class SnapshotRef(msgspec.Struct, frozen=True, kw_only=True):
    """One side of a diff."""

    snapshot_id: str
    kind: str
    period_id: str | None
    as_of_position: int
    content_hash: str


class SnapshotDiff(msgspec.Struct, frozen=True, kw_only=True):
    """Every figure that changed from the earlier snapshot to the later, and why."""

    project_id: str
    earlier: SnapshotRef
    later: SnapshotRef
    events_between: int
    figures: tuple[ChangedFigure, ...]


async def published_snapshot(db: Executor, project_id: str, snapshot_id: str) -> StoredSnapshot:
    """A published snapshot with its document; SnapshotNotFound for none (or a pending one)."""
    stored = await fetch_snapshot(db, project_id, snapshot_id)
    if stored is None or not stored.record.published:
        raise SnapshotNotFound(project_id, snapshot_id)
    return stored


async def reproduce_snapshot(db: Executor, project_id: str, snapshot_id: str) -> Reproduction:
    """Replay the raw log to the snapshot's position, recompute it and compare byte for byte."""
    started = time.perf_counter()
    stored = await published_snapshot(db, project_id, snapshot_id)
    record = stored.record
    try:
        document = decode_document(stored.document)
    except msgspec.DecodeError as error:
        raise SnapshotError(
            f"snapshot {snapshot_id!r}: the stored document is unreadable ({error})"
        ) from error
    problems = _row_problems(stored, document) + await _event_problems(db, record)
    signature_valid = signature_is_valid(record.signature, manifest_of(document, record.content_hash))
    if not signature_valid:
        problems.append("the signature does not match the snapshot's manifest")
    chain, entries = await replay(db, project_id, document.as_of_position, document.log_head_hash)
    rebuilt_hash: str | None = None
    differences: list[FigureDifference] = []
    if chain.ok:
        rebuilt = await asyncio.to_thread(build_document, entries, header_of(document))
        body = document_bytes(rebuilt)
        rebuilt_hash = content_hash(body)
        if body != stored.document:
            differences = document_differences(document, rebuilt)
    verdict = _verdict(chain.ok, problems, rebuilt_hash == content_hash(stored.document))
    return Reproduction(
        snapshot_id=snapshot_id,
        project_id=project_id,
        verdict=verdict,
        reproduced=verdict == "reproduced",
        as_of_position=document.as_of_position,
        log_head_hash=document.log_head_hash,
        content_hash=record.content_hash,
        recomputed_content_hash=rebuilt_hash,
        signature_valid=signature_valid,
        signing_key=signature_key(record.signature),
        chain=chain,
        problems=tuple(problems),
        differences=tuple(differences),
        catalog_version=document.catalog_version,
        current_catalog_version=CATALOG_VERSION,
        seconds=round(time.perf_counter() - started, 3),
    )


async def replay(
    db: Executor, project_id: str, up_to: int, head_hash: str
) -> tuple[ChainReport, list[LogEntry]]:
    """Read positions 1..up_to fresh, recomputing the chain (it must end at `head_hash`) and
    decoding each row; stops at the first break, which the report names."""
    verifier = ChainVerifier(project_id)
    entries: list[LogEntry] = []
    async for batch in iterate_log(db, project_id, up_to=up_to):
        # Hashing and decoding are CPU work: off the event loop, one batch at a time.
        if not await asyncio.to_thread(_fold_batch, verifier, entries, batch):
            break
    return verifier.report(up_to, head_hash), entries


def _fold_batch(verifier: ChainVerifier, entries: list[LogEntry], batch: list[RecordedEvent]) -> bool:
    for event in batch:
        # The hash first: a tampered row may not even decode, and must be named as tampered.
        if not verifier.feed(event):
            return False
        entries.append(log_entry(event))
    return True


def _row_problems(stored: StoredSnapshot, document: SnapshotDocument) -> list[str]:
    record = stored.record
    problems = []
    if content_hash(stored.document) != record.content_hash:
        problems.append("the stored document does not match its content hash")
    if (document.as_of_position, document.log_head_hash) != (record.as_of_position, record.head_hash):
        problems.append("the stored document's position or head hash differs from its row's")
    return problems


async def _event_problems(db: Executor, record: SnapshotRecord) -> list[str]:
    """The log's SnapshotPublished must say what the row says."""
    assert record.event_position is not None
    (event,) = await read_log(db, record.project_id, after=record.event_position - 1, limit=1)
    data = event.decoded_data()
    logged = (
        data.get("snapshot_id"),
        data.get("as_of_seq"),
        data.get("log_head_hash"),
        data.get("signature"),
        event.decoded_metadata().get("content_hash"),
    )
    stored = (
        record.snapshot_id,
        record.as_of_position,
        record.head_hash,
        record.signature,
        record.content_hash,
    )
    if logged != stored:
        return [
            f"the SnapshotPublished event at position {event.position} does not match the stored snapshot"
        ]
    return []


def _verdict(chain_ok: bool, problems: list[str], same_bytes: bool) -> Verdict:
    if not chain_ok:
        return "log_tampered"
    if problems:
        return "snapshot_tampered"
    return "reproduced" if same_bytes else "differs"


async def diff_snapshots(db: Executor, project_id: str, first_id: str, second_id: str) -> SnapshotDiff:
    """Every figure that changed between two snapshots (earlier → later, whichever order they
    are named in) and the events recorded between them that changed it."""
    first = await published_snapshot(db, project_id, first_id)
    second = await published_snapshot(db, project_id, second_id)
    earlier, later = sorted((first, second), key=lambda s: (s.record.as_of_position, s.record.snapshot_id))
    old, new = decode_document(earlier.document), decode_document(later.document)
    events: list[RecordedEvent] = []
    async for batch in iterate_log(db, project_id, after=old.as_of_position, up_to=new.as_of_position):
        events.extend(batch)
    targets = await events_by_id(db, project_id, _targets_named(events))
    differences = figure_differences(old, new)
    figures = await asyncio.to_thread(explain_changes, old, new, differences, events, targets)
    return SnapshotDiff(
        project_id=project_id,
        earlier=_ref(earlier.record),
        later=_ref(later.record),
        events_between=len(events),
        figures=figures,
    )


def _targets_named(events: list[RecordedEvent]) -> list[uuid.UUID]:
    found = []
    for event in events:
        if event.type in ("CorrectionRecorded", "ActivityRetracted"):
            found.append(uuid.UUID(str(event.decoded_data()["target_event_id"])))
    return found


def _ref(record: SnapshotRecord) -> SnapshotRef:
    return SnapshotRef(
        snapshot_id=record.snapshot_id,
        kind=record.kind,
        period_id=record.period_id,
        as_of_position=record.as_of_position,
        content_hash=record.content_hash,
    )
