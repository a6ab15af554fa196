"""Adversarial checks of the figure memo (indicators/figure_memo.py) and the warm fold it rides on
(indicators/warm_fold.py, LogFold.state carried forward): queries interleaved over several logs
and copies of one log, backwards and forwards, by position and by date, until the stores evict,
must serve exactly what folding from scratch gives."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_figure_memo import from_scratch, series_from_scratch
from test_indicators_log import ProjectLog, feedback, organisation, participant, size_change, target, training
from test_indicators_rules import PERIODS, project_log, small_logs
from test_indicators_scenario import build_log

from events.catalog import ActivityRetracted, CorrectionRecorded, decode_payload
from events.catalog.examples import EXAMPLES
from indicators import FIGURES, canonical_json, evaluate_all, evaluate_tables, figure_evidence, kpi_series
from indicators.figure_memo import FigureMemo
from indicators.log_view import LogFold, fold_log, resolve_as_of
from indicators.periods import PERIOD_KINDS

SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def reid(entries: list[Any], log_number: int) -> list[Any]:
    """The same log under other event ids (its first one too: another log for the warm folds)."""

    def new(event_id: uuid.UUID) -> uuid.UUID:
        return uuid.UUID(int=(log_number << 64) | (event_id.int & ((1 << 64) - 1)))

    found = []
    for entry in entries:
        payload = entry.payload
        if isinstance(payload, CorrectionRecorded | ActivityRetracted):
            payload = msgspec.structs.replace(payload, target_event_id=new(payload.target_event_id))
        found.append(msgspec.structs.replace(entry, event_id=new(entry.event_id), payload=payload))
    return found


def renumbered(entries: list[Any]) -> list[Any]:
    """Positions 1, 2, … and non-decreasing recorded_at, whatever was inserted."""
    found: list[Any] = []
    for index, entry in enumerate(entries, start=1):
        recorded = entry.recorded_at if not found else max(entry.recorded_at, found[-1].recorded_at)
        found.append(msgspec.structs.replace(entry, position=index, recorded_at=recorded))
    return found


def with_duplicates(entries: list[Any], copies: list[tuple[int, int]]) -> list[Any]:
    """Entries delivered twice: a copy of entry `source` (same event id) inserted after `at`."""
    result = list(entries)
    for source, at in sorted(copies, key=lambda c: -c[1]):
        if entries and source < len(entries):
            result.insert(min(max(at, source + 1), len(result)), entries[source])
    return renumbered(result)


def check_table(log: list[Any], as_of: Any, periods: list[str]) -> None:
    tables = evaluate_tables(log, as_of, periods)
    assert set(tables) == set(periods)
    position = resolve_as_of(log, as_of)
    for period in set(periods):
        assert canonical_json(tables[period]) == from_scratch(log, position, period), (position, period)


def check_series(log: list[Any], as_of: Any, sheet: Any, period: str, by: str | None) -> None:
    series = kpi_series(log, sheet.figure_id, period=period, by=by, as_of=as_of)
    position = resolve_as_of(log, as_of)
    assert canonical_json(series.figure) == series_from_scratch(log, sheet.figure_id, period, by, position), (
        position,
        sheet.figure_id,
        period,
        by,
    )


def as_of_of(log: list[Any], data: Any) -> Any:
    """A position (sometimes beyond the head), a day, or None."""
    choice = data.draw(st.sampled_from(["none", "position", "date", "beyond"]))
    if choice == "none":
        return None
    if choice == "beyond":
        return len(log) + data.draw(st.integers(1, 3))
    if choice == "position" or not log:
        return data.draw(st.integers(0, len(log)))
    first = log[0].recorded_at.date() - dt.timedelta(days=2)
    last = log[-1].recorded_at.date() + dt.timedelta(days=2)
    return data.draw(st.dates(first, last))


def query(log: list[Any], data: Any) -> None:
    as_of = as_of_of(log, data)
    if data.draw(st.booleans()):
        # Period kinds repeated: one formula run for all, each table the one from scratch.
        check_table(log, as_of, data.draw(st.lists(st.sampled_from(PERIOD_KINDS), min_size=1, max_size=4)))
    else:
        sheet = data.draw(st.sampled_from(FIGURES))
        by = data.draw(st.sampled_from([None, *sheet.disaggregations]))
        check_series(log, as_of, sheet, data.draw(st.sampled_from(PERIOD_KINDS)), by)


@SETTINGS
@given(first=small_logs(), second=small_logs(), data=st.data())
def test_queries_interleaved_over_logs_and_copies_equal_the_figures_from_scratch(
    first: list[Any], second: list[Any], data: Any
) -> None:
    # Three logs with their own first event ids (more than the warm folds kept), a copy of the
    # first (the same ids, other objects: another lineage for the same log id), and the second
    # log under the first one's ids (another log under the same log id).
    sources = [reid(first, 1), reid(second, 2), reid(first[::-1][: len(first) // 2][::-1] or second, 3)]
    sources = [renumbered(source) for source in sources]
    sources.append([msgspec.structs.replace(entry) for entry in sources[0]])
    sources.append(reid(second, 1))
    growing: list[list[Any]] = [[] for _ in sources]
    for _ in range(data.draw(st.integers(4, 14))):
        which = data.draw(st.integers(0, len(sources) - 1))
        log, source = growing[which], sources[which]
        if len(log) < len(source) and data.draw(st.booleans()):
            log.extend(source[len(log) : len(log) + data.draw(st.integers(1, 6))])
        for _ in range(data.draw(st.integers(1, 3))):
            query(log, data)


@SETTINGS
@given(entries=small_logs(), data=st.data())
def test_an_event_delivered_twice_is_reused_and_served_as_from_scratch(entries: list[Any], data: Any) -> None:
    if not entries:
        return
    copies = data.draw(
        st.lists(st.tuples(st.integers(0, len(entries) - 1), st.integers(0, len(entries))), max_size=4)
    )
    log_entries = reid(with_duplicates(entries, copies), 7)
    growing: list[Any] = []
    while len(growing) < len(log_entries):
        growing.extend(log_entries[len(growing) : len(growing) + data.draw(st.integers(1, 5))])
        assert LogFoldState(growing) == fold_log(growing)
        for _ in range(data.draw(st.integers(1, 3))):
            query(growing, data)


def LogFoldState(entries: list[Any]) -> Any:
    fold = LogFold()
    for entry in entries:
        fold.read(entry)
    return fold.state()


@SETTINGS
@given(entries=small_logs(), data=st.data())
def test_positions_walked_backwards_then_forwards_equal_the_figures_from_scratch(
    entries: list[Any], data: Any
) -> None:
    log = reid(entries, 11)
    sheet = data.draw(st.sampled_from(FIGURES))
    by = data.draw(st.sampled_from([None, *sheet.disaggregations]))
    period = data.draw(st.sampled_from(PERIOD_KINDS))
    periods = data.draw(st.lists(st.sampled_from(PERIOD_KINDS), min_size=1, max_size=3))
    order = [None, *range(len(log), -1, -1), *range(len(log) + 1), None]
    for position in order:
        check_table(log, position, periods)
        check_series(log, position, sheet, period, by)


def test_every_series_of_the_scenario_at_every_few_positions_equals_the_series_from_scratch() -> None:
    log = reid(build_log().entries, 21)
    positions = [None, len(log), 60, 61, 30, 97, 10, 0, 45, 96, None]
    for position in positions:
        for sheet in FIGURES:
            for by in [None, *sheet.disaggregations]:
                for period in PERIOD_KINDS:
                    check_series(log, position, sheet, period, by)


def test_scenario_tables_interleaved_with_a_copy_and_another_log_equal_the_tables_from_scratch() -> None:
    base = build_log().entries
    log = reid(base, 22)
    copy = [msgspec.structs.replace(entry) for entry in log]
    other = reid(base[:50], 23)
    for position in [None, 90, 20, 97, 50, 51, None, 1, 0]:
        for logs in ([log], [copy, log], [other, log, copy]):
            for each in logs:
                check_table(each, position, ["quarter", "reporting_period", "month", "quarter"])
                check_table(each, dt.date(2025, 6, 30), ["reporting_period"])


def reference_log() -> ProjectLog:
    log = project_log()
    log.add(organisation("sme-a", "SME", "DE", "transition", "digital", "micro"), on="2025-01-01")
    log.add(participant("p1", "sme-a", "other", "F"), on="2025-01-01")
    log.add(training("S1", ["2025-02-01"], [("p1", "sme-a", "2")]))
    log.add(feedback("S1", 5, "p1"), on="2025-02-01")
    return log


def test_late_reference_data_and_events_after_the_end_recompute_what_they_feed() -> None:
    log = reference_log()
    head = log.entries  # one list, extended at the end
    steps = [
        (size_change("sme-a", "large"), "2025-01-15"),  # in force before the training
        (participant("p1", "sme-a", "cluster_staff", "M"), "2025-03-01"),  # re-registered
        (organisation("sme-a", "cluster_org", "ES", "transition", "digital", "medium"), "2025-03-02"),
        (target("O1", "RP1", "5"), "2025-04-01"),
        (target("O1", "LoP", "2"), "2026-12-01"),  # set after the project end
        (training("S2", ["2026-11-30"], [("p1", "sme-a", "2")]), None),  # after the end
        (feedback("S2", 1, "p1"), "2026-12-01"),
        (size_change("sme-a", "micro"), "2024-01-01"),
    ]
    for payload, on in steps:
        for period in PERIOD_KINDS:
            evaluate_all(head, period=period)
        log.add(payload, on=on, checked=False)
        for position in [None, len(head) - 1, 3, len(head)]:
            check_table(head, position, list(PERIOD_KINDS))
            for sheet in FIGURES:
                for by in [None, *sheet.disaggregations[:2]]:
                    check_series(head, position, sheet, "reporting_period", by)


def test_empty_logs_and_logs_without_a_project() -> None:
    check_table([], None, list(PERIOD_KINDS))
    check_table([], 3, ["month"])
    check_table([], dt.date(2025, 1, 1), ["quarter"])
    log = ProjectLog()
    log.add(organisation("sme-a", "SME", "DE", "transition", "digital", "micro"), on="2025-01-01")
    log.add(training("S1", ["2025-02-01"], [("p1", "sme-a", "2")]))
    log.add(feedback("S1", 5, "p1"), on="2025-02-01")
    entries = reid(log.entries, 31)
    for position in [None, 0, 1, 2, 3, 2, None, dt.date(2025, 2, 2)]:
        check_table(entries, position, list(PERIOD_KINDS))
        for sheet in FIGURES:
            check_series(entries, position, sheet, "month", None)


def test_evidence_agrees_with_a_copy_of_the_log_after_reused_figures() -> None:
    log = reid(build_log().entries, 41)
    copy = [msgspec.structs.replace(entry) for entry in log]
    for position in [None, 50, 97, 20]:
        evaluate_all(log, as_of=position)
        for sheet in FIGURES[:10]:
            assert canonical_json(figure_evidence(log, sheet.figure_id, as_of=position)) == canonical_json(
                figure_evidence(copy, sheet.figure_id, as_of=position)
            )


def test_the_periods_of_the_fixture_project() -> None:
    assert [period for period, _, _ in PERIODS] == ["RP1", "RP2", "RP3"]


EXAMPLE_TYPES = sorted(EXAMPLES)


@SETTINGS
@given(
    kinds=st.lists(st.sampled_from(EXAMPLE_TYPES), min_size=1, max_size=30),
    with_project=st.booleans(),
    data=st.data(),
)
def test_every_event_type_of_the_catalog_grows_a_log_served_as_from_scratch(
    kinds: list[str], with_project: bool, data: Any
) -> None:
    # The catalog's example story, each type any number of times (consent, erasure, grants,
    # period sign-offs and snapshots too, which the random logs never hold), some targets of
    # corrections and retractions real ones.
    log = ProjectLog()
    for kind in ["ProjectRegistered"] * with_project + kinds:
        payload = decode_payload(kind, EXAMPLES[kind])
        if isinstance(payload, CorrectionRecorded | ActivityRetracted) and log.entries:
            earlier = log.entries[data.draw(st.integers(0, len(log.entries) - 1))].event_id
            payload = msgspec.structs.replace(payload, target_event_id=earlier)
        on = data.draw(st.sampled_from(["2025-01-01", "2025-03-01", "2027-02-01"]))
        log.add(payload, on=on, checked=False)
    entries = reid(log.entries, 51)
    growing: list[Any] = []
    while len(growing) < len(entries):
        growing.extend(entries[len(growing) : len(growing) + data.draw(st.integers(1, 6))])
        assert LogFoldState(growing) == fold_log(growing)
        for _ in range(data.draw(st.integers(1, 3))):
            query(growing, data)


def test_the_memo_is_exercised_by_these_queries(monkeypatch: Any) -> None:
    # Otherwise the checks above would pass vacuously.
    hits: list[int] = []
    reuse = FigureMemo.reuse

    def counted(self: FigureMemo, key: Any, buckets: Any) -> Any:
        found = reuse(self, key, buckets)
        hits.append(found is not None)
        return found

    monkeypatch.setattr(FigureMemo, "reuse", counted)
    test_late_reference_data_and_events_after_the_end_recompute_what_they_feed()
    assert sum(hits) > 100
    assert len(hits) > sum(hits)
