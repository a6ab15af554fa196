"""Timelines kept per log, built in the background, for figures as of any position in milliseconds.

The service hands the engine the same decoded entries on every query (one list, extended at the
end). For a log of at least ``TIMELINES_FROM`` entries, the first query starts a thread that
reads the log into a ``TimelineBuilder`` (at 1M events a minute or two) and follows it as it grows;
meanwhile, and for any position the timelines have not reached, the engine answers as before.
A query holds the builder's lock while it reads the columns, the thread while it reads a few
hundred entries: a reader never sees a half-read entry.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
from collections.abc import Iterator, Sequence

from events.entries import LogEntry
from indicators.aggregation import Contribution, Measured, measure
from indicators.flow_columns import FlowColumns
from indicators.kpi_catalog import figure_sheet
from indicators.timelines import Timeline, TimelineBuilder

log = logging.getLogger(__name__)

# Below this many entries the fold answers any position in well under a second.
TIMELINES_FROM = 50_000
# Logs kept (each holds its contributions: about 2 GB at 1M events).
KEPT_LOGS = 2
# Entries read per hold of the lock.
_CHUNK = 256
# After reading this many entries at once, the figures' indexes are built before a query needs them.
_WARM_AFTER = 10_000
# A query finding the timelines this many entries behind or fewer reads them itself.
_CATCH_UP = 512


class FigureTimeline:
    """A flow figure's timeline as columns (flow_columns.py), and also as the contributions
    themselves for a figure the columns cannot always aggregate (a shared-denominator dimension)."""

    def __init__(self, figure_id: str) -> None:
        sheet = figure_sheet(figure_id)
        assert sheet is not None
        self.columns = FlowColumns(sheet)
        self._kept = Timeline() if sheet.shared_denominator else None

    def add(self, contribution: Contribution, born: int) -> int:
        """A contribution live from position `born`; its index."""
        if self._kept is not None:
            self._kept.add(contribution, born)
        return self.columns.add(contribution, born)

    def end(self, index: int, died: int) -> None:
        """The contribution at `index` is not live from position `died` on."""
        if self._kept is not None:
            self._kept.end(index, died)
        self.columns.end(index, died)

    def total_at(self, position: int) -> Measured | None:
        """The figure over everything live at `position` (None: the columns cannot tell exactly)."""
        found = self.columns.total_at(position)
        if found is not None or self._kept is None:
            return found
        return measure(self._kept.live_at(position), self.columns.sheet)

    def live_at(self, position: int) -> list[Contribution] | None:
        """The contributions live at `position`, when kept as such (None: columns only)."""
        return self._kept.live_at(position) if self._kept is not None else None


class KeptTimelines:
    """One log's timelines and the thread that reads the log into them."""

    def __init__(self) -> None:
        self.builder: TimelineBuilder[FigureTimeline] = TimelineBuilder(FigureTimeline)
        self.lock = threading.Lock()
        self._wanted: Sequence[LogEntry] = ()
        self._thread: threading.Thread | None = None
        # Whether a thread is reading or about to (set and cleared under the lock, so entries
        # wanted while it finishes are read by it or by the next one, never by none).
        self._reading = False
        self.failed: BaseException | None = None

    def continues(self, log: Sequence[LogEntry]) -> bool:
        """Whether `log` starts with the entries read (the same objects: checked at its ends and
        at a stride between, as the service's decoded log only ever grows at the end)."""
        read = self.builder.entries
        if len(log) < len(read):
            return False
        stride = max(1, len(read) // 256)
        return all(log[i] is read[i] for i in (*range(0, len(read), stride), len(read) - 1) if i >= 0)

    def follow(self, log: Sequence[LogEntry]) -> None:
        """Read up to the end of `log` in the background."""
        with self.lock:
            if len(log) > len(self._wanted):
                self._wanted = log
            if self.failed is None and not self._reading and len(self.builder.entries) < len(self._wanted):
                self._reading = True
                self._thread = threading.Thread(target=self._read, name="timelines", daemon=True)
                self._thread.start()

    def join(self) -> None:
        """Wait until the entries wanted so far are read (or reading failed)."""
        thread = self._thread
        if thread is not None:
            thread.join()

    def _read(self) -> None:
        try:
            started = len(self.builder.entries)
            while True:
                with self.lock:
                    done = len(self.builder.entries)
                    if done >= len(self._wanted):
                        if done - started < _WARM_AFTER:
                            self._reading = False
                            return
                    else:
                        for entry in self._wanted[done : done + _CHUNK]:
                            self.builder.read(entry)
                        continue
                # A long read is done: build the indexes, then look for entries wanted meanwhile.
                self._warm()
                log.info("timelines read", extra={"entries": done - started, "position": self.position})
                started = done
        except BaseException as error:  # kept: the engine answers instead, and the log says why
            log.exception("timelines stopped")
            self.failed = error

    def _warm(self) -> None:
        """Build each figure's index at the head once a long read is done, so the first summary
        after it does not pay for all of them (one at a time: queries go between)."""
        for timeline in self.builder.timelines.values():
            with self.lock:
                timeline.total_at(self.position)

    def wanted_up_to(self, position: int) -> Sequence[LogEntry] | None:
        """The entries still to read up to `position` (called holding the lock; None: the log to
        read does not reach it)."""
        done = len(self.builder.entries)
        wanted = self._wanted
        if not wanted or wanted[-1].position < position:
            return None
        end = done
        while end < len(wanted) and wanted[end].position <= position and end - done <= _CATCH_UP:
            end += 1
        return wanted[done:end]

    @property
    def position(self) -> int:
        """The last position read into the timelines (0 before any)."""
        return self.builder.position


_LOCK = threading.Lock()
# By the identity of the log's first entry (its copies share their entries; a log read afresh,
# by an audit say, has entries of its own): the kept timelines hold that entry, so the id stays its.
_KEPT: collections.OrderedDict[int, KeptTimelines] = collections.OrderedDict()


def follow(log: Sequence[LogEntry]) -> KeptTimelines | None:
    """Keep timelines for `log` (the service's decoded log of a project), read in the background
    up to its end and on as it grows; None for a log shorter than TIMELINES_FROM. Called for a log
    that will be asked again: a log read once (an audit's) is left to the engine."""
    if not log or len(log) < TIMELINES_FROM:
        return None
    with _LOCK:
        kept = _KEPT.get(id(log[0]))
        if kept is None or not kept.continues(log):
            kept = _KEPT[id(log[0])] = KeptTimelines()
        _KEPT.move_to_end(id(log[0]))
        while len(_KEPT) > KEPT_LOGS:
            _KEPT.popitem(last=False)
    kept.follow(log)
    return kept


def _kept(log: Sequence[LogEntry]) -> KeptTimelines | None:
    """The timelines kept for `log` (or a log it continues), if any."""
    if not log or len(log) < TIMELINES_FROM:
        return None
    with _LOCK:
        kept = _KEPT.get(id(log[0]))
    if kept is None or kept.failed is not None or not kept.continues(log):
        return None
    kept.follow(log)
    return kept


@contextlib.contextmanager
def reading(log: Sequence[LogEntry], position: int) -> Iterator[TimelineBuilder[FigureTimeline] | None]:
    """The builder of `log`'s kept timelines, held, when they reach `position`; else None."""
    kept = _kept(log)
    if kept is None:
        yield None
        return
    with kept.lock:
        # A few entries behind (a query right after an append): read them now rather than fold.
        missing = kept.wanted_up_to(position)
        if missing is not None and len(missing) <= _CATCH_UP:
            kept.builder.read_all(missing)
        yield kept.builder if kept.position >= position else None
