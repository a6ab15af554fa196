"""A flow figure as of random log positions over columns (indicators/flow_columns.py) against
the engine's ``_figure_result`` over the same live contributions.

    python bench/flow_columns.py [--contributions 600000] [--positions 20] [--engine-positions 3]
                                 [--total-positions 200]

Synthetic and in memory (no database): O2-like training person-hours (hours with 2 decimals, one
attendee each, sessions of ~15 in 10 partners, 8 countries, 40 topics…) and an O7-like distinct
count (key = one of 6,000 organisations), with 5% of the contributions ended at a random later
position (a retraction or correction). Per figure and query, p50 / p99 of ``figure_result`` over
random positions, then the engine on the live set of a few of them (its result compared byte for
byte). Queries: reporting periods (4), by="country" with its breakdown (a series), and by=None
with every dimension's breakdown (the indicator table's figure).

Then ``total_at`` (the indicators list's project-to-date total): the build of its index, and
p50 / p99 of a query over random positions, a few checked against ``aggregation.measure`` of the
live set.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import time
import uuid
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any

from events.catalog import ProjectRegistered, ReportingPeriod, TargetSet, event_type_of
from events.entries import LogEntry
from indicators.aggregation import Contribution, measure
from indicators.dimensions import cells
from indicators.evaluate import _Figure, _figure_result
from indicators.flow_columns import FlowColumns
from indicators.kpi_catalog import FIGURES, FigureSheet
from indicators.log_view import LogState, fold_log
from indicators.periods import Bucket, period_buckets
from indicators.results import FigureResult, Series, canonical_json

START = dt.date(2025, 1, 1)
DAYS = 730
COUNTRIES = ["DE", "ES", "PL", "FR", "IT", "AT", "CZ", "PT"]
REGIONS = ["more_developed", "transition", "less_developed"]
SECTORS = ["digital", "green", "health", "mobility", "textile", "agrifood"]
PARTNERS = [f"clu-{i}" for i in range(10)]
Timeline = list[tuple[Contribution, int, int | None]]


def project_state(figure_ids: Sequence[str]) -> LogState:
    """A project with four half-year reporting periods and targets for the figures, as of a day
    in its third period."""
    periods = [
        ReportingPeriod(
            period_id=f"RP{i + 1}",
            start=dt.date(2025 + i // 2, 1 + 6 * (i % 2), 1),
            end=dt.date(2025 + i // 2, 6 + 6 * (i % 2), 30 + (i % 2)),
            kind="final" if i == 3 else "interim",
        )
        for i in range(4)
    ]
    payloads: list[Any] = [
        ProjectRegistered(
            grant_no="101000001",
            call_id="SMP-COSME-2024-CLUSTER",
            start_date=periods[0].start,
            end_date=periods[-1].end,
            reporting_periods=periods,
            partnership_id="CXC-P",
            partners=PARTNERS,
        )
    ]
    for figure_id in figure_ids:
        for period_id, key in [("LoP", None), ("RP2", None), ("LoP", "country=DE"), ("RP3", "country=ES")]:
            payloads.append(
                TargetSet(
                    indicator_id=figure_id,
                    period_id=period_id,
                    value=Decimal(100_000),
                    cumulative=True,
                    disaggregation_key=key,
                    rationale="plan",
                )
            )
    entries = [
        LogEntry(
            position=position,
            type=event_type_of(payload),
            occurred_on=dt.date(2026, 3, 1),
            recorded_at=dt.datetime(2026, 3, 1, 9, position % 60, tzinfo=dt.UTC),
            partner_org_id="clu-0",
            event_id=uuid.UUID(int=position),
            payload=payload,
        )
        for position, payload in enumerate(payloads, start=1)
    ]
    return fold_log(entries)


def ended(rng: random.Random, contributions: list[tuple[Contribution, int]], last: int) -> Timeline:
    """5% of the contributions ended at a random later position."""
    return [
        (contribution, born, rng.randint(born + 1, last + 1) if rng.random() < 0.05 else None)
        for contribution, born in contributions
    ]


def person_hours(rng: random.Random, count: int) -> Timeline:
    """O2-like: sessions of ~15 attendees, each attendee's hours (2 decimals) in the session's cells."""
    persons = [f"p{i}" for i in range(count // 6)]
    found: list[tuple[Contribution, int]] = []
    position = 100
    while len(found) < count:
        position += rng.randint(1, 3)
        partner = rng.randrange(len(PARTNERS))
        country = rng.randrange(len(COUNTRIES))
        place = {
            "partner": PARTNERS[partner],
            "country": COUNTRIES[country],
            "region_category": REGIONS[country % 3],
            "sector": SECTORS[partner % len(SECTORS)],
            "topic": f"topic-{rng.randrange(40)}",
            "format": rng.choice(["onsite", "online", "hybrid"]),
        }
        on = START + dt.timedelta(days=rng.randrange(DAYS))
        duration = rng.randint(200, 800)
        by_gender = {gender: cells({**place, "gender": gender}) for gender in ("F", "M", "X")}
        for _ in range(rng.randint(5, 25)):
            found.append(
                (
                    Contribution(
                        on=on,
                        subjects=frozenset({rng.choice(persons)}),
                        cells=by_gender[rng.choice("FFMMX")],
                        amount=Decimal(rng.randint(duration // 2, duration)).scaleb(-2),
                    ),
                    position,
                )
            )
    return ended(rng, found[:count], position)


def organisations_engaged(rng: random.Random, count: int) -> Timeline:
    """O7-like: engagements of 6,000 organisations, the key and subject the organisation."""
    organisations = []
    for i in range(6_000):
        country = rng.randrange(len(COUNTRIES))
        organisations.append(
            {
                "country": COUNTRIES[country],
                "region_category": REGIONS[country % 3],
                "sector": rng.choice(SECTORS),
                "size_class": rng.choice(["micro", "small", "medium"]),
                "org": f"org-{i}",
            }
        )
    made: dict[tuple[str, int, str], Any] = {}
    found: list[tuple[Contribution, int]] = []
    for index in range(count):
        org = rng.randrange(len(organisations))
        partner = rng.choice(PARTNERS)
        activity = rng.choice(["training", "exchange", "coaching", "b2b"])
        categories = made.get((partner, org, activity))
        if categories is None:
            attributes = {k: v for k, v in organisations[org].items() if k != "org"}
            categories = made[(partner, org, activity)] = cells(
                {"partner": partner, **attributes, "activity_type": activity}
            )
        org_id = organisations[org]["org"]
        on = START + dt.timedelta(days=rng.randrange(DAYS))
        found.append(
            (Contribution(on=on, key=org_id, subjects=frozenset({org_id}), cells=categories), 100 + index)
        )
    return ended(rng, found, 100 + count)


def engine_result(
    sheet: FigureSheet, state: LogState, flow: list[Contribution], buckets: list[Bucket], by: str | None
) -> tuple[FigureResult, float]:
    """The engine's result over a live set (its flow sorted as _Figure sorts it), and the seconds
    _figure_result took."""
    figure = object.__new__(_Figure)
    figure.state, figure.sheet, figure.is_state, figure._states = state, sheet, False, {}
    figure._flow = sorted(flow, key=lambda contribution: contribution.on)
    figure._days = [contribution.on for contribution in figure._flow]
    breakdowns = sheet.disaggregations if by is None else (by,)
    began = time.perf_counter()
    result = _figure_result(figure, "reporting_period", buckets, breakdowns, by)
    return result, time.perf_counter() - began


def served(result: FigureResult | None, by: str | None) -> bytes:
    assert result is not None
    series = Series(
        catalog_version="",
        period_kind="reporting_period",
        by=by,
        as_of_position=0,
        as_of_date=None,
        figure=result,
    )
    return canonical_json(series)


def milliseconds(samples: list[float]) -> str:
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return f"p50 {1000 * statistics.median(ordered):8.1f} ms   p99 {1000 * p99:8.1f} ms"


def bench_figure(
    name: str, sheet: FigureSheet, build: Callable[[random.Random, int], Timeline], args: argparse.Namespace
) -> None:
    rng = random.Random(7)
    began = time.perf_counter()
    timeline = build(rng, args.contributions)
    made = time.perf_counter() - began
    state = project_state([sheet.figure_id])
    buckets = period_buckets(state, "reporting_period")
    began = time.perf_counter()
    columns = FlowColumns(sheet)
    for contribution, born, _ in timeline:
        columns.add(contribution, born)
    for index, (_, _, died) in enumerate(timeline):
        if died is not None:
            columns.end(index, died)
    added = time.perf_counter() - began
    print(f"\n{name}: {len(timeline):,} contributions (made in {made:.1f} s, added in {added:.2f} s)")
    last = timeline[-1][1]
    positions = [rng.randint(last // 2, last + 1) for _ in range(args.positions)]
    columns.figure_result(positions[0], state, "reporting_period", buckets, ("country",), "country")  # warm
    for by in ("country", None):
        breakdowns = sheet.disaggregations if by is None else (by,)
        samples = []
        for position in positions:
            began = time.perf_counter()
            columns.figure_result(position, state, "reporting_period", buckets, breakdowns, by)
            samples.append(time.perf_counter() - began)
        query = f"by={by}" if by is not None else f"by=None, {len(breakdowns)} breakdowns"
        print(f"  columns  {query:<28} {milliseconds(samples)}   ({len(positions)} positions)")
        engine = []
        for position in positions[: args.engine_positions]:
            flow = [c for c, born, died in timeline if born <= position and (died is None or position < died)]
            expected, took = engine_result(sheet, state, flow, buckets, by)
            engine.append(took)
            found = columns.figure_result(position, state, "reporting_period", buckets, breakdowns, by)
            assert served(found, by) == served(expected, by), f"{name} {query} differs at {position}"
        print(f"  engine   {query:<28} {milliseconds(engine)}   ({len(engine)} positions, same bytes)")
    bench_totals(name, columns, timeline, args)


def bench_totals(name: str, columns: FlowColumns, timeline: Timeline, args: argparse.Namespace) -> None:
    """total_at: the index build (the first query), then queries at random positions, from
    before the first contribution to after the last, some checked against measure."""
    rng = random.Random(11)
    last = timeline[-1][1]
    positions = [rng.randint(0, last + 1) for _ in range(args.total_positions)]
    began = time.perf_counter()
    columns.total_at(positions[0])
    built = time.perf_counter() - began
    samples = []
    for position in positions:
        began = time.perf_counter()
        columns.total_at(position)
        samples.append(time.perf_counter() - began)
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    print(
        f"  total_at index built in {1000 * built:.1f} ms; per query p50 "
        f"{1e6 * statistics.median(ordered):.1f} µs   p99 {1e6 * p99:.1f} µs   ({len(positions)} positions)"
    )
    for position in positions[: args.engine_positions]:
        flow = [c for c, born, died in timeline if born <= position and (died is None or position < died)]
        found, expected = columns.total_at(position), measure(flow, columns.sheet)
        assert found is not None and found.figure == expected.figure, f"{name} total differs at {position}"
        assert found.exact == expected.exact, f"{name} total differs at {position}"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--contributions", type=int, default=600_000)
    parser.add_argument("--positions", type=int, default=20)
    parser.add_argument("--engine-positions", type=int, default=3)
    parser.add_argument("--total-positions", type=int, default=200)
    args = parser.parse_args()
    sheets = {sheet.figure_id: sheet for sheet in FIGURES}
    bench_figure("O2-like person-hours (sum)", sheets["O2"], person_hours, args)
    bench_figure("O7-like SMEs engaged (distinct)", sheets["O7"], organisations_engaged, args)


if __name__ == "__main__":
    main()
