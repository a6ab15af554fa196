"""How contributions combine into a figure: counts, sums, distinct counts, ratios, means, medians.

A formula (outputs.py, outcomes.py, impact.py) turns the log state into *contributions*: what
one session, attendee, exchange, response or panel SME adds to one figure, with the day it is
bucketed by, its categories in every dimension and the persons or organisations behind it.
Everything here works on any subset of them (a period, a cell), so a period or a cell is always
recomputed from its own contributions: distinct counts are recounted and percentages are
Σnumerator/Σdenominator, never sums or averages of other figures.

Arithmetic is exact Decimal arithmetic (60 significant digits, which no figure here comes near);
only the served value is rounded, half-up, to the measure's places.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from decimal import ROUND_HALF_UP, Context, Decimal, DivisionByZero, InvalidOperation, Overflow, localcontext
from typing import NamedTuple

import msgspec

from indicators.dimensions import Cells
from indicators.kpi_catalog import INDICATOR_OF, FigureSheet, Measure
from indicators.results import Figure

EXACT = Context(prec=60, rounding=ROUND_HALF_UP, traps=[InvalidOperation, DivisionByZero, Overflow])
ZERO = Decimal(0)
ONE = Decimal(1)
HUNDRED = Decimal(100)

# Decimal places of a served value, by measure.
PLACES: dict[Measure, int] = {
    "number": 0,
    "yes_no": 0,
    "hours": 2,
    "eur": 2,
    "fte": 2,
    "percent": 2,
    "median_percent": 2,
}


class Contribution(msgspec.Struct, frozen=True, kw_only=True):
    """What one event (or one attendee, response, panel SME…) adds to one figure."""

    # The day it is bucketed by (DOMAIN.md (f): occurred_on, or the date the figure's rule names).
    on: dt.date
    # The persons or organisations behind it, which a cell's n counts (distinct).
    subjects: frozenset[str]
    cells: Cells
    # Added up by count and sum; the numerator of a ratio; the values a mean or median runs over.
    amount: Decimal = ONE
    # The id a distinct count counts, or the case a mean divides by.
    key: str | None = None
    denominator: Decimal = ZERO
    # The log positions of the live events behind it, their applied corrections included (the
    # provenance evidence.py serves); never part of a served figure.
    sources: tuple[int, ...] = ()


class Measured(NamedTuple):
    """A figure as served, with its unrounded value (targets compare the unrounded value)."""

    exact: Decimal | None
    figure: Figure


def rounded(value: Decimal, places: int) -> Decimal:
    """Half-up to `places` decimals, never a negative zero (so "-0.00" cannot be served)."""
    served = value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP, context=EXACT)
    return served.copy_abs() if served.is_zero() else served


def percentage(numerator: Decimal, denominator: Decimal, n: int) -> Measured:
    """100·numerator/denominator, null when the denominator is 0, rounded half-up to 2 decimals."""
    exact = EXACT.divide(HUNDRED * numerator, denominator) if denominator else None
    figure = Figure(
        value=rounded(exact, 2) if exact is not None else None,
        n=n,
        numerator=rounded(numerator, 0),
        denominator=rounded(denominator, 0),
    )
    return Measured(exact, figure)


def measure(
    contributions: Sequence[Contribution],
    sheet: FigureSheet,
    members: Sequence[Contribution] | None = None,
) -> Measured:
    """The figure of a set of contributions; n counts the subjects of `members` (default: all)."""
    n = len(_subjects(contributions if members is None else members))
    if sheet.aggregation == "ratio":
        return percentage(
            _total(c.amount for c in contributions), _total(c.denominator for c in contributions), n
        )
    if sheet.aggregation == "exists":
        since = min((c.on for c in contributions), default=None)
        value = ZERO if since is None else ONE
        return Measured(value, Figure(value=value, n=n, since=since))
    exact = _combined(contributions, sheet)
    served = rounded(exact, PLACES[sheet.measure]) if exact is not None else None
    return Measured(exact, Figure(value=served, n=n))


def _combined(contributions: Sequence[Contribution], sheet: FigureSheet) -> Decimal | None:
    # An impact figure over an empty panel is null, never 0 (DOMAIN.md (f)).
    if not contributions and INDICATOR_OF[sheet.figure_id].level == "impact":
        return None
    if sheet.aggregation == "distinct":
        return Decimal(len({c.key for c in contributions}))
    if sheet.aggregation == "mean":
        cases = len({c.key for c in contributions})
        return EXACT.divide(_total(c.amount for c in contributions), Decimal(cases)) if cases else None
    if sheet.aggregation == "median":
        return median([c.amount for c in contributions])
    return _total(c.amount for c in contributions)


def median(values: Sequence[Decimal]) -> Decimal | None:
    """The middle value; with an even count the mean of the two middle values; None for none."""
    if not values:
        return None
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return EXACT.divide(EXACT.add(ordered[middle - 1], ordered[middle]), Decimal(2))


def measure_cells(contributions: Sequence[Contribution], sheet: FigureSheet, by: str) -> dict[str, Measured]:
    """The figure of every category of dimension `by`, each recomputed from its own contributions.

    A contribution in several categories (an organisation that visited and hosted) counts in each.
    For a shared-denominator dimension (a follow-up type) every contribution stays in each cell's
    denominator and only those in the category count in its numerator and its n.
    """
    categories = sorted({category for c in contributions for category in c.cells[by]})
    measured: dict[str, Measured] = {}
    for category in categories:
        members = [c for c in contributions if category in c.cells[by]]
        if by in sheet.shared_denominator:
            shared = [
                c if category in c.cells[by] else msgspec.structs.replace(c, amount=ZERO)
                for c in contributions
            ]
            measured[category] = measure(shared, sheet, members=members)
        else:
            measured[category] = measure(members, sheet)
    return measured


def _subjects(contributions: Iterable[Contribution]) -> set[str]:
    found: set[str] = set()
    for contribution in contributions:
        found.update(contribution.subjects)
    return found


def _total(values: Iterable[Decimal]) -> Decimal:
    with localcontext(EXACT):
        return sum(values, ZERO)
