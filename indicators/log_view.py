"""The fold over a project's log: what the log says "as of" a position (DOMAIN.md (f), log semantics).

``fold_log(entries, as_of=P)`` reads positions 1..P in order and keeps every event that is still
*live* there, as it stands after its corrections:

- ``ActivityRetracted`` removes its target from its own position on, as if it had never been
  appended (distinct counts are then recounted from what is left, never decremented). When the
  target carried an activity id (a session, exchange, coaching engagement or outreach id) and
  no other live record carries that id any more, every live event depending on the id is voided
  too: feedback, follow-ups and the exchange lifecycle events. Voiding is permanent: recording
  the activity again later does not bring the voided events back.
- ``CorrectionRecorded`` changes its live target in place with ``events.catalog.apply_correction``,
  several corrections of one event in log order; a correction that would leave the target invalid
  (the API refuses those) is skipped. A retracted correction no longer applies.
- Reference data is read as of P too: the last live registration of an organisation or a
  participant, the size classes in force from each ``OrganisationSizeClassChanged``'s own
  occurred_on, the last ``TargetSet``/``BaselineRecorded`` per (indicator, period, key).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import operator
import uuid
from collections.abc import Iterable
from typing import TypeVar, cast

import msgspec

from events.catalog import (
    ActivityRetracted,
    BaselineRecorded,
    CorrectionRecorded,
    EventPayload,
    ExchangeCancelled,
    ExchangeClosingReportSubmitted,
    ExchangeCompleted,
    ExchangeRegistered,
    FollowUpCooperationRecorded,
    LumpSumPaid,
    OrganisationRegistered,
    OrganisationSizeClassChanged,
    ParticipantRegistered,
    PayloadError,
    ProjectRegistered,
    TargetSet,
    apply_correction,
    event_type_of,
)
from events.catalog.activity_links import (
    CARRIED_ID,
    DEPENDENCY_ID,
    carried_activity_id,
    dependency_activity_id,
)
from events.entries import LiveEvent, LogEntry, P, entry_position, in_utc, utc_day

# A dimension value nobody recorded: an unregistered organisation, an anonymous respondent.
UNKNOWN = "unknown"
SME_SIZE_CLASSES = frozenset({"micro", "small", "medium"})

# (indicator_id, period_id, disaggregation_key) of a target or baseline.
TargetKey = tuple[str, str, str | None]


class Organisation(msgspec.Struct, frozen=True, kw_only=True):
    """An organisation's registration and its size-class history."""

    registration: OrganisationRegistered
    # (in force from, log position, size class), in the order they take effect.
    size_changes: tuple[tuple[dt.date, int, str], ...] = ()

    def size_class_on(self, day: dt.date) -> str:
        """The size class in force on `day`: a change applies from its own occurred_on."""
        current: str = self.registration.size_class
        for since, _, size_class in self.size_changes:
            if since > day:
                break
            current = size_class
        return current

    def is_sme_on(self, day: dt.date) -> bool:
        """An SME only by org_type SME and a micro/small/medium class in force on `day`."""
        return self.registration.org_type == "SME" and self.size_class_on(day) in SME_SIZE_CLASSES


class Exchange(msgspec.Struct, frozen=True, kw_only=True):
    """A live ExchangeRegistered with its live lifecycle events and follow-ups."""

    registration: LiveEvent[ExchangeRegistered]
    completion: LiveEvent[ExchangeCompleted] | None
    cancelled: bool
    closing_reports: tuple[LiveEvent[ExchangeClosingReportSubmitted], ...]
    payments: tuple[LiveEvent[LumpSumPaid], ...]
    follow_ups: tuple[LiveEvent[FollowUpCooperationRecorded], ...]
    # Paid by the project's partnership (vop_id; hosting never counts) and not cancelled.
    counted: bool

    @property
    def completed_and_counted(self) -> bool:
        """What O5, O6, O7, O8 and R3 count: a counted exchange with an ExchangeCompleted."""
        return self.counted and self.completion is not None

    @property
    def dated_on(self) -> dt.date | None:
        """The day every figure of the exchange is bucketed by: its completion (actual_end)."""
        return self.completion.occurred_on if self.completion is not None else None

    @property
    def sources(self) -> tuple[int, ...]:
        """The log positions of the exchange itself: its registration (who visits, who hosts, who
        pays) and the completion that counts and dates it, with their applied corrections."""
        completion = self.completion.sources if self.completion is not None else ()
        return (*self.registration.sources, *completion)


