"""A figure reused from another position of the same log (indicators/figure_memo.py) is the figure
computed there from scratch, and is reused only where nothing it read changed."""

from __future__ import annotations

import gc
import weakref
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_indicators_log import ProjectLog, feedback, retraction, training
from test_indicators_rules import project_log, small_logs
from test_indicators_scenario import build_log

from events.catalog import TrainingDelivered
from indicators import FIGURES, canonical_json, evaluate_all, evaluate_tables, kpi_series
from indicators.evaluate import _all_figures, _Figure, _figure_result, state_as_of
from indicators.figure_memo import EVERYTHING, StateReads, memo_for, parts_changed_by
from indicators.log_view import LogFold, LogState, fold_log
from indicators.periods import PERIOD_KINDS, period_buckets
from indicators.warm_fold import lineage_of

# The parts of a state a formula or a result may read, besides the live events of each type.
DERIVED_PARTS = ("organisations", "participants", "exchanges", "project", "targets", "baselines")


def parts_that_differ(before: LogState, after: LogState) -> set[str]:
    """The parts of two states that are not equal (a type name: its live events)."""
    differ = {part for part in DERIVED_PARTS if getattr(before, part) != getattr(after, part)}
    for event_type in before.by_type.keys() | after.by_type.keys():
        if before.by_type.get(event_type, ()) != after.by_type.get(event_type, ()):
            differ.add(event_type)
    return differ


def assert_each_entry_changes_only_its_parts(entries: list[Any]) -> None:
    for position in range(1, len(entries) + 1):
        allowed = parts_changed_by(entries[position - 1].type)
        if EVERYTHING in allowed:
            continue
        differ = parts_that_differ(fold_log(entries, position - 1), fold_log(entries, position))
        assert differ <= allowed, f"{position} ({entries[position - 1].type}) changed {differ - allowed}"


def from_scratch(entries: list[Any], position: int | None, period: Any) -> bytes:
    """The table folded apart from any warm fold, so nothing is reused."""
    return canonical_json(_all_figures(fold_log(entries, position), [period])[period])


def series_from_scratch(
    entries: list[Any], figure_id: str, period: Any, by: str | None, position: int | None
) -> bytes:
    """A series' figure folded apart from any warm fold, so nothing is reused."""
    state = fold_log(entries, position)
    sheet = next(sheet for sheet in FIGURES if sheet.figure_id == figure_id)
    buckets = period_buckets(state, period)
    return canonical_json(
        _figure_result(_Figure(state, sheet), period, buckets, () if by is None else (by,), by)
    )


def test_every_entry_of_the_scenario_changes_only_the_parts_the_memo_assumes() -> None:
    assert_each_entry_changes_only_its_parts(build_log().entries)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entries=small_logs())
def test_every_entry_of_a_random_log_changes_only_the_parts_the_memo_assumes(entries: list[Any]) -> None:
    assert_each_entry_changes_only_its_parts(entries)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entries=small_logs(), data=st.data())
def test_figures_reused_along_a_growing_log_equal_figures_computed_from_scratch(
    entries: list[Any], data: Any
) -> None:
    growing: list[Any] = []  # one list, extended at the end, as the service's decoded log is
    while len(growing) < len(entries):
        growing.extend(entries[len(growing) : len(growing) + data.draw(st.integers(1, 4))])
        for _ in range(data.draw(st.integers(1, 3))):  # the head and earlier positions, in any order
            position = data.draw(st.one_of(st.none(), st.integers(0, len(growing))))
            periods = data.draw(st.lists(st.sampled_from(PERIOD_KINDS), min_size=1, max_size=3, unique=True))
            tables = evaluate_tables(growing, position, periods)  # one formula run for all kinds
            assert list(tables) == periods
            for period in periods:
                assert canonical_json(tables[period]) == from_scratch(growing, position, period)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entries=small_logs(), data=st.data())
def test_series_reused_along_a_growing_log_equal_series_computed_from_scratch(
    entries: list[Any], data: Any
) -> None:
    # A few queries asked again and again as the log grows, as a dashboard asks them.
    sheets = data.draw(st.lists(st.sampled_from(FIGURES), min_size=1, max_size=3))
    growing: list[Any] = []
    while len(growing) < len(entries):
        growing.extend(entries[len(growing) : len(growing) + data.draw(st.integers(1, 4))])
        for _ in range(data.draw(st.integers(1, 4))):
            sheet = data.draw(st.sampled_from(sheets))
            by = data.draw(st.sampled_from([None, *sheet.disaggregations[:1]]))
            period = data.draw(st.sampled_from(PERIOD_KINDS))
            position = data.draw(st.one_of(st.none(), st.integers(0, len(growing))))
            series = kpi_series(growing, sheet.figure_id, period=period, by=by, as_of=position)
            assert canonical_json(series.figure) == series_from_scratch(
                growing, sheet.figure_id, period, by, position
            )


