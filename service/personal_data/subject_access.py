"""Subject access (GDPR Art. 15): everything held on one person, for an admin to hand over.

The personal fields (whatever the person's consents say, since this is their own copy), their
attributes, consents, the state of their key, and every event that names their pseudonymous id,
with other people's ids replaced so one person's export reveals nobody else.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, Final, Literal

import msgspec

from events.catalog.vocabulary import Gender, Role
from events.connection import Executor
from service.personal_data.participants import Consent, participant_history
from service.personal_data.vault import KeyState, PersonalDataVault, PersonalFields

# What an exported event shows instead of another person's pseudonymous id.
ANOTHER_PARTICIPANT: Final = "(another participant)"


class NamedEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An event of the log that names the person; other people's ids are replaced."""

    position: int
    event_id: uuid.UUID
    type: str
    stream_id: str
    occurred_on: dt.date | None
    recorded_at: dt.datetime
    partner_org_id: str | None
    data: Any


class SubjectAccessExport(msgspec.Struct, frozen=True, kw_only=True):
    """Everything held on one person: personal fields (even when contact consent was withdrawn),
    attributes, consents, the state of their key and every event that names their id."""

    project_id: str
    participant_id: str
    exported_at: dt.datetime
    personal_data: Literal["held", "erased", "none"]
    personal: PersonalFields | None
    org_id: str
    role: Role
    gender: Gender
    consents: list[Consent]
    key: KeyState | None
    events: list[NamedEvent]


NAMING_EVENTS = """
SELECT position, event_id, stream_id, type, occurred_on, recorded_at, data::text AS data,
       metadata::text AS metadata
  FROM events
 WHERE project_id = $1 AND (stream_id = $2 OR strpos(data::text, $3) > 0)
 ORDER BY position
"""
# Payload fields that hold a person's pseudonymous id (anywhere in a payload, corrections' too).
_PERSON_FIELDS = frozenset({"participant_id", "respondent_id"})
_PERSON_LISTS = frozenset({"trainers"})


async def subject_access(db: Executor, project_id: str, participant_id: str) -> SubjectAccessExport:
    """Everything held on one person (admin only; shown whatever their consents say)."""
    history = await participant_history(db, project_id, participant_id)
    registration = history.registration
    assert registration is not None
    key = await PersonalDataVault(db).key_of(project_id, participant_id)
    personal = None
    if key is not None and registration.pii is not None:
        personal = PersonalDataVault.unseal(key, registration.pii)
    status: Literal["held", "erased", "none"] = (
        "erased" if key is not None and key.erased else ("held" if personal is not None else "none")
    )
    if status == "erased":
        personal = None  # hidden from the moment the erasure started
    # The stored text is canonical JSON (non-ASCII as-is), so the quoted id is found verbatim.
    quoted = msgspec.json.encode(participant_id).decode()
    rows = await db.fetch(NAMING_EVENTS, project_id, f"participant-{participant_id}", quoted)
    events = []
    for row in rows:
        data, named = _redact_others(msgspec.json.decode(row["data"].encode()), participant_id)
        if named or row["stream_id"] == f"participant-{participant_id}":
            metadata = msgspec.json.decode(row["metadata"].encode())
            partner = metadata.get("partner_org_id") if isinstance(metadata, dict) else None
            events.append(
                NamedEvent(
                    position=row["position"],
                    event_id=row["event_id"],
                    type=row["type"],
                    stream_id=row["stream_id"],
                    occurred_on=row["occurred_on"],
                    recorded_at=row["recorded_at"],
                    partner_org_id=partner if isinstance(partner, str) else None,
                    data=data,
                )
            )
    return SubjectAccessExport(
        project_id=project_id,
        participant_id=participant_id,
        exported_at=dt.datetime.now(dt.UTC),
        personal_data=status,
        personal=personal,
        org_id=registration.org_id,
        role=registration.role,
        gender=registration.gender,
        consents=sorted(history.consents.values(), key=lambda c: c.purpose),
        key=KeyState(
            key_id=key.key_id,
            created_at=key.created_at,
            erasure_requested_on=key.erasure_requested_on,
            destroyed_at=key.destroyed_at,
        )
        if key is not None
        else None,
        events=events,
    )


def _redact_others(node: Any, subject: str) -> tuple[Any, bool]:
    """The JSON value with other people's ids replaced, and whether it names the subject."""
    if isinstance(node, dict):
        named = False
        result: dict[str, Any] = {}
        for name, value in node.items():
            if name in _PERSON_FIELDS and isinstance(value, str):
                named |= value == subject
                result[name] = value if value == subject else ANOTHER_PARTICIPANT
            elif name in _PERSON_LISTS and isinstance(value, list):
                named |= subject in value
                result[name] = [v if v == subject else ANOTHER_PARTICIPANT for v in value]
            else:
                result[name], inner = _redact_others(value, subject)
                named |= inner
        return result, named
    if isinstance(node, list):
        items = [_redact_others(item, subject) for item in node]
        return [item for item, _ in items], any(named for _, named in items)
    return node, False