class LogState(msgspec.Struct, frozen=True, kw_only=True, weakref=True):
    """Everything live at one log position, ready for the KPI formulas."""

    position: int
    # When the last position read was recorded, in UTC.
    recorded_at: dt.datetime | None
    project: ProjectRegistered | None
    events: tuple[LiveEvent[EventPayload], ...]
    by_type: dict[str, tuple[LiveEvent[EventPayload], ...]]
    organisations: dict[str, Organisation]
    participants: dict[str, ParticipantRegistered]
    exchanges: dict[str, Exchange]
    targets: dict[TargetKey, TargetSet]
    baselines: dict[TargetKey, BaselineRecorded]

    def live(self, kind: type[P]) -> tuple[LiveEvent[P], ...]:
        """The live events of one payload type, in log order."""
        return _live(self.by_type, kind)

    @property
    def as_of_date(self) -> dt.date | None:
        """The day of the last position read (UTC), which time-elapsed shares are measured at."""
        return utc_day(self.recorded_at) if self.recorded_at is not None else None

    def size_class(self, org_id: str, day: dt.date) -> str:
        """The organisation's size class in force on `day` ("unknown" if unregistered)."""
        organisation = self.organisations.get(org_id)
        return organisation.size_class_on(day) if organisation is not None else UNKNOWN

    def is_sme(self, org_id: str, day: dt.date) -> bool:
        """Whether the organisation counted as an SME on `day`."""
        organisation = self.organisations.get(org_id)
        return organisation is not None and organisation.is_sme_on(day)


def resolve_as_of(entries: Iterable[LogEntry], as_of: int | dt.date | None) -> int | None:
    """The log position an "as of" names: a position as is; a date or time the last position
    recorded on or before it (a date means the whole UTC day); None the whole log."""
    if as_of is None or isinstance(as_of, int):
        return as_of
    if isinstance(as_of, dt.datetime):
        moment = as_of
        return max((e.position for e in entries if e.recorded_at <= moment), default=0)
    day = as_of
    return max((e.position for e in entries if utc_day(e.recorded_at) <= day), default=0)


@dataclasses.dataclass(slots=True)
class _Record:
    """One appended event while the log is folded: whether it is still live, and its corrections."""

    entry: LogEntry
    live: bool = True
    # The position of the retraction that made it not live (None while live).
    died: int | None = None
    corrections: list[_Record] = dataclasses.field(default_factory=list)
    cached: LiveEvent[EventPayload] | None = None
    # The activity id its current payload carries, and the one it depends on (see LogFold).
    carries: str | None = None
    depends: str | None = None

    def current(self) -> LiveEvent[EventPayload]:
        """The event after its live corrections, in log order."""
        if self.cached is None:
            payload, day = self.entry.payload, self.entry.occurred_on
            applied: list[int] = []
            for correction in self.corrections:
                corrected = _corrected(payload, day, correction.entry.payload) if correction.live else None
                if corrected is not None:
                    payload, day = corrected
                    applied.append(correction.entry.position)
            self.cached = LiveEvent(
                position=self.entry.position,
                event_id=self.entry.event_id,
                occurred_on=day,
                partner_org_id=self.entry.partner_org_id,
                payload=payload,
                correction_positions=tuple(applied),
            )
        return self.cached

    def at(self, position: int) -> LiveEvent[EventPayload]:
        """The event as it stood at `position`: after the corrections appended by then and still
        live then (the same as ``current()`` when those are the ones live now)."""
        then = [c for c in self.corrections if _live_at(c, position)]
        now = [c for c in self.corrections if c.live]
        if len(then) == len(now) and all(map(operator.is_, then, now)):
            return self.current()
        payload, day = self.entry.payload, self.entry.occurred_on
        applied: list[int] = []
        for correction in then:
            corrected = _corrected(payload, day, correction.entry.payload)
            if corrected is not None:
                payload, day = corrected
                applied.append(correction.entry.position)
        return LiveEvent(
            position=self.entry.position,
            event_id=self.entry.event_id,
            occurred_on=day,
            partner_org_id=self.entry.partner_org_id,
            payload=payload,
            correction_positions=tuple(applied),
        )


def _live_at(record: _Record, position: int) -> bool:
    return record.entry.position <= position and (record.died is None or record.died > position)


def _corrected(
    payload: EventPayload, day: dt.date, correction: EventPayload
) -> tuple[EventPayload, dt.date] | None:
    assert isinstance(correction, CorrectionRecorded)
    try:
        return apply_correction(payload, day, correction)
    except PayloadError:
        # The API refuses such a correction; one can still end up here when an earlier
        # correction it built on was retracted. It then changes nothing (None: not applied).
        return None


