"""Spreadsheet import throughput: 10,000-row files through the whole import path.

    python bench/import.py [--dsn URL] [--rows N] [--repeat N] [--scenarios a,b]

Each scenario builds its file with openpyxl (or the csv module), creates a project in a freshly
migrated schema (dropped afterwards) with the organisations and pseudonymous participants the
rows name, and imports it with service.imports.import_file through the vault-checked Recorder,
exactly as `impactlog import` does. Reported per stage (seconds): read (parse the file), check
(catalog, write model and log checks of every row), record (one Recorder call, one transaction),
total; then rows/s and events/s, and the time to answer the same file again (a no-op). The hash
chain is verified after each run.

- training-xlsx: attendance list, 4 attendees per session (10,000 rows → 2,500 TrainingDelivered)
- training-csv:  the same rows as CSV
- survey-xlsx:   SME survey, one SMESurveyResponseRecorded per row (10,000 rows → 10,000 events)

The last line of output is one JSON object with every figure, for the docs to quote.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import datetime as dt
import io
import statistics
import sys
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from typing import Any

import msgspec
from _common import DEFAULT_DSN, migrated_schema, scratch_schema_name
from openpyxl import Workbook
from openpyxl.worksheet.worksheet import Worksheet

from events.admission import WriteModelAdmission
from events.integrity import verify_chain
from events.store import EventStore
from service.commands import EventCommand
from service.imports import SME_SURVEY, TRAINING_ATTENDANCE, ImportOutcome, import_file
from service.personal_data import VaultCheckedRecorder

PROJECT = "bench-import"
ACTOR = {"actor": "bench", "actor_role": "staff"}
PARTNERS = ["clu-at", "clu-pl", "clu-es"]
PEOPLE = 400  # pseudonymous participants the attendance rows cycle through
SMES = 2_500  # SMEs of the survey: 4 waves each give 10,000 rows
WAVES = ("baseline", "midline", "endline", "followup")
REGISTRATION: dict[str, Any] = {
    "grant_no": "101074521",
    "call_id": "SMP-COSME-2024-CLUSTER",
    "start_date": "2025-01-01",
    "end_date": "2026-12-31",
    "reporting_periods": [
        {"period_id": "RP1", "start": "2025-01-01", "end": "2025-12-31", "kind": "interim"},
        {"period_id": "RP2", "start": "2026-01-01", "end": "2026-12-31", "kind": "final"},
    ],
    "partnership_id": "CXC-BENCH",
    "partners": PARTNERS,
}


def organisation(org_id: str, org_type: str, size: str) -> EventCommand:
    return EventCommand(
        type="OrganisationRegistered",
        occurred_on=dt.date(2025, 1, 10),
        partner_org_id="clu-at",
        data={
            "org_id": org_id,
            "name": f"Organisation {org_id}",
            "org_type": org_type,
            "country": "AT",
            "nuts2": "AT13",
            "region_category": "more_developed",
            "nace": "C25.62",
            "ecosystem": "electronics",
            "size_class": size,
            "headcount": 12,
            "turnover_band": "2m_to_10m",
        },
    )


def reference_data(smes: int) -> list[EventCommand]:
    """Partners, SMEs and pseudonymous participants the generated rows refer to."""
    commands = [organisation(p, "cluster_org", "n/a") for p in PARTNERS]
    commands += [organisation(f"sme-{i:05d}", "SME", "small") for i in range(smes)]
    commands += [
        EventCommand(
            type="ParticipantRegistered",
            occurred_on=dt.date(2025, 1, 12),
            partner_org_id="clu-at",
            data={
                "participant_id": f"p-{i:05d}",
                "org_id": f"sme-{i % smes:05d}",
                "role": "SME_staff",
                "gender": "FMX"[i % 3],
            },
        )
        for i in range(PEOPLE)
    ]
    return commands


def training_rows(count: int, smes: int) -> list[list[Any]]:
    rows = []
    for i in range(count):
        session, seat = divmod(i, 4)
        day = dt.date(2025, 2, 3) + dt.timedelta(days=session % 300)
        person = (session * 4 + seat) % PEOPLE
        first = seat == 0
        rows.append(
            [
                f"TRN-{session:05d}",
                day if first else None,
                None,
                ("digital", "green", "skills", "strategy")[session % 4] if first else None,
                "onsite" if first else None,
                6 if first else None,
                "AT" if first else None,
                PARTNERS[session % 3] if first else None,
                None,
                f"p-{person:05d}",
                f"sme-{person % smes:05d}",
                (6, 4.5, 3, 6)[seat],
            ]
        )
    return rows


def survey_rows(count: int) -> list[list[Any]]:
    rows = []
    for i in range(count):
        sme, wave = divmod(i, len(WAVES))
        values = {
            "survey_id": "PANEL-25",
            "wave": WAVES[wave],
            "org_id": f"sme-{sme % SMES:05d}",
            "interview_date": dt.date(2025, 2, 10) + dt.timedelta(days=90 * wave),
            "partner_org_id": PARTNERS[sme % 3],
            "ref_year": 2024,
            "turnover_eur": 1_200_000 + 1000 * wave,
            "employees_fte": 14.5,
            "export_turnover_eur": 300_000,
            "export_countries": "DE;FR",
            "new_products": wave,
            "process_innovation": wave % 2 == 0,
            "digital_score": 40 + wave,
            "green_measures": "energy_efficiency",
            "investment_raised_eur": 0 if wave == 0 else 50_000,
            "attribution_share": 0.25,
        }
        rows.append([values[name] for name in SME_SURVEY.names])
    return rows


def as_xlsx(headers: Sequence[str], rows: list[list[Any]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert isinstance(sheet, Worksheet)
    sheet.append(list(headers))
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def as_csv(headers: Sequence[str], rows: list[list[Any]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(headers)
    for row in rows:
        writer.writerow(["" if v is None else v.isoformat() if isinstance(v, dt.date) else v for v in row])
    return out.getvalue().encode()


SCENARIOS: dict[str, Callable[[int], tuple[bytes, str]]] = {
    "training-xlsx": lambda n: (as_xlsx(TRAINING_ATTENDANCE.names, training_rows(n, SMES)), "a.xlsx"),
    "training-csv": lambda n: (as_csv(TRAINING_ATTENDANCE.names, training_rows(n, SMES)), "a.csv"),
    "survey-xlsx": lambda n: (as_xlsx(SME_SURVEY.names, survey_rows(n)), "s.xlsx"),
}


class StageClock:
    """Seconds spent in each stage, from import_file's progress reports."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.marks: dict[str, float] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        self.marks.setdefault(stage, time.perf_counter())

    def split(self, finished: float) -> dict[str, float]:
        """read, check, record and total seconds."""
        read_end = self.marks.get("checking", finished)
        check_end = self.marks.get("recording", finished)
        return {
            "read_s": round(read_end - self.started, 3),
            "check_s": round(check_end - read_end, 3),
            "record_s": round(finished - check_end, 3),
            "total_s": round(finished - self.started, 3),
        }


