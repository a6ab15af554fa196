"""The fold kept warm: a log folded once and carried forward as it grows, so a query at the head
does not read a million events again.

The service hands the engine the same decoded entries on every query (projections.DecodedLog:
one list, extended at the end, its entries the very same objects). ``state_of`` remembers the
last fold of each log, the entries it read and the state it gave; when a later query's entries
start with exactly those entries (the same objects, so the same frozen values) and go on in
position order, it reads only the new ones into the same fold, and a position before the warm
one is read off the same fold (each record keeps when it stopped being live and each correction
its position: LogFold.events_at). Anything else (another list, entries out of order) is folded
from scratch, so the answer is always ``fold_log(entries, as_of)``.
"""

from __future__ import annotations

import bisect
import collections
import itertools
import operator
import threading
import uuid
import weakref
from collections.abc import Callable, Sequence

from events.collector import collector_paused
from events.entries import LogEntry, entry_position
from indicators.log_view import LogFold, LogState, fold_log

# A few projects' logs are kept warm; the least recently used is dropped first.
WARM_LOGS = 2


class _Warm:
    """One log's fold: the entries it read (in order) and its state after the last one."""

    def __init__(self) -> None:
        self.serial = next(_SERIALS)
        self.fold = LogFold()
        self.read: list[LogEntry] = []
        self.state: LogState | None = None

    def continues(self, log: Sequence[LogEntry]) -> bool:
        """Whether `log` starts with the entries read, the very same objects, in order."""
        read = self.read
        return len(log) >= len(read) and all(map(operator.is_, read, log[: len(read)]))

    def advance(self, entries: Sequence[LogEntry], as_of: int | None) -> LogState:
        """Read `entries` (in position order) up to position `as_of`, and the state after them."""
        for entry in entries:
            if as_of is not None and entry.position > as_of:
                break
            self.fold.read(entry)
            self.read.append(entry)
            self.state = None
        if self.state is None:
            self.state = _handed_out(self.fold.state(), self)
        return self.state


_LOCK = threading.Lock()
_WARM: collections.OrderedDict[uuid.UUID, _Warm] = collections.OrderedDict()
_SERIALS = itertools.count(1)
# The last states warm folds handed out, by id → (the state, weakly: a state of 1M events weighs
# tens of MB and is not kept alive for this; the fold's serial): a state's lineage.
_HANDED_OUT: collections.OrderedDict[int, tuple[weakref.ref[LogState], int]] = collections.OrderedDict()
_HANDED_OUT_KEPT = 64


def state_of(entries: Sequence[LogEntry], as_of: int | None) -> LogState:
    """``fold_log(entries, as_of)``, carried forward from the last fold of the same log if it can be."""
    if not entries:
        return fold_log(entries, as_of)
    with _LOCK, collector_paused():
        log_id = entries[0].event_id  # a log's first event names it
        warm = _WARM.get(log_id)
        if warm is not None and warm.continues(entries):
            position = warm.read[-1].position if warm.read else 0
            rest = entries[len(warm.read) :]
            if _in_order(rest, position):
                _WARM.move_to_end(log_id)
                if as_of is None or as_of >= position:
                    return warm.advance(rest, as_of)
                # The past of the warm fold: a filter of it (see LogFold.events_at).
                read = bisect.bisect_right(warm.read, as_of, key=entry_position)
                return _handed_out(warm.fold.state_at(as_of, warm.read[read - 1] if read else None), warm)
        if as_of is not None and warm is not None and warm.read and as_of < warm.read[-1].position:
            return fold_log(entries, as_of)  # the past of a warm log: folded apart, the warm one kept
        warm = _WARM[log_id] = _Warm()
        _WARM.move_to_end(log_id)
        while len(_WARM) > WARM_LOGS:
            _WARM.popitem(last=False)
        return warm.advance(sorted(entries, key=entry_position), as_of)


def _handed_out(state: LogState, warm: _Warm) -> LogState:
    """Note which warm fold a state came from (called under _LOCK)."""
    # A state's id is dropped when the state goes, before another object can be given that id.
    _HANDED_OUT[id(state)] = (weakref.ref(state, _forget(id(state))), warm.serial)
    _HANDED_OUT.move_to_end(id(state))
    while len(_HANDED_OUT) > _HANDED_OUT_KEPT:
        _HANDED_OUT.popitem(last=False)
    return state


def _forget(key: int) -> Callable[[weakref.ref[LogState]], None]:
    def forget(gone: weakref.ref[LogState]) -> None:
        # Without _LOCK: this runs wherever the state is freed, possibly under the lock already.
        found = _HANDED_OUT.get(key)
        if found is not None and found[0] is gone:
            _HANDED_OUT.pop(key, None)

    return forget


def lineage_of(state: LogState) -> int | None:
    """The serial of the warm fold that handed `state` out, if it is its head state or one of its
    recent states."""
    with _LOCK:
        found = _HANDED_OUT.get(id(state))
        if found is not None and found[0]() is state:
            return found[1]
        # A warm fold's head state stays its state however many past states were handed out since.
        return next((warm.serial for warm in _WARM.values() if warm.state is state), None)


def entries_between(lineage: int, first: int, second: int) -> Sequence[LogEntry] | None:
    """The entries a warm fold read between two positions (after the lower, up to the higher),
    while that fold is still kept (None once it is not)."""
    low, high = min(first, second), max(first, second)
    with _LOCK:
        for warm in _WARM.values():
            if warm.serial == lineage:
                start = bisect.bisect_right(warm.read, low, key=entry_position)
                end = bisect.bisect_right(warm.read, high, key=entry_position)
                return warm.read[start:end]
        return None


def is_warm(state: LogState) -> bool:
    """Whether `state` is the state a warm fold is at (the one it hands out for its position)."""
    with _LOCK:
        return any(warm.state is state for warm in _WARM.values())


def _in_order(entries: Sequence[LogEntry], after: int) -> bool:
    """Whether the entries go on from position `after` in position order (as sorting would leave them)."""
    previous = after
    for entry in entries:
        if entry.position < previous:
            return False
        previous = entry.position
    return True
