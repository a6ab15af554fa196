"""One flow figure as columns: every contribution it ever had, each with the log positions it was
live between, aggregated as of any position with numpy.

    columns = FlowColumns(sheet)
    index = columns.add(contribution, born=118)
    columns.end(index, died=240)  # retracted at 240: live at positions 118 ≤ P < 240
    result = columns.figure_result(200, state, "reporting_period", buckets, ("country",), "country")

``figure_result`` is what ``evaluate._figure_result`` serves for the contributions live at the
position, to the byte: amounts are kept as integers at a power of ten per column, so every sum is
exact, and the served figures are rounded by ``aggregation.tallied``, as the engine's are. What it
cannot compute exactly (medians, yes/no, shared-denominator cells, overlapping periods, amounts
beyond 64 bits) it answers with None, and the caller asks the engine.

``total_at(position)`` is the figure's project-to-date total alone (``aggregation.measure`` of the
live contributions), in O(log n) per position after an index over every contribution is built, on
the first query after an ``add`` or ``end``: an indicators list reads many totals at once.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from indicators.aggregation import EXACT, ZERO, Contribution, Measured, tallied
from indicators.dimensions import Cells
from indicators.kpi_catalog import STATE_AGGREGATIONS, FigureSheet
from indicators.log_view import LogState
from indicators.periods import Bucket, PeriodKind
from indicators.results import Breakdown, Cell, FigureResult, Period, SeriesPoint, figure_result
from indicators.targets import figure_summary, target_progress

Ints = NDArray[np.int64]

# A contribution not ended yet is live at every later position; also the upper day of the last,
# open, period.
NEVER = 2**63 - 1
_INT64_MAX = 2**63 - 1
# float64 adds integers exactly while every partial sum stays below 2**53: bincount's weighted
# sums are exact under that bound, and np.add.at (slower, in int64) takes over above it.
_FLOAT_EXACT = 2**53
# Amounts with more decimal places than this are left to the engine.
_MAX_PLACES = 12
_AGGREGATIONS = frozenset({"count", "sum", "distinct", "ratio", "mean"})
# Distinct ids are counted by marking each (group, segment, id) in an array of them all when it
# has at most this many entries (bytes) and this many per contribution, else by sorting.
_DENSE_LIMIT = 1 << 25
_DENSE_PER_ROW = 64
# Cells objects are shared by the contributions falling in the same categories
# (dimensions.cells); their codes are remembered by identity, up to this many.
_CELLS_REMEMBERED = 100_000


class _LeftToEngine(Exception):
    """What these columns cannot compute exactly (sums beyond int64, overlapping periods…)."""


class _Column:
    """An int64 column appended to one value at a time and read as one numpy array: appends go
    to an array('q') and are copied into a doubling numpy buffer when the column is read."""

    __slots__ = ("_buffer", "_pending", "_size")

    def __init__(self) -> None:
        self._buffer: Ints = np.zeros(0, np.int64)
        self._size = 0
        self._pending = array("q")

    def __len__(self) -> int:
        return self._size + len(self._pending)

    def append(self, value: int) -> None:
        """Add a value at the end."""
        self._pending.append(value)

    def extend(self, values: Ints) -> None:
        """Add values at the end."""
        self._pending.extend(values.tolist())

    def set(self, index: int, value: int) -> None:
        """Replace the value at `index`."""
        if index < self._size:
            self._buffer[index] = value
        else:
            self._pending[index - self._size] = value

    def values(self) -> Ints:
        """Every value, as a view of the buffer (valid until the next append)."""
        if self._pending:
            size = self._size + len(self._pending)
            if size > self._buffer.size:
                grown = np.empty(max(size, 2 * self._buffer.size), np.int64)
                grown[: self._size] = self._buffer[: self._size]
                self._buffer = grown
            self._buffer[self._size : size] = np.frombuffer(self._pending, dtype=np.int64)
            self._pending = array("q")
            self._size = size
        return self._buffer[: self._size]


class _DecimalColumn(_Column):
    """Exact decimals as integers times 10**-scale; the scale grows (and every value kept is
    rescaled) when a value with more decimal places comes."""

    __slots__ = ("largest", "scale")

    def __init__(self) -> None:
        super().__init__()
        self.scale = 0
        # The largest magnitude kept, scaled: bounds every sum of n values by n·largest.
        self.largest = 0

    def append_exact(self, value: Decimal) -> bool:
        """Add a value at the end; False (and nothing added) when it has no exact int64 form."""
        if not value.is_finite():
            return False
        exponent = value.as_tuple().exponent
        assert isinstance(exponent, int)  # a finite Decimal's exponent is a number
        if -exponent > self.scale:
            # Trailing zeros need no scale ("8.00" is 8).
            places = max(0, -int(value.normalize(EXACT).as_tuple().exponent))
            if places > self.scale and not self._rescale(places):
                return False
        scaled = int(value.scaleb(self.scale, EXACT))
        if abs(scaled) > _INT64_MAX:
            return False
        self.largest = max(self.largest, abs(scaled))
        self.append(scaled)
        return True

    def exact(self, scaled: int) -> Decimal:
        """The Decimal of a scaled integer (a sum of kept values), exactly."""
        return Decimal(scaled).scaleb(-self.scale, EXACT)

    def _rescale(self, places: int) -> bool:
        factor = 10 ** (places - self.scale)
        if places > _MAX_PLACES or self.largest * factor > _INT64_MAX:
            return False
        values = self.values()
        values *= factor
        self.largest *= factor
        self.scale = places
        return True


class _Dimension:
    """The categories of one dimension as integer codes, and each contribution's categories as
    the code of its combination (most contributions are in one category, some in several)."""

    __slots__ = ("_arrays", "_combos", "_flat", "_lengths", "_names", "_starts", "combo_of", "names")

    def __init__(self) -> None:
        self.names: list[str] = []
        self._names: dict[str, int] = {}
        self._combos: dict[tuple[str, ...], int] = {}
        self._starts: list[int] = []
        self._lengths: list[int] = []
        self._flat: list[int] = []
        self._arrays: tuple[Ints, Ints, Ints] | None = None
        # Per contribution: the code of its combination of categories, -1 without the dimension.
        self.combo_of = _Column()

    def combo(self, categories: tuple[str, ...]) -> int:
        """The code of a combination of categories, interned on first sight."""
        found = self._combos.get(categories)
        if found is None:
            found = self._combos[categories] = len(self._starts)
            self._starts.append(len(self._flat))
            self._lengths.append(len(categories))
            for category in categories:
                code = self._names.get(category)
                if code is None:
                    code = self._names[category] = len(self.names)
                    self.names.append(category)
                self._flat.append(code)
            self._arrays = None
        return found

    def explode(self, live: _Live, segments: Ints) -> tuple[Ints | None, Ints, Ints]:
        """(row of `live`, category, segment) for each category of each live contribution (twice
        for a category listed twice, as group_by_category does); rows None: one row each."""
        combos = self.combo_of.values()[live.indices]
        if combos.size and int(combos.min()) < 0:
            raise _LeftToEngine  # a contribution without the dimension: the engine's KeyError
        if self._arrays is None:
            self._arrays = (
                np.array(self._starts, np.int64),
                np.array(self._lengths, np.int64),
                np.array(self._flat, np.int64),
            )
        starts, lengths, flat = self._arrays
        if all(length == 1 for length in self._lengths):
            return None, flat[combos], segments
        counts = lengths[combos]
        rows = np.repeat(np.arange(combos.size, dtype=np.int64), counts)
        categories = flat[np.repeat(starts[combos], counts) + _positions_within(counts)]
        return rows, categories, segments[rows]


def _positions_within(counts: Ints) -> Ints:
    """0, 1, …, count-1 for each of `counts`, concatenated."""
    total = int(counts.sum())
    return np.arange(total, dtype=np.int64) - np.repeat(np.cumsum(counts) - counts, counts)


class _Layout(NamedTuple):
    """Days cut into segments, each bucket one of them: a contribution's segment is the first
    whose last day is on or after its day; a period's cumulative figure is its segment and all
    before it. Gaps between periods, and the days before a closed first one or after a closed
    last one, are segments of no period."""

    last_days: Ints
    segment_of_bucket: list[int]

    @property
    def size(self) -> int:
        """How many segments."""
        return int(self.last_days.size)


def _layout(buckets: Sequence[Bucket]) -> _Layout:
    """The segments of ordered, non-overlapping buckets (any other is left to the engine)."""
    last_days: list[int] = []
    segment_of_bucket: list[int] = []
    previous: int | None = None
    for index, bucket in enumerate(buckets):
        if bucket.low is None:
            if index:
                raise _LeftToEngine
        else:
            low = bucket.low.toordinal()
            if previous is not None and low <= previous:
                raise _LeftToEngine
            if previous is None or low > previous + 1:
                last_days.append(low - 1)
        if bucket.high is None:
            if index != len(buckets) - 1:
                raise _LeftToEngine
            high = NEVER
        else:
            high = bucket.high.toordinal()
            if bucket.low is not None and high < low:
                raise _LeftToEngine
        last_days.append(high)
        segment_of_bucket.append(len(last_days) - 1)
        previous = high
    if not last_days or last_days[-1] != NEVER:
        last_days.append(NEVER)
    return _Layout(np.array(last_days, np.int64), segment_of_bucket)


class _Live(NamedTuple):
    """The columns of the contributions live at a position, gathered once per query (None: a
    column the figure does not use)."""

    indices: Ints
    segments: Ints
    amount: Ints | None
    denominator: Ints | None
    key: Ints | None
    persons: Ints | None
    # The code of each one's subject when every contribution has exactly one, else where its
    # subjects start in the subjects column and how many it has.
    subject: Ints | None
    subject_start: Ints
    subject_count: Ints


class _Quantities(NamedTuple):
    """Per (group, segment), arrays of shape (groups, segments): how many contributions, the
    scaled Σamount and Σdenominator, the distinct keys and subjects (in the segment, and in it
    and every one before it) and the most persons of one contribution."""

    contributions: Ints
    amount: Ints
    denominator: Ints
    keys: Ints
    keys_so_far: Ints
    subjects: Ints
    subjects_so_far: Ints
    persons: Ints


class _Tallied(NamedTuple):
    """The tallied quantities of each (category, segment), as nested lists [category][segment]."""

    contributions: list[list[int]]
    amount: list[list[int]]
    denominator: list[list[int]]
    keys: list[list[int]]
    subjects: list[list[int]]
    persons: list[list[int]]


class _Tallies(NamedTuple):
    """Per (category, segment): its own quantities and the cumulative ones up to its end."""

    own: _Tallied
    cumulative: _Tallied


class FlowColumns:
    """Every contribution a flow figure ever had, with the positions it was live between, and the
    figure as of any position computed over them (`figure_result`)."""

    def __init__(self, sheet: FigureSheet) -> None:
        """Columns for the figure of `sheet` (a median, yes/no or state figure is kept only as
        positions: its results are left to the engine)."""
        self.sheet = sheet
        kind = sheet.aggregation
        self._supported = sheet.time_aggregation not in STATE_AGGREGATIONS and kind in _AGGREGATIONS
        self._exact = True
        self._born = _Column()
        self._died = _Column()
        self._day = _Column()
        self._amount = _DecimalColumn() if kind in ("count", "sum", "ratio", "mean") else None
        self._denominator = _DecimalColumn() if kind == "ratio" else None
        self._key = _Column() if kind in ("distinct", "mean") else None
        self._keys: dict[str | None, int] = {}
        # Tally counts contacts without ids in a mean's n always, in the others' when the sheet
        # says its contributions carry them.
        self._persons = _Column() if kind == "mean" or sheet.anonymous_persons else None
        self._subject_start = _Column()
        self._subject_count = _Column()
        self._subject = _Column()
        self._subjects: dict[str, int] = {}
        self._one_subject_each = True
        self._dimensions = {name: _Dimension() for name in sheet.disaggregations}
        self._combos_of_cells: dict[int, tuple[Cells, list[int]]] = {}
        self._last_born: int | None = None
        # Each contribution's segment of the last layout asked for (its periods' last days).
        self._segments_of: tuple[tuple[int, ...], _Column] = ((), _Column())
        # What total_at reads; built again on the first query after an end (or an add: its size).
        self._totals: _TotalIndex | None = None

    def __len__(self) -> int:
        return len(self._born)

    def add(self, contribution: Contribution, born: int) -> int:
        """Add a contribution live from position `born` on (in non-decreasing `born` order);
        returns its index, for `end`."""
        if self._last_born is not None and born < self._last_born:
            raise ValueError(f"contribution born at {born} added after one born at {self._last_born}")
        self._last_born = born
        index = len(self._born)
        self._born.append(born)
        self._died.append(NEVER)
        if not self._supported:
            return index
        self._day.append(contribution.on.toordinal())
        if self._amount is not None and not self._amount.append_exact(contribution.amount):
            self._unrepresentable(self._amount)
        if self._denominator is not None and not self._denominator.append_exact(contribution.denominator):
            self._unrepresentable(self._denominator)
        if self._key is not None:
            key = self._keys.get(contribution.key)
            if key is None:
                key = self._keys[contribution.key] = len(self._keys)
            self._key.append(key)
        if self._persons is not None:
            self._persons.append(contribution.persons)
        self._add_subjects(contribution.subjects)
        for dimension, combo in zip(self._dimensions.values(), self._combos(contribution.cells), strict=True):
            dimension.combo_of.append(combo)
        return index

    def end(self, index: int, died: int) -> None:
        """The contribution added as `index` is no longer live from position `died` on."""
        if not 0 <= index < len(self._born):
            raise IndexError(f"no contribution {index}")
        self._died.set(index, died)
        self._totals = None

    def figure_result(
        self,
        position: int,
        state: LogState,
        period: PeriodKind,
        buckets: list[Bucket],
        breakdowns: Sequence[str],
        by: str | None,
    ) -> FigureResult | None:
        """``evaluate._figure_result`` over the contributions live at `position` (`state` gives
        the targets and baselines); None where the engine must compute it (see the module)."""
        sheet = self.sheet
        try:
            if not self._supported or not self._exact:
                raise _LeftToEngine
            for name in [*breakdowns, *([by] if by is not None else [])]:
                if name in sheet.shared_denominator or name not in self._dimensions:
                    raise _LeftToEngine
            layout = _layout(buckets)
            live = self._live(position, layout)
            split: dict[str, tuple[_Tallies, int]] = {}
            by_quantities = None
            if by is not None:
                rows, categories, segments = self._dimensions[by].explode(live, live.segments)
                shape = (len(self._dimensions[by].names), layout.size)
                by_quantities = self._tally(live, rows, categories, segments, shape)
                # A breakdown is over the whole live set: the cumulative figures of the last segment.
                split[by] = (_tallies(by_quantities), layout.size - 1)
                if rows is not None:  # some contributions in several categories, or none
                    by_quantities = None
            one_group = np.zeros(live.indices.size, np.int64)
            total = _tallies(
                self._tally(live, None, one_group, live.segments, (1, layout.size), by_quantities)
            )
            for name in breakdowns:
                if name not in split:
                    rows, categories, segments = self._dimensions[name].explode(live, one_group)
                    shape = (len(self._dimensions[name].names), 1)
                    split[name] = (_tallies(self._tally(live, rows, categories, segments, shape)), 0)
        except _LeftToEngine:
            return None
        whole = self._measured(total.cumulative, 0, layout.size - 1)
        return figure_result(
            figure_summary(state, sheet, whole),
            breakdowns=tuple(self._breakdown(state, *split[name], name) for name in breakdowns),
            points=tuple(
                self._point(
                    state, bucket, segment, total, split[by][0] if by is not None else None, by, period
                )
                for bucket, segment in zip(buckets, layout.segment_of_bucket, strict=True)
            ),
        )

    def total_at(self, position: int) -> Measured | None:
        """``aggregation.measure`` of the contributions live at `position` (the figure_result's
        total), in O(log n); None where figure_result leaves the figure to the engine."""
        if not self._supported or not self._exact:
            return None
        index = self._totals
        if index is None or index.size != len(self._born):
            index = self._totals = self._total_index()
        if position >= NEVER:
            # No contribution is live at NEVER, not even one never ended.
            added = gone = 0
        else:
            added = int(np.searchsorted(index.born, position, side="right"))
            gone = int(np.searchsorted(index.ended_died, position, side="right"))
        amount, denominator = self._amount, self._denominator
        n = index.subjects.at(position)
        if index.persons is not None:
            n = max(n, index.persons.at(position))
        return tallied(
            self.sheet,
            count=added - gone,
            amount=_live_sum(amount, index.amount, added, gone),
            denominator=_live_sum(denominator, index.denominator, added, gone),
            keys=index.keys.at(position) if index.keys is not None else 0,
            n=n,
        )

    def _total_index(self) -> _TotalIndex:
        """The running sums, presence intervals and persons envelope total_at reads, over every
        contribution added so far."""
        born = self._born.values()
        # One ended at or before its birth is never live: ended as it is born.
        died = np.maximum(self._died.values(), born)
        ended = np.flatnonzero(died < NEVER)
        ended = ended[np.argsort(died[ended], kind="stable")]

        def sums(column: _DecimalColumn | None) -> _LiveSums | None:
            if column is None:
                return None
            values = column.values()
            return _LiveSums(
                _RunningSums(values, column.largest), _RunningSums(values[ended], column.largest)
            )

        if self._one_subject_each:
            subjects = _presence(self._subject.values(), born, died)
        else:
            rows = np.repeat(np.arange(born.size, dtype=np.int64), self._subject_count.values())
            subjects = _presence(self._subject.values(), born[rows], died[rows])
        keys = None
        if self._key is not None:
            keys = subjects if self._keys_are_subjects() else _presence(self._key.values(), born, died)
        return _TotalIndex(
            size=born.size,
            born=born,
            ended_died=died[ended],
            amount=sums(self._amount),
            denominator=sums(self._denominator),
            keys=keys,
            subjects=subjects,
            persons=_envelope(self._persons.values(), born, died) if self._persons is not None else None,
        )

    def _keys_are_subjects(self) -> bool:
        """Whether each contribution's key is its one subject, under another name (an organisation
        engaged is counted and is the n): then both are present at the same positions."""
        if self._key is None or not self._one_subject_each:
            return False
        key, subject = self._key.values(), self._subject.values()
        subject_of = np.full(len(self._keys), -1, np.int64)
        subject_of[key] = subject
        key_of = np.full(len(self._subjects), -1, np.int64)
        key_of[subject] = key
        return bool(np.array_equal(subject_of[key], subject) and np.array_equal(key_of[subject], key))

    def _point(
        self,
        state: LogState,
        bucket: Bucket,
        segment: int,
        total: _Tallies,
        cells_by: _Tallies | None,
        by: str | None,
        period: PeriodKind,
    ) -> SeriesPoint:
        """One period's figure, its cumulative figure and cells, as evaluate._point makes them."""
        targeted = period == "reporting_period"  # targets name reporting periods (or the LoP)
        own = self._measured(total.own, 0, segment)
        so_far = self._measured(total.cumulative, 0, segment)
        cells: tuple[tuple[Cell, ...], tuple[Cell, ...]] = ((), ())
        if by is not None and cells_by is not None:
            cells = self._cells(state, cells_by, by, segment, bucket.period, targeted)
        return SeriesPoint(
            period=bucket.period,
            value=own.figure,
            cumulative=so_far.figure,
            target=target_progress(state, self.sheet, bucket.period, None, own, so_far) if targeted else None,
            cells=cells[0],
            cumulative_cells=cells[1],
        )

    def _cells(
        self, state: LogState, tallies: _Tallies, by: str, segment: int, period: Period | None, targeted: bool
    ) -> tuple[tuple[Cell, ...], tuple[Cell, ...]]:
        """A period's cells and its cumulative cells over every category seen up to its end, as
        evaluate._cells makes them."""
        period_cells: list[Cell] = []
        cumulative_cells: list[Cell] = []
        for name, category in self._seen(tallies, by, segment):
            in_period = self._measured(tallies.own, category, segment)
            so_far = self._measured(tallies.cumulative, category, segment)
            key = f"{by}={name}"
            target = target_progress(state, self.sheet, period, key, in_period, so_far) if targeted else None
            period_cells.append(Cell(category=name, figure=in_period.figure, target=target))
            cumulative_cells.append(Cell(category=name, figure=so_far.figure))
        return tuple(period_cells), tuple(cumulative_cells)

    def _breakdown(self, state: LogState, tallies: _Tallies, segment: int, by: str) -> Breakdown:
        """The figure to date of every category of `by` (the cumulative figures of the last
        segment), each with its life-of-project target, as evaluate._cells makes them."""
        cells: list[Cell] = []
        for name, category in self._seen(tallies, by, segment):
            so_far = self._measured(tallies.cumulative, category, segment)
            target = target_progress(state, self.sheet, None, f"{by}={name}", so_far, so_far)
            cells.append(Cell(category=name, figure=so_far.figure, target=target))
        return Breakdown(by=by, cells=tuple(cells))

    def _seen(self, tallies: _Tallies, by: str, segment: int) -> list[tuple[str, int]]:
        """(name, code) of each category with a contribution up to the end of `segment`, by name."""
        names = self._dimensions[by].names
        seen = tallies.cumulative.contributions
        return sorted((names[code], code) for code in range(len(names)) if seen[code][segment])

    def _measured(self, tallied_: _Tallied, category: int, segment: int) -> Measured:
        amount, denominator = self._amount, self._denominator
        return tallied(
            self.sheet,
            count=tallied_.contributions[category][segment],
            amount=amount.exact(tallied_.amount[category][segment]) if amount is not None else ZERO,
            denominator=(
                denominator.exact(tallied_.denominator[category][segment])
                if denominator is not None
                else ZERO
            ),
            keys=tallied_.keys[category][segment],
            n=max(tallied_.subjects[category][segment], tallied_.persons[category][segment]),
        )

    def _live(self, position: int, layout: _Layout) -> _Live:
        """The columns of the contributions live at `position` (born ≤ position < died)."""
        added = int(np.searchsorted(self._born.values(), position, side="right"))
        index = np.flatnonzero(self._died.values()[:added] > position)

        def gathered(column: _Column | None) -> Ints | None:
            return column.values()[index] if column is not None else None

        one_each = self._one_subject_each  # then contribution i's subject is the i-th
        return _Live(
            indices=index,
            segments=self._segments(layout)[index],
            amount=gathered(self._amount),
            denominator=gathered(self._denominator),
            key=gathered(self._key),
            persons=gathered(self._persons),
            subject=self._subject.values()[index] if one_each else None,
            subject_start=self._subject_start.values()[index] if not one_each else index,
            subject_count=self._subject_count.values()[index] if not one_each else index,
        )

    def _segments(self, layout: _Layout) -> Ints:
        """Every contribution's segment of `layout`, worked out once per layout for each."""
        key = tuple(layout.last_days.tolist())
        if self._segments_of[0] != key:
            self._segments_of = (key, _Column())
        column = self._segments_of[1]
        if len(column) < len(self._day):
            column.extend(np.searchsorted(layout.last_days, self._day.values()[len(column) :]))
        return column.values()

    def _tally(
        self,
        live: _Live,
        rows: Ints | None,
        groups: Ints,
        segments: Ints,
        shape: tuple[int, int],
        parts: _Quantities | None = None,
    ) -> _Quantities:
        """Every quantity a figure is made of, per (group, segment) of the live contributions at
        `rows` (None: each once; a contribution may come several times, in several groups).
        `parts`: the same contributions each in one of several groups, whose counts, sums and
        largest persons add up to these."""

        def picked(column: Ints) -> Ints:
            return column if rows is None else column[rows]

        cell = groups * shape[1] + segments
        zeros = np.zeros(shape, np.int64)
        if parts is not None:
            contributions = parts.contributions.sum(axis=0, keepdims=True)
            amount = parts.amount.sum(axis=0, keepdims=True)
            denominator = parts.denominator.sum(axis=0, keepdims=True)
            persons = parts.persons.max(axis=0, keepdims=True, initial=0)
        else:
            contributions = np.bincount(cell, minlength=shape[0] * shape[1]).reshape(shape)
            amount = self._sum(self._amount, live.amount, picked, cell, shape)
            denominator = self._sum(self._denominator, live.denominator, picked, cell, shape)
            persons = zeros
            if live.persons is not None and live.persons.size and int(live.persons.max()) > 0:
                persons = np.zeros(shape, np.int64)
                np.maximum.at(persons.reshape(-1), cell, picked(live.persons))
        keys = (zeros, zeros)
        if live.key is not None:
            keys = _distinct(groups, picked(live.key), segments, len(self._keys), shape)
        if live.subject is not None:
            subjects = _distinct(groups, picked(live.subject), segments, len(self._subjects), shape)
        else:
            counts = picked(live.subject_count)
            codes = self._subject.values()[
                np.repeat(picked(live.subject_start), counts) + _positions_within(counts)
            ]
            subjects = _distinct(
                np.repeat(groups, counts), codes, np.repeat(segments, counts), len(self._subjects), shape
            )
        return _Quantities(
            contributions.astype(np.int64), amount, denominator, *keys, *subjects, persons.astype(np.int64)
        )

    @staticmethod
    def _sum(
        column: _DecimalColumn | None,
        values: Ints | None,
        picked: Callable[[Ints], Ints],
        cell: Ints,
        shape: tuple[int, int],
    ) -> Ints:
        """Σ of a decimal column's scaled values per cell, exactly (0 for a column not kept)."""
        if column is None or values is None:
            return np.zeros(shape, np.int64)
        bound = column.largest * cell.size
        if bound > _INT64_MAX:
            raise _LeftToEngine
        values = picked(values)
        if bound < _FLOAT_EXACT:
            weighted = np.bincount(cell, weights=values, minlength=shape[0] * shape[1])
            return weighted.astype(np.int64).reshape(shape)
        sums = np.zeros(shape[0] * shape[1], np.int64)
        np.add.at(sums, cell, values)
        return sums.reshape(shape)

    def _unrepresentable(self, column: _DecimalColumn) -> None:
        # Kept aligned with the other columns; the figure is the engine's from now on.
        column.append(0)
        self._exact = False

    def _add_subjects(self, subjects: frozenset[str]) -> None:
        self._subject_start.append(len(self._subject))
        self._subject_count.append(len(subjects))
        if len(subjects) != 1:
            self._one_subject_each = False
        codes = self._subjects
        for subject in subjects:
            code = codes.get(subject)
            if code is None:
                code = codes[subject] = len(codes)
            self._subject.append(code)

    def _combos(self, cells: Cells) -> list[int]:
        """The combination code of the contribution's categories in each dimension."""
        remembered = self._combos_of_cells.get(id(cells))
        if remembered is not None and remembered[0] is cells:
            return remembered[1]
        combos = [
            dimension.combo(cells[name]) if name in cells else -1
            for name, dimension in self._dimensions.items()
        ]
        if len(self._combos_of_cells) >= _CELLS_REMEMBERED:
            self._combos_of_cells.clear()
        # The Cells is kept with its codes, so its id cannot be reused by another while here.
        self._combos_of_cells[id(cells)] = (cells, combos)
        return combos


