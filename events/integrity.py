"""Verifying a project's hash chain, from the database or from an NDJSON export."""

from __future__ import annotations

from collections.abc import AsyncIterable, Iterable

import msgspec

from events.canonical import GENESIS_HASH, canonical_event_bytes, chain_hash
from events.connection import Executor
from events.envelope import RecordedEvent
from events.read import iterate_log, read_head


class ChainReport(msgspec.Struct, frozen=True, kw_only=True):
    """The outcome of a chain verification; `first_bad_position` names where it breaks."""

    project_id: str
    ok: bool
    events_checked: int
    head_position: int
    head_hash: str
    first_bad_position: int | None = None
    problem: str | None = None


class ChainVerifier:
    """Folds events in position order and remembers the first break."""

    def __init__(self, project_id: str) -> None:
        self.project_id = project_id
        self.position = 0
        self.hash = GENESIS_HASH
        self.checked = 0
        self.bad_position: int | None = None
        self.problem: str | None = None

    def feed(self, event: RecordedEvent) -> bool:
        """Check one event; False (and the reason kept) on the first break."""
        if self.bad_position is not None:
            return False
        expected_position = self.position + 1
        if event.project_id != self.project_id:
            return self._fail(event.position, f"event belongs to project {event.project_id!r}")
        if event.position != expected_position:
            return self._fail(expected_position, f"position {expected_position} is missing")
        if event.prev_hash != self.hash.hex():
            return self._fail(event.position, "prev_hash does not match the previous event's hash")
        computed = chain_hash(
            self.hash,
            canonical_event_bytes(
                project_id=event.project_id,
                position=event.position,
                event_id=event.event_id,
                stream_id=event.stream_id,
                stream_version=event.stream_version,
                event_type=event.type,
                schema_version=event.schema_version,
                occurred_on=event.occurred_on,
                recorded_at=event.recorded_at,
                data=bytes(event.data),
                metadata=bytes(event.metadata),
            ),
        )
        if computed.hex() != event.hash:
            return self._fail(event.position, "hash does not match the event's content")
        self.position = event.position
        self.hash = computed
        self.checked += 1
        return True

    def _fail(self, position: int, problem: str) -> bool:
        self.bad_position = position
        self.problem = problem
        return False

    def report(self, head_position: int | None = None, head_hash: str | None = None) -> ChainReport:
        """The verdict; when a stored head is given it must equal the recomputed one."""
        bad, problem = self.bad_position, self.problem
        if bad is None and head_position is not None and head_position != self.position:
            bad, problem = (
                self.position + 1,
                f"the log head says {head_position} events, found {self.position}",
            )
        elif bad is None and head_hash is not None and head_hash != self.hash.hex():
            bad, problem = self.position, "the log head's hash differs from the last event's"
        return ChainReport(
            project_id=self.project_id,
            ok=bad is None,
            events_checked=self.checked,
            head_position=self.position,
            head_hash=self.hash.hex(),
            first_bad_position=bad,
            problem=problem,
        )


async def verify_chain(connection: Executor, project_id: str) -> ChainReport:
    """Recompute a project's whole chain from the database and compare it with the head."""
    verifier = ChainVerifier(project_id)
    head = await read_head(connection, project_id)
    batches: AsyncIterable[list[RecordedEvent]] = iterate_log(connection, project_id)
    async for batch in batches:
        for event in batch:
            if not verifier.feed(event):
                return verifier.report()
    if head is None:
        return verifier.report()
    return verifier.report(head.position, head.hash)


def verify_export(lines: Iterable[bytes], project_id: str | None = None) -> ChainReport:
    """Verify an NDJSON export (one RecordedEvent per line) without a database."""
    decoder = msgspec.json.Decoder(RecordedEvent)
    verifier: ChainVerifier | None = None
    for line in lines:
        if not line.strip():
            continue
        event = decoder.decode(line)
        if verifier is None:
            verifier = ChainVerifier(project_id or event.project_id)
        if not verifier.feed(event):
            break
    if verifier is None:
        return ChainReport(
            project_id=project_id or "",
            ok=True,
            events_checked=0,
            head_position=0,
            head_hash=GENESIS_HASH.hex(),
        )
    return verifier.report()


__all__ = ["ChainReport", "ChainVerifier", "verify_chain", "verify_export"]