def scenario_head() -> ProjectLog:
    log = project_log()
    log.add(training("S1", ["2025-02-01"], [("p1", "clu-de", "2")]))
    log.add(feedback("S1", 5, "p1"), on="2025-02-01")
    return log


def test_feedback_leaves_the_training_figures_as_they_were_and_recomputes_r2() -> None:
    log = scenario_head()
    before = evaluate_all(log.entries)
    log.add(feedback("S1", 1, "p2"), on="2025-02-02")
    after = evaluate_all(log.entries)
    assert after.figure("O1") is before.figure("O1")  # reused: it reads no feedback
    assert after.figure("R2") is not before.figure("R2")
    assert (after.figure("R2").total.numerator, after.figure("R2").total.denominator) == (1, 2)
    assert canonical_json(after) == from_scratch(log.entries, None, "reporting_period")


def test_a_retraction_recomputes_every_figure() -> None:
    log = scenario_head()
    before = evaluate_all(log.entries)
    log.add(retraction(log.entries[-2].event_id), on="2025-03-01")
    after = evaluate_all(log.entries)
    assert all(a is not b for a, b in zip(after.figures, before.figures, strict=True))
    assert after.figure("O1").total.value == 0
    assert canonical_json(after) == from_scratch(log.entries, None, "reporting_period")


def test_a_query_of_an_earlier_position_does_not_cost_the_head_its_figures() -> None:
    log = scenario_head()
    before = evaluate_all(log.entries)
    evaluate_all(log.entries, as_of=2)  # a snapshot's position, say, shown beside the live view
    log.add(feedback("S1", 1, "p2"), on="2025-02-02")
    after = evaluate_all(log.entries)
    assert after.figure("O1") is before.figure("O1")
    assert canonical_json(after) == from_scratch(log.entries, None, "reporting_period")


def test_a_figure_sharing_a_formula_run_is_reused_only_where_the_values_either_run_read_are_equal() -> None:
    # O11.sum and O11.mean share one formula run: whatever either figure's computation read by
    # value (the as-of day, say) must hold for both before one of them is reused.
    log = scenario_head()
    state = state_as_of(log.entries, None)
    memo = memo_for(state)
    assert memo is not None
    trainings, day = StateReads(state), StateReads(state)
    trainings.live(TrainingDelivered)
    assert day.as_of_date is not None
    result = evaluate_all(log.entries, period="quarter").figure("O1")
    buckets = period_buckets(state, "quarter")
    memo.keep(("test", "both runs"), [trainings, day], buckets, result)
    memo.keep(("test", "one run"), [trainings], buckets, result)
    log.add(feedback("S1", 4, "p2"), on="2025-02-01", recorded="2025-02-20T09:00:00")  # feeds no training
    later = state_as_of(log.entries, None)
    assert later.as_of_date != state.as_of_date
    later_memo = memo_for(later)
    assert later_memo is not None
    assert later_memo.reuse(("test", "one run"), period_buckets(later, "quarter")) is result
    assert later_memo.reuse(("test", "both runs"), period_buckets(later, "quarter")) is None


def test_states_handed_out_are_not_kept_alive_for_their_lineage() -> None:
    # A past state of a 1M-event log weighs tens of MB: remembering where it came from must not
    # keep it (nor its lineage outlive it under a reused id).
    log = scenario_head()
    evaluate_all(log.entries)
    past = state_as_of(log.entries, 2)
    assert lineage_of(past) is not None
    gone = weakref.ref(past)
    del past
    gc.collect()
    assert gone() is None


def test_the_head_keeps_its_figures_however_many_past_states_were_asked_for_since() -> None:
    log = scenario_head()
    head = state_as_of(log.entries, None)
    kept_alive = [state_as_of(log.entries, 1 + n % 2) for n in range(200)]  # an auditor's as-of queries
    assert len({id(state) for state in kept_alive}) > 64
    assert lineage_of(head) is not None and lineage_of(head) == lineage_of(kept_alive[-1])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(entries=small_logs(), data=st.data())
def test_a_state_carried_forward_over_new_events_equals_the_state_folded_from_scratch(
    entries: list[Any], data: Any
) -> None:
    fold = LogFold()
    read = 0
    while read < len(entries):
        step = data.draw(st.integers(1, 4))
        for entry in entries[read : read + step]:
            fold.read(entry)
        read = min(read + step, len(entries))
        assert fold.state() == fold_log(entries[:read])
