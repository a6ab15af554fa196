"""The log as NDJSON: one recorded event per line, with its hashes (what auditors download and
`events.integrity.verify_export` checks).

Each line holds the stored payload and metadata bytes as they are, so a verifier can hash them
without re-encoding. A payload may hold U+2028 or U+2029 inside a string (valid JSON, written
as-is like every non-ASCII character): split an export on newlines (b"\\n") only, as NDJSON
says, not with ``str.splitlines``, which also breaks at those two.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

from events.envelope import RecordedEvent

_ENCODER = msgspec.json.Encoder()


def ndjson_lines(events: Iterable[RecordedEvent]) -> bytes:
    """The events encoded one per line, each ending with a newline."""
    buffer = bytearray()
    for event in events:
        _ENCODER.encode_into(event, buffer, len(buffer))
        buffer.extend(b"\n")
    return bytes(buffer)
