"""The base class of every event payload, its catalog metadata, and what a payload refers to.

Each payload class declares, as class variables, what the rest of the system needs to know
about its event type without a database:

- ``schema_version``: the current version of the payload's shape (older ones are upcast).
- ``stream_prefix`` / ``stream_key``: the default stream, ``<prefix>-<value of stream_key>``,
  or just ``<prefix>`` when there is no key (see ``stream_id``).
- ``self_date_field``: the payload date that the envelope's ``occurred_on`` must equal
  (DOMAIN.md (f)); for a list of dates, its first element.
- ``may_predate_project``: whether ``occurred_on`` may fall before the project start.
- ``outside_reporting``: the event records no project result but a duty that outlives the
  project (consent, erasure, a published snapshot): it is accepted after the project end and
  in approved, locked periods alike. A GDPR request cannot wait for a period to be reopened.
- ``reference_paths``: ``(kind, path)`` pairs naming the ids the payload refers to; a path is
  dotted field names, ``[]`` after a name walks every element of a list.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from decimal import Decimal
from typing import ClassVar, Literal

import msgspec

from events.catalog.vocabulary import LIFE_OF_PROJECT, DecimalRange

RefKind = Literal["org", "participant", "exchange", "activity", "indicator", "event", "period"]


class PayloadStruct(msgspec.Struct, forbid_unknown_fields=True, frozen=True, kw_only=True):
    """A strict, immutable JSON object; its Decimal fields are checked against their bounds."""

    def __post_init__(self) -> None:
        # msgspec cannot constrain Decimals, so the bounds declared with decimal_meta are checked
        # here; a ValueError raised here surfaces as a ValidationError at this object's path, and
        # the leading `name` lets errors.py extend that path to the field.
        for name, bounds in _decimal_fields(type(self)):
            value = getattr(self, name)
            if value is None:
                continue
            if not isinstance(value, Decimal):
                raise TypeError(f"`{name}`: expected a decimal, got {type(value).__name__}")
            problem = _range_problem(value, bounds)
            if problem is not None:
                raise ValueError(f"`{name}`: {problem}")


def _range_problem(value: Decimal, bounds: DecimalRange) -> str | None:
    if not value.is_finite():
        return "must be a finite number"
    if bounds.ge is not None and value < bounds.ge:
        return f"must be ≥ {bounds.ge}, got {value}"
    if bounds.gt is not None and value <= bounds.gt:
        return f"must be > {bounds.gt}, got {value}"
    if bounds.le is not None and value > bounds.le:
        return f"must be ≤ {bounds.le}, got {value}"
    return None


_DECIMAL_FIELDS: dict[type, tuple[tuple[str, DecimalRange], ...]] = {}


def _decimal_fields(cls: type[PayloadStruct]) -> tuple[tuple[str, DecimalRange], ...]:
    """The Decimal fields of a payload class with their bounds, read once from its type hints."""
    cached = _DECIMAL_FIELDS.get(cls)
    if cached is not None:
        return cached
    found: list[tuple[str, DecimalRange]] = []
    info = msgspec.inspect.type_info(cls)
    assert isinstance(info, msgspec.inspect.StructType)
    for field in info.fields:
        for member in _union_members(field.type):
            if isinstance(member, msgspec.inspect.Metadata) and isinstance(
                member.type, msgspec.inspect.DecimalType
            ):
                bounds = (member.extra or {}).get("decimal_range", DecimalRange())
                found.append((field.name, bounds))
            elif isinstance(member, msgspec.inspect.DecimalType):
                found.append((field.name, DecimalRange()))
    _DECIMAL_FIELDS[cls] = result = tuple(found)
    return result


def _union_members(t: msgspec.inspect.Type) -> tuple[msgspec.inspect.Type, ...]:
    return t.types if isinstance(t, msgspec.inspect.UnionType) else (t,)


class Reference(msgspec.Struct, frozen=True, kw_only=True):
    """An id a payload names, so a validator can check that the thing exists."""

    kind: RefKind
    id: str
    # JSON path of the field inside `data`, e.g. "attendees[3].participant_id".
    path: str


class EventPayload(PayloadStruct, frozen=True, kw_only=True):
    """The `data` of one event type; subclasses set the class variables described above."""

    schema_version: ClassVar[int] = 1
    stream_prefix: ClassVar[str]
    stream_key: ClassVar[str | None] = None
    self_date_field: ClassVar[str | None] = None
    may_predate_project: ClassVar[bool] = False
    outside_reporting: ClassVar[bool] = False
    reference_paths: ClassVar[tuple[tuple[RefKind, str], ...]] = ()


def event_type_of(payload: EventPayload) -> str:
    """The catalog name of a payload's event type (the class name, e.g. "TrainingDelivered")."""
    return type(payload).__name__


def stream_id(payload: EventPayload) -> str:
    """The stream an event goes to when the writer names none, e.g. "activity-S-2025-01"."""
    key = payload.stream_key
    if key is None:
        return payload.stream_prefix
    return f"{payload.stream_prefix}-{getattr(payload, key)}"


def self_date(payload: EventPayload) -> tuple[str, dt.date] | None:
    """The (path, date) that occurred_on must equal for self-dated types, else None."""
    name = payload.self_date_field
    if name is None:
        return None
    value = getattr(payload, name)
    if isinstance(value, list):
        # TrainingDelivered.dates: a session is dated by its first day. An empty list is a
        # decoding error already, so there is always a first element here.
        return f"{name}[0]", value[0]
    assert isinstance(value, dt.date)
    return name, value


def references(payload: EventPayload) -> list[Reference]:
    """Every id the payload names (orgs, participants, activities, events…) with its field path."""
    found: list[Reference] = []
    for kind, spec in payload.reference_paths:
        for path, value in _values_at(payload, spec.split("."), ""):
            # A life-of-project figure names no reporting period.
            if value is None or (kind == "period" and value == LIFE_OF_PROJECT):
                continue
            ident = str(value) if isinstance(value, uuid.UUID) else value
            assert isinstance(ident, str)
            found.append(Reference(kind=kind, id=ident, path=path))
    return found


def _values_at(node: object, segments: list[str], path: str) -> Iterator[tuple[str, object]]:
    if not segments:
        yield path, node
        return
    head, rest = segments[0], segments[1:]
    name = head.removesuffix("[]")
    child = getattr(node, name)
    child_path = f"{path}.{name}" if path else name
    if child is None:
        return
    if head.endswith("[]"):
        for index, item in enumerate(child):
            yield from _values_at(item, rest, f"{child_path}[{index}]")
    else:
        yield from _values_at(child, rest, child_path)
