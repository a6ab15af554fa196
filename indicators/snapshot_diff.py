"""Between two snapshots: which figures changed, and the logged events that changed them.

Every event recorded between the earlier snapshot's position and the later one's is read and
sorted into what it is:

- ``correction`` / ``retraction``: a CorrectionRecorded / ActivityRetracted, with its target's
  type, position and date, who recorded it and the reason it carries;
- ``late_entry``: an activity dated on or before the earlier snapshot's as-of date but recorded
  after it (what the earlier snapshot could not know);
- ``target_change``: a TargetSet or BaselineRecorded;
- ``new_entry``: anything else that feeds figures (new activities, registrations), counted by
  type rather than listed one by one.

An event is named under a changed figure when its type (for a correction or retraction, its
target's type) feeds that figure's indicator (FEEDS below, DOMAIN.md (b)'s "formula over
events") and, when only some periods of the figure changed, when it is dated in one of them (a
correction by its target's old or new date). This is conservative: it can name an event whose
effect another one cancelled, never leave out one that changed the figure.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal

import msgspec

from events.catalog import ActivityRetracted, BaselineRecorded, CorrectionRecorded, TargetSet, payload_type
from events.catalog.checks import OCCURRED_ON
from events.entries import log_entry
from events.envelope import RecordedEvent
from indicators.kpi_catalog import FIGURES, INDICATOR_OF, INDICATORS
from indicators.results import Period
from indicators.snapshot import SnapshotDocument
from indicators.snapshot_compare import PANEL, FigureDifference, ValueChange
from indicators.snapshot_store import TargetEvent

ChangeKind = Literal["correction", "retraction", "late_entry", "target_change", "new_entry"]
# A span of days (None: open at that end).
Span = tuple[dt.date | None, dt.date | None]

_EXCHANGE_KPIS = frozenset({"O5", "O6", "O7", "O8", "O11", "R1", "R3"})
_EVERY_INDICATOR = frozenset(sheet.indicator_id for sheet in INDICATORS)
_IMPACT_INDICATORS = frozenset(sheet.indicator_id for sheet in INDICATORS if sheet.level == "impact")
_REFERENCE_DATA = (
    "ProjectRegistered",
    "OrganisationRegistered",
    "OrganisationSizeClassChanged",
    "ParticipantRegistered",
)

# Event type → the indicators whose formulas read it (outputs.py, outcomes.py, impact.py).
# Reference data carries the dimensions (and SME status, roles, partners) of every figure.
FEEDS: dict[str, frozenset[str]] = {
    "TrainingDelivered": frozenset({"O1", "O2", "O3", "O7", "R2"}),
    "FeedbackCollected": frozenset({"R2"}),
    "CoachingSessionHeld": frozenset({"O4", "O7"}),
    "ExchangeRegistered": _EXCHANGE_KPIS,
    "ExchangeCompleted": _EXCHANGE_KPIS,
    "ExchangeCancelled": _EXCHANGE_KPIS,
    "ExchangeClosingReportSubmitted": frozenset({"R1"}),
    "LumpSumPaid": frozenset({"O11"}),
    "FollowUpCooperationRecorded": frozenset({"R3"}),
    "OutreachEventHeld": frozenset({"O7", "O9", "O10"}),
    "PartnershipAgreementSigned": frozenset({"O8", "R4"}),
    "StrategyMilestoneReached": frozenset({"R5"}),
    "ClusterServiceLaunched": frozenset({"R6"}),
    "ESCALabelAwarded": frozenset({"R7"}),
    "SMESurveyResponseRecorded": frozenset({"I1", "I2", "I3", "I4", "I5", "I6"}),
    **dict.fromkeys(_REFERENCE_DATA, _EVERY_INDICATOR),
}
_INDICATOR_BY_TARGET_ID = {
    **{figure.figure_id: INDICATOR_OF[figure.figure_id].indicator_id for figure in FIGURES},
    **{sheet.indicator_id: sheet.indicator_id for sheet in INDICATORS},
}


class LoggedChange(msgspec.Struct, frozen=True, kw_only=True):
    """One logged event between two snapshots, as an auditor reads it: what, who, when, why."""

    position: int
    event_id: uuid.UUID
    type: str
    kind: ChangeKind
    occurred_on: dt.date | None
    recorded_at: dt.datetime
    recorded_by: str | None
    actor_role: str | None
    partner_org_id: str | None
    reason: str | None = None
    # Corrections and retractions: the event they change, and (corrections) the new values.
    target_event_id: uuid.UUID | None = None
    target_position: int | None = None
    target_type: str | None = None
    field_changes: dict[str, Any] | None = None


class ChangedFigure(msgspec.Struct, frozen=True, kw_only=True):
    """A figure that differs between two snapshots, its changed values, and why."""

    figure_id: str
    changes: tuple[ValueChange, ...]
    # Corrections, retractions, late entries and target changes that feed it, in log order.
    events: tuple[LoggedChange, ...]
    # New entries that feed it, counted by event type.
    new_entries: dict[str, int]


class _Classified(msgspec.Struct, frozen=True, kw_only=True):
    change: LoggedChange
    indicators: frozenset[str]
    # The days that place it in a period (None: it can touch any period).
    days: tuple[dt.date, ...] | None


def explain_changes(
    earlier: SnapshotDocument,
    later: SnapshotDocument,
    differences: Sequence[FigureDifference],
    events: Iterable[RecordedEvent],
    targets: Mapping[uuid.UUID, TargetEvent],
) -> tuple[ChangedFigure, ...]:
    """Each changed figure with the events between the two snapshots that feed it."""
    known = earlier.indicators.as_of_date or dt.date.min
    classified = [c for c in (_classify(e, targets, known) for e in events) if c is not None]
    periods = later.indicators.periods
    return tuple(_changed_figure(difference, classified, periods) for difference in differences)


def _changed_figure(
    difference: FigureDifference, classified: list[_Classified], periods: tuple[Period, ...]
) -> ChangedFigure:
    wanted = _indicators_of(difference.figure_id)
    spans = _changed_spans(difference, periods)
    named: list[LoggedChange] = []
    counted: dict[str, int] = {}
    for item in classified:
        if not wanted & item.indicators or not _dated_in(item.days, spans):
            continue
        if item.change.kind == "new_entry":
            counted[item.change.type] = counted.get(item.change.type, 0) + 1
        else:
            named.append(item.change)
    return ChangedFigure(
        figure_id=difference.figure_id, changes=difference.changes, events=tuple(named), new_entries=counted
    )


def _indicators_of(figure_id: str) -> frozenset[str]:
    """The indicators a changed figure belongs to (the survey panel: every impact indicator)."""
    if figure_id == PANEL:
        return _IMPACT_INDICATORS
    indicator = _INDICATOR_BY_TARGET_ID.get(figure_id)
    return frozenset({indicator}) if indicator is not None else frozenset()


def _changed_spans(difference: FigureDifference, periods: tuple[Period, ...]) -> list[Span] | None:
    """The days whose events can have made the changes: a period's own value and cells its own
    days, anything cumulative (or a target's progress) everything up to its end; None (any day)
    when something beyond the periods changed (a total, a breakdown)."""
    last = len(periods) - 1
    # The first period also takes anything dated earlier, the last anything later (periods.py).
    own: dict[str, Span] = {
        period.period_id: (None if index == 0 else period.start, None if index == last else period.end)
        for index, period in enumerate(periods)
    }
    spans: list[Span] = []
    for change in difference.changes:
        if not change.path.startswith("points["):
            return None
        period_id, _, rest = change.path[len("points[") :].partition("].")
        if period_id not in own:
            return None
        low, high = own[period_id]
        spans.append((low, high) if rest.split(".", 1)[0] in ("value", "cells") else (None, high))
    return spans


def _dated_in(days: tuple[dt.date, ...] | None, spans: list[Span] | None) -> bool:
    if days is None or spans is None:
        return True
    return any(
        (low is None or day >= low) and (high is None or day <= high) for day in days for low, high in spans
    )


def _classify(
    event: RecordedEvent, targets: Mapping[uuid.UUID, TargetEvent], known: dt.date
) -> _Classified | None:
    entry = log_entry(event)
    payload = entry.payload
    metadata = event.decoded_metadata()
    base: dict[str, Any] = {
        "position": event.position,
        "event_id": event.event_id,
        "type": event.type,
        "occurred_on": event.occurred_on,
        "recorded_at": event.recorded_at,
        "recorded_by": _text(metadata.get("actor")),
        "actor_role": _text(metadata.get("actor_role")),
        "partner_org_id": entry.partner_org_id,
    }
    if isinstance(payload, CorrectionRecorded | ActivityRetracted):
        target = targets.get(payload.target_event_id)
        target_type = target.type if target is not None else None
        days = _target_days(target, payload)
        correction = isinstance(payload, CorrectionRecorded)
        change = LoggedChange(
            **base,
            kind="correction" if correction else "retraction",
            reason=payload.reason,
            target_event_id=payload.target_event_id,
            target_position=target.position if target is not None else None,
            target_type=target_type,
            field_changes=dict(payload.field_changes) if isinstance(payload, CorrectionRecorded) else None,
        )
        return _Classified(
            change=change, indicators=FEEDS.get(target_type or "", _EVERY_INDICATOR), days=days
        )
    if isinstance(payload, TargetSet | BaselineRecorded):
        indicator = _INDICATOR_BY_TARGET_ID.get(payload.indicator_id, payload.indicator_id)
        change = LoggedChange(**base, kind="target_change", reason=payload.rationale)
        return _Classified(change=change, indicators=frozenset({indicator}), days=None)
    feeds = FEEDS.get(event.type)
    if feeds is None:
        return None
    late = event.type not in _REFERENCE_DATA and entry.occurred_on <= known
    change = LoggedChange(**base, kind="late_entry" if late else "new_entry")
    return _Classified(change=change, indicators=feeds, days=(entry.occurred_on,))


def _target_days(
    target: TargetEvent | None, payload: CorrectionRecorded | ActivityRetracted
) -> tuple[dt.date, ...] | None:
    """The day that places a correction's or retraction's effect in a period: its target's date,
    unless the correction moves that date (then any period may change)."""
    if target is None or target.occurred_on is None:
        return None
    if isinstance(payload, CorrectionRecorded):
        self_date = payload_type(target.type).self_date_field
        if OCCURRED_ON in payload.field_changes or (
            self_date is not None and self_date in payload.field_changes
        ):
            return None
    return (target.occurred_on,)


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
