"""The demo project's calendar: dates as day ordinals, so generating a million events stays cheap.

Every date the demo writes comes from here; ``iso`` and ``date_of`` read precomputed tables
instead of formatting a date per event.
"""

from __future__ import annotations

import datetime as dt
import random

PROJECT_START = dt.date(2025, 1, 1)
PROJECT_END = dt.date(2026, 12, 31)
START = PROJECT_START.toordinal()
END = PROJECT_END.toordinal()
# P1 (interim) is the first project year, P2 (final) the second.
P1_END = dt.date(2025, 12, 31).toordinal()
MONTHS = 24

# Labels may predate the project by years and stay valid two years after it.
_FIRST = dt.date(2020, 1, 1).toordinal()
_LAST = dt.date(2029, 12, 31).toordinal()
_DATES = [dt.date.fromordinal(day) for day in range(_FIRST, _LAST + 1)]
_ISO = [day.isoformat() for day in _DATES]


def ordinal(year: int, month: int, day: int) -> int:
    """The day ordinal of a calendar date."""
    return dt.date(year, month, day).toordinal()


def date_of(day: int) -> dt.date:
    """The date of a day ordinal."""
    return _DATES[day - _FIRST]


def iso(day: int) -> str:
    """The ISO 8601 text of a day ordinal, as the wire carries dates."""
    return _ISO[day - _FIRST]


def period_of(day: int) -> str:
    """The reporting period a date falls in (P2 also for dates after the project end)."""
    return "P1" if day <= P1_END else "P2"


def month_bounds(index: int) -> tuple[int, int]:
    """First and last day of project month ``index`` (0 = January 2025)."""
    year, month = divmod(index, 12)
    first = dt.date(2025 + year, month + 1, 1)
    following = dt.date(2025 + year + (month + 1) // 12, (month + 1) % 12 + 1, 1)
    return first.toordinal(), following.toordinal() - 1


def is_working_day(day: int) -> bool:
    """Monday to Friday (ordinal 1, 0001-01-01, was a Monday)."""
    return (day - 1) % 7 < 5


def next_working_day(day: int) -> int:
    """The day itself when it is a working day, else the following Monday."""
    while not is_working_day(day):
        day += 1
    return day


def next_monday(day: int) -> int:
    """The first Monday on or after ``day``."""
    return day + (-(day - 1)) % 7


def add_working_days(first: int, count: int) -> int:
    """The ``count``-th working day of a stretch that starts on working day ``first``."""
    day = first
    remaining = count - 1
    while remaining:
        day += 1
        if is_working_day(day):
            remaining -= 1
    return day


def working_day_between(rng: random.Random, first: int, last: int) -> int:
    """A random working day in [first, last] (``last`` itself when the range has none)."""
    day = next_working_day(rng.randint(first, last))
    if day > last:
        day = last
        while not is_working_day(day) and day > first:
            day -= 1
    return day
