"""How a correction applies to its target (DOMAIN.md (f), "Shape of field_changes").

``field_changes`` maps top-level payload fields of the target to their complete new value (a
list is replaced whole); the key ``occurred_on`` moves the target to another date, and so to
another period. A self-dated event (DOMAIN.md (f): occurred_on equals its actual_end, paid_on,
…) moves with its own date: correcting that date moves occurred_on along, and moving occurred_on
sets a single own date to it (a training's dates must be corrected with it). What a correction
may not name is checked in checks.py.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import msgspec

from events.catalog.checks import OCCURRED_ON, check_payload, parse_date
from events.catalog.errors import PayloadError
from events.catalog.governance import CorrectionRecorded
from events.catalog.payload import EventPayload, event_type_of, self_date
from events.catalog.registry import decode_payload


def apply_correction(
    target: EventPayload, occurred_on: dt.date, correction: CorrectionRecorded
) -> tuple[EventPayload, dt.date]:
    """The target's payload and occurred_on after the correction, validated like a new event.

    Raises PayloadError with a path under "data.field_changes" when the result is not valid.
    """
    problems = check_payload("CorrectionRecorded", correction, None)
    if problems:
        raise problems[0]
    event_type = event_type_of(target)
    data: dict[str, Any] = msgspec.to_builtins(target)
    changes = dict(correction.field_changes)
    moved_to = parse_date(changes.pop(OCCURRED_ON, None))
    new_date = moved_to or occurred_on
    for name in changes:
        if name not in data:
            raise PayloadError(f"data.field_changes.{name}", f"{event_type} has no field {name!r}")
    own = target.self_date_field
    if own is not None and moved_to is not None and own not in changes and not isinstance(data[own], list):
        # A self-dated event moved by its occurred_on: its own date (actual_end, paid_on, …) is
        # that day, as occurred_on must equal it (a training's dates are too many to guess).
        changes[own] = moved_to.isoformat()
    try:
        corrected = decode_payload(event_type, {**data, **changes})
    except PayloadError as error:
        raise _under_field_changes(error, changes) from error
    dated = self_date(corrected)
    if dated is not None and moved_to is None and own in changes:
        # Its own date corrected, the event moves with it: occurred_on follows (DOMAIN.md (f)).
        new_date = dated[1]
    problems = check_payload(event_type, corrected, new_date)
    if problems:
        raise _under_field_changes(problems[0], changes)
    return corrected, new_date


def _under_field_changes(error: PayloadError, changes: dict[str, Any]) -> PayloadError:
    """Re-aim an error about the corrected payload at the correction that caused it."""
    if error.field_path == OCCURRED_ON:
        return PayloadError(f"data.field_changes.{OCCURRED_ON}", error.message)
    inner = error.field_path.removeprefix("data.")
    field = re.split(r"[.\[]", inner, maxsplit=1)[0]
    if field in changes:
        return PayloadError(f"data.field_changes.{inner}", error.message)
    # The changed field is fine on its own but breaks a rule with a field left as it was.
    return PayloadError("data.field_changes", f"after the correction, {error.field_path}: {error.message}")