def _tallies(quantities: _Quantities) -> _Tallies:
    """A segment's own quantities and those of it and every segment before it, as lists."""
    own = _Tallied(
        quantities.contributions.tolist(),
        quantities.amount.tolist(),
        quantities.denominator.tolist(),
        quantities.keys.tolist(),
        quantities.subjects.tolist(),
        quantities.persons.tolist(),
    )
    so_far = _Tallied(
        quantities.contributions.cumsum(axis=1).tolist(),
        quantities.amount.cumsum(axis=1).tolist(),
        quantities.denominator.cumsum(axis=1).tolist(),
        quantities.keys_so_far.tolist(),
        quantities.subjects_so_far.tolist(),
        np.maximum.accumulate(quantities.persons, axis=1).tolist(),
    )
    return _Tallies(own, so_far)


def _distinct(
    groups: Ints, ids: Ints, segments: Ints, id_count: int, shape: tuple[int, int]
) -> tuple[Ints, Ints]:
    """How many distinct ids each (group, segment) has, and how many the group has over that
    segment and every one before it."""
    size = shape[0] * shape[1] * id_count
    if size <= _DENSE_LIMIT and size <= _DENSE_PER_ROW * ids.size:
        return distinct_marked(groups, ids, segments, id_count, shape)
    return distinct_sorted(groups, ids, segments, id_count, shape)