def fold_log(entries: Iterable[LogEntry], as_of: int | None = None) -> LogState:
    """The live state after reading positions 1..as_of (the whole log when None)."""
    fold = LogFold()
    for entry in sorted(entries, key=entry_position):
        if as_of is not None and entry.position > as_of:
            break
        fold.read(entry)
    return fold.state()


class LogFold:
    """A fold in progress: ``read`` the entries in position order, then take its ``state``.

    The records read so far are indexed by the activity ids their current payloads carry and
    depend on, so a retraction finds the other carriers and the dependents of an id directly.

    The indexes are lists that are never pruned: a record is one of an id's carriers (dependents)
    while it is live and its ``carries`` (``depends``) is still that id."""

    def __init__(self) -> None:
        self.last: LogEntry | None = None
        self._reading = 0
        self.records: dict[uuid.UUID, _Record] = {}
        # The records of each payload type, in the order read (position order).
        self.by_kind: dict[type[EventPayload], list[_Record]] = {}
        self.carriers: dict[str, list[_Record]] = {}
        self.dependents: dict[str, list[_Record]] = {}
        # The last state taken, and the records read since while nothing but new events was (None
        # once a correction or a retraction was): the next state is that one carried forward.
        self._last_state: LogState | None = None
        self._appended: list[_Record] | None = []
        # When a list: every record whose live version an entry read changed (appended, corrected,
        # retracted or voided), for a reader that follows the fold entry by entry (timelines.py).
        self.touched: list[_Record] | None = None

    def read(self, entry: LogEntry) -> None:
        """Fold one entry in (an event delivered twice is one event)."""
        self.last = entry
        self._reading = entry.position
        records = self.records
        if entry.event_id in records:
            return
        record = _Record(entry)
        records[entry.event_id] = record
        payload = entry.payload
        kind = type(payload)
        of_kind = self.by_kind.get(kind)
        if of_kind is None:
            self.by_kind[kind] = [record]
        else:
            of_kind.append(record)
        if kind is ActivityRetracted:
            self._retract(cast(ActivityRetracted, payload).target_event_id)
            self._appended = None
        elif kind is CorrectionRecorded:
            self._attach_correction(record, cast(CorrectionRecorded, payload).target_event_id)
            self._appended = None
        else:
            self._index(record, payload)
            if self._appended is not None:
                self._appended.append(record)
            if self.touched is not None:
                self.touched.append(record)

    def state(self) -> LogState:
        """Everything live after the entries read so far."""
        previous, appended = self._last_state, self._appended
        if previous is not None and appended is not None:
            # Only new live events since the last state (none of them changed another).
            state = _state_after(previous, tuple(record.current() for record in appended), self.last)
        else:
            state = _state(self.live_events(), self.last)
        self._last_state, self._appended = state, []
        return state

    def state_at(self, position: int, last: LogEntry | None) -> LogState:
        """Everything live once positions 1..`position` were read (at most the last read), given
        the last entry read by then."""
        return _state(self.events_at(position), last)

    def events_at(self, position: int) -> tuple[LiveEvent[EventPayload], ...]:
        """The live non-governance events as they stood once positions 1..`position` were read
        (at most the last position read): every record keeps when it stopped being live, and
        its corrections their positions, so an earlier state is a filter of this one."""
        found: list[LiveEvent[EventPayload]] = []
        for record in self.records.values():
            if record.entry.position > position:
                break  # records are kept in the order read, which is position order
            if (record.died is not None and record.died <= position) or type(
                record.entry.payload
            ) in _GOVERNANCE:
                continue
            found.append(record.current() if not record.corrections else record.at(position))
        return tuple(found)

    def events_of_at(
        self, position: int, kinds: Iterable[type[EventPayload]]
    ) -> tuple[LiveEvent[EventPayload], ...]:
        """``events_at`` restricted to some non-governance payload types (reading only theirs)."""
        found: list[LiveEvent[EventPayload]] = []
        for kind in kinds:
            for record in self.by_kind.get(kind, ()):
                if record.entry.position > position:
                    break
                if record.died is None or record.died > position:
                    found.append(record.current() if not record.corrections else record.at(position))
        found.sort(key=_event_position)
        return tuple(found)

    def live_events(self) -> tuple[LiveEvent[EventPayload], ...]:
        """Every live non-governance event as it stands, in log order."""
        return tuple(
            r.current() for r in self.records.values() if r.live and type(r.entry.payload) not in _GOVERNANCE
        )

    def _index(self, record: _Record, payload: EventPayload) -> None:
        carried = CARRIED_ID.get(type(payload))
        if carried is not None:
            record.carries = activity_id = getattr(payload, carried)
            self.carriers.setdefault(activity_id, []).append(record)
        dependency = DEPENDENCY_ID.get(type(payload))
        if dependency is not None:
            record.depends = activity_id = getattr(payload, dependency)
            self.dependents.setdefault(activity_id, []).append(record)

    def _refresh(self, record: _Record) -> None:
        """Re-read a live record after its corrections changed (its ids may have changed)."""
        record.cached = None
        if self.touched is not None:
            self.touched.append(record)
        if not record.live:
            return
        payload = record.current().payload
        if record.carries != carried_activity_id(payload) or record.depends != dependency_activity_id(
            payload
        ):
            record.carries = record.depends = None
            self._index(record, payload)

    def _attach_correction(self, correction: _Record, target_id: uuid.UUID) -> None:
        target = self.records.get(target_id)
        # A correction of a retracted, voided or governance event has nothing to change.
        if target is None or not target.live or type(target.entry.payload) in _GOVERNANCE:
            return
        target.corrections.append(correction)
        self._refresh(target)

    def _retract(self, target_id: uuid.UUID) -> None:
        target = self.records.get(target_id)
        if target is None or not target.live or type(target.entry.payload) is ActivityRetracted:
            return  # unknown, already gone, or a retraction (which cannot be retracted)
        target.live = False
        target.died = self._reading
        if self.touched is not None:
            self.touched.append(target)
        payload = target.entry.payload
        if isinstance(payload, CorrectionRecorded):
            corrected = self.records.get(payload.target_event_id)
            if corrected is not None:
                self._refresh(corrected)
            return
        activity_id = target.carries
        if activity_id is None:
            return
        if any(r.live and r.carries == activity_id for r in self.carriers.get(activity_id, ())):
            return  # another live record still carries the id: its dependents stay
        for record in self.dependents.get(activity_id, ()):
            if record.live and record.depends == activity_id:
                record.live = False
                record.died = self._reading
                if self.touched is not None:
                    self.touched.append(record)


