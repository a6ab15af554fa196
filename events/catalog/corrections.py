"""How a correction applies to its target (DOMAIN.md (f), "Shape of field_changes").

``field_changes`` maps top-level payload fields of the target to their complete new value (a
list is replaced whole); the key ``occurred_on`` moves the target to another date, and so to
another period. What a correction may not name is checked in checks.py.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import msgspec

from events.catalog.checks import OCCURRED_ON, check_payload, parse_date
from events.catalog.errors import PayloadError
from events.catalog.governance import CorrectionRecorded
from events.catalog.payload import EventPayload, event_type_of
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
    new_date = parse_date(changes.pop(OCCURRED_ON, None)) or occurred_on
    for name in changes:
        if name not in data:
            raise PayloadError(f"data.field_changes.{name}", f"{event_type} has no field {name!r}")
    try:
        corrected = decode_payload(event_type, {**data, **changes})
    except PayloadError as error:
        raise _under_field_changes(error, changes) from error
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
