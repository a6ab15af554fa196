"""A figure computed at one position of a log, reused at another when nothing it read differs.

A figure is a pure function of the parts of the log state its formula and its result read (the
live events of a few types, the organisations, the participants, the exchanges, the project, the
targets and baselines, the day the state is as of) and of its period buckets. Each part is a
function of the live events of known types only (log_view._state), so two positions of one log
give a figure the same inputs when no entry between them is of a type feeding a part it read:
then its result at the first is its result at the second. A correction or a retraction can
change any part (its target's type, and voided dependents of other types), so across one every
figure is recomputed; so is a figure that read anything not named here.

The parts are recorded while the figure is computed (``StateReads``), not declared, so a formula
that starts reading something else is tracked without anyone updating a list. Positions are
compared only within one warm fold (warm_fold.lineage_of), whose entries are the very objects
the states were folded from.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Sequence
from typing import Any

from events.catalog import EventPayload
from events.entries import LogEntry
from indicators.log_view import DERIVED_PARTS, LogState
from indicators.periods import Bucket
from indicators.results import FigureResult
from indicators.warm_fold import entries_between, lineage_of

# Any part at all: what a correction, a retraction or an unknown read stands for.
EVERYTHING = "*"

# LogState attributes → the part they read (`live(kind)` reads the part named by the kind).
_PART_OF_ATTRIBUTE: dict[str, str] = {
    "organisations": "organisations",
    "size_class": "organisations",
    "is_sme": "organisations",
    "participants": "participants",
    "exchanges": "exchanges",
    "project": "project",
    "targets": "targets",
    "baselines": "baselines",
}
# Attributes read by value: a figure is reused only where they are equal.
_VALUES = frozenset({"as_of_date", "position", "recorded_at"})

# Entries that can change any part: a correction or a retraction (its target's type, and voided
# dependents of other types), and the project registration (periods, partners, the VOP rule).
_CHANGES_EVERYTHING = frozenset({"CorrectionRecorded", "ActivityRetracted", "ProjectRegistered"})


def parts_changed_by(event_type: str) -> frozenset[str]:
    """The state parts an entry of `event_type` may change: its type's live events and what
    log_view._state derives from them (log_view.DERIVED_PARTS)."""
    if event_type in _CHANGES_EVERYTHING:
        return frozenset({EVERYTHING})
    return frozenset({event_type, *(part for part, fed_by in DERIVED_PARTS.items() if event_type in fed_by)})


class StateReads:
    """A log state as a formula sees it, noting which parts it reads (given to the formulas in
    place of the state: they only read it). After its first read an attribute is kept on this
    object, so later reads cost what a plain attribute read does."""

    def __init__(self, state: LogState) -> None:
        self._state = state
        self.parts: set[str] = set()
        self.values: dict[str, Any] = {}

    def live(self, kind: type[EventPayload]) -> Any:
        """The live events of one payload type (noted as read)."""
        self.parts.add(kind.__name__)
        return self._state.live(kind)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._state, name)
        if name in _VALUES:
            self.values[name] = value
        else:
            self.parts.add(_PART_OF_ATTRIBUTE.get(name, EVERYTHING))
        setattr(self, name, value)
        return value


class _Kept:
    """A figure's result at one position, with what it read there."""

    __slots__ = ("buckets", "parts", "position", "result", "values")

    def __init__(
        self,
        position: int,
        reads: Sequence[StateReads],
        buckets: Sequence[Bucket],
        result: FigureResult,
    ) -> None:
        self.position = position
        self.parts = frozenset().union(*(read.parts for read in reads))
        self.values = {name: value for read in reads for name, value in read.values.items()}
        self.buckets = tuple(buckets)
        self.result = result


class FigureMemo:
    """The figures kept for one state: ``reuse`` one computed at another position of the same
    log when nothing it read changed in between, ``keep`` one just computed."""

    def __init__(self, store: _Store, lineage: int, state: LogState) -> None:
        self._store = store
        self._lineage = lineage
        self._state = state
        self._changed: dict[int, frozenset[str]] = {}

    def reuse(self, key: tuple[str, ...], buckets: Sequence[Bucket]) -> FigureResult | None:
        """A result kept under `key` that holds at this state too (the most recent first)."""
        for kept in self._store.get(self._lineage, key):
            if self._holds(kept, buckets):
                # It holds here too: later states are compared with this one, the nearer.
                kept.position = self._state.position
                self._store.touch(self._lineage, key, kept)
                return kept.result
        return None

    def _holds(self, kept: _Kept, buckets: Sequence[Bucket]) -> bool:
        if EVERYTHING in kept.parts or tuple(buckets) != kept.buckets:
            return False
        if any(getattr(self._state, name) != value for name, value in kept.values.items()):
            return False
        changed = self._changed_since(kept.position)
        return changed is not None and EVERYTHING not in changed and changed.isdisjoint(kept.parts)

    def keep(
        self,
        key: tuple[str, ...],
        reads: Sequence[StateReads],
        buckets: Sequence[Bucket],
        result: FigureResult,
    ) -> None:
        """Remember a result computed at this state, with everything its computation read (`reads`:
        several when it shares a formula run with another figure)."""
        self._store.put(self._lineage, key, _Kept(self._state.position, reads, buckets, result))

    def _changed_since(self, position: int) -> frozenset[str] | None:
        """The parts the entries between `position` and this state's change (None: unknown)."""
        if position not in self._changed:
            between = entries_between(self._lineage, position, self._state.position)
            if between is None:
                return None
            self._changed[position] = _parts_changed(between)
        return self._changed[position]


def _parts_changed(entries: Sequence[LogEntry]) -> frozenset[str]:
    changed: set[str] = set()
    for event_type in {entry.type for entry in entries}:
        changed |= parts_changed_by(event_type)
    return frozenset(changed)


# A warm log's kept results: figure key → the last few, the most recently used first.
_ByKey = dict[tuple[str, ...], list[_Kept]]


class _Store:
    """The last few results of each figure per warm log (a few logs, as warm_fold keeps): the head
    and, say, the position of a snapshot a dashboard shows beside it."""

    def __init__(self, logs: int = 4, per_key: int = 3) -> None:
        self._logs = logs
        self._per_key = per_key
        self._lock = threading.Lock()
        self._kept: collections.OrderedDict[int, dict[tuple[str, ...], list[_Kept]]] = (
            collections.OrderedDict()
        )

    def get(self, lineage: int, key: tuple[str, ...]) -> list[_Kept]:
        """The results kept under `key`, the most recently used first."""
        with self._lock:
            return list(self._kept.get(lineage, {}).get(key, ()))

    def put(self, lineage: int, key: tuple[str, ...], kept: _Kept) -> None:
        """Keep a result first under `key`; the least recently used beyond `per_key` goes."""
        with self._lock:
            results = self._kept.setdefault(lineage, {}).setdefault(key, [])
            results.insert(0, kept)
            del results[self._per_key :]
            self._kept.move_to_end(lineage)
            while len(self._kept) > self._logs:
                self._kept.popitem(last=False)

    def touch(self, lineage: int, key: tuple[str, ...], kept: _Kept) -> None:
        """Mark a kept result as the most recently used under `key`."""
        with self._lock:
            results = self._kept.get(lineage, {}).get(key)
            if results is not None and kept in results:
                results.remove(kept)
                results.insert(0, kept)


_STORE = _Store()


def memo_for(state: LogState) -> FigureMemo | None:
    """The figure memo of a state handed out by a warm fold (None for any other state)."""
    lineage = lineage_of(state)
    return FigureMemo(_STORE, lineage, state) if lineage is not None else None
