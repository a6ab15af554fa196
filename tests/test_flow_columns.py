"""A flow figure computed over columns of contributions as of a log position
(indicators/flow_columns.py) is, to the byte, the figure the engine computes from the
contributions live at that position, or None where it leaves the figure to the engine."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

import msgspec
import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_indicators_log import ProjectLog, baseline, project, target

from indicators import FIGURES
from indicators.aggregation import Contribution, measure
from indicators.dimensions import cells
from indicators.evaluate import _Figure, _figure_result
from indicators.flow_columns import FlowColumns, distinct_marked, distinct_sorted
from indicators.kpi_catalog import CATALOG_VERSION, FigureSheet, target_ids
from indicators.log_view import LogState, fold_log
from indicators.periods import Bucket, PeriodKind, period_buckets
from indicators.results import FigureResult, Period, Series, canonical_json

D = dt.date.fromisoformat
SHEETS = {sheet.figure_id: sheet for sheet in FIGURES}
# Flow figures of every aggregation the columns compute: counts (O1, R4), sums of hours (O2) and
# of contacts without ids (O9.contacts), distinct counts (O3, O7), EUR sums and means (O11),
# ratios (R1, R2) and a ratio with a shared-denominator dimension (R3.6m).
FLOW_SHEETS = [
    SHEETS[figure_id]
    for figure_id in ("O1", "O2", "O3", "O7", "O9.contacts", "O11.sum", "O11.mean", "R1", "R2", "R3.6m", "R4")
]
PERIODS = [
    ("RP1", "2025-01-01", "2025-06-30"),
    ("RP2", "2025-07-01", "2025-12-31"),
    ("RP3", "2026-01-01", "2026-06-30"),
    ("RP4", "2026-07-01", "2026-12-31"),
]
PARTNERS = ["clu-de", "clu-es", "clu-pl"]
PERIOD_KINDS: list[PeriodKind] = ["month", "quarter", "reporting_period"]


@functools.cache
def project_state(figure_id: str, as_of: str, targeted: bool) -> LogState:
    """A project with RP1–RP4 and, when `targeted`, life-of-project, cumulative and incremental
    period targets and baselines for the figure, overall and for country=DE; folded as of the
    day `as_of` (the day progress is measured against)."""
    log = ProjectLog()
    log.add(project(PERIODS, PARTNERS), on="2025-01-01", partner="clu-de")
    if targeted:
        indicator = target_ids(SHEETS[figure_id])[0]
        for payload in (
            baseline(indicator, "LoP", "2"),
            baseline(indicator, "RP2", "1", key="country=DE"),
            target(indicator, "LoP", "40"),
            target(indicator, "RP1", "6"),
            target(indicator, "RP2", "5", cumulative=False),
            target(indicator, "RP3", "2", cumulative=False),
            target(indicator, "LoP", "12", key="country=DE"),
            target(indicator, "RP2", "3", key="country=DE"),
            target(indicator, "RP3", "1", cumulative=False, key="country=ES"),
            target(indicator, "RP1", "2", key="partner=clu-es"),
        ):
            log.add(payload, on="2025-01-02", checked=False)
    log.add(target("O1", "RP4", "1"), on=as_of, recorded=f"{as_of}T12:00:00", checked=False)
    return fold_log(log.entries)


def categories_of(dimension: str) -> list[str]:
    if dimension == "country":
        return ["DE", "ES", "PL"]
    if dimension == "partner":
        return PARTNERS
    return [f"{dimension}-a", f"{dimension}-b", f"{dimension}-c"]


def decimals(high: int) -> st.SearchStrategy[Decimal]:
    """Decimals from 0 to `high` written with 0, 1 or 2 places ("8", "7.5", "0.25", "3.00")."""
    return st.builds(
        lambda units, places: Decimal(units).scaleb(-places), st.integers(0, high * 100), st.integers(0, 2)
    ).map(lambda value: value if value <= high else value.scaleb(-2))


@st.composite
def contributions(draw: Any, sheet: FigureSheet) -> Contribution:
    """A contribution to the figure: a day from before the project to after its end, one or
    (sometimes) several or no categories per dimension, 0–3 subjects, a key from a few."""
    categories = {
        dimension: draw(
            st.one_of(
                st.sampled_from(categories_of(dimension)),
                st.lists(st.sampled_from(categories_of(dimension)), max_size=3),
            )
        )
        for dimension in sheet.disaggregations
    }
    return Contribution(
        on=draw(st.dates(D("2024-10-01"), D("2027-03-31"))),
        subjects=draw(st.frozensets(st.sampled_from(["p1", "p2", "p3", "p4", "p5", "org-1"]), max_size=3)),
        persons=draw(st.integers(0, 5)),
        cells=cells(categories),
        amount=draw(decimals(12)),
        key=draw(st.sampled_from([None, "k1", "k2", "k3", "k4"])),
        denominator=draw(decimals(20)),
    )


@st.composite
def timelines(draw: Any, sheet: FigureSheet) -> list[tuple[Contribution, int, int | None]]:
    """Contributions with the position each became live (non-decreasing) and, for some, the
    position it stopped being live (a retraction or a correction)."""
    found = []
    born = draw(st.integers(1, 5))
    for contribution in draw(st.lists(contributions(sheet), max_size=30)):
        born += draw(st.integers(0, 3))
        died = draw(st.one_of(st.none(), st.integers(born, born + 15)))
        found.append((contribution, born, died))
    return found


def live_at(timeline: list[tuple[Contribution, int, int | None]], position: int) -> list[Contribution]:
    return [c for c, born, died in timeline if born <= position and (died is None or position < died)]


def columns_of(sheet: FigureSheet, timeline: list[tuple[Contribution, int, int | None]]) -> FlowColumns:
    columns = FlowColumns(sheet)
    for contribution, born, died in timeline:
        index = columns.add(contribution, born)
        if died is not None:
            columns.end(index, died)
    return columns


def engine_result(
    sheet: FigureSheet,
    state: LogState,
    flow: list[Contribution],
    period: PeriodKind,
    buckets: list[Bucket],
    breakdowns: Sequence[str],
    by: str | None,
) -> FigureResult:
    """evaluate._figure_result over a flow given as is, not computed by its formula: the _Figure
    is set up as its __init__ sets it up from a formula's contributions."""
    figure = object.__new__(_Figure)
    figure.state = state
    figure.sheet = sheet
    figure.is_state = False
    figure._flow = sorted(flow, key=lambda contribution: contribution.on)
    figure._days = [contribution.on for contribution in figure._flow]
    figure._states = {}
    return _figure_result(figure, period, buckets, breakdowns, by)


