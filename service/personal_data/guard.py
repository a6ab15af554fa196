"""The general event path may not claim what only the vault may say.

A ParticipantRegistered whose `pii` the vault did not seal for that participant, a
ParticipantErased the vault did not start, a correction of personal fields the vault did not
seal, or any correction or retraction of an erasure is refused (422 naming the field), so clear
or forged personal data cannot reach the log by POST …/events, and the log never claims an
erasure whose key still exists.
"""

from __future__ import annotations

import dataclasses
import uuid
from collections.abc import Sequence
from typing import Any, Literal

import msgspec

from events.catalog import EncryptedPii, ParticipantErased, ParticipantRegistered
from events.envelope import AppendedEvent
from events.write_model import WriteModel
from service.commands import EventCommand
from service.personal_data.vault import ParticipantKey, PersonalDataVault
from service.recording import CommandRejected, Recorder

_PERSONAL_EVENT_TYPES = ("ParticipantRegistered", "ConsentRecorded", "ConsentWithdrawn", "ParticipantErased")

_ENROL_HINT = "personal fields enter the log only through POST /api/v1/projects/{project}/participants"
_ERASE_HINT = (
    "participants are erased with POST /api/v1/projects/{project}/participants/{id}/erasure or "
    "`impactlog participant erase`, which destroys their key"
)


@dataclasses.dataclass(frozen=True)
class _Claim:
    """One command's statement about personal data, to be checked against the vault."""

    index: int
    kind: Literal["pii", "erasure", "refused"]
    path: str
    participant_id: str | None = None
    pii: EncryptedPii | None = None
    erasure: ParticipantErased | None = None
    message: str = ""

    def problems(self, key: ParticipantKey | None, vault: PersonalDataVault) -> list[tuple[int, str, str]]:
        """Why the vault contradicts this claim (empty when it made it)."""
        if self.kind == "refused":
            return [(self.index, self.path, self.message)]
        if self.kind == "pii":
            assert self.pii is not None
            if key is None or vault.unseal(key, self.pii) is None:
                return [(self.index, self.path, f"this pii was not sealed by the vault; {_ENROL_HINT}")]
            return []
        assert self.erasure is not None
        started = key is not None and key.erased
        if not started or key is None or key.key_id != self.erasure.key_id:
            return [(self.index, "type", f"no such erasure was started; {_ERASE_HINT}")]
        if key.erasure_requested_on != self.erasure.request_date:
            return [(self.index, "data.request_date", "differs from the erasure request the vault holds")]
        return []


def _claim(index: int, command: EventCommand, model: WriteModel) -> _Claim | None:
    """What, if anything, a command says about personal data (malformed data is left to the
    Recorder, which reports it with the catalog's messages)."""
    if command.type in _PERSONAL_EVENT_TYPES and command.stream is not None:
        participant = command.data.get("participant_id")
        if command.stream != f"participant-{participant}":
            return _Claim(
                index, "refused", "stream", message="participant events stay in their participant-<id> stream"
            )
    if command.type == "ParticipantRegistered" and command.data.get("pii") is not None:
        try:
            registered = msgspec.convert(command.data, ParticipantRegistered)
        except msgspec.ValidationError:
            return None
        assert registered.pii is not None
        return _Claim(index, "pii", "data.pii", registered.participant_id, pii=registered.pii)
    if command.type == "ParticipantErased":
        try:
            erased = msgspec.convert(command.data, ParticipantErased)
        except msgspec.ValidationError:
            return None
        return _Claim(index, "erasure", "type", erased.participant_id, erasure=erased)
    if command.type in ("CorrectionRecorded", "ActivityRetracted"):
        return _governance_claim(index, command, model)
    return None


def _governance_claim(index: int, command: EventCommand, model: WriteModel) -> _Claim | None:
    try:
        target_id = uuid.UUID(str(command.data.get("target_event_id")))
    except ValueError:
        return None
    target = model.events.get(target_id)
    if target is None:
        return None
    if target.event_type == "ParticipantErased":
        return _Claim(
            index, "refused", "data.target_event_id", message="an erasure cannot be corrected or retracted"
        )
    changes = command.data.get("field_changes")
    if command.type == "CorrectionRecorded" and isinstance(changes, dict) and "pii" in changes:
        if not isinstance(target.payload, ParticipantRegistered):
            return None  # the catalog refuses a field the target does not have
        try:
            pii = msgspec.convert(changes["pii"], EncryptedPii)
        except msgspec.ValidationError:
            return _Claim(index, "refused", "data.field_changes.pii", message=f"not vault pii; {_ENROL_HINT}")
        return _Claim(index, "pii", "data.field_changes.pii", target.payload.participant_id, pii=pii)
    return None


async def foreign_claims(
    vault: PersonalDataVault, project_id: str, commands: Sequence[EventCommand], model: WriteModel
) -> list[tuple[int, str, str]]:
    """Events on the general path that claim what only the vault may say: a `pii` it did not
    seal for that participant, an erasure it did not start, a change to personal data or to
    an erasure. Problems are (command index, field path, message)."""
    claims = [_claim(index, command, model) for index, command in enumerate(commands)]
    wanted = sorted({c.participant_id for c in claims if c is not None and c.participant_id})
    keys = await vault.keys_of(project_id, wanted) if wanted else {}
    problems: list[tuple[int, str, str]] = []
    for claim in claims:
        if claim is not None:
            problems += claim.problems(keys.get(claim.participant_id or ""), vault)
    return problems


class VaultCheckedRecorder(Recorder):
    """A Recorder that admits personal-data claims only as the vault made them (see `foreign_claims`),
    and snapshot announcements only from the publisher (which appends through the store).

    Everything else is the Recorder's: the same validation, paths and all-or-nothing append.
    """

    async def record(
        self,
        project_id: str,
        commands: Sequence[EventCommand],
        *,
        actor: dict[str, Any],
        idempotency_key: str | None = None,
        indexed: bool = True,
    ) -> list[AppendedEvent]:
        """Refuse forged personal-data events (422 naming the field), then record as usual."""
        model = await self.admission.catch_up(self.store.pool, project_id)
        problems = await foreign_claims(PersonalDataVault(self.store.pool), project_id, commands, model)
        # Only the snapshot publisher announces a snapshot (it stores and signs the document
        # first): a SnapshotPublished sent as an event would show funders a report nobody made.
        problems += [
            (index, "type", "SnapshotPublished is recorded by the publisher: POST …/snapshots")
            for index, command in enumerate(commands)
            if command.type == "SnapshotPublished"
        ]
        problems.sort(key=lambda problem: problem[0])
        if problems:
            raise CommandRejected([(f"[{i}].{path}" if indexed else path, m) for i, path, m in problems])
        return await super().record(
            project_id, commands, actor=actor, idempotency_key=idempotency_key, indexed=indexed
        )
