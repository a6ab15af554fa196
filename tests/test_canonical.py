"""The canonical encoding and the hash chain, by hand (no database)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid

from hypothesis import given
from hypothesis import strategies as st

from events.canonical import GENESIS_HASH, canonical_event_bytes, chain_hash, encode_canonical


def test_keys_are_sorted_and_the_output_is_compact() -> None:
    assert encode_canonical({"b": 1, "a": {"z": True, "c": None}}) == b'{"a":{"c":null,"z":true},"b":1}'


def test_non_ascii_is_written_as_utf8_not_escaped() -> None:
    assert encode_canonical({"name": "Łódź"}) == '{"name":"Łódź"}'.encode()


def test_an_event_hash_can_be_recomputed_with_the_standard_library_alone() -> None:
    event_id = uuid.UUID("7b1e4c1e-7a3c-4a44-9d7c-0e8f6f1f3b11")
    recorded = dt.datetime(2025, 2, 19, 8, 30, 0, tzinfo=dt.UTC)
    canonical = canonical_event_bytes(
        project_id="demo",
        position=1,
        event_id=event_id,
        stream_id="project",
        stream_version=1,
        event_type="ProjectRegistered",
        schema_version=1,
        occurred_on=dt.date(2025, 1, 1),
        recorded_at=recorded,
        data=encode_canonical({"grant_no": "101", "call_id": "SMP-COSME-2024"}),
        metadata=encode_canonical({"actor": "admin"}),
    )
    # What docs/architecture.md tells an auditor to do, in plain Python.
    by_hand = json.dumps(
        {
            "project_id": "demo",
            "position": 1,
            "event_id": str(event_id),
            "stream_id": "project",
            "stream_version": 1,
            "type": "ProjectRegistered",
            "schema_version": 1,
            "occurred_on": "2025-01-01",
            "recorded_at": "2025-02-19T08:30:00.000000Z",
            "data": {"grant_no": "101", "call_id": "SMP-COSME-2024"},
            "metadata": {"actor": "admin"},
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    assert canonical == by_hand
    assert chain_hash(GENESIS_HASH, canonical) == hashlib.sha256(bytes(32) + by_hand).digest()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**53), 2**53) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_canonical_bytes_equal_pythons_sorted_compact_json(value: object) -> None:
    expected = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()
    assert encode_canonical(value) == expected


def test_changing_any_earlier_event_changes_every_later_hash() -> None:
    first = chain_hash(GENESIS_HASH, b'{"n":1}')
    forged = chain_hash(GENESIS_HASH, b'{"n":2}')
    assert chain_hash(first, b'{"n":3}') != chain_hash(forged, b'{"n":3}')