_GOVERNANCE: frozenset[type[EventPayload]] = frozenset({CorrectionRecorded, ActivityRetracted})


def _event_position(event: LiveEvent[EventPayload]) -> int:
    return event.position


def _state(events: tuple[LiveEvent[EventPayload], ...], last: LogEntry | None) -> LogState:
    by_type: dict[str, list[LiveEvent[EventPayload]]] = {}
    for event in events:
        by_type.setdefault(event_type_of(event.payload), []).append(event)
    indexed = {name: tuple(found) for name, found in by_type.items()}
    projects = _live(indexed, ProjectRegistered)
    project = projects[-1].payload if projects else None
    return LogState(
        position=last.position if last is not None else 0,
        recorded_at=in_utc(last.recorded_at) if last is not None else None,
        project=project,
        events=events,
        by_type=indexed,
        organisations=_organisations(
            _live(indexed, OrganisationRegistered), _live(indexed, OrganisationSizeClassChanged)
        ),
        # The last live registration of an id wins, as the last write of reference data does.
        participants={e.payload.participant_id: e.payload for e in _live(indexed, ParticipantRegistered)},
        exchanges=_exchanges(indexed, project),
        targets={_key(e.payload): e.payload for e in _live(indexed, TargetSet)},
        baselines={_key(e.payload): e.payload for e in _live(indexed, BaselineRecorded)},
    )


# The parts of a state _state derives from live events, and the event types each is fed by (the
# project also feeds the exchanges: an exchange counts when its vop_id is the partnership's). Every
# other part is by_type: each type's own live events. The figure memo reads this too.
DERIVED_PARTS: dict[str, frozenset[str]] = {
    "project": frozenset({"ProjectRegistered"}),
    "organisations": frozenset({"OrganisationRegistered", "OrganisationSizeClassChanged"}),
    "participants": frozenset({"ParticipantRegistered"}),
    "exchanges": frozenset(
        {
            "ProjectRegistered",
            "ExchangeRegistered",
            "ExchangeCompleted",
            "ExchangeCancelled",
            "ExchangeClosingReportSubmitted",
            "LumpSumPaid",
            "FollowUpCooperationRecorded",
        }
    ),
    "targets": frozenset({"TargetSet"}),
    "baselines": frozenset({"BaselineRecorded"}),
}


