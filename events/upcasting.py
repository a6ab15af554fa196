"""Schema evolution: upcasters turn a stored payload of an old version into the next version.

The log is immutable, so an event keeps the ``schema_version`` it was written with forever;
readers upcast on the way out. An upcaster works on plain JSON dicts (old versions have no
class any more) and must be deterministic: replaying the same log must give the same payloads.

To change a payload's shape: bump the class's ``schema_version`` in events/catalog and add one
upcaster here from the previous version.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

import msgspec

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]

# What a venue country is set to when a version-1 outreach event listed no countries:
# "ZZ", the user-assigned ISO 3166 code that CLDR uses for "unknown region".
UNKNOWN_COUNTRY = "ZZ"


def outreach_id_v1(data: Payload) -> str:
    """A stable outreach_id for a version-1 OutreachEventHeld payload.

    "outreach-" + the first 12 hex digits of sha256 over the payload's canonical JSON
    (msgspec, keys sorted, compact). Two v1 events with identical payloads get the same id:
    nothing in a v1 payload tells them apart (their envelope event_ids still do).
    """
    canonical = msgspec.json.encode(data, order="sorted")
    return "outreach-" + hashlib.sha256(canonical).hexdigest()[:12]


def _outreach_event_held_v1_to_v2(data: Payload) -> Payload:
    # v2 added outreach_id and the venue country (DOMAIN.md (e)). v1 only listed the countries
    # an event reached; its first entry is the best evidence of the venue a v1 payload holds.
    # With no countries at all the venue is recorded as unknown rather than guessed.
    countries = data.get("countries") or []
    first = countries[0] if isinstance(countries, list) and countries else UNKNOWN_COUNTRY
    return {**data, "outreach_id": outreach_id_v1(data), "country": first}


UPCASTERS: dict[tuple[str, int], Upcaster] = {
    ("OutreachEventHeld", 1): _outreach_event_held_v1_to_v2,
}


def upcast(event_type: str, schema_version: int, data: Payload) -> tuple[int, Payload]:
    """Apply upcasters from `schema_version` on, as far as they go; returns (version, data).

    The caller compares the version reached with the catalog's current one: a version with no
    way forward stays where it is.
    """
    version = schema_version
    while (step := UPCASTERS.get((event_type, version))) is not None:
        data = step(data)
        version += 1
    return version, data
