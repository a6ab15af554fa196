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
from decimal import ROUND_HALF_UP, Context, Decimal, DivisionByZero, InvalidOperation, Overflow
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


class Contribution(msgspec.Struct, frozen=True, kw_only=True, gc=False):
    """What one event (or one attendee, response, panel SME…) adds to one figure (untracked by
    the garbage collector: it refers to nothing that refers back to it)."""

    # The day it is bucketed by (DOMAIN.md (f): occurred_on, or the date the figure's rule names).
    on: dt.date
    # The persons or organisations behind it, which a cell's n counts (distinct).
    subjects: frozenset[str]
    # How many distinct persons at least are behind it when they have no ids (an outreach event's
    # contacts): a cell's n is never below the largest of these.
    persons: int = 0
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
    tally = Tally(sheet)
    tally.extend(contributions)
    if members is not None:
        tally.subjects = _subjects(members)
        tally.persons = max((member.persons for member in members), default=0)
    return tally.measured()


class Tally:
    """A figure accumulated one contribution at a time: ``measured()`` is ``measure`` of everything
    added so far, and adding more afterwards carries on from there (running figures).

    Sums are exact (EXACT never rounds a sum of recorded amounts), so they do not depend on the
    order the contributions come in, nor do distinct counts, n, the earliest day or a median."""

    __slots__ = (
        "_anonymous",
        "_kind",
        "amount",
        "amounts",
        "count",
        "denominator",
        "keys",
        "persons",
        "sheet",
        "since",
        "subjects",
    )

    def __init__(self, sheet: FigureSheet) -> None:
        self.sheet = sheet
        self._kind = sheet.aggregation
        self._anonymous = sheet.anonymous_persons
        self.subjects: set[str] = set()
        self.persons = 0
        self.count = 0
        self.amount = ZERO
        self.denominator = ZERO
        self.keys: set[str | None] = set()
        self.amounts: list[Decimal] = []
        self.since: dt.date | None = None

    def extend(self, contributions: Iterable[Contribution]) -> None:
        """Add contributions to the figure (one loop per aggregation: this is the engine's
        innermost loop)."""
        kind, subjects, add = self._kind, self.subjects, EXACT.add
        amount, denominator, count = self.amount, self.denominator, self.count
        if kind not in ("ratio", "count", "sum", "distinct"):
            for contribution in contributions:
                self.add(contribution)
            return
        batch = contributions if isinstance(contributions, list) else list(contributions)
        if not batch:
            return
        count += len(batch)
        # One C-level update over every contribution's subjects (and keys), not one call each.
        subjects.update(*[contribution.subjects for contribution in batch])
        if self._anonymous:
            self.persons = max(self.persons, max([contribution.persons for contribution in batch]))
        if kind == "ratio":
            for contribution in batch:
                amount = add(amount, contribution.amount)
                denominator = add(denominator, contribution.denominator)
        elif kind == "distinct":
            self.keys.update([contribution.key for contribution in batch])
        else:
            for contribution in batch:
                amount = add(amount, contribution.amount)
        self.amount, self.denominator, self.count = amount, denominator, count

    def add(self, contribution: Contribution) -> None:
        """Add one contribution to the figure."""
        self.count += 1
        self.subjects.update(contribution.subjects)
        self.persons = max(self.persons, contribution.persons)
        kind = self._kind
        if kind == "ratio":
            self.amount = EXACT.add(self.amount, contribution.amount)
            self.denominator = EXACT.add(self.denominator, contribution.denominator)
        elif kind == "distinct":
            self.keys.add(contribution.key)
        elif kind == "median":
            self.amounts.append(contribution.amount)
        elif kind == "exists":
            if self.since is None or contribution.on < self.since:
                self.since = contribution.on
        else:
            self.amount = EXACT.add(self.amount, contribution.amount)
            if kind == "mean":
                self.keys.add(contribution.key)

    def measured(self) -> Measured:
        """The figure of everything added so far."""
        return tallied(
            self.sheet,
            count=self.count,
            amount=self.amount,
            denominator=self.denominator,
            keys=len(self.keys),
            n=max(len(self.subjects), self.persons),
            amounts=self.amounts,
            since=self.since,
        )

    def merge(self, other: Tally) -> None:
        """Add everything another tally of the same figure was given."""
        self.count += other.count
        self.subjects.update(other.subjects)
        self.persons = max(self.persons, other.persons)
        self.amount = EXACT.add(self.amount, other.amount)
        self.denominator = EXACT.add(self.denominator, other.denominator)
        self.keys.update(other.keys)
        self.amounts.extend(other.amounts)
        if other.since is not None and (self.since is None or other.since < self.since):
            self.since = other.since