def distinct_marked(
    groups: Ints, ids: Ints, segments: Ints, id_count: int, shape: tuple[int, int]
) -> tuple[Ints, Ints]:
    """``_distinct`` by marking each (group, segment, id) seen in a boolean array of them all
    (when there are not too many): no sort."""
    group_count, segment_count = shape
    seen = np.zeros(group_count * segment_count * id_count, bool)
    seen[(groups * segment_count + segments) * id_count + ids] = True
    cube = seen.reshape(group_count, segment_count, id_count)
    own = cube.sum(axis=2, dtype=np.int64)
    if segment_count == 1:
        return own, own
    for segment in range(1, segment_count):
        np.logical_or(cube[:, segment - 1], cube[:, segment], out=cube[:, segment])
    return own, cube.sum(axis=2, dtype=np.int64)


def distinct_sorted(
    groups: Ints, ids: Ints, segments: Ints, id_count: int, shape: tuple[int, int]
) -> tuple[Ints, Ints]:
    """``_distinct`` by sorting (group, id, segment) codes: each distinct triple is a first
    occurrence, and a (group, id)'s first triple has its earliest segment."""
    group_count, segment_count = shape
    if not ids.size:
        zeros = np.zeros(shape, np.int64)
        return zeros, zeros
    segment_bits = max(segment_count - 1, 1).bit_length()
    id_bits = max(id_count - 1, 1).bit_length()
    if max(group_count - 1, 1).bit_length() + id_bits + segment_bits > 62:
        raise _LeftToEngine
    codes = np.sort((((groups << id_bits) | ids) << segment_bits) | segments)
    fresh = np.empty(codes.size, bool)
    fresh[0] = True
    np.not_equal(codes[1:], codes[:-1], out=fresh[1:])
    triples = codes[fresh]
    pairs = triples >> segment_bits
    first = np.empty(triples.size, bool)
    first[0] = True
    np.not_equal(pairs[1:], pairs[:-1], out=first[1:])
    cells = (pairs >> id_bits) * segment_count + (triples & ((1 << segment_bits) - 1))
    size = group_count * segment_count
    own = np.bincount(cells, minlength=size).reshape(shape).astype(np.int64)
    earliest = np.bincount(cells[first], minlength=size).reshape(shape).astype(np.int64)
    return own, earliest.cumsum(axis=1)


