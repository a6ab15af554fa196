"""The KPI engine gives the same bytes before and after a speed change: digests over the demo.

    python bench/engine_equivalence.py --record   # before a change: write the digests
    python bench/engine_equivalence.py            # after it: recompute and compare (exit 1 if any differs)
    python bench/engine_equivalence.py --timelines  # the same, every figure read off contribution timelines

Loads the deterministic demo at scales 1 and 10 into kept schemas (``equiv_scale1``,
``equiv_scale10``; loaded once, reused after), then computes ``evaluate_all`` as of several
positions (the head, fractions of it, and either side of the first correction and retraction)
for every period kind — month, quarter, reporting_period, and "cumulative", which the API serves
as reporting_period's running column — each unsuppressed and in the funder view. At scale 1 it
also computes every figure's series split by each of its dimensions and a few evidence queries.
Each result is encoded with msgspec and hashed (sha256); the digests are kept in
``bench/engine_equivalence.json``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import msgspec
import uvloop
from _common import DEMO_PROJECT, bench_parser, head_position, loopback_dsn, migrated_schema, record_demo

from events.entries import LogEntry
from events.read import read_head
from indicators import (
    FIGURES,
    EvidenceQueryError,
    evaluate_all,
    figure_evidence,
    kpi_series,
    suppress_for_funders,
    timeline_store,
)
from indicators.snapshot_publisher import fresh_entries

DIGESTS = Path(__file__).with_suffix(".json")
# The API's period kinds; "cumulative" is reporting_period (service/indicators_api.py).
API_PERIODS = {"month": "month", "quarter": "quarter", "reporting_period": "reporting_period"}
API_PERIODS["cumulative"] = "reporting_period"
EVIDENCE_QUERIES: list[tuple[str, str, str | None, str | None]] = [
    ("O1", "quarter", None, None),
    ("O3", "reporting_period", "gender", "F"),
    ("O7", "reporting_period", "size_class", "micro"),
    ("R3.6m", "reporting_period", "follow_up_type", "MoU"),
    ("I2", "reporting_period", None, None),
]


def digest(value: Any) -> str:
    """sha256 of the msgspec encoding of an engine result."""
    return hashlib.sha256(msgspec.json.encode(value)).hexdigest()


def positions_of(entries: Sequence[LogEntry]) -> dict[str, int]:
    """The positions evaluated: the head, fractions of it, and either side of the first correction
    and the first retraction."""
    head = entries[-1].position
    named = {f"{n}/{d}": max(1, head * n // d) for n, d in ((1, 7), (1, 3), (1, 2), (5, 6))}
    named["head"] = head
    for kind in ("CorrectionRecorded", "ActivityRetracted"):
        first = next((e.position for e in entries if e.type == kind), None)
        if first is not None:
            named[f"before first {kind}"] = first - 1
            named[f"at first {kind}"] = first
    return named


def engine_digests(entries: list[LogEntry], detailed: bool, say: Callable[[str], None]) -> dict[str, str]:
    """Digest of every evaluated result, by a readable name."""
    found: dict[str, str] = {}
    for name, position in positions_of(entries).items():
        computed: dict[str, Any] = {}
        for api_kind, kind in API_PERIODS.items():
            if kind not in computed:
                started = time.perf_counter()
                computed[kind] = evaluate_all(entries, as_of=position, period=kind)  # type: ignore[arg-type]
                say(f"  evaluate_all {name} (P={position}) {kind}: {time.perf_counter() - started:.2f} s")
            found[f"all {name} {api_kind}"] = digest(computed[kind])
            found[f"all {name} {api_kind} funder"] = digest(suppress_for_funders(computed[kind]))
    if detailed:
        found.update(series_digests(entries, say))
    return found


def series_digests(entries: list[LogEntry], say: Callable[[str], None]) -> dict[str, str]:
    """Every figure's series by each of its dimensions (and undivided), at the head and half-way;
    a few evidence queries."""
    found: dict[str, str] = {}
    started = time.perf_counter()
    half = entries[-1].position // 2
    for as_of in (None, half):
        for sheet in FIGURES:
            for by in (None, *sheet.disaggregations):
                for kind in ("quarter", "reporting_period"):
                    series = kpi_series(entries, sheet.figure_id, period=kind, by=by, as_of=as_of)
                    found[f"series {sheet.figure_id} {kind} by={by} as_of={as_of}"] = digest(series)
        for kpi, kind, by, category in EVIDENCE_QUERIES:
            try:
                evidence: Any = figure_evidence(entries, kpi, kind, None, by, category, as_of)  # type: ignore[arg-type]
            except EvidenceQueryError as refused:  # a category the demo lacks: the message is the result
                evidence = str(refused)
            found[f"evidence {kpi} {kind} {by}={category} as_of={as_of}"] = digest(evidence)
    say(f"  series and evidence: {time.perf_counter() - started:.2f} s")
    return found


async def demo_entries(dsn: str, scale: int) -> list[LogEntry]:
    """The demo at `scale`, loaded once into a kept schema, read back and decoded."""
    async with migrated_schema(dsn, f"equiv_scale{scale}", drop=False) as pool:
        if await read_head(pool, DEMO_PROJECT) is None:
            await record_demo(pool, DEMO_PROJECT, scale)
        return await fresh_entries(pool, DEMO_PROJECT, await head_position(pool, DEMO_PROJECT))


async def main(argv: Sequence[str]) -> int:
    """Compute the digests; record them, or compare them with the recorded ones."""
    args = parse_args(argv)
    computed: dict[str, dict[str, str]] = {}
    for scale in args.scales:
        entries = await demo_entries(loopback_dsn(args.dsn), scale)
        print(f"scale {scale}: {len(entries):,} events", flush=True)
        if args.timelines:
            _timelines_for(entries)
        started = time.perf_counter()
        computed[str(scale)] = engine_digests(entries, detailed=scale == 1, say=_say)
        print(f"scale {scale}: {len(computed[str(scale)])} digests in {time.perf_counter() - started:.1f} s")
    if args.record:
        DIGESTS.write_text(json.dumps(computed, indent=1, sort_keys=True) + "\n")
        print(f"recorded in {DIGESTS}")
        return 0
    recorded = json.loads(DIGESTS.read_text())
    differ = [
        f"scale {scale}: {name}"
        for scale, found in computed.items()
        for name, value in found.items()
        if recorded.get(scale, {}).get(name) != value
    ]
    for line in differ:
        print(f"DIFFERS {line}")
    total = sum(len(found) for found in computed.values())
    print(f"equivalence: {total - len(differ)}/{total} digests identical")
    return 1 if differ else 0


def _timelines_for(entries: list[LogEntry]) -> None:
    """Read the log into contribution timelines first, so every figure is read off them
    (indicators/timeline_store.py) instead of folded: the digests must not change."""
    timeline_store.TIMELINES_FROM = 0
    started = time.perf_counter()
    kept = timeline_store.follow(entries)
    assert kept is not None
    kept.join()
    print(f"  timelines read in {time.perf_counter() - started:.1f} s", flush=True)


def _say(line: str) -> None:
    print(line, flush=True)


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    """The command line."""
    parser = bench_parser(__doc__)
    parser.add_argument("--scales", type=int, nargs="+", default=[1, 10])
    parser.add_argument("--record", action="store_true", help="write the digests instead of comparing")
    parser.add_argument(
        "--timelines", action="store_true", help="answer off contribution timelines (timeline_store.py)"
    )
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(uvloop.run(main(sys.argv[1:])))
