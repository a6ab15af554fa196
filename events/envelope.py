"""What goes into the log and what comes out of it."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec


class NewEvent(msgspec.Struct, frozen=True, kw_only=True):
    """An event to append. `data` is any JSON-able value (a payload Struct or a dict)."""

    stream_id: str
    type: str
    data: Any
    schema_version: int = 1
    occurred_on: dt.date | None = None
    metadata: dict[str, Any] = msgspec.field(default_factory=dict)
    # Client-supplied ids make retries idempotent even without an idempotency key.
    event_id: uuid.UUID | None = None
    # Stream version before this event; None = any, 0 = the stream must not exist yet.
    expected_version: int | None = None


class AppendedEvent(msgspec.Struct, frozen=True, kw_only=True):
    """Where one appended event landed."""

    event_id: uuid.UUID
    position: int
    stream: str
    stream_version: int


class RecordedEvent(msgspec.Struct, frozen=True, kw_only=True):
    """One row of a project's log, as read back (data and metadata stay raw canonical JSON)."""

    project_id: str
    position: int
    event_id: uuid.UUID
    stream_id: str
    stream_version: int
    type: str
    schema_version: int
    occurred_on: dt.date | None
    recorded_at: dt.datetime
    data: msgspec.Raw
    metadata: msgspec.Raw
    prev_hash: str
    hash: str
    tx_id: int

    def decoded_data(self) -> Any:
        """The payload as plain JSON values."""
        return msgspec.json.decode(self.data)

    def decoded_metadata(self) -> dict[str, Any]:
        """The metadata as a dict."""
        value: dict[str, Any] = msgspec.json.decode(self.metadata)
        return value


class LogHead(msgspec.Struct, frozen=True, kw_only=True):
    """The last position and hash of a project's log."""

    project_id: str
    position: int
    hash: str
    last_recorded_at: dt.datetime | None
