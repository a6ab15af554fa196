"""The pure fold behind every keyed projection: which log events make up each key, and which of
them are still live, after corrections and retractions — the same rules as the KPI engine
(indicators.log_view.fold_log, DOMAIN.md (f) "Log semantics").

A keyed projection groups the events it reads under a key (an organisation id, an exchange id…)
and derives its read-model rows for a key from that key's live events alone. A batch of the log
therefore touches a few keys: the ledger is loaded with every source of those keys, folds the
batch in log order, and reports the keys whose rows must be derived again (`dirty`).

- A correction joins its target's key and changes the target in place (apply_correction, in log
  order); a correction of an unknown, retracted or governance event changes nothing.
- A retraction makes its target not live from its own position on. When the target carried an
  activity id (an ExchangeRegistered its exchange_id) and no live source carries that id any more,
  the live events depending on the id (the exchange's lifecycle) are voided too, for good.
  A projection must therefore key an activity's carriers and dependents alike; an id carried by
  an event of another projection (a training whose session_id equals an exchange_id) is not seen.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterable
from typing import Protocol

from events.catalog import (
    ActivityRetracted,
    CorrectionRecorded,
    EventPayload,
    PayloadError,
    apply_correction,
)
from events.entries import LiveEvent, LogEntry

GOVERNANCE_TYPES = frozenset({"CorrectionRecorded", "ActivityRetracted"})


class KeyRules(Protocol):
    """How a projection groups events under keys, and which of its events depend on others."""

    def key_of(self, entry: LogEntry) -> str | None:
        """The key an event of this projection belongs to (None: not this projection's).

        Only the event id or identity fields may decide it: a correction cannot change them.
        """
        ...

    def carried_activity(self, payload: EventPayload) -> str | None:
        """The activity id an event introduces, which other events may depend on."""
        ...

    def depends_on(self, payload: EventPayload, activity_id: str) -> bool:
        """Whether the event is voided when the last live carrier of `activity_id` is retracted."""
        ...


@dataclasses.dataclass(slots=True)
class Source:
    """One event of a key: stored (a row of the sources table already) or new in this batch."""

    key: str
    entry: LogEntry
    live: bool = True
    stored: bool = False
    # Stored and made not live by this batch: the row needs an update.
    voided_now: bool = False


class Ledger:
    """The sources of the keys a batch touches, folded in log order."""

    def __init__(self, rules: KeyRules, loaded: Iterable[Source] = ()) -> None:
        self._rules = rules
        self._sources: dict[uuid.UUID, Source] = {}
        self._by_key: dict[str, list[Source]] = {}
        self._corrections: dict[uuid.UUID, list[Source]] = {}
        self.dirty: set[str] = set()
        self.add_loaded(loaded)

    @property
    def keys(self) -> set[str]:
        """Every key whose sources are in the ledger."""
        return set(self._by_key)

    def add_loaded(self, loaded: Iterable[Source]) -> None:
        """Sources read back from the sources table, in position order."""
        for source in loaded:
            if source.entry.event_id not in self._sources:
                self._add(source)

    def fold(self, entry: LogEntry) -> None:
        """Fold the next event of the log (positions in increasing order)."""
        if entry.event_id in self._sources:
            return  # the same event delivered twice is one event
        payload = entry.payload
        if isinstance(payload, ActivityRetracted):
            self._retract(payload.target_event_id)
        elif isinstance(payload, CorrectionRecorded):
            self._correct(entry, payload.target_event_id)
        else:
            key = self._rules.key_of(entry)
            if key is not None:
                self._add(Source(key, entry))
                self.dirty.add(key)

    def mark_stored(self) -> None:
        """Every source is now stored as it stands: later folds report only what changes after."""
        for source in self._sources.values():
            source.stored = True
            source.voided_now = False
        self.dirty.clear()

    def new_sources(self) -> list[Source]:
        """Sources first seen in this batch (rows to insert)."""
        return [s for s in self._sources.values() if not s.stored]

    def voided_sources(self) -> list[Source]:
        """Stored sources this batch made not live (rows to update)."""
        return [s for s in self._sources.values() if s.stored and s.voided_now]

    def live_events(self, key: str) -> list[LiveEvent[EventPayload]]:
        """The key's live events (not the corrections themselves) as corrected, in log order."""
        return [self.current(s) for s in self._events(key) if s.live]

    def gone_events(self, key: str) -> list[LiveEvent[EventPayload]]:
        """The key's retracted or voided events as they stood when they went, in log order."""
        return [self.current(s) for s in self._events(key) if not s.live]

    def _events(self, key: str) -> list[Source]:
        return [s for s in self._by_key.get(key, []) if not isinstance(s.entry.payload, CorrectionRecorded)]

    def current(self, source: Source) -> LiveEvent[EventPayload]:
        """An event after its live corrections, applied in log order."""
        entry = source.entry
        payload, day = entry.payload, entry.occurred_on
        for correction in self._corrections.get(entry.event_id, []):
            if correction.live:
                payload, day = _corrected(payload, day, correction.entry.payload)
        return LiveEvent(
            position=entry.position,
            event_id=entry.event_id,
            occurred_on=day,
            partner_org_id=entry.partner_org_id,
            payload=payload,
        )

    def _add(self, source: Source) -> None:
        self._sources[source.entry.event_id] = source
        self._by_key.setdefault(source.key, []).append(source)
        payload = source.entry.payload
        if isinstance(payload, CorrectionRecorded):
            self._corrections.setdefault(payload.target_event_id, []).append(source)

    def _correct(self, entry: LogEntry, target_id: uuid.UUID) -> None:
        target = self._sources.get(target_id)
        if target is None or not target.live or isinstance(target.entry.payload, CorrectionRecorded):
            return
        self._add(Source(target.key, entry))
        self.dirty.add(target.key)

    def _retract(self, target_id: uuid.UUID) -> None:
        target = self._sources.get(target_id)
        if target is None or not target.live:
            return  # not this projection's, or already gone (retractions are never stored)
        self._void(target)
        if isinstance(target.entry.payload, CorrectionRecorded):
            return  # the corrected event is derived again without it
        activity_id = self._rules.carried_activity(self.current(target).payload)
        if activity_id is None:
            return
        live = [s for s in self._by_key[target.key] if s.live]
        if any(self._rules.carried_activity(self.current(s).payload) == activity_id for s in live):
            return  # another live record still carries the id: its dependents stay
        for source in live:
            if self._rules.depends_on(self.current(source).payload, activity_id):
                self._void(source)

    def _void(self, source: Source) -> None:
        source.live = False
        source.voided_now = True
        self.dirty.add(source.key)


def _corrected(payload: EventPayload, day: dt.date, correction: EventPayload) -> tuple[EventPayload, dt.date]:
    assert isinstance(correction, CorrectionRecorded)
    try:
        return apply_correction(payload, day, correction)
    except PayloadError:
        # Refused by the API; reachable only when a correction it built on was retracted
        # (older rules). The engine then skips it, and so do we.
        return payload, day