def served(result: FigureResult | None, period: PeriodKind, by: str | None) -> bytes | None:
    """The canonical bytes of a result served as a series."""
    if result is None:
        return None
    series = Series(
        catalog_version=CATALOG_VERSION,
        period_kind=period,
        by=by,
        as_of_position=0,
        as_of_date=None,
        figure=result,
    )
    return canonical_json(series)


def assert_as_engine(
    columns: FlowColumns,
    flow: list[Contribution],
    position: int,
    state: LogState,
    period: PeriodKind,
    buckets: list[Bucket],
    breakdowns: Sequence[str],
    by: str | None,
) -> None:
    sheet = columns.sheet
    found = columns.figure_result(position, state, period, buckets, breakdowns, by)
    shared = any(name in sheet.shared_denominator for name in [*breakdowns, *([by] if by else [])])
    if shared:
        assert found is None
        return
    expected = engine_result(sheet, state, flow, period, buckets, breakdowns, by)
    assert served(found, period, by) == served(expected, period, by)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_flow_figure_as_of_any_position_is_the_engines_figure_of_what_is_live_there(data: Any) -> None:
    sheet = data.draw(st.sampled_from(FLOW_SHEETS))
    timeline = data.draw(timelines(sheet))
    as_of = data.draw(st.sampled_from(["2025-03-15", "2025-11-30", "2027-01-10"]))
    state = project_state(sheet.figure_id, as_of, data.draw(st.booleans()))
    columns = columns_of(sheet, timeline)
    last = max((born for _, born, _ in timeline), default=0)
    for position in data.draw(st.lists(st.integers(0, last + 16), min_size=1, max_size=3)):
        flow = live_at(timeline, position)
        for period in PERIOD_KINDS:
            buckets = period_buckets(state, period)
            assert_as_engine(columns, flow, position, state, period, buckets, sheet.disaggregations, None)
            for by in sheet.disaggregations:
                assert_as_engine(columns, flow, position, state, period, buckets, (by,), by)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_columns_read_while_the_log_grows_and_events_are_retracted_agree_with_the_engine(data: Any) -> None:
    sheet = data.draw(st.sampled_from(FLOW_SHEETS))
    state = project_state(sheet.figure_id, "2025-11-30", True)
    buckets = period_buckets(state, "reporting_period")
    by = data.draw(st.sampled_from([None, "country", "partner"]))
    if by is not None and by not in sheet.disaggregations:
        by = None
    columns = FlowColumns(sheet)
    added: list[tuple[Contribution, int, int | None]] = []
    for contribution, born, died in data.draw(timelines(sheet)):
        added.append((contribution, born, None))
        columns.add(contribution, born)
        # A retraction is appended later than the event it retracts: end an earlier one.
        if died is not None and data.draw(st.booleans()):
            index = data.draw(st.integers(0, len(added) - 1))
            ended, ended_born, _ = added[index]
            died = max(died, ended_born)
            added[index] = (ended, ended_born, died)
            columns.end(index, died)
        if data.draw(st.booleans()):
            position = data.draw(st.integers(0, born + 16))
            flow = live_at(added, position)
            assert_as_engine(columns, flow, position, state, "reporting_period", buckets, (), by)


