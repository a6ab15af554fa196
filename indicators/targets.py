"""Baselines, targets in force, progress and on-track status (DOMAIN.md (f), Targets).

The target in force for (indicator, period, disaggregation key) is the last live TargetSet for it
at the evaluated position; a period's target names the reporting period's id, the life-of-project
target "LoP". The baseline is the last BaselineRecorded for the same key and period, else for the
life of the project; progress counts a missing baseline as 0.

- Cumulative target: progress = 100·(actual − baseline)/(target − baseline), actual being the
  cumulative figure from the start to the period end (null when target = baseline).
- Incremental target: it is what the period itself should add, so progress = 100·(the period's
  own figure)/target, baseline not subtracted (null when the target is 0).
- Status compares progress with the share of the target's time window elapsed at the as-of date
  (the recorded_at day of the last position read): the window runs from the project start to the
  period end for cumulative and life-of-project targets, over the period itself for incremental
  ones. on_track when progress ≥ 90% of the elapsed share (or nothing has elapsed yet), at_risk
  when ≥ 60%, else off_track; null without a progress or an as-of date. Every KPI here ascends.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import TypeVar

from events.catalog import LIFE_OF_PROJECT, BaselineRecorded, TargetSet
from indicators.aggregation import EXACT, HUNDRED, ZERO, Measured, rounded
from indicators.kpi_catalog import INDICATOR_OF, FigureSheet, figure_name, target_ids
from indicators.log_view import LogState, TargetKey
from indicators.results import FigureSummary, Period, Status, TargetProgress

ON_TRACK_SHARE = Decimal("0.9")
AT_RISK_SHARE = Decimal("0.6")

V = TypeVar("V", TargetSet, BaselineRecorded)


def baseline_of(state: LogState, sheet: FigureSheet, period_id: str, key: str | None) -> Decimal | None:
    """The baseline value for a figure, period (or LoP) and disaggregation key, if recorded."""
    found = _lookup(state.baselines, sheet, period_id, key) or _lookup(
        state.baselines, sheet, LIFE_OF_PROJECT, key
    )
    return found.value if found is not None else None


def _lookup(values: Mapping[TargetKey, V], sheet: FigureSheet, period_id: str, key: str | None) -> V | None:
    for indicator_id in target_ids(sheet):
        found = values.get((indicator_id, period_id, key))
        if found is not None:
            return found
    return None


def target_progress(
    state: LogState,
    sheet: FigureSheet,
    period: Period | None,
    key: str | None,
    own: Measured,
    cumulative: Measured,
) -> TargetProgress | None:
    """Progress of a figure against its target for a reporting period (None: the life of the
    project), given the period's own and cumulative figures; None when no target is set."""
    period_id = period.period_id if period is not None else LIFE_OF_PROJECT
    target = _lookup(state.targets, sheet, period_id, key)
    if target is None:
        return None
    baseline = baseline_of(state, sheet, period_id, key)
    compared = cumulative if target.cumulative or period is None else own
    progress = _progress(target, baseline, compared.exact)
    expected = _elapsed_share(state, target, period)
    return TargetProgress(
        period_id=period_id,
        disaggregation_key=key,
        target=target.value,
        cumulative=target.cumulative,
        baseline=baseline,
        actual=compared.figure.value,
        progress=rounded(progress, 2) if progress is not None else None,
        expected=rounded(HUNDRED * expected, 2) if expected is not None else None,
        status=_status(progress, expected),
    )


def _progress(target: TargetSet, baseline: Decimal | None, actual: Decimal | None) -> Decimal | None:
    if actual is None:
        return None
    if not target.cumulative:
        return EXACT.divide(HUNDRED * actual, target.value) if target.value else None
    start = baseline if baseline is not None else ZERO
    if target.value == start:
        return None
    return EXACT.divide(HUNDRED * EXACT.subtract(actual, start), EXACT.subtract(target.value, start))


def _elapsed_share(state: LogState, target: TargetSet, period: Period | None) -> Decimal | None:
    """The share (0..1) of the target's window elapsed at the as-of date."""
    project, today = state.project, state.as_of_date
    if project is None or today is None:
        return None
    first = period.start if period is not None and not target.cumulative else project.start_date
    last = period.end if period is not None else project.end_date
    length = (last - first).days + 1
    if length <= 0:
        return None
    elapsed = min(max((today - first).days + 1, 0), length)
    return EXACT.divide(Decimal(elapsed), Decimal(length))


def _status(progress: Decimal | None, expected: Decimal | None) -> Status | None:
    if progress is None or expected is None:
        return None
    due = HUNDRED * expected
    if due == 0 or progress >= ON_TRACK_SHARE * due:
        return "on_track"
    if progress >= AT_RISK_SHARE * due:
        return "at_risk"
    return "off_track"


def figure_summary(state: LogState, sheet: FigureSheet, total: Measured) -> FigureSummary:
    """A figure to date as served: its sheet's names, the total, the life-of-project baseline and
    the target in force with progress towards it (the head of every figure's result)."""
    return FigureSummary(
        figure_id=sheet.figure_id,
        indicator_id=INDICATOR_OF[sheet.figure_id].indicator_id,
        name=figure_name(sheet),
        unit=sheet.unit,
        measure=sheet.measure,
        self_reported=sheet.self_reported,
        total=total.figure,
        baseline=baseline_of(state, sheet, "LoP", None),
        target=target_progress(state, sheet, None, None, total, total),
    )
