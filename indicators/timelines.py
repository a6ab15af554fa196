"""Contribution timelines: every contribution a flow figure ever had, with the log positions it
was live between, so a figure "as of P" is an aggregation of what was live at P, not a fold and
a formula run over the whole log.

The timelines follow the log entry by entry (``TimelineBuilder.read``). A flow figure's
contributions are a union over *units*, each re-derived by the figure's own formula
(outputs.py, outcomes.py) over a state restricted to the unit:

- a record unit: one live training, coaching session, outreach event, agreement, service launch
  or feedback (with the live sessions of its activity id, which R2 looks up);
- an exchange unit: one exchange id with its live registration, lifecycle events, payments and
  follow-ups.

The restricted state has the project and every organisation and participant; the formula's
lookups of organisations and participants are recorded by id. An entry re-derives the units of
the records whose live version it changed (appended, corrected, retracted, voided), the units that
read an organisation or participant it changed, and every unit when the project changed. A
unit's contributions that differ from before end at that position and the new ones start there.
O7 has one rule across units (an SME's size-class cell is its class at its first counted
engagement): its units give their counted engagements, the first class of each SME is kept over
all of them, and the units of an SME whose first class changed are re-derived.

Exact by construction, and checked: ``tests/test_timelines.py`` compares, on random logs and at
every position, the contributions live in the timelines with the formulas over the fold.
"""

from __future__ import annotations

import bisect
import collections
import datetime as dt
import heapq
import itertools
import uuid
from array import array
from collections.abc import Callable, Iterable, Iterator
from typing import Any, Generic, Protocol, TypeVar, cast

import msgspec
import numpy as np

from events.catalog import (
    BaselineRecorded,
    ClusterServiceLaunched,
    CoachingSessionHeld,
    ESCALabelAwarded,
    EventPayload,
    ExchangeCancelled,
    ExchangeClosingReportSubmitted,
    ExchangeCompleted,
    ExchangeRegistered,
    FeedbackCollected,
    FollowUpCooperationRecorded,
    LumpSumPaid,
    OrganisationRegistered,
    OrganisationSizeClassChanged,
    OutreachEventHeld,
    ParticipantRegistered,
    PartnershipAgreementSigned,
    ProjectRegistered,
    SMESurveyResponseRecorded,
    StrategyMilestoneReached,
    TargetSet,
    TrainingDelivered,
    event_type_of,
)
from events.entries import LiveEvent, LogEntry, entry_position, in_utc
from indicators import outcomes, outputs
from indicators.aggregation import Contribution
from indicators.log_view import (
    Exchange,
    LogFold,
    LogState,
    Organisation,
    _exchanges,
    _organisations,
    _state,
)
from indicators.periods import RESULT_EVENTS

Formula = Callable[[LogState], list[Contribution]]
S = TypeVar("S", bound="TimelineSink")
T = TypeVar("T")
# Values kept by remember(): states and state figures at stamps.
_REMEMBERED = 256
# ("record", event id) or ("exchange", exchange id).
Unit = tuple[str, uuid.UUID | str]
# ("org", org id) or ("participant", participant id): a lookup a unit's formulas made.
ReadKey = tuple[str, str]

_SESSION_FIGURES = ("O1", "O2", "O3", "O7")
# The flow figures, by the kind of unit that feeds them: a record type or "exchange".
UNITS_OF_FIGURE: dict[str, tuple[str, ...]] = {
    "O1": ("TrainingDelivered",),
    "O2": ("TrainingDelivered",),
    "O3": ("TrainingDelivered",),
    "O4": ("CoachingSessionHeld",),
    "O5": ("exchange",),
    "O6": ("exchange",),
    "O7": ("TrainingDelivered", "CoachingSessionHeld", "OutreachEventHeld", "exchange"),
    "O8": ("PartnershipAgreementSigned", "exchange"),
    "O9.contacts": ("OutreachEventHeld",),
    "O9.orgs": ("OutreachEventHeld",),
    "O10": ("OutreachEventHeld",),
    "O11.sum": ("exchange",),
    "O11.mean": ("exchange",),
    "R1": ("exchange",),
    "R2": ("FeedbackCollected",),
    "R3.6m": ("exchange",),
    "R3.12m": ("exchange",),
    "R4": ("PartnershipAgreementSigned",),
    "R6": ("ClusterServiceLaunched",),
}
FLOW_FORMULAS: dict[str, Formula] = {**outputs.FORMULAS, **outcomes.FORMULAS}
if set(UNITS_OF_FIGURE) != set(FLOW_FORMULAS):  # pragma: no cover - a new flow figure needs its units
    raise RuntimeError("timelines: every flow figure needs its units in UNITS_OF_FIGURE")