def training_hours(on: str, person: str, hours: str, country: str = "DE") -> Contribution:
    """What one attendee of a training adds to O2 (person-hours)."""
    return Contribution(
        on=D(on),
        subjects=frozenset({person}),
        cells=cells(
            {
                "partner": "clu-de",
                "country": country,
                "region_category": "more_developed",
                "sector": "digital",
                "gender": "F",
                "topic": "strategy",
                "format": "onsite",
            }
        ),
        amount=Decimal(hours),
    )


def test_a_retracted_training_no_longer_counts_towards_O2_from_the_position_of_its_retraction() -> None:
    sheet = SHEETS["O2"]
    state = project_state("O2", "2025-11-30", True)
    buckets = period_buckets(state, "reporting_period")
    columns = FlowColumns(sheet)
    columns.add(training_hours("2025-02-01", "p1", "8"), born=10)
    retracted = columns.add(training_hours("2025-08-01", "p2", "7.5", country="ES"), born=11)
    columns.end(retracted, died=20)

    def total(position: int) -> Decimal | None:
        result = columns.figure_result(position, state, "reporting_period", buckets, (), None)
        assert result is not None
        return result.total.value

    assert total(9) == Decimal("0.00")
    assert total(19) == Decimal("15.50")
    assert total(20) == Decimal("8.00")


def test_periods_with_a_gap_between_them_count_the_gap_only_cumulatively() -> None:
    sheet = SHEETS["O2"]
    state = project_state("O2", "2025-11-30", True)
    period = Period(period_id="RP1", start=D("2025-01-01"), end=D("2025-03-31"))
    later = Period(period_id="RP2", start=D("2025-06-01"), end=D("2025-09-30"))
    buckets = [Bucket(period, None, period.end), Bucket(later, later.start, later.end)]
    flow = [
        training_hours(on, person, "2", country)
        for on, person, country in [
            ("2025-02-01", "p1", "DE"),
            ("2025-04-15", "p2", "ES"),  # in neither period
            ("2025-07-01", "p1", "ES"),
            ("2025-12-01", "p3", "DE"),  # after the last period, which is closed
        ]
    ]
    columns = columns_of(sheet, [(contribution, 1, None) for contribution in flow])
    for by in (None, "country"):
        assert_as_engine(columns, flow, 1, state, "reporting_period", buckets, ("country", "gender"), by)


def test_a_project_without_periods_has_its_totals_and_breakdowns_only() -> None:
    sheet = SHEETS["O3"]
    state = fold_log([])
    flow = [
        Contribution(
            on=D("2025-02-01"),
            subjects=frozenset({person}),
            cells=cells(dict.fromkeys(sheet.disaggregations, "x")),
            key=person,
        )
        for person in ("p1", "p2", "p1")
    ]
    columns = columns_of(sheet, [(contribution, 1, None) for contribution in flow])
    assert period_buckets(state, "reporting_period") == []
    assert_as_engine(columns, flow, 1, state, "reporting_period", [], sheet.disaggregations, None)


def test_sums_beyond_float_precision_stay_exact() -> None:
    sheet = SHEETS["O11.sum"]
    state = project_state("O11.sum", "2025-11-30", True)
    buckets = period_buckets(state, "quarter")
    flow = [
        Contribution(
            on=D("2025-05-01"),
            subjects=frozenset({f"org-{i}"}),
            cells=cells(dict.fromkeys(sheet.disaggregations, "x")),
            amount=Decimal("9007199254740.93"),
        )
        for i in range(40)
    ]
    columns = columns_of(sheet, [(contribution, 1, None) for contribution in flow])
    assert_as_engine(columns, flow, 1, state, "quarter", buckets, sheet.disaggregations, None)


