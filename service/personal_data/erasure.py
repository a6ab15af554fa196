"""Erasure (GDPR Art. 17) by crypto-shredding, safe to repeat at every step.

1. ``erasure_requested_on`` is set on the key row (kept on retries): from here every view treats
   the person as erased, and a retry rebuilds the very same ParticipantErased;
2. ``ParticipantErased`` is appended with the idempotency key ``erase-<participant_id>`` (a retry
   gets the original position back);
3. the key is overwritten with NULL (``destroyed_at`` set); a trigger refuses to restore it.

The event goes first so that no key is ever destroyed without the log saying who asked and when.
A crash between 2 and 3 leaves a person already hidden everywhere and recorded as erased; the
same erasure again, or ``finish_erasures`` (run by the CLI and the endpoint), destroys the key.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import msgspec

from events.envelope import AppendedEvent
from service.commands import EventCommand
from service.personal_data.participants import ParticipantHistory, participant_history
from service.personal_data.vault import ParticipantConflict, ParticipantKey, PersonalDataVault
from service.recording import Recorder


class ErasureReceipt(msgspec.Struct, frozen=True, kw_only=True):
    """An erasure carried out: the event that records it and when the key was destroyed."""

    participant_id: str
    key_id: str
    request_date: dt.date
    event: AppendedEvent
    key_destroyed_at: dt.datetime


async def erase_participant(
    recorder: Recorder,
    project_id: str,
    participant_id: str,
    actor: dict[str, Any],
    request_date: dt.date | None = None,
) -> ErasureReceipt:
    """Make the person's personal data unrecoverable and record ParticipantErased (see the
    module docstring for the order); repeating it returns the same receipt."""
    vault = PersonalDataVault(recorder.store.pool)
    history = await participant_history(recorder.store.pool, project_id, participant_id)
    key = await vault.key_of(project_id, participant_id)
    if key is None:
        raise ParticipantConflict(
            f"participant {participant_id!r} was registered without personal fields: nothing to erase"
        )
    key = await vault.request_erasure(project_id, participant_id, request_date or dt.date.today())
    assert key.erasure_requested_on is not None
    event = await _record_erasure(recorder, project_id, history, key, actor)
    key = await vault.destroy_key(project_id, participant_id)
    assert key.destroyed_at is not None and key.erasure_requested_on is not None
    return ErasureReceipt(
        participant_id=participant_id,
        key_id=key.key_id,
        request_date=key.erasure_requested_on,
        event=event,
        key_destroyed_at=key.destroyed_at,
    )


async def _record_erasure(
    recorder: Recorder,
    project_id: str,
    history: ParticipantHistory,
    key: ParticipantKey,
    actor: dict[str, Any],
) -> AppendedEvent:
    """Append ParticipantErased, built only from what the vault row keeps, so a retry is
    byte-identical and the idempotency key returns the original position."""
    assert key.erasure_requested_on is not None
    model = await recorder.admission.catch_up(recorder.store.pool, project_id)
    occurred_on = key.erasure_requested_on
    # Erasure outlives the grant, but the write model holds every event to the project window
    # (after the end only until the final period is approved): until the catalog exempts
    # ParticipantErased, it is dated within the window; request_date keeps the true date.
    if model.project is not None:
        occurred_on = min(max(occurred_on, model.project.start_date), model.project.end_date)
    command = EventCommand(
        type="ParticipantErased",
        occurred_on=occurred_on,
        stream=f"participant-{history.participant_id}",
        data={
            "participant_id": history.participant_id,
            "key_id": key.key_id,
            "request_date": key.erasure_requested_on.isoformat(),
        },
    )
    (appended,) = await recorder.record(
        project_id,
        [command],
        actor=actor,
        idempotency_key=f"erase-{history.participant_id}",
        indexed=False,
    )
    return appended


async def finish_erasures(recorder: Recorder, project_id: str, actor: dict[str, Any]) -> list[ErasureReceipt]:
    """Complete erasures interrupted after their request was noted (crash, lost connection)."""
    vault = PersonalDataVault(recorder.store.pool)
    return [
        await erase_participant(recorder, project_id, key.participant_id, actor)
        for key in await vault.unfinished_erasures(project_id)
    ]
