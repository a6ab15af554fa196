"""The vault: one AES-256-GCM key per participant in `participant_keys`, and the cipher.

Ciphertext format: base64(nonce(12) || AES-GCM(key, nonce, msgspec JSON of PersonalFields, aad))
with aad = ``"<project_id>|<participant_id>|<key_id>"`` (project ids and key ids contain no "|",
so the triple is unambiguous): a ciphertext copied to another person or project does not open.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import os
import uuid
from collections.abc import Sequence
from typing import Annotated, Any

import msgspec
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from events.catalog import EncryptedPii
from events.catalog.vocabulary import ShortText
from events.connection import Executor

Email = Annotated[
    str,
    msgspec.Meta(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", description="an e-mail address"),
]


class PersonalFields(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """What the log may only hold encrypted: the person's name, e-mail and job title."""

    name: ShortText
    email: Email | None = None
    job_title: ShortText | None = None


class ParticipantKey(msgspec.Struct, frozen=True, kw_only=True):
    """One person's row in the vault; `key` is None once destroyed."""

    project_id: str
    participant_id: str
    key_id: str
    key: bytes | None
    created_at: dt.datetime
    erasure_requested_on: dt.date | None
    destroyed_at: dt.datetime | None

    @property
    def erased(self) -> bool:
        """An erasure has started (the person is hidden from then on) or is done."""
        return self.erasure_requested_on is not None


class KeyState(msgspec.Struct, frozen=True, kw_only=True):
    """A key's life, as a subject-access export shows it (never the key itself)."""

    key_id: str
    created_at: dt.datetime
    erasure_requested_on: dt.date | None
    destroyed_at: dt.datetime | None


class PersonalDataError(Exception):
    """A request about a person that cannot be carried out; `status` is its HTTP status.

    Messages name pseudonymous ids only, never a personal field.
    """

    status = 409

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ParticipantNotFound(PersonalDataError):
    """No such participant registered in the project."""

    status = 404


class ParticipantConflict(PersonalDataError):
    """The participant exists with other data, or was erased."""

    status = 409


# --- the cipher ---------------------------------------------------------------------------------


def associated_data(project_id: str, participant_id: str, key_id: str) -> bytes:
    """What binds a ciphertext to one person of one project under one key."""
    return f"{project_id}|{participant_id}|{key_id}".encode()


def seal(key: bytes, aad: bytes, fields: PersonalFields) -> str:
    """Encrypt the personal fields: base64(nonce || ciphertext-with-tag)."""
    nonce = os.urandom(12)
    return base64.b64encode(nonce + AESGCM(key).encrypt(nonce, msgspec.json.encode(fields), aad)).decode()


def unseal(key: bytes, aad: bytes, ciphertext: str) -> PersonalFields | None:
    """The personal fields, or None when this key and aad did not seal this ciphertext."""
    try:
        raw = base64.b64decode(ciphertext, validate=True)
        if len(raw) < 12 + 16:
            return None
        plain = AESGCM(key).decrypt(raw[:12], raw[12:], aad)
        return msgspec.json.decode(plain, type=PersonalFields)
    except (binascii.Error, InvalidTag, msgspec.DecodeError):
        return None


# --- the vault table ----------------------------------------------------------------------------

_KEY_COLUMNS = "project_id, participant_id, key_id, key, created_at, erasure_requested_on, destroyed_at"
ISSUE_KEY = """
INSERT INTO participant_keys (project_id, participant_id, key_id, key) VALUES ($1, $2, $3, $4)
ON CONFLICT (project_id, participant_id) DO NOTHING
"""
KEYS_OF = f"SELECT {_KEY_COLUMNS} FROM participant_keys WHERE project_id = $1 AND participant_id = ANY($2)"
REQUEST_ERASURE = f"""
UPDATE participant_keys SET erasure_requested_on = coalesce(erasure_requested_on, $3)
 WHERE project_id = $1 AND participant_id = $2
RETURNING {_KEY_COLUMNS}
"""
DESTROY_KEY = """
UPDATE participant_keys SET key = NULL, destroyed_at = now()
 WHERE project_id = $1 AND participant_id = $2 AND erasure_requested_on IS NOT NULL AND destroyed_at IS NULL
"""
UNFINISHED_ERASURES = f"""
SELECT {_KEY_COLUMNS} FROM participant_keys
 WHERE project_id = $1 AND erasure_requested_on IS NOT NULL AND destroyed_at IS NULL
"""


