"""What staff send: one event on the wire, before validation turns it into a log entry."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec

# PostgreSQL text cannot hold a NUL character, so no string that is stored may carry one.
NO_NUL = "^[^\\x00]*$"

Sha256Hex = Annotated[str, msgspec.Meta(pattern="^[0-9a-f]{64}$", description="sha256, lowercase hex")]
ShortText = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=NO_NUL)]


class Evidence(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A document that backs an event (attendance list, Commitment to Quality, MoU…)."""

    uri: Annotated[str, msgspec.Meta(min_length=1, max_length=2000, pattern=NO_NUL)]
    sha256: Sha256Hex


class EventCommand(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One event as staff send it: `data` holds the catalog's fields for `type`.

    `stream` defaults from the catalog (e.g. `activity-<session_id>`); `expected_version` is the
    stream's version before this event (0: the stream must be new); `event_id` makes a retry
    idempotent even without an Idempotency-Key.
    """

    type: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    occurred_on: dt.date
    data: dict[str, Any]
    partner_org_id: ShortText | None = None
    event_id: uuid.UUID | None = None
    stream: ShortText | None = None
    expected_version: Annotated[int, msgspec.Meta(ge=0)] | None = None
    evidence: Annotated[list[Evidence], msgspec.Meta(max_length=50)] = []
    work_package: ShortText | None = None
    correlation_id: ShortText | None = None