_RECORD_TYPES: dict[type[EventPayload], str] = {
    TrainingDelivered: "TrainingDelivered",
    CoachingSessionHeld: "CoachingSessionHeld",
    OutreachEventHeld: "OutreachEventHeld",
    PartnershipAgreementSigned: "PartnershipAgreementSigned",
    ClusterServiceLaunched: "ClusterServiceLaunched",
    FeedbackCollected: "FeedbackCollected",
}
# The exchange an exchange-unit record belongs to.
_EXCHANGE_ID: dict[type[EventPayload], str] = {
    ExchangeRegistered: "exchange_id",
    ExchangeCompleted: "exchange_id",
    ExchangeCancelled: "exchange_id",
    ExchangeClosingReportSubmitted: "exchange_id",
    LumpSumPaid: "exchange_id",
    FollowUpCooperationRecorded: "source_activity_id",
}
_O7 = "O7"


class TimelineSink(Protocol):
    """Where a figure's timeline is kept: contributions added live from a position, ended at another."""

    def add(self, contribution: Contribution, born: int) -> int:
        """A contribution live from position `born`; its index."""

    def end(self, index: int, died: int) -> None:
        """The contribution at `index` is not live from position `died` on."""


class Timeline:
    """One flow figure's contributions, each live from `born` until `died` (None: still live), in
    plain lists (the reference for the columns the service keeps: flow_columns.py)."""

    def __init__(self) -> None:
        self.contributions: list[Contribution] = []
        self.born: list[int] = []
        self.died: list[int | None] = []

    def add(self, contribution: Contribution, born: int) -> int:
        """A contribution live from position `born`; its index."""
        self.contributions.append(contribution)
        self.born.append(born)
        self.died.append(None)
        return len(self.contributions) - 1

    def end(self, index: int, died: int) -> None:
        """The contribution is not live from position `died` on."""
        self.died[index] = died

    def live_at(self, position: int) -> list[Contribution]:
        """The contributions live once positions 1..`position` were read."""
        return [
            c
            for c, born, died in zip(self.contributions, self.born, self.died, strict=True)
            if born <= position and (died is None or died > position)
        ]


# An organisation's values from the positions they took effect at (None: unregistered from then).
_Versions = tuple["array[int]", list[Organisation | None]]


class _OrganisationsAt:
    """The organisations as they stood at a position, looked up by id (``dict.get``)."""

    __slots__ = ("_position", "_versions")

    def __init__(
        self, versions: dict[str, tuple[array[int], list[Organisation | None]]], position: int
    ) -> None:
        self._versions = versions
        self._position = position

    def get(self, org_id: str, default: Any = None) -> Any:
        versions = self._versions.get(org_id)
        if versions is None:
            return default
        index = bisect.bisect_right(versions[0], self._position) - 1
        found = versions[1][index] if index >= 0 else None
        return found if found is not None else default

    def __iter__(self) -> Iterator[str]:  # pragma: no cover - no reader lists them
        raise TypeError("the organisations at a position are looked up by id, not listed")


class _Lookups:
    """A dict's ``get``, noting every key asked for (a unit's reads of organisations or participants)."""

    __slots__ = ("_found", "_kind", "reads")

    def __init__(self, found: dict[str, Any], kind: str, reads: set[ReadKey]) -> None:
        self._found = found
        self._kind = kind
        self.reads = reads

    def get(self, key: str, default: Any = None) -> Any:
        self.reads.add((self._kind, key))
        return self._found.get(key, default)

    def __getitem__(self, key: str) -> Any:
        self.reads.add((self._kind, key))
        return self._found[key]

    def __contains__(self, key: object) -> bool:
        self.reads.add((self._kind, cast(str, key)))
        return key in self._found

    def __iter__(self) -> Iterator[str]:  # pragma: no cover - no formula iterates them
        raise TypeError("a unit's formulas may look organisations and participants up, not list them")