class _RunningSums:
    """Exact sums of the first k scaled values of a column, for every k: prefix sums in int64,
    of the values' high and low 32 bits apart where a sum could overflow int64."""

    __slots__ = ("_high", "_low")

    def __init__(self, values: Ints, largest: int) -> None:
        if largest * values.size <= _INT64_MAX:
            self._high, self._low = _prefix_sums(values), None
        else:
            # value = high·2**32 + low with 0 ≤ low < 2**32: neither half's sums leave int64.
            self._high, self._low = _prefix_sums(values >> 32), _prefix_sums(values & 0xFFFFFFFF)

    def first(self, count: int) -> int:
        """The sum of the first `count` values."""
        total = int(self._high[count])
        return total if self._low is None else (total << 32) + int(self._low[count])


def _prefix_sums(values: Ints) -> Ints:
    """0, then the running sum of `values`."""
    sums = np.zeros(values.size + 1, np.int64)
    np.cumsum(values, out=sums[1:])
    return sums


class _LiveSums(NamedTuple):
    """A column's running sums over the contributions in the order they were born, and over
    the ended ones in the order they ended: what is live at P is the born ones less the ended."""

    born: _RunningSums
    ended: _RunningSums


def _live_sum(column: _DecimalColumn | None, sums: _LiveSums | None, added: int, gone: int) -> Decimal:
    """The exact Σ of a decimal column over the live contributions (0 for a column not kept)."""
    if column is None or sums is None:
        return ZERO
    return column.exact(sums.born.first(added) - sums.ended.first(gone))