def _state_after(
    previous: LogState, added: tuple[LiveEvent[EventPayload], ...], last: LogEntry | None
) -> LogState:
    """``_state`` of the previous state's live events followed by `added` (new live events that
    changed no other): the parts their types do not feed are the previous state's own."""
    events = previous.events + added
    if any(type(event.payload) is ProjectRegistered for event in added):
        return _state(events, last)  # the project feeds the exchanges and more: derive it all again
    grouped: dict[str, list[LiveEvent[EventPayload]]] = {}
    for event in added:
        grouped.setdefault(event_type_of(event.payload), []).append(event)
    indexed = dict(previous.by_type)
    for name, found in grouped.items():
        indexed[name] = (*indexed.get(name, ()), *found)
    changed = grouped.keys()

    def fed(part: str) -> bool:
        return not DERIVED_PARTS[part].isdisjoint(changed)

    return LogState(
        position=last.position if last is not None else 0,
        recorded_at=in_utc(last.recorded_at) if last is not None else None,
        project=previous.project,
        events=events,
        by_type=indexed,
        organisations=_organisations(
            _live(indexed, OrganisationRegistered), _live(indexed, OrganisationSizeClassChanged)
        )
        if fed("organisations")
        else previous.organisations,
        participants={e.payload.participant_id: e.payload for e in _live(indexed, ParticipantRegistered)}
        if fed("participants")
        else previous.participants,
        exchanges=_exchanges(indexed, previous.project) if fed("exchanges") else previous.exchanges,
        targets={_key(e.payload): e.payload for e in _live(indexed, TargetSet)}
        if fed("targets")
        else previous.targets,
        baselines={_key(e.payload): e.payload for e in _live(indexed, BaselineRecorded)}
        if fed("baselines")
        else previous.baselines,
    )


def _key(value: TargetSet | BaselineRecorded) -> TargetKey:
    return (value.indicator_id, value.period_id, value.disaggregation_key)


def _organisations(
    registrations: tuple[LiveEvent[OrganisationRegistered], ...],
    changes: tuple[LiveEvent[OrganisationSizeClassChanged], ...],
) -> dict[str, Organisation]:
    history: dict[str, list[tuple[dt.date, int, str]]] = {}
    for change in changes:
        history.setdefault(change.payload.org_id, []).append(
            (change.occurred_on, change.position, change.payload.size_class)
        )
    return {
        e.payload.org_id: Organisation(
            registration=e.payload, size_changes=tuple(sorted(history.get(e.payload.org_id, [])))
        )
        for e in registrations
    }


def _live(indexed: dict[str, tuple[LiveEvent[EventPayload], ...]], kind: type[P]) -> tuple[LiveEvent[P], ...]:
    return cast(tuple[LiveEvent[P], ...], indexed.get(kind.__name__, ()))


def _exchanges(
    indexed: dict[str, tuple[LiveEvent[EventPayload], ...]], project: ProjectRegistered | None
) -> dict[str, Exchange]:
    completions = _by_exchange(_live(indexed, ExchangeCompleted))
    cancellations = _by_exchange(_live(indexed, ExchangeCancelled))
    reports = _by_exchange(_live(indexed, ExchangeClosingReportSubmitted))
    payments = _by_exchange(_live(indexed, LumpSumPaid))
    follow_ups: dict[str, list[LiveEvent[FollowUpCooperationRecorded]]] = {}
    for follow_up in _live(indexed, FollowUpCooperationRecorded):
        follow_ups.setdefault(follow_up.payload.source_activity_id, []).append(follow_up)
    # A second live registration of one exchange id replaces the first, like any reference record.
    registrations = {e.payload.exchange_id: e for e in _live(indexed, ExchangeRegistered)}
    exchanges: dict[str, Exchange] = {}
    for exchange_id, registration in registrations.items():
        cancelled = exchange_id in cancellations
        paid_by_project = project is not None and registration.payload.vop_id == project.partnership_id
        completed = completions.get(exchange_id, ())
        exchanges[exchange_id] = Exchange(
            registration=registration,
            completion=completed[-1] if completed else None,
            cancelled=cancelled,
            closing_reports=reports.get(exchange_id, ()),
            payments=payments.get(exchange_id, ()),
            follow_ups=tuple(follow_ups.get(exchange_id, ())),
            counted=paid_by_project and not cancelled,
        )
    return exchanges


_Lifecycle = TypeVar(
    "_Lifecycle", ExchangeCompleted, ExchangeCancelled, ExchangeClosingReportSubmitted, LumpSumPaid
)


def _by_exchange(events: tuple[LiveEvent[_Lifecycle], ...]) -> dict[str, tuple[LiveEvent[_Lifecycle], ...]]:
    grouped: dict[str, list[LiveEvent[_Lifecycle]]] = {}
    for event in events:
        grouped.setdefault(event.payload.exchange_id, []).append(event)
    return {exchange_id: tuple(found) for exchange_id, found in grouped.items()}