def test_what_the_columns_cannot_compute_exactly_is_left_to_the_engine() -> None:
    state = project_state("O2", "2025-11-30", True)
    buckets = period_buckets(state, "reporting_period")
    o2 = SHEETS["O2"]

    def result(sheet: FigureSheet, flow: list[Contribution], **query: Any) -> FigureResult | None:
        columns = columns_of(sheet, [(contribution, 1, None) for contribution in flow])
        arguments: dict[str, Any] = {"buckets": buckets, "breakdowns": (), "by": None, **query}
        return columns.figure_result(1, state, "reporting_period", **arguments)

    hours = [training_hours("2025-02-01", "p1", "8")]
    assert result(o2, hours) is not None
    # An amount beyond 64 bits, a median, a state figure (R7 is read as of each period's end).
    assert result(o2, [*hours, training_hours("2025-02-01", "p2", "1E+30")]) is None
    assert result(o2, [*hours, training_hours("2025-02-01", "p2", "0.0000000000001")]) is None
    median = msgspec.structs.replace(o2, aggregation="median")
    assert result(median, hours) is None
    assert result(SHEETS["R7"], hours) is None
    # A shared-denominator dimension (R3's follow-up type), asked as the series' or a breakdown.
    r3 = SHEETS["R3.6m"]
    assert result(r3, [], by="follow_up_type") is None
    assert result(r3, [], breakdowns=("follow_up_type",)) is None
    # Overlapping periods; a dimension the figure does not have.
    overlapping = [buckets[0], Bucket(buckets[1].period, buckets[0].high, buckets[1].high), *buckets[2:]]
    assert result(o2, hours, buckets=overlapping) is None
    assert result(o2, hours, by="org_type") is None


@settings(max_examples=200, deadline=None)
@given(
    rows=st.lists(st.tuples(st.integers(0, 3), st.integers(0, 9), st.integers(0, 4)), max_size=60),
)
def test_distinct_ids_counted_by_marking_and_by_sorting_are_the_same_sets(
    rows: list[tuple[int, int, int]],
) -> None:
    groups, ids, segments = (np.array([row[i] for row in rows], np.int64) for i in range(3))
    expected_own = np.zeros((4, 5), np.int64)
    expected_so_far = np.zeros((4, 5), np.int64)
    for group in range(4):
        for segment in range(5):
            expected_own[group, segment] = len({i for g, i, s in rows if g == group and s == segment})
            expected_so_far[group, segment] = len({i for g, i, s in rows if g == group and s <= segment})
    for count in (distinct_marked, distinct_sorted):
        own, so_far = count(groups, ids, segments, 10, (4, 5))
        assert own.tolist() == expected_own.tolist()
        assert so_far.tolist() == expected_so_far.tolist()


@st.composite
def handovers(draw: Any, sheet: FigureSheet) -> list[tuple[Contribution, int, int | None]]:
    """A timeline in which some contributions end at the very position a later one with the same
    key (or a subject in common) is born: the key's (the subject's) presence goes on unbroken."""
    timeline: list[tuple[Contribution, int, int | None]] = draw(timelines(sheet))
    for index, (contribution, born, _) in enumerate(timeline):
        successors = [
            later_born
            for later, later_born, _ in timeline[index + 1 :]
            if later.key == contribution.key or later.subjects & contribution.subjects
        ]
        if successors and draw(st.booleans()):
            timeline[index] = (contribution, born, draw(st.sampled_from(successors)))
    return timeline