def _key(row: Any) -> ParticipantKey:
    return ParticipantKey(
        project_id=row["project_id"],
        participant_id=row["participant_id"],
        key_id=row["key_id"],
        key=bytes(row["key"]) if row["key"] is not None else None,
        created_at=row["created_at"],
        erasure_requested_on=row["erasure_requested_on"],
        destroyed_at=row["destroyed_at"],
    )


class PersonalDataVault:
    """The `participant_keys` table: issue, use and destroy per-person keys. Stateless."""

    def __init__(self, db: Executor) -> None:
        self.db = db

    async def keys_of(self, project_id: str, participant_ids: Sequence[str]) -> dict[str, ParticipantKey]:
        """The vault rows of these participants (absent: no personal data was ever held)."""
        rows = await self.db.fetch(KEYS_OF, project_id, list(participant_ids))
        return {row["participant_id"]: _key(row) for row in rows}

    async def key_of(self, project_id: str, participant_id: str) -> ParticipantKey | None:
        """One participant's vault row, or None."""
        return (await self.keys_of(project_id, [participant_id])).get(participant_id)

    async def issue_key(self, project_id: str, participant_id: str) -> ParticipantKey:
        """The participant's key, made now (AES-256, from the OS's CSPRNG) if there is none."""
        await self.db.execute(
            ISSUE_KEY, project_id, participant_id, str(uuid.uuid4()), AESGCM.generate_key(bit_length=256)
        )
        key = await self.key_of(project_id, participant_id)
        assert key is not None
        return key

    @staticmethod
    def seal(key: ParticipantKey, fields: PersonalFields) -> EncryptedPii:
        """The `pii` of a ParticipantRegistered for these fields under this person's key."""
        if key.key is None:
            raise ParticipantConflict(f"participant {key.participant_id!r} was erased")
        aad = associated_data(key.project_id, key.participant_id, key.key_id)
        return EncryptedPii(ciphertext=seal(key.key, aad, fields), key_id=key.key_id)

    @staticmethod
    def unseal(key: ParticipantKey, pii: EncryptedPii) -> PersonalFields | None:
        """The personal fields in `pii`, None if the key is destroyed or did not seal it."""
        if key.key is None or pii.key_id != key.key_id:
            return None
        return unseal(
            key.key, associated_data(key.project_id, key.participant_id, key.key_id), pii.ciphertext
        )

    async def request_erasure(self, project_id: str, participant_id: str, on: dt.date) -> ParticipantKey:
        """Mark the erasure as started (the first request date is kept on retries)."""
        row = await self.db.fetchrow(REQUEST_ERASURE, project_id, participant_id, on)
        if row is None:
            raise ParticipantNotFound(f"no personal data is held for participant {participant_id!r}")
        return _key(row)

    async def destroy_key(self, project_id: str, participant_id: str) -> ParticipantKey:
        """Overwrite the key with NULL (once an erasure was requested); the row as it is after."""
        await self.db.execute(DESTROY_KEY, project_id, participant_id)
        key = await self.key_of(project_id, participant_id)
        assert key is not None and key.destroyed_at is not None
        return key

    async def unfinished_erasures(self, project_id: str) -> list[ParticipantKey]:
        """Erasures that recorded their request but not (yet) the destruction of the key."""
        return [_key(row) for row in await self.db.fetch(UNFINISHED_ERASURES, project_id)]
