"""The periods a series is bucketed into, by occurred_on (DOMAIN.md (f), "Quarters and periods").

- ``month``: calendar months "YYYY-MM"; ``quarter``: calendar quarters "YYYY-Qn" (a project
  starting mid-quarter has a partial first quarter). They run from the project start to the
  project end, or to the latest dated result if that is later.
- ``reporting_period``: the ProjectRegistered periods, in order.

The first bucket also takes anything dated earlier and the last anything dated later: events
after the end date count in the final reporting period, and totals always equal the sum of
their periods. There is no separate "cumulative" kind: every point carries its period's own
figure and the cumulative figure from the start to the period's end, so the running series per
reporting period end is ``reporting_period``'s cumulative column and per quarter ``quarter``'s.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable
from typing import Literal, NamedTuple, get_args

from events.catalog import (
    ClusterServiceLaunched,
    CoachingSessionHeld,
    ESCALabelAwarded,
    ExchangeClosingReportSubmitted,
    ExchangeCompleted,
    FeedbackCollected,
    FollowUpCooperationRecorded,
    LumpSumPaid,
    OutreachEventHeld,
    PartnershipAgreementSigned,
    SMESurveyResponseRecorded,
    StrategyMilestoneReached,
    TrainingDelivered,
)
from indicators.log_view import LogState
from indicators.results import Period

PeriodKind = Literal["month", "quarter", "reporting_period"]
PERIOD_KINDS: tuple[str, ...] = get_args(PeriodKind)

# The events whose dates can carry a figure beyond the project end (and so lengthen a calendar
# series); registrations, targets and sign-offs never do.
RESULT_EVENTS = (
    TrainingDelivered,
    FeedbackCollected,
    CoachingSessionHeld,
    ExchangeCompleted,
    ExchangeClosingReportSubmitted,
    LumpSumPaid,
    FollowUpCooperationRecorded,
    OutreachEventHeld,
    PartnershipAgreementSigned,
    StrategyMilestoneReached,
    ClusterServiceLaunched,
    ESCALabelAwarded,
    SMESurveyResponseRecorded,
)


class Bucket(NamedTuple):
    """A period and the days it takes: None opens it below (the first) or above (the last)."""

    period: Period
    low: dt.date | None
    high: dt.date | None

    def holds(self, day: dt.date) -> bool:
        """Whether an event dated `day` is counted in this bucket."""
        return (self.low is None or day >= self.low) and (self.high is None or day <= self.high)


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` calendar months later, clamped to the month's end (31 Aug + 6 → 28/29 Feb)."""
    year, month = divmod(day.month - 1 + months, 12)
    year += day.year
    month += 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def period_buckets(
    state: LogState, kind: PeriodKind, result_days: Callable[[], tuple[dt.date, dt.date] | None] | None = None
) -> list[Bucket]:
    """The buckets of a series of `kind` over the state's project (none without a project or data).
    `result_days`: the first and last days of the live results, when the state does not hold them
    (timelines.py); by default they are read off the state."""
    if kind == "reporting_period":
        periods = [
            Period(period_id=p.period_id, start=p.start, end=p.end)
            for p in (state.project.reporting_periods if state.project is not None else [])
        ]
    else:
        span = _calendar_span(state, result_days or (lambda: result_days_of(state)))
        periods = _calendar_periods(*span, 1 if kind == "month" else 3) if span is not None else []
        project_start = state.project.start_date if state.project is not None else None
        if periods and project_start is not None and periods[0].start < project_start:
            # A project starting mid-quarter has a partial first quarter (and mid-month a partial
            # first month): it begins on the project's first day and keeps its calendar label.
            first = periods[0]
            periods[0] = Period(period_id=first.period_id, start=project_start, end=first.end)
    return [
        Bucket(
            period=period,
            low=None if index == 0 else period.start,
            high=None if index == len(periods) - 1 else period.end,
        )
        for index, period in enumerate(periods)
    ]


def _calendar_span(
    state: LogState, result_days: Callable[[], tuple[dt.date, dt.date] | None]
) -> tuple[dt.date, dt.date] | None:
    days = result_days()
    if state.project is not None:
        last = max(state.project.end_date, days[1]) if days else state.project.end_date
        return state.project.start_date, last
    return days


def result_days_of(state: LogState) -> tuple[dt.date, dt.date] | None:
    """The first and last days of the state's live result events (None: there are none)."""
    days = [e.occurred_on for kind in RESULT_EVENTS for e in state.live(kind)]
    return (min(days), max(days)) if days else None


def _calendar_periods(first_day: dt.date, last_day: dt.date, months: int) -> list[Period]:
    start = dt.date(first_day.year, (first_day.month - 1) // months * months + 1, 1)
    periods: list[Period] = []
    while start <= last_day:
        following = add_months(start, months)
        periods.append(
            Period(period_id=_label(start, months), start=start, end=following - dt.timedelta(days=1))
        )
        start = following
    return periods


def _label(start: dt.date, months: int) -> str:
    if months == 1:
        return f"{start.year}-{start.month:02d}"
    return f"{start.year}-Q{(start.month - 1) // 3 + 1}"