class _Presence(NamedTuple):
    """Each id's (key's, subject's) presence intervals, the maximal position ranges with at least
    one of its contributions live, as their starts and their (finite) ends, each sorted: the ids
    present at P are the intervals started by P less those ended by P."""

    starts: Ints
    ends: Ints

    def at(self, position: int) -> int:
        """How many ids have a contribution live at `position`."""
        if position >= NEVER:
            return 0
        started = int(np.searchsorted(self.starts, position, side="right"))
        return started - int(np.searchsorted(self.ends, position, side="right"))


def _presence(ids: Ints, born: Ints, died: Ints) -> _Presence:
    """The presence intervals of the ids of contributions live from `born` until `died` (≥ born)."""
    _, starts, stops = _presence_intervals(ids, born, died)
    return _Presence(np.sort(starts), np.sort(stops))


def _presence_intervals(ids: Ints, born: Ints, died: Ints) -> tuple[Ints, Ints, Ints]:
    """Each id's presence intervals, as (id, start) of each and the stop of each that stops (all
    but an id's last when one of its contributions never ends), in (id, start) order.

    +1 at each birth, -1 at each end, in (id, position) order with a position's ends before its
    births; an id's presence starts where its running count leaves 0 and stops where it comes
    back, unless a birth at that position takes it up again (one handed over to another)."""
    live = born < died
    if not live.all():
        ids, born, died = ids[live], born[live], died[live]
    if not ids.size:
        return ids, born, died
    ended = np.flatnonzero(died < NEVER)  # a presence that never ends has no end
    ends = died[ended]
    low = int(born.min())
    span = max(int(born.max()), int(ends.max()) if ends.size else 0) - low
    id_count = int(ids.max()) + 1
    # What each id leaves open (its contributions never ended), for the next id to start from.
    left_open = np.bincount(ids, minlength=id_count) - np.bincount(ids[ended], minlength=id_count)
    opened_before = np.cumsum(left_open) - left_open
    steps = None
    if id_count.bit_length() + max(span, 1).bit_length() + 1 > 62:
        # Too far apart to pack with the ids: packed as their ranks among the positions instead.
        steps, ranks = np.unique(np.concatenate((born, ends)), return_inverse=True)
        born, ends, low, span = ranks[: born.size], ranks[born.size :], 0, steps.size - 1
    shift = max(span, 1).bit_length()
    # (id, position, 1 for a birth) in one int64, sorted.
    codes = np.concatenate(
        ((((ids << shift) | (born - low)) << 1) | 1, ((ids[ended] << shift) | (ends - low)) << 1)
    )
    codes.sort()
    births = (codes & 1).astype(bool)
    pairs = codes >> 1
    count = np.cumsum(2 * births - 1) - opened_before[pairs >> shift]
    starting = births & (count == 1)
    stops = np.flatnonzero(~births & (count == 0))
    after = stops + 1
    handed = np.zeros(stops.size, bool)
    inside = after < codes.size
    handed[inside] = pairs[after[inside]] == pairs[stops[inside]]
    starting[after[handed]] = False
    at = pairs & ((1 << shift) - 1)
    starts, stops = at[starting], at[stops[~handed]]
    starts, stops = (steps[starts], steps[stops]) if steps is not None else (starts + low, stops + low)
    return pairs[starting] >> shift, starts, stops