def assert_total_as_measured(
    columns: FlowColumns, timeline: list[tuple[Contribution, int, int | None]], position: int
) -> None:
    """total_at is `measure` of what is live at `position`, and figure_result's total there."""
    sheet = columns.sheet
    found = columns.total_at(position)
    expected = measure(live_at(timeline, position), sheet)
    assert found is not None
    assert found.exact == expected.exact  # the same number, however many trailing zeros
    assert msgspec.json.encode(found.figure) == msgspec.json.encode(expected.figure)
    state = project_state(sheet.figure_id, "2025-11-30", False)
    buckets = period_buckets(state, "reporting_period")
    result = columns.figure_result(position, state, "reporting_period", buckets, (), None)
    assert result is not None
    assert msgspec.json.encode(result.total) == msgspec.json.encode(found.figure)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_a_figures_total_as_of_any_position_is_the_measure_of_what_is_live_there(data: Any) -> None:
    sheet = data.draw(st.sampled_from(FLOW_SHEETS))
    timeline = data.draw(handovers(sheet))
    # Positions from a drawn contribution on pushed 2**61 further take the index's other sort
    # (they no longer pack with the ids into 62 bits).
    gap, after = data.draw(st.sampled_from([0, 0, 2**61])), data.draw(st.integers(0, len(timeline)))
    timeline = [
        (contribution, born + gap, died + gap if died is not None else None) if index >= after else entry
        for index, entry in enumerate(timeline)
        for contribution, born, died in [entry]
    ]
    columns = columns_of(sheet, timeline)
    first = min((born for _, born, _ in timeline), default=0)
    last = max((born for _, born, _ in timeline), default=0)
    positions = data.draw(st.lists(st.integers(first - 2, first + 40), min_size=1, max_size=6))
    if gap:
        positions += data.draw(st.lists(st.integers(gap - 2, max(gap, last) + 16), min_size=1, max_size=4))
    for position in [first - 1, *positions, last + 16]:
        assert_total_as_measured(columns, timeline, position)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_totals_read_while_the_log_grows_and_events_are_retracted_are_the_measure_of_the_live(
    data: Any,
) -> None:
    sheet = data.draw(st.sampled_from(FLOW_SHEETS))
    columns = FlowColumns(sheet)
    added: list[tuple[Contribution, int, int | None]] = []
    for contribution, born, died in data.draw(handovers(sheet)):
        added.append((contribution, born, None))
        columns.add(contribution, born)
        if died is not None and data.draw(st.booleans()):
            index = data.draw(st.integers(0, len(added) - 1))
            ended, ended_born, _ = added[index]
            died = max(died, ended_born)
            added[index] = (ended, ended_born, died)
            columns.end(index, died)
        for position in data.draw(st.lists(st.integers(0, born + 16), max_size=2)):
            assert_total_as_measured(columns, added, position)


def test_an_organisation_handed_over_between_two_engagements_is_counted_once_throughout() -> None:
    sheet = SHEETS["O7"]

    def engagement(org: str) -> Contribution:
        categories = cells(dict.fromkeys(sheet.disaggregations, "x"))
        return Contribution(on=D("2025-03-01"), subjects=frozenset({org}), cells=categories, key=org)

    columns = FlowColumns(sheet)
    first = columns.add(engagement("org-1"), born=10)
    columns.add(engagement("org-1"), born=20)  # a correction: the first is ended where it is born
    columns.add(engagement("org-2"), born=30)
    columns.end(first, died=20)

    def total(position: int) -> tuple[Decimal | None, int]:
        found = columns.total_at(position)
        assert found is not None
        return found.figure.value, found.figure.n

    assert [total(position) for position in (9, 10, 19, 20, 29, 30)] == [
        (Decimal(0), 0),
        (Decimal(1), 1),
        (Decimal(1), 1),
        (Decimal(1), 1),
        (Decimal(1), 1),
        (Decimal(2), 2),
    ]


def test_totals_beyond_64_bits_stay_exact() -> None:
    sheet = SHEETS["O11.sum"]
    flow = [
        Contribution(
            on=D("2025-05-01"),
            subjects=frozenset({f"org-{i}"}),
            cells=cells(dict.fromkeys(sheet.disaggregations, "x")),
            amount=Decimal(-(2**62) if i == 3 else 2**62 + i).scaleb(-2),
        )
        for i in range(8)
    ]
    timeline: list[tuple[Contribution, int, int | None]] = [
        (contribution, i, 5 if i == 1 else None) for i, contribution in enumerate(flow)
    ]
    columns = columns_of(sheet, timeline)
    for position in range(-1, 10):
        found = columns.total_at(position)
        assert found is not None
        expected = measure(live_at(timeline, position), sheet)
        assert (found.exact, found.figure) == (expected.exact, expected.figure)


def test_a_total_the_columns_cannot_compute_exactly_is_left_to_the_engine() -> None:
    o2 = SHEETS["O2"]
    hours: list[tuple[Contribution, int, int | None]] = [(training_hours("2025-02-01", "p1", "8"), 1, None)]
    assert columns_of(o2, hours).total_at(1) is not None
    beyond = [*hours, (training_hours("2025-02-01", "p2", "1E+30"), 2, None)]
    assert columns_of(o2, beyond).total_at(1) is None
    assert columns_of(msgspec.structs.replace(o2, aggregation="median"), hours).total_at(1) is None
    assert columns_of(SHEETS["R7"], hours).total_at(1) is None