@asynccontextmanager
async def fresh_project(dsn: str) -> AsyncIterator[VaultCheckedRecorder]:
    """A migrated schema with the project and its reference data; dropped afterwards."""
    async with migrated_schema(dsn, scratch_schema_name("import"), drop=True, min_size=1, max_size=4) as pool:
        recorder = VaultCheckedRecorder(EventStore(pool, admission=WriteModelAdmission()))
        registration = EventCommand(
            type="ProjectRegistered",
            occurred_on=dt.date(2025, 1, 1),
            data=REGISTRATION,
            stream="project",
            expected_version=0,
        )
        await recorder.create_project(PROJECT, registration, ACTOR)
        await recorder.record(PROJECT, reference_data(SMES), actor=ACTOR)
        yield recorder


async def run_scenario(dsn: str, name: str, rows: int) -> dict[str, Any]:
    content, file_name = SCENARIOS[name](rows)
    async with fresh_project(dsn) as recorder:
        clock = StageClock()
        outcome: ImportOutcome = await import_file(
            recorder, PROJECT, content, actor=ACTOR, file_name=file_name, progress=clock
        )
        figures = clock.split(time.perf_counter())
        started = time.perf_counter()
        again = await import_file(recorder, PROJECT, content, actor=ACTOR, file_name=file_name)
        replay = time.perf_counter() - started
        chain = await verify_chain(recorder.store.pool, PROJECT)
    assert outcome.status == "imported" and again.status == "already_imported" and chain.ok
    return {
        "scenario": name,
        "rows": outcome.data_rows,
        "events": outcome.events,
        "file_kb": round(len(content) / 1024),
        **figures,
        "rows_per_s": round(outcome.data_rows / figures["total_s"]),
        "events_per_s": round(outcome.events / figures["total_s"]),
        "same_file_again_s": round(replay, 4),
    }


def median_run(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """The run with the median total time."""
    totals = sorted(runs, key=lambda r: r["total_s"])
    return totals[len(totals) // 2] | {"runs": len(runs), "total_s_all": [r["total_s"] for r in runs]}


def parse_args(argv: Sequence[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--dsn", default=DEFAULT_DSN, help=f"PostgreSQL URL (default {DEFAULT_DSN})")
    parser.add_argument("--rows", type=int, default=10_000, help="data rows per file")
    parser.add_argument("--repeat", type=int, default=3, help="runs per scenario (the median is shown)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated scenario names")
    return parser.parse_args(argv)


async def main(argv: Sequence[str]) -> None:
    args = parse_args(argv)
    results = []
    print(
        f"{'scenario':<15}{'rows':>7}{'events':>8}{'KB':>6}{'read':>7}{'check':>7}{'record':>8}{'total':>7}"
        f"{'rows/s':>8}{'again':>8}"
    )
    for name in args.scenarios.split(","):
        runs = [await run_scenario(args.dsn, name, args.rows) for _ in range(args.repeat)]
        row = median_run(runs)
        results.append(row)
        print(
            f"{name:<15}{row['rows']:>7}{row['events']:>8}{row['file_kb']:>6}{row['read_s']:>7.2f}"
            f"{row['check_s']:>7.2f}{row['record_s']:>8.2f}{row['total_s']:>7.2f}{row['rows_per_s']:>8}"
            f"{row['same_file_again_s']:>8.3f}"
        )
    spread = {r["scenario"]: round(statistics.pstdev(r["total_s_all"]), 3) for r in results}
    print(msgspec.json.encode({"import": results, "stdev_total_s": spread}).decode())


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