class _Envelope(NamedTuple):
    """The most persons of one live contribution as of any position: of those never ended, the
    most of any born by then (`born`, and the running largest `born_most` in birth order); of the
    ended ones, a step function (from each of `steps` until the next, `step_most`)."""

    born: Ints
    born_most: Ints
    steps: Ints
    step_most: Ints

    def at(self, position: int) -> int:
        """The most persons of a contribution live at `position` (0 for none)."""
        if position >= NEVER:
            return 0
        most = 0
        born = int(np.searchsorted(self.born, position, side="right"))
        if born:
            most = int(self.born_most[born - 1])
        step = int(np.searchsorted(self.steps, position, side="right"))
        if step:
            most = max(most, int(self.step_most[step - 1]))
        return most


def _envelope(persons: Ints, born: Ints, died: Ints) -> _Envelope:
    """The persons envelope of contributions live from `born` (non-decreasing) until `died`: the
    ended ones taken as the presence intervals of each number of persons, few where the ended
    contributions of one number overlap or follow each other."""
    keep = (persons > 0) & (born < died)
    persons, born, died = persons[keep], born[keep], died[keep]
    ended = died < NEVER
    lasting = ~ended
    numbers = persons[ended]
    values = None
    if numbers.size and int(numbers.max()) > 4 * numbers.size:
        # Numbers too large to count presences by: their ranks instead.
        values = np.unique(numbers)
        numbers = np.searchsorted(values, numbers)
    most, starts, stops = _presence_intervals(numbers, born[ended], died[ended])
    steps, step_most = _most_while_live(values[most] if values is not None else most, starts, stops)
    return _Envelope(born[lasting], np.maximum.accumulate(persons[lasting]), steps, step_most)