class TimelineBuilder(Generic[S]):
    """The flow figures' timelines over one log, read entry by entry in position order."""

    def __init__(self, sink: Callable[[str], S]) -> None:
        """`sink(figure_id)` makes the place each flow figure's timeline is kept."""
        self.fold = LogFold()
        self.fold.touched = []
        self.position = 0
        # The entries read, in order (their positions, for the entry read last by a position).
        self.entries: list[LogEntry] = []
        self.timelines: dict[str, S] = {figure: sink(figure) for figure in FLOW_FORMULAS}
        # The live result events' days (the calendar span of month and quarter series), as a
        # timeline of their own: day ordinal, live from, live until (NEVER while live).
        self._days = array("q")
        self._days_born = array("q")
        self._days_died = array("q")
        self._day_of: dict[uuid.UUID, int] = {}
        # The positions of the entries that changed a live record, per payload type (stamp()).
        self._changed_at: dict[type[EventPayload], array[int]] = {}
        self._remembered: collections.OrderedDict[tuple[Any, ...], Any] = collections.OrderedDict()
        self._project: ProjectRegistered | None = None
        self._projects: dict[uuid.UUID, LiveEvent[ProjectRegistered]] = {}
        # The live version of every record read, as the units saw it last.
        self._seen: dict[uuid.UUID, LiveEvent[EventPayload]] = {}
        self._org_records: dict[str, dict[uuid.UUID, LiveEvent[EventPayload]]] = {}
        self._organisations: dict[str, Organisation] = {}
        # Each organisation as it stood from each position it changed at (None: unregistered).
        self._organisation_versions: dict[str, _Versions] = {}
        self._participant_records: dict[str, dict[uuid.UUID, LiveEvent[ParticipantRegistered]]] = {}
        self._participants: dict[str, ParticipantRegistered] = {}
        self._sessions: dict[str, dict[uuid.UUID, LiveEvent[EventPayload]]] = {}
        self._feedback_on: dict[str, dict[uuid.UUID, LiveEvent[EventPayload]]] = {}
        self._exchange_records: dict[str, dict[uuid.UUID, LiveEvent[EventPayload]]] = {}
        # Per (figure, unit): the indexes of its live contributions in the figure's timeline.
        self._current: dict[tuple[str, Unit], tuple[list[int], list[Contribution]]] = {}
        self._reads: dict[Unit, set[ReadKey]] = {}
        self._readers: dict[ReadKey, set[Unit]] = {}
        # O7: per unit its counted engagements; per SME the first (day, position, class) per unit.
        self._engagements: dict[Unit, list[outputs.Engagement]] = {}
        self._firsts: dict[str, _Firsts] = {}
        self._first_class: dict[str, str] = {}

    def read_all(self, entries: Iterable[LogEntry]) -> None:
        """Read entries in position order."""
        for entry in entries:
            self.read(entry)

    def read(self, entry: LogEntry) -> None:
        """Fold one entry in and move the timelines to its position."""
        touched = self.fold.touched
        assert touched is not None
        touched.clear()
        self.fold.read(entry)
        self.position = entry.position
        self.entries.append(entry)
        dirty: set[Unit] = set()
        changed_keys: set[ReadKey] = set()
        everything = False
        for record in touched:
            changed = self._changed_at.get(type(record.entry.payload))
            if changed is None:
                self._changed_at[type(record.entry.payload)] = array("q", [self.position])
            else:
                changed.append(self.position)
            event_id = record.entry.event_id
            old = self._seen.pop(event_id, None)
            new = record.current() if record.live else None
            if new is not None:
                self._seen[event_id] = new
            if type(record.entry.payload) in _RESULT_KINDS:
                self._move_day(event_id, new)
            everything |= self._reindex(event_id, old, new, dirty, changed_keys)
        if everything:
            dirty = self._all_units()
        for key in changed_keys:
            dirty |= self._readers.get(key, set())
        if dirty:
            self._rederive(dirty)

    def _move_day(self, event_id: uuid.UUID, new: LiveEvent[EventPayload] | None) -> None:
        index = self._day_of.pop(event_id, None)
        if index is not None:
            self._days_died[index] = self.position
        if new is not None:
            self._day_of[event_id] = len(self._days)
            self._days.append(new.occurred_on.toordinal())
            self._days_born.append(self.position)
            self._days_died.append(NEVER)

    def result_days(self, position: int) -> tuple[dt.date, dt.date] | None:
        """The first and last days of the result events live at `position` (None: none)."""
        days = np.frombuffer(self._days, dtype=np.int64)
        live = (np.frombuffer(self._days_born, dtype=np.int64) <= position) & (
            np.frombuffer(self._days_died, dtype=np.int64) > position
        )
        found = days[live]
        if not len(found):
            return None
        return dt.date.fromordinal(int(found.min())), dt.date.fromordinal(int(found.max()))

    def state_at(self, position: int, kinds: tuple[type[EventPayload], ...] = ()) -> LogState:
        """The state at `position` restricted to what the timelines do not hold: the project,
        targets and baselines, and the events of `kinds` (STATE_KINDS: what the state figures
        read), with the position and time of the last entry read by then."""
        read = bisect.bisect_right(self.entries, position, key=entry_position)
        last = self.entries[read - 1] if read else None
        every = tuple(kind for kind in (*_BESIDE, *kinds) if kind not in _ORGANISATION_KINDS)
        # Positions with the same stamp have the same live events of these kinds: one state serves.
        found = self.remember(
            ("state", every, self.stamp(position, every)),
            lambda: _state(self.fold.events_of_at(position, every), None),
        )
        return msgspec.structs.replace(
            found,
            position=last.position if last is not None else 0,
            recorded_at=in_utc(last.recorded_at) if last is not None else None,
            # Looked up by id as of the position (what every reader of a state does with them).
            organisations=cast(
                dict[str, Organisation], _OrganisationsAt(self._organisation_versions, position)
            )
            if not _ORGANISATION_KINDS.isdisjoint(kinds)
            else {},
        )

    def stamp(self, position: int, kinds: Iterable[type[EventPayload]]) -> tuple[int, ...]:
        """How many times entries up to `position` changed a live record of each of `kinds`:
        two positions with the same stamp have the same live events of those kinds."""
        return tuple(bisect.bisect_right(self._changed_at.get(kind, ()), position) for kind in kinds)

    def remember(self, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        """A value computed once per key (a pure function of it), the last few kept."""
        cache = self._remembered
        if key in cache:
            cache.move_to_end(key)
            return cast(T, cache[key])
        value = cache[key] = compute()
        while len(cache) > _REMEMBERED:
            cache.popitem(last=False)
        return value

    def _reindex(
        self,
        event_id: uuid.UUID,
        old: LiveEvent[EventPayload] | None,
        new: LiveEvent[EventPayload] | None,
        dirty: set[Unit],
        changed_keys: set[ReadKey],
    ) -> bool:
        """Index a record's new live version in place of its old one; note the units it dirties
        and the lookups it changes. True when the project changed (every unit is dirty)."""
        version = new if new is not None else old
        if version is None:
            return False
        kind = type(version.payload)
        versions = [v for v in (old, new) if v is not None]
        if kind in _RECORD_TYPES:
            dirty.add(("record", event_id))
            if kind is TrainingDelivered:
                for session in {cast(TrainingDelivered, v.payload).session_id for v in versions}:
                    _move(self._sessions, session, event_id, old, new, _session_id)
                    dirty.update(("record", f) for f in self._feedback_on.get(session, ()))
            elif kind is FeedbackCollected:
                for activity in {cast(FeedbackCollected, v.payload).activity_id for v in versions}:
                    _move(self._feedback_on, activity, event_id, old, new, _activity_id)
            return False
        if kind in _EXCHANGE_ID:
            field = _EXCHANGE_ID[kind]
            for exchange_id in {getattr(v.payload, field) for v in versions}:
                _move(
                    self._exchange_records,
                    exchange_id,
                    event_id,
                    old,
                    new,
                    lambda v: getattr(v.payload, field),
                )
                dirty.add(("exchange", exchange_id))
            return False
        if kind is OrganisationRegistered or kind is OrganisationSizeClassChanged:
            for org_id in {getattr(v.payload, "org_id") for v in versions}:  # noqa: B009
                _move(self._org_records, org_id, event_id, old, new, _org_id)
                if self._refresh_organisation(org_id):
                    changed_keys.add(("org", org_id))
            return False
        if kind is ParticipantRegistered:
            for person in {cast(ParticipantRegistered, v.payload).participant_id for v in versions}:
                _move(
                    cast(dict[str, dict[uuid.UUID, LiveEvent[EventPayload]]], self._participant_records),
                    person,
                    event_id,
                    old,
                    new,
                    _participant_id,
                )
                if self._refresh_participant(person):
                    changed_keys.add(("participant", person))
            return False
        if kind is ProjectRegistered:
            self._projects.pop(event_id, None)
            if new is not None:
                self._projects[event_id] = cast(LiveEvent[ProjectRegistered], new)
            live = sorted(self._projects.values(), key=_event_position)
            project = live[-1].payload if live else None
            if project != self._project:
                self._project = project
                return True
        return False

    def _refresh_organisation(self, org_id: str) -> bool:
        records = sorted(self._org_records.get(org_id, {}).values(), key=_event_position)
        registrations = tuple(e for e in records if type(e.payload) is OrganisationRegistered)
        changes = tuple(e for e in records if type(e.payload) is OrganisationSizeClassChanged)
        found = _organisations(
            cast(tuple[LiveEvent[OrganisationRegistered], ...], registrations),
            cast(tuple[LiveEvent[OrganisationSizeClassChanged], ...], changes),
        ).get(org_id)
        if found == self._organisations.get(org_id):
            return False
        if found is None:
            del self._organisations[org_id]
        else:
            self._organisations[org_id] = found
        versions = self._organisation_versions.get(org_id)
        if versions is None:
            versions = self._organisation_versions[org_id] = (array("q"), [])
        versions[0].append(self.position)
        versions[1].append(found)
        return True

    def _refresh_participant(self, person: str) -> bool:
        records = sorted(self._participant_records.get(person, {}).values(), key=_event_position)
        found = records[-1].payload if records else None
        if found == self._participants.get(person):
            return False
        if found is None:
            del self._participants[person]
        else:
            self._participants[person] = found
        return True

    def _all_units(self) -> set[Unit]:
        units: set[Unit] = {("exchange", exchange_id) for exchange_id in self._exchange_records}
        units.update(
            ("record", event_id)
            for event_id, event in self._seen.items()
            if type(event.payload) in _RECORD_TYPES
        )
        units.update(unit for (_, unit) in self._current)
        return units

    def _rederive(self, units: set[Unit]) -> None:
        """Re-derive every figure of each unit at the current position (O7 last: across units)."""
        o7_units: set[Unit] = set()
        for unit in units:
            reads: set[ReadKey] = set()
            state, kinds = self._unit_state(unit, reads)
            for figure in {figure for kind in kinds for figure in _FIGURES_FED_BY[kind]}:
                self._replace(figure, unit, FLOW_FORMULAS[figure](state))
            if not kinds.isdisjoint(UNITS_OF_FIGURE[_O7]):
                engagements = outputs.sme_engagements(state)
                o7_units |= self._note_engagements(unit, engagements)
                o7_units.add(unit)
            elif self._engagements.pop(unit, None) is not None:
                o7_units |= self._note_engagements(unit, [])
                o7_units.add(unit)
            self._note_reads(unit, reads)
        for unit in o7_units:
            reads = set()
            state, _ = self._unit_state(unit, reads)
            counted = sorted(self._engagements.get(unit, []), key=_ON_THEN_POSITION)
            first = {e.org_id: self._first_class[e.org_id] for e in counted}
            self._replace(_O7, unit, outputs.sme_contributions(state, counted, first))
            self._note_reads(unit, reads | self._reads.get(unit, set()))

    def _note_engagements(self, unit: Unit, engagements: list[outputs.Engagement]) -> set[Unit]:
        """Keep a unit's counted engagements; the units of every SME whose first class changed."""
        before = {e.org_id for e in self._engagements.get(unit, [])}
        if engagements:
            self._engagements[unit] = engagements
        else:
            self._engagements.pop(unit, None)
        firsts: dict[str, tuple[Any, int, str]] = {}
        for e in engagements:
            at = (e.on, e.position, self._organisations[e.org_id].size_class_on(e.on))
            if e.org_id not in firsts or at < firsts[e.org_id]:
                firsts[e.org_id] = at
        others: set[Unit] = set()
        for org_id in before | firsts.keys():
            per_unit = self._firsts.get(org_id)
            if per_unit is None:
                per_unit = self._firsts[org_id] = _Firsts()
            per_unit.set(unit, firsts.get(org_id))
            first = per_unit.first()
            if first is None:
                del self._firsts[org_id]
                self._first_class.pop(org_id, None)
            elif self._first_class.get(org_id) != first:
                self._first_class[org_id] = first
                others.update(per_unit.units)
        return others

    def _note_reads(self, unit: Unit, reads: set[ReadKey]) -> None:
        for key in self._reads.get(unit, set()) - reads:
            readers = self._readers.get(key)
            if readers is not None:
                readers.discard(unit)
                if not readers:
                    del self._readers[key]
        for key in reads:
            self._readers.setdefault(key, set()).add(unit)
        if reads:
            self._reads[unit] = reads
        else:
            self._reads.pop(unit, None)

    def _replace(self, figure: str, unit: Unit, contributions: list[Contribution]) -> None:
        """A unit's contributions to a figure from now on: those that differ end here, the new start."""
        timeline = self.timelines[figure]
        indexes, before = self._current.get((figure, unit), _NONE)
        if before == contributions:
            return
        for index in indexes:
            timeline.end(index, self.position)
        if contributions:
            added = [timeline.add(c, self.position) for c in contributions]
            self._current[(figure, unit)] = (added, contributions)
        else:
            self._current.pop((figure, unit), None)

    def _unit_state(self, unit: Unit, reads: set[ReadKey]) -> tuple[LogState, set[str]]:
        """The state restricted to a unit (its live records; every organisation and participant,
        their lookups noted in `reads`), and the kinds of unit it is for UNITS_OF_FIGURE."""
        kind, name = unit
        by_type: dict[str, tuple[LiveEvent[EventPayload], ...]] = {}
        exchanges: dict[str, Exchange] = {}
        kinds: set[str] = set()
        if kind == "record":
            assert isinstance(name, uuid.UUID)
            event = self._seen.get(name)
            if event is not None:
                type_name = event_type_of(event.payload)
                kinds.add(type_name)
                by_type[type_name] = (event,)
                if isinstance(event.payload, FeedbackCollected):
                    sessions = self._sessions.get(event.payload.activity_id, {}).values()
                    by_type["TrainingDelivered"] = tuple(sorted(sessions, key=_event_position))
            else:  # no longer live: its contributions end
                kinds.add(event_type_of(self.fold.records[name].entry.payload))
        else:
            kinds.add("exchange")
            assert isinstance(name, str)
            records = sorted(self._exchange_records.get(name, {}).values(), key=_event_position)
            grouped: dict[str, list[LiveEvent[EventPayload]]] = {}
            for record in records:
                grouped.setdefault(event_type_of(record.payload), []).append(record)
            indexed = {type_name: tuple(found) for type_name, found in grouped.items()}
            exchanges = _exchanges(indexed, self._project)
        state = LogState(
            position=self.position,
            recorded_at=None,
            project=self._project,
            events=(),
            by_type=by_type,
            organisations=cast(dict[str, Organisation], _Lookups(self._organisations, "org", reads)),
            participants=cast(
                dict[str, ParticipantRegistered], _Lookups(self._participants, "participant", reads)
            ),
            exchanges=exchanges,
            targets={},
            baselines={},
        )
        return state, kinds


_ON_THEN_POSITION = outputs._ON_THEN_POSITION
_NONE: tuple[list[int], list[Contribution]] = ([], [])
# A contribution or day not ended yet.
NEVER = 2**62
_RESULT_KINDS = frozenset(RESULT_EVENTS)
# What a state at a position holds beside the timelines: what targets, baselines and periods read,
# and (STATE_KINDS) what the state figures (R5, R7, I1–I6, the panel) read.
_BESIDE: tuple[type[EventPayload], ...] = (ProjectRegistered, TargetSet, BaselineRecorded)
STATE_KINDS: tuple[type[EventPayload], ...] = (
    OrganisationRegistered,
    OrganisationSizeClassChanged,
    StrategyMilestoneReached,
    ESCALabelAwarded,
    SMESurveyResponseRecorded,
)
_ORGANISATION_KINDS: frozenset[type[EventPayload]] = frozenset(
    {OrganisationRegistered, OrganisationSizeClassChanged}
)
# Every kind the state beside the timelines holds with STATE_KINDS (the state figures' stamp).
STATE_STAMP_KINDS: tuple[type[EventPayload], ...] = (*_BESIDE, *STATE_KINDS)
# The figures each kind of unit feeds (O7 apart: across units).
_FIGURES_FED_BY: dict[str, tuple[str, ...]] = {
    kind: tuple(figure for figure, kinds in UNITS_OF_FIGURE.items() if kind in kinds and figure != _O7)
    for kinds in UNITS_OF_FIGURE.values()
    for kind in kinds
}


class _Firsts:
    """One SME's first counted engagement in each unit, and the first of them all (a heap whose
    entries that no longer hold are dropped when they come to the top)."""

    __slots__ = ("_heap", "units")

    def __init__(self) -> None:
        self.units: dict[Unit, tuple[Any, int, str]] = {}
        self._heap: list[tuple[tuple[Any, int, str], int, Unit]] = []

    def set(self, unit: Unit, first: tuple[Any, int, str] | None) -> None:
        """A unit's first (day, position, size class), or None when it has none any more."""
        if first is None:
            self.units.pop(unit, None)
            return
        if self.units.get(unit) == first:
            return
        self.units[unit] = first
        heapq.heappush(self._heap, (first, next(_SERIAL), unit))
        if len(self._heap) > 2 * len(self.units) + 8:
            self._heap = [(at, next(_SERIAL), of) for of, at in self.units.items()]
            heapq.heapify(self._heap)

    def first(self) -> str | None:
        """The size class at the first engagement of all (None: none left)."""
        heap = self._heap
        while heap and self.units.get(heap[0][2]) != heap[0][0]:
            heapq.heappop(heap)
        return heap[0][0][2] if heap else None


_SERIAL = itertools.count()


def _move(
    index: dict[str, dict[uuid.UUID, Any]],
    key: str,
    event_id: uuid.UUID,
    old: LiveEvent[EventPayload] | None,
    new: LiveEvent[EventPayload] | None,
    key_of: Callable[[Any], str],
) -> None:
    """Keep `index[key]` holding the record's live version when it has that key (and not else)."""
    if old is not None and key_of(old) == key:
        found = index.get(key)
        if found is not None:
            found.pop(event_id, None)
            if not found:
                del index[key]
    if new is not None and key_of(new) == key:
        index.setdefault(key, {})[event_id] = new


def _event_position(event: LiveEvent[Any]) -> int:
    return event.position


def _session_id(event: LiveEvent[TrainingDelivered]) -> str:
    return event.payload.session_id


def _activity_id(event: LiveEvent[FeedbackCollected]) -> str:
    return event.payload.activity_id


def _org_id(event: LiveEvent[OrganisationRegistered]) -> str:
    return event.payload.org_id


def _participant_id(event: LiveEvent[ParticipantRegistered]) -> str:
    return event.payload.participant_id
