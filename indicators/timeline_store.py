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
import uuid
from collections.abc import Iterator, Sequence

from events.entries import LogEntry
from indicators.flow_columns import FlowColumns
from indicators.kpi_catalog import figure_sheet
from indicators.timelines import TimelineBuilder

log = logging.getLogger(__name__)

# Below this many entries the fold answers any position in well under a second.
TIMELINES_FROM = 50_000
# Logs kept (each holds its contributions: about 2 GB at 1M events).
KEPT_LOGS = 2
# Entries read per hold of the lock.
_CHUNK = 256
# A query finding the timelines this many entries behind or fewer reads them itself.
_CATCH_UP = 512


def _columns(figure_id: str) -> FlowColumns:
    sheet = figure_sheet(figure_id)
    assert sheet is not None
    return FlowColumns(sheet)


class KeptTimelines:
    """One log's timelines and the thread that reads the log into them."""

    def __init__(self) -> None:
        self.builder: TimelineBuilder[FlowColumns] = TimelineBuilder(_columns)
        self.lock = threading.Lock()
        self._wanted: Sequence[LogEntry] = ()
        self._thread: threading.Thread | None = None
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
            if self.failed is None and (self._thread is None or not self._thread.is_alive()):
                if len(self.builder.entries) < len(self._wanted):
                    self._thread = threading.Thread(target=self._read, name="timelines", daemon=True)
                    self._thread.start()

    def join(self) -> None:
        """Wait until the entries wanted so far are read (or reading failed)."""
        thread = self._thread
        if thread is not None:
            thread.join()

    def _read(self) -> None:
        try:
            while True:
                with self.lock:
                    done = len(self.builder.entries)
                    if done >= len(self._wanted):
                        return
                    for entry in self._wanted[done : done + _CHUNK]:
                        self.builder.read(entry)
        except BaseException as error:  # kept: the engine answers instead, and the log says why
            log.exception("timelines stopped")
            self.failed = error

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
_KEPT: collections.OrderedDict[uuid.UUID, KeptTimelines] = collections.OrderedDict()


def follow(log: Sequence[LogEntry]) -> KeptTimelines | None:
    """The timelines of `log`, read (in the background) up to its end; None for a short log."""
    if len(log) < TIMELINES_FROM:
        return None
    with _LOCK:
        kept = _KEPT.get(log[0].event_id)
        if kept is None or not kept.continues(log):
            kept = _KEPT[log[0].event_id] = KeptTimelines()
        _KEPT.move_to_end(log[0].event_id)
        while len(_KEPT) > KEPT_LOGS:
            _KEPT.popitem(last=False)
    kept.follow(log)
    return kept


@contextlib.contextmanager
def reading(log: Sequence[LogEntry], position: int) -> Iterator[TimelineBuilder[FlowColumns] | None]:
    """The builder of `log`'s timelines, held, when they reach `position`; else None."""
    kept = follow(log)
    if kept is None or kept.failed is not None:
        yield None
        return
    with kept.lock:
        # A few entries behind (a query right after an append): read them now rather than fold.
        missing = kept.wanted_up_to(position)
        if missing is not None and len(missing) <= _CATCH_UP:
            kept.builder.read_all(missing)
        yield kept.builder if kept.position >= position else None
