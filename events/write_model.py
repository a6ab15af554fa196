"""What the log must already hold for a new event to be accepted: the write model.

A pure fold over a project's log (`apply`) and the domain rules a new event must pass against it
(`problems`): references exist and are live, the exchange lifecycle is respected, dates fall in
the project, approved periods are locked, corrections and retractions name a live event.
Type-level rules that need no log (field types, self-dates) live in events.catalog.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from collections.abc import Iterator

from events.catalog import (
    ActivityRetracted,
    CorrectionRecorded,
    EventPayload,
    ExchangeCancelled,
    ExchangeClosingReportSubmitted,
    ExchangeCompleted,
    ExchangeRegistered,
    IndicatorDefined,
    LumpSumPaid,
    OrganisationRegistered,
    ParticipantRegistered,
    PayloadError,
    PeriodApproved,
    PeriodReopened,
    ProjectRegistered,
    Reference,
    apply_correction,
    check_dated_within_project,
    event_type_of,
    references,
)
from events.catalog.activity_links import carried_activity_id, dependency_activity_id

KPI_IDS = frozenset(
    [f"O{i}" for i in range(1, 12)] + [f"R{i}" for i in range(1, 8)] + [f"I{i}" for i in range(1, 7)]
)

# The lifecycle of an exchange, in the order its events may arrive.
_NEEDS_COMPLETION = (ExchangeClosingReportSubmitted, LumpSumPaid)


@dataclasses.dataclass
class Recorded:
    """One live event the model remembers: enough to correct or retract it."""

    event_type: str
    stream_id: str
    payload: EventPayload
    occurred_on: dt.date
    partner_org_id: str | None
    activity_ids: tuple[str, ...]
    # As appended, and its live corrections in log order: retracting one re-applies the others.
    original: tuple[EventPayload, dt.date] | None = None
    corrections: list[tuple[uuid.UUID, CorrectionRecorded]] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Exchange:
    """Where one exchange is in its lifecycle: the live events registering, completing and
    cancelling it (a retracted one is as if it had never been appended)."""

    registrations: set[uuid.UUID] = dataclasses.field(default_factory=set)
    completions: set[uuid.UUID] = dataclasses.field(default_factory=set)
    cancellations: set[uuid.UUID] = dataclasses.field(default_factory=set)

    @property
    def completed(self) -> bool:
        """Whether a live ExchangeCompleted names it."""
        return bool(self.completions)

    @property
    def cancelled(self) -> bool:
        """Whether a live ExchangeCancelled names it."""
        return bool(self.cancellations)


@dataclasses.dataclass
class WriteModel:
    """The facts validation needs, as of `position`."""

    position: int = 0
    project: ProjectRegistered | None = None
    orgs: set[str] = dataclasses.field(default_factory=set)
    participants: set[str] = dataclasses.field(default_factory=set)
    indicators: set[str] = dataclasses.field(default_factory=lambda: set(KPI_IDS))
    exchanges: dict[str, Exchange] = dataclasses.field(default_factory=dict)
    # activity id -> the live events that carry it (a session recorded twice has two)
    activities: dict[str, set[uuid.UUID]] = dataclasses.field(default_factory=dict)
    events: dict[uuid.UUID, Recorded] = dataclasses.field(default_factory=dict)
    # activity id -> the live events that depend on it (feedback, follow-ups, exchange lifecycle)
    dependents: dict[str, set[uuid.UUID]] = dataclasses.field(default_factory=dict)
    retracted: set[uuid.UUID] = dataclasses.field(default_factory=set)
    # event id -> the retracted activity it was voided with (DOMAIN.md (f): for good)
    voided: dict[uuid.UUID, str] = dataclasses.field(default_factory=dict)
    approved: set[tuple[str, str]] = dataclasses.field(default_factory=set)

    def apply(
        self,
        position: int,
        event_id: uuid.UUID,
        stream_id: str,
        payload: EventPayload,
        occurred_on: dt.date,
        partner_org_id: str | None,
    ) -> None:
        """Fold one accepted event into the model."""
        self.position = position
        match payload:
            case ProjectRegistered():
                self.project = payload
            case OrganisationRegistered():
                self.orgs.add(payload.org_id)
            case ParticipantRegistered():
                self.participants.add(payload.participant_id)
            case IndicatorDefined():
                self.indicators.add(payload.indicator_id)
            case ExchangeRegistered():
                # A second record of one exchange joins the first (the fold keeps its lifecycle).
                self.exchanges.setdefault(payload.exchange_id, Exchange()).registrations.add(event_id)
            case ExchangeCompleted():
                self.exchanges[payload.exchange_id].completions.add(event_id)
            case ExchangeCancelled():
                self.exchanges[payload.exchange_id].cancellations.add(event_id)
            case PeriodApproved():
                self.approved.add((payload.period_id, payload.partner_org_id))
            case PeriodReopened():
                self.approved.discard((payload.period_id, payload.partner_org_id))
            case CorrectionRecorded():
                self._correct(event_id, payload)
            case ActivityRetracted():
                self._retract(payload.target_event_id)
        ids = _activity_ids(payload)
        for activity_id in ids:
            self.activities.setdefault(activity_id, set()).add(event_id)
        self.events[event_id] = Recorded(
            event_type_of(payload), stream_id, payload, occurred_on, partner_org_id, ids
        )
        dependency = dependency_activity_id(payload)
        if dependency is not None:
            self.dependents.setdefault(dependency, set()).add(event_id)

    def _correct(self, correction_id: uuid.UUID, correction: CorrectionRecorded) -> None:
        target = self.events.get(correction.target_event_id)
        if target is None:
            return
        if target.original is None:
            target.original = (target.payload, target.occurred_on)
        target.corrections.append((correction_id, correction))
        self._reapply(correction.target_event_id, target)

    def _reapply(self, target_id: uuid.UUID, target: Recorded) -> None:
        """The target as its original with its live corrections applied in log order; one that
        no longer fits (an earlier one it built on was retracted) changes nothing, as in the fold."""
        assert target.original is not None
        payload, day = target.original
        for _, correction in target.corrections:
            try:
                payload, day = apply_correction(payload, day, correction)
            except PayloadError:
                continue  # refused when recorded, or its base was retracted: the fold skips it too
        before, after = dependency_activity_id(target.payload), dependency_activity_id(payload)
        if before != after:  # feedback corrected to name another session, say
            self.dependents.get(before or "", set()).discard(target_id)
            if after is not None:
                self.dependents.setdefault(after, set()).add(target_id)
        carried = _activity_ids(payload)
        if carried != target.activity_ids:  # an outreach_id corrected: feedback may name the new one
            for activity_id in target.activity_ids:
                carriers = self.activities.get(activity_id, set())
                carriers.discard(target_id)
                if not carriers:
                    self.activities.pop(activity_id, None)
            for activity_id in carried:
                self.activities.setdefault(activity_id, set()).add(target_id)
            target.activity_ids = carried
        target.payload = payload
        target.occurred_on = day

    def _retract(self, event_id: uuid.UUID) -> None:
        target = self.events.pop(event_id, None)
        self.retracted.add(event_id)
        if target is None:
            return
        dependency = dependency_activity_id(target.payload)
        if dependency is not None:
            self.dependents.get(dependency, set()).discard(event_id)
        for activity_id in target.activity_ids:
            carriers = self.activities.get(activity_id, set())
            carriers.discard(event_id)
            if not carriers:
                self.activities.pop(activity_id, None)
                self._void_dependents(activity_id)
        payload = target.payload
        if isinstance(payload, CorrectionRecorded):
            corrected = self.events.get(payload.target_event_id)
            if corrected is not None:
                corrected.corrections = [c for c in corrected.corrections if c[0] != event_id]
                self._reapply(payload.target_event_id, corrected)
            return
        if isinstance(payload, ExchangeRegistered | ExchangeCompleted | ExchangeCancelled):
            exchange = self.exchanges.get(payload.exchange_id)
            if exchange is None:
                return
            exchange.registrations.discard(event_id)
            exchange.completions.discard(event_id)
            exchange.cancellations.discard(event_id)
            if not exchange.registrations:
                # No live record carries the exchange: its lifecycle is voided with it for good
                # (log_view.LogFold._retract), so a new registration starts afresh.
                del self.exchanges[payload.exchange_id]

    def _void_dependents(self, activity_id: str) -> None:
        """No live record carries the activity any more: what depends on it is voided with it,
        for good (log_view.LogFold._retract), and can be neither corrected nor retracted."""
        for event_id in self.dependents.pop(activity_id, set()):
            if self.events.pop(event_id, None) is not None:
                self.voided[event_id] = activity_id

    def problems(
        self, payload: EventPayload, occurred_on: dt.date, partner_org_id: str | None
    ) -> list[PayloadError]:
        """Why this event cannot be appended now (empty when it can)."""
        if self.project is None:
            if isinstance(payload, ProjectRegistered):
                return []
            return [PayloadError("type", "the project must be registered (ProjectRegistered) first")]
        if isinstance(payload, ProjectRegistered):
            return [PayloadError("type", "the project is already registered")]
        found = list(self._reference_problems(payload))
        found += self._lifecycle_problems(payload)
        found += check_dated_within_project(
            event_type_of(payload), occurred_on, self.project, self._final_approved()
        )
        found += self._lock_problems(payload, occurred_on, partner_org_id)
        return found

    def _reference_problems(self, payload: EventPayload) -> Iterator[PayloadError]:
        for ref in references(payload):
            if not self._exists(ref):
                yield PayloadError(f"data.{ref.path}", self._missing(ref))

    def _missing(self, ref: Reference) -> str:
        if ref.kind == "event":
            try:
                event_id = uuid.UUID(ref.id)
            except ValueError:
                return _missing(ref)
            if event_id in self.voided:
                return (
                    f"event {ref.id} was voided when activity {self.voided[event_id]!r} was retracted; "
                    "record the activity and its events again instead"
                )
            if event_id in self.retracted:
                return f"event {ref.id} was retracted; record it again instead"
        return _missing(ref)

    def _exists(self, ref: Reference) -> bool:
        assert self.project is not None
        if ref.kind == "org":
            return ref.id in self.orgs
        if ref.kind == "participant":
            return ref.id in self.participants
        if ref.kind == "exchange":
            return ref.id in self.exchanges
        if ref.kind == "activity":
            return ref.id in self.activities
        if ref.kind == "indicator":
            return ref.id in self.indicators
        if ref.kind == "period":
            return any(p.period_id == ref.id for p in self.project.reporting_periods)
        try:
            return uuid.UUID(ref.id) in self.events
        except ValueError:
            return False

    def _lifecycle_problems(self, payload: EventPayload) -> list[PayloadError]:
        if isinstance(payload, ExchangeRegistered):
            if payload.exchange_id in self.exchanges:
                return [
                    PayloadError(
                        "data.exchange_id", f"exchange {payload.exchange_id!r} is already registered"
                    )
                ]
            return []
        exchange_id = getattr(payload, "exchange_id", None)
        exchange = self.exchanges.get(exchange_id) if isinstance(exchange_id, str) else None
        if exchange is not None:
            if exchange.cancelled:
                return [PayloadError("data.exchange_id", f"exchange {exchange_id!r} was cancelled")]
            if isinstance(payload, ExchangeCancelled) and exchange.completed:
                return [
                    PayloadError(
                        "data.exchange_id", f"exchange {exchange_id!r} is completed and cannot be cancelled"
                    )
                ]
            if isinstance(payload, ExchangeCompleted) and exchange.completed:
                return [
                    PayloadError(
                        "data.exchange_id",
                        f"exchange {exchange_id!r} is already completed; correct it instead",
                    )
                ]
            if isinstance(payload, _NEEDS_COMPLETION) and not exchange.completed:
                return [PayloadError("data.exchange_id", f"exchange {exchange_id!r} is not completed yet")]
        if isinstance(payload, CorrectionRecorded | ActivityRetracted):
            return self._governance_problems(payload)
        return []

    def _governance_problems(self, payload: CorrectionRecorded | ActivityRetracted) -> list[PayloadError]:
        target = self.events.get(payload.target_event_id)
        if target is None:
            return []  # reported as a missing reference
        if target.event_type in ("ActivityRetracted", "CorrectionRecorded"):
            verb = "retracted" if isinstance(payload, ActivityRetracted) else "corrected"
            return [
                PayloadError(
                    "data.target_event_id",
                    f"a {target.event_type} cannot be {verb}; record the activity again instead",
                )
            ]
        if isinstance(payload, CorrectionRecorded):
            try:
                corrected, moved_to = apply_correction(target.payload, target.occurred_on, payload)
            except PayloadError as error:
                return [PayloadError(_prefixed(error.field_path), error.message)]
            found = [
                PayloadError(f"data.field_changes{p.field_path.removeprefix('data')}", p.message)
                for p in self._reference_problems(corrected)
            ]
            if moved_to != target.occurred_on:
                # A correction that moves the event is judged by the project window like the
                # event itself would be (DOMAIN.md (f)): no training moved before the start.
                assert self.project is not None
                found += [
                    PayloadError("data.field_changes.occurred_on", p.message)
                    for p in check_dated_within_project(
                        target.event_type, moved_to, self.project, self._final_approved()
                    )
                ]
            return found
        return []

    def _lock_problems(
        self, payload: EventPayload, occurred_on: dt.date, partner_org_id: str | None
    ) -> list[PayloadError]:
        if isinstance(payload, PeriodApproved | PeriodReopened) or partner_org_id is None:
            return []
        if payload.outside_reporting:
            return []  # consent, erasure, snapshots: no period's data, nothing to lock
        dates = [occurred_on]
        if isinstance(payload, CorrectionRecorded | ActivityRetracted):
            target = self.events.get(payload.target_event_id)
            if target is not None:
                dates = [target.occurred_on]
                if isinstance(payload, CorrectionRecorded):
                    try:
                        dates.append(apply_correction(target.payload, target.occurred_on, payload)[1])
                    except PayloadError:
                        pass  # an invalid correction: _reference_problems names what is wrong
                partner_org_id = target.partner_org_id or partner_org_id
        for date in dates:
            period = self.period_of(date)
            if period is not None and (period, partner_org_id) in self.approved:
                return [
                    PayloadError(
                        "occurred_on",
                        f"period {period} of partner {partner_org_id} is approved and locked; "
                        "record PeriodReopened with a reason first",
                    )
                ]
        return []

    def period_of(self, day: dt.date) -> str | None:
        """The reporting period a date falls in (after the end: the final one)."""
        assert self.project is not None
        periods = self.project.reporting_periods
        for period in periods:
            if period.start <= day <= period.end:
                return period.period_id
        if periods and day > periods[-1].end:
            return periods[-1].period_id
        return None

    def _final_approved(self) -> bool:
        assert self.project is not None
        final = [p.period_id for p in self.project.reporting_periods if p.kind == "final"]
        partners = self.project.partners
        return bool(final) and all((final[0], partner) in self.approved for partner in partners)


def _activity_ids(payload: EventPayload) -> tuple[str, ...]:
    """The activity ids an event introduces (what feedback and follow-ups may name)."""
    carried = carried_activity_id(payload)
    return (carried,) if carried is not None else ()


def _prefixed(path: str) -> str:
    return path if path.startswith(("data", "occurred_on")) else f"data.{path}"


def _missing(ref: Reference) -> str:
    names = {
        "org": "organisation",
        "participant": "participant",
        "exchange": "exchange",
        "activity": "live activity",
        "indicator": "indicator",
        "event": "live event",
        "period": "reporting period",
    }
    return f"no {names[ref.kind]} {ref.id!r} in this project (register it first)"
