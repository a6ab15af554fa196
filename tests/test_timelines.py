"""Contribution timelines (indicators/timelines.py): at every position of a log, the
contributions live in a flow figure's timeline are exactly those its formula finds in the fold."""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_indicators_log import ProjectLog, coaching, organisation, project, retraction, size_change
from test_indicators_rules import PERIODS, small_logs
from test_indicators_scenario import build_log

from indicators import FIGURES, canonical_json, evaluate_summary, evaluate_tables, kpi_series, timeline_store
from indicators.aggregation import Contribution
from indicators.evaluate import (
    STATE_FORMULAS,
    _series_off_timelines,
    _summary_off_timelines,
    _tables_off_timelines,
)
from indicators.impact import panel_summary
from indicators.kpi_catalog import figure_sheet
from indicators.log_view import LogFold, LogState
from indicators.periods import PERIOD_KINDS, period_buckets
from indicators.timelines import FLOW_FORMULAS, STATE_KINDS, Timeline, TimelineBuilder


def as_multiset(contributions: list[Contribution]) -> list[bytes]:
    return sorted(msgspec.json.encode(c, order="sorted") for c in contributions)


def assert_timelines_match_the_fold(entries: list[Any]) -> None:
    builder = TimelineBuilder(lambda figure: Timeline())
    fold = LogFold()
    for entry in entries:
        builder.read(entry)
        fold.read(entry)
        state = fold.state()
        for figure, formula in FLOW_FORMULAS.items():
            expected = as_multiset(formula(state))
            found = as_multiset(builder.timelines[figure].live_at(entry.position))
            assert found == expected, (figure, entry.position, type(entry.payload).__name__)
    # Every past position is still read off the same timelines, and what they do not hold off
    # the state the builder keeps beside them.
    replay = LogFold()
    for entry in entries:
        replay.read(entry)
        state = replay.state()
        for figure, formula in FLOW_FORMULAS.items():
            assert as_multiset(builder.timelines[figure].live_at(entry.position)) == as_multiset(
                formula(state)
            ), (figure, entry.position)
        assert_the_state_beside_matches(builder, state)


def assert_the_state_beside_matches(builder: TimelineBuilder[Timeline], state: LogState) -> None:
    beside = builder.state_at(state.position, STATE_KINDS)
    assert (beside.position, beside.recorded_at, beside.as_of_date) == (
        state.position,
        state.recorded_at,
        state.as_of_date,
    )
    assert (beside.project, beside.targets, beside.baselines) == (
        state.project,
        state.targets,
        state.baselines,
    )
    assert panel_summary(beside) == panel_summary(state)
    for org_id, registered in state.organisations.items():
        assert beside.organisations.get(org_id) == registered, org_id
    assert beside.organisations.get("nobody-registered-this") is None
    for figure, formula in STATE_FORMULAS.items():
        for until in {
            None,
            state.as_of_date,
            *(p.end for p in (state.project.reporting_periods if state.project else [])),
        }:
            assert as_multiset(formula(beside, until)) == as_multiset(formula(state, until)), (figure, until)
    days = builder.result_days(state.position)
    for kind in PERIOD_KINDS:
        assert period_buckets(beside, kind, lambda: days) == period_buckets(state, kind), kind


def test_the_hand_worked_scenario_reads_the_same_off_its_timelines_at_every_position() -> None:
    assert_timelines_match_the_fold(build_log().entries)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entries=small_logs())
def test_a_random_log_reads_the_same_off_its_timelines_at_every_position(entries: list[Any]) -> None:
    assert_timelines_match_the_fold(entries)


def test_a_late_earlier_engagement_moves_an_smes_o7_size_class_cell_in_every_unit() -> None:
    log = ProjectLog()
    log.add(project(PERIODS, ["clu-de", "clu-es"]), on="2025-01-01", partner="clu-de")
    log.add(organisation("sme-1", "SME", "DE", "less_developed", "digital", "micro"), on="2025-01-01")
    log.add(size_change("sme-1", "small"), on="2025-06-01")
    log.add(coaching("c-1", "clu-de", "sme-1", "2"), on="2025-07-01", partner="clu-de")
    log.add(coaching("c-2", "clu-de", "sme-1", "3"), on="2025-08-01", partner="clu-de")
    # Learnt late: a coaching session in March, when sme-1 was still micro.
    late = log.add(coaching("c-0", "clu-de", "sme-1", "1"), on="2025-03-01", partner="clu-de")
    log.add(retraction(late), on="2025-09-01", partner="clu-de")
    builder = TimelineBuilder(lambda figure: Timeline())
    builder.read_all(log.entries)
    o7 = builder.timelines["O7"]
    classes = [sorted(c.cells["size_class"][0] for c in o7.live_at(p)) for p in (5, 6, 7)]
    assert classes == [["small", "small"], ["micro", "micro", "micro"], ["small", "small"]]
    assert_timelines_match_the_fold(log.entries)


