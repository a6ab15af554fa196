"""Which snapshots a project owes, and when: its milestones, read from ProjectRegistered.

- **interim**: one per interim reporting period, as of the end of its last day;
- **final**: one for the final reporting period (the project's end), likewise;
- **periodic** (optional, a cadence from settings): one per calendar quarter ("2025-Q1") or month
  ("2025-03") the project overlaps, as of the end of that calendar period.

"As of the end of a day" means the last log position recorded before 00:00 UTC of the next day:
the figures are what the platform knew when the period closed, whenever the snapshot is actually
published (a service that was down publishes the same document when it comes back). A milestone
falls due ``grace`` after that moment, so appends already under way at midnight have committed.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Literal, get_args

import msgspec

from events.catalog import ProjectRegistered
from indicators.periods import add_months
from indicators.results import Period
from indicators.snapshot import SnapshotError

Cadence = Literal["monthly", "quarterly"]
CADENCES: tuple[str, ...] = get_args(Cadence)

_QUARTER = re.compile(r"^(\d{4})-Q([1-4])$")
_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class Milestone(msgspec.Struct, frozen=True, kw_only=True):
    """One snapshot a project owes: its kind, its period and the moment its figures are as of."""

    kind: Literal["interim", "final", "periodic"]
    period: Period
    # The ProjectRegistered period it reports on (what the SnapshotPublished event names).
    reporting_period_id: str | None
    # Figures are as of the last position recorded strictly before this moment.
    as_of_before: dt.datetime
    due_at: dt.datetime


def end_of_day(day: dt.date) -> dt.datetime:
    """00:00 UTC of the day after `day`: the end of `day`."""
    return dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), tzinfo=dt.UTC)


def milestones(
    registration: ProjectRegistered, cadence: Cadence | None = None, grace: dt.timedelta = dt.timedelta()
) -> list[Milestone]:
    """Every snapshot the project owes over its life, in due order."""
    found = [
        _milestone(
            "final" if p.kind == "final" else "interim",
            Period(period_id=p.period_id, start=p.start, end=p.end),
            p.period_id,
            grace,
        )
        for p in registration.reporting_periods
    ]
    if cadence is not None:
        found += [
            _milestone("periodic", period, None, grace)
            for period in calendar_periods(registration.start_date, registration.end_date, cadence)
        ]
    return sorted(found, key=lambda m: (m.due_at, m.kind, m.period.period_id))


def milestone_for(
    registration: ProjectRegistered, kind: str, period_id: str | None, grace: dt.timedelta = dt.timedelta()
) -> Milestone:
    """The milestone a publish request names; SnapshotError says what is wrong with it."""
    if kind == "periodic":
        if period_id is None:
            raise SnapshotError("a periodic snapshot names its calendar period, e.g. 2025-Q1 or 2025-03")
        return _milestone("periodic", calendar_period(period_id), None, grace)
    if kind not in ("interim", "final"):
        raise SnapshotError(f"{kind!r} snapshots have no milestone")
    owed = [m for m in milestones(registration, None, grace) if m.kind == kind]
    if period_id is None and kind == "final":
        return owed[-1]
    for milestone in owed:
        if milestone.period.period_id == period_id:
            return milestone
    names = ", ".join(m.period.period_id for m in owed) or "none"
    raise SnapshotError(
        f"no {kind} reporting period {period_id!r} in this project; its {kind} periods: {names}"
    )


def calendar_periods(first_day: dt.date, last_day: dt.date, cadence: Cadence) -> list[Period]:
    """The calendar quarters or months overlapping [first_day, last_day], whole."""
    months = 3 if cadence == "quarterly" else 1
    start = dt.date(first_day.year, (first_day.month - 1) // months * months + 1, 1)
    found: list[Period] = []
    while start <= last_day:
        found.append(_calendar_period(start, months))
        start = add_months(start, months)
    return found


def calendar_period(period_id: str) -> Period:
    """The calendar period a label names: "2025-Q1" (a quarter) or "2025-03" (a month)."""
    quarter = _QUARTER.match(period_id)
    if quarter is not None:
        return _calendar_period(dt.date(int(quarter[1]), 3 * int(quarter[2]) - 2, 1), 3)
    month = _MONTH.match(period_id)
    if month is not None:
        return _calendar_period(dt.date(int(month[1]), int(month[2]), 1), 1)
    raise SnapshotError(f"period {period_id!r}: expected a calendar quarter (2025-Q1) or month (2025-03)")


def _calendar_period(start: dt.date, months: int) -> Period:
    label = (
        f"{start.year}-Q{(start.month - 1) // 3 + 1}" if months == 3 else f"{start.year}-{start.month:02d}"
    )
    return Period(period_id=label, start=start, end=add_months(start, months) - dt.timedelta(days=1))


def _milestone(
    kind: Literal["interim", "final", "periodic"], period: Period, reporting: str | None, grace: dt.timedelta
) -> Milestone:
    boundary = end_of_day(period.end)
    return Milestone(
        kind=kind,
        period=period,
        reporting_period_id=reporting,
        as_of_before=boundary,
        due_at=boundary + grace,
    )
