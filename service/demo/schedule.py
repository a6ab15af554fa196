"""The schedule: generated commands wait here for the day they are recorded, then leave in day
order, so the demo can be produced month by month without holding two years in memory.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Iterator
from typing import Any

from service.commands import EventCommand, Evidence
from service.demo.dates import date_of


class Schedule:
    """Commands keyed by recording day; within a day they keep the order they were added in."""

    def __init__(self, ids: random.Random) -> None:
        self._ids = ids
        self._days: dict[int, list[EventCommand]] = {}
        # Days before this one have been released; adding to them would break the log order.
        self._released_before = 0

    def add(
        self,
        event_type: str,
        occurred: int,
        data: dict[str, Any],
        partner: str,
        work_package: str,
        *,
        recorded: int | None = None,
        evidence: list[Evidence] | None = None,
        correlation_id: str | None = None,
        stream: str | None = None,
    ) -> uuid.UUID:
        """Schedule one command, recorded on ``recorded`` (default: the day it occurred); its id.

        ``stream`` is only for corrections and retractions: named explicitly (their target's
        stream), it does not depend on whether the target is already in the log when the
        Recorder looks, so a reloaded batch is byte-identical to the first one.
        """
        day = occurred if recorded is None else recorded
        if day < self._released_before:
            raise ValueError(f"{event_type} recorded on day {day} after that day was released")
        # Version-4 ids drawn from a seeded generator: a second load sends the same ids.
        event_id = uuid.UUID(int=self._ids.getrandbits(128), version=4)
        command = EventCommand(
            type=event_type,
            occurred_on=date_of(occurred),
            data=data,
            partner_org_id=partner,
            event_id=event_id,
            work_package=work_package,
            evidence=[] if evidence is None else evidence,
            correlation_id=correlation_id,
            stream=stream,
        )
        bucket = self._days.get(day)
        if bucket is None:
            self._days[day] = [command]
        else:
            bucket.append(command)
        return event_id

    def release(self, before: int) -> Iterator[EventCommand]:
        """Every command recorded before day ``before``, in recording order."""
        due = sorted(day for day in self._days if day < before)
        self._released_before = max(self._released_before, before)
        for day in due:
            yield from self._days.pop(day)

    def evidence(self, uri: str) -> list[Evidence]:
        """A one-document evidence list; the digest stands in for the real file's sha256."""
        return [Evidence(uri=uri, sha256=f"{self._ids.getrandbits(256):064x}")]

    def digest(self) -> str:
        """A stand-in sha256 for a signed document (64 lowercase hex)."""
        return f"{self._ids.getrandbits(256):064x}"