def engine_series(entries: list[Any], figure: str, period: Any, by: str | None, position: int) -> bytes:
    """The series as the engine folds it (timelines switched off)."""
    kept = timeline_store.TIMELINES_FROM
    timeline_store.TIMELINES_FROM = 10**12
    try:
        return canonical_json(kpi_series(entries, figure, period, by, as_of=position))
    finally:
        timeline_store.TIMELINES_FROM = kept


def assert_series_off_timelines_match_the_engine(entries: list[Any], queries: list[Any]) -> None:
    if not entries:
        return  # an empty log has no timelines: the engine answers
    for figure, period, by, position in queries:
        timeline_store.TIMELINES_FROM = 0
        timeline_store.follow(entries)
        try:
            series = _series_off_timelines(entries, figure_sheet(figure), period, by, position)
            assert series is not None, ("not read off the timelines", figure, period, by)
            fast = canonical_json(series)
        finally:
            timeline_store.TIMELINES_FROM = 50_000
        assert fast == engine_series(entries, figure, period, by, position), (figure, period, by, position)


def every_query(entries: list[Any], positions: list[int]) -> list[Any]:
    return [
        (sheet.figure_id, period, by, position)
        for sheet in FIGURES
        for period in PERIOD_KINDS
        for by in (None, *sheet.disaggregations)
        for position in positions
    ]


def test_every_series_of_the_scenario_off_its_timelines_equals_the_engines() -> None:
    entries = build_log().entries
    assert_series_off_timelines_match_the_engine(
        entries, every_query(entries, [len(entries) // 2, len(entries)])
    )


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entries=small_logs(), data=st.data())
def test_series_of_a_random_log_off_its_timelines_equal_the_engines(entries: list[Any], data: Any) -> None:
    queries = [
        (
            sheet.figure_id,
            data.draw(st.sampled_from(PERIOD_KINDS)),
            by,
            data.draw(st.integers(0, len(entries))),
        )
        for sheet in FIGURES
        for by in (None, *sheet.disaggregations)
    ]
    assert_series_off_timelines_match_the_engine(entries, queries)


def engine_tables(entries: list[Any], position: int) -> list[bytes]:
    """Both dashboard tables as the engine folds them (timelines switched off)."""
    kept = timeline_store.TIMELINES_FROM
    timeline_store.TIMELINES_FROM = 10**12
    try:
        tables = evaluate_tables(entries, position, PERIOD_KINDS)
        return [canonical_json(tables[period]) for period in PERIOD_KINDS]
    finally:
        timeline_store.TIMELINES_FROM = kept


def tables_off_timelines(entries: list[Any], position: int) -> list[bytes]:
    timeline_store.TIMELINES_FROM = 0
    timeline_store.follow(entries)
    try:
        tables = _tables_off_timelines(entries, position, PERIOD_KINDS)
        assert tables is not None, "the tables were not read off the timelines"
        return [canonical_json(tables[period]) for period in PERIOD_KINDS]
    finally:
        timeline_store.TIMELINES_FROM = 50_000


def test_the_scenarios_tables_off_its_timelines_equal_the_engines_at_every_position() -> None:
    entries = build_log().entries
    for position in range(len(entries) + 1):
        assert tables_off_timelines(entries, position) == engine_tables(entries, position), position


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entries=small_logs(), data=st.data())
def test_tables_of_a_random_log_off_its_timelines_equal_the_engines(entries: list[Any], data: Any) -> None:
    if not entries:
        return  # an empty log has no timelines: the engine answers
    position = data.draw(st.integers(0, len(entries)))
    assert tables_off_timelines(entries, position) == engine_tables(entries, position)


def engine_summary(entries: list[Any], position: int) -> bytes:
    kept = timeline_store.TIMELINES_FROM
    timeline_store.TIMELINES_FROM = 10**12
    try:
        return canonical_json(evaluate_summary(entries, position))
    finally:
        timeline_store.TIMELINES_FROM = kept


def summary_off_timelines(entries: list[Any], position: int) -> bytes:
    timeline_store.TIMELINES_FROM = 0
    timeline_store.follow(entries)
    try:
        summary = _summary_off_timelines(entries, position)
        assert summary is not None, "the summary was not read off the timelines"
        return canonical_json(summary)
    finally:
        timeline_store.TIMELINES_FROM = 50_000


def test_the_scenarios_summary_off_its_timelines_equals_the_full_tables_at_every_position() -> None:
    entries = build_log().entries
    for position in range(len(entries) + 1):
        assert summary_off_timelines(entries, position) == engine_summary(entries, position), position


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entries=small_logs(), data=st.data())
def test_the_summary_of_a_random_log_off_its_timelines_equals_the_full_tables(
    entries: list[Any], data: Any
) -> None:
    if not entries:
        return  # an empty log has no timelines: the engine answers
    for position in data.draw(st.lists(st.integers(0, len(entries)), min_size=1, max_size=4)):
        assert summary_off_timelines(entries, position) == engine_summary(entries, position), position