def _most_while_live(persons: Ints, born: Ints, died: Ints) -> tuple[Ints, Ints]:
    """The most persons of contributions live from `born` until `died` (finite) as steps: each
    one's range of steps put, as the largest persons, in the O(log steps) nodes of a segment tree
    covering it (all contributions at once, a level at a time), then each node's largest pushed
    down to the leaves, the steps."""
    steps = np.sort(np.concatenate((born, died)))
    distinct = np.empty(steps.size, bool)
    distinct[:1] = True
    np.not_equal(steps[1:], steps[:-1], out=distinct[1:])
    steps = steps[distinct]
    if not steps.size:
        return steps, np.zeros(0, np.int64)
    size = 1 << (steps.size - 1).bit_length()
    tree = np.zeros(2 * size, np.int64)
    low = np.searchsorted(steps, born) + size
    high = np.searchsorted(steps, died) + size
    while low.size:
        left = (low & 1).astype(bool)
        np.maximum.at(tree, low[left], persons[left])
        low += left
        right = (high & 1).astype(bool)
        high -= right
        np.maximum.at(tree, high[right], persons[right])
        low >>= 1
        high >>= 1
        open_ = low < high
        low, high, persons = low[open_], high[open_], persons[open_]
    level = 1
    while level < size:
        children = tree[2 * level : 4 * level].reshape(-1, 2)
        np.maximum(children, tree[level : 2 * level, None], out=children)
        level *= 2
    return steps, tree[size : size + steps.size].copy()


class _TotalIndex(NamedTuple):
    """What total_at reads, over the first `size` contributions: their births (in order), the
    ended ones' ends (sorted), running sums of amounts and denominators (None: a column not
    kept), presence intervals of keys (None: not kept) and subjects, and the persons envelope."""

    size: int
    born: Ints
    ended_died: Ints
    amount: _LiveSums | None
    denominator: _LiveSums | None
    keys: _Presence | None
    subjects: _Presence
    persons: _Envelope | None