def tallied(
    sheet: FigureSheet,
    *,
    count: int,
    amount: Decimal,
    denominator: Decimal,
    keys: int,
    n: int,
    amounts: Sequence[Decimal] = (),
    since: dt.date | None = None,
) -> Measured:
    """The figure of tallied quantities: how many contributions, Σamount, Σdenominator, how many
    distinct keys, n, the amounts (median) and the earliest day (exists). Every figure served is
    rounded here, whether tallied one contribution at a time (Tally) or over columns."""
    kind = sheet.aggregation
    if kind == "ratio":
        return percentage(amount, denominator, n)
    if kind == "exists":
        value = ZERO if since is None else ONE
        return Measured(value, Figure(value=value, n=n, since=since))
    exact = _combined(sheet, count, amount, keys, amounts)
    served = rounded(exact, PLACES[sheet.measure]) if exact is not None else None
    return Measured(exact, Figure(value=served, n=n))


def _combined(
    sheet: FigureSheet, count: int, amount: Decimal, keys: int, amounts: Sequence[Decimal]
) -> Decimal | None:
    # An impact figure over an empty panel is null, never 0 (DOMAIN.md (f)).
    if not count and INDICATOR_OF[sheet.figure_id].level == "impact":
        return None
    kind = sheet.aggregation
    if kind == "distinct":
        return Decimal(keys)
    if kind == "mean":
        return EXACT.divide(amount, Decimal(keys)) if keys else None
    if kind == "median":
        return median(amounts)
    return amount


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
    if by in sheet.shared_denominator:
        return _shared_cells(contributions, sheet, by)
    grouped = group_by_category(contributions, by)
    measured: dict[str, Measured] = {}
    for category in sorted(grouped):
        tally = Tally(sheet)
        tally.extend(grouped[category])
        measured[category] = tally.measured()
    return measured


def measure_breakdowns(
    contributions: Sequence[Contribution], sheet: FigureSheet, dimensions: Sequence[str]
) -> dict[str, dict[str, Measured]]:
    """``measure_cells`` for each of `dimensions`, in one pass: contributions that fall in the same
    categories of every dimension are tallied together once, and each cell merges those tallies."""
    plain = [by for by in dimensions if by not in sheet.shared_denominator]
    # Contributions in the same categories mostly share one Cells (dimensions.cells): grouped by
    # that object first, each group's signature is read once. A tally does not depend on the
    # order its contributions come in, so regrouping changes no figure.
    sharing: dict[int, list[Contribution]] = {}
    for contribution in contributions:
        members = sharing.get(id(contribution.cells))
        if members is None:
            sharing[id(contribution.cells)] = [contribution]
        else:
            members.append(contribution)
    alike: dict[tuple[tuple[str, ...], ...], list[Contribution]] = {}
    for members in sharing.values():
        categories = members[0].cells
        signature = tuple([categories[by] for by in plain])
        found_alike = alike.get(signature)
        if found_alike is None:
            alike[signature] = members
        else:
            found_alike.extend(members)
    groups: list[tuple[tuple[tuple[str, ...], ...], Tally]] = []
    for signature, members in alike.items():
        tally = Tally(sheet)
        tally.extend(members)
        groups.append((signature, tally))
    found: dict[str, dict[str, Measured]] = {}
    for index, by in enumerate(plain):
        tallies: dict[str, Tally] = {}
        for signature, tally in groups:
            for category in signature[index]:
                cell = tallies.get(category)
                if cell is None:
                    tallies[category] = cell = Tally(sheet)
                cell.merge(tally)
        found[by] = {category: tallies[category].measured() for category in sorted(tallies)}
    for by in dimensions:
        if by in sheet.shared_denominator:
            found[by] = _shared_cells(contributions, sheet, by)
    return found


def group_by_category(contributions: Iterable[Contribution], by: str) -> dict[str, list[Contribution]]:
    """The contributions in each category of dimension `by`, in their order (one may be in several)."""
    grouped: dict[str, list[Contribution]] = {}
    for contribution in contributions:
        for category in contribution.cells[by]:
            members = grouped.get(category)
            if members is None:
                grouped[category] = [contribution]
            else:
                members.append(contribution)
    return grouped


def _shared_cells(contributions: Sequence[Contribution], sheet: FigureSheet, by: str) -> dict[str, Measured]:
    """Cells of a shared-denominator dimension (few categories: follow-up types, innovation types,
    strands): every case stays in each cell's denominator, only its own in its numerator and n."""
    measured: dict[str, Measured] = {}
    for category in sorted({category for c in contributions for category in c.cells[by]}):
        members = [c for c in contributions if category in c.cells[by]]
        shared = [
            c if category in c.cells[by] else msgspec.structs.replace(c, amount=ZERO) for c in contributions
        ]
        measured[category] = measure(shared, sheet, members=members)
    return measured


def _subjects(contributions: Iterable[Contribution]) -> set[str]:
    found: set[str] = set()
    for contribution in contributions:
        found.update(contribution.subjects)
    return found
