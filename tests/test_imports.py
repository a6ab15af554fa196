"""Spreadsheet imports: real XLSX and CSV files built here, well-formed and malformed, imported all
or nothing, reported row by row, idempotent, refusing to change what the log holds."""

from __future__ import annotations

import asyncio
import csv
import datetime as dt
import io
import json
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import httpx
import pytest
from click.testing import CliRunner
from openpyxl import Workbook, load_workbook
from openpyxl.worksheet.worksheet import Worksheet

from service.import_cli import import_command
from service.imports import (
    SME_SURVEY,
    TRAINING_ATTENDANCE,
    ImportLedger,
    ImportRefused,
    import_file,
    read_sheet,
    template_workbook,
)
from service.imports.sheets import XLSX_MEDIA_TYPE
from tests.conftest import Database, bearer
from tests.story import REGISTRATION, founding_events, organisation, participant
from tests.test_personal_data import gdpr_service, schema_dsn

PROJECT = "demo"
EVENTS = f"/api/v1/projects/{PROJECT}/events"
IMPORTS = f"/api/v1/projects/{PROJECT}/imports"
TRAINING_HEADERS = list(TRAINING_ATTENDANCE.names)
Row = Sequence[Any]


@pytest.fixture
async def service(db: Database) -> AsyncIterator[httpx.AsyncClient]:
    async with gdpr_service(db) as client:
        yield client


@pytest.fixture
async def staff(service: httpx.AsyncClient, db: Database) -> dict[str, str]:
    """A project with partners, two SMEs and four pseudonymous participants; a staff token."""
    admin = await bearer(db, "admin")
    created = await service.post(
        "/api/v1/projects", json={"project_id": PROJECT, "data": REGISTRATION}, headers=admin
    )
    assert created.status_code == 201
    token = await bearer(db, "staff", PROJECT, name="staff-at")
    more = [
        organisation("sme-2", "ES", org_type="SME", size="micro"),
        participant("p-3", "clu-pl"),
        participant("p-4", "sme-2"),
    ]
    assert (await service.post(EVENTS, json=[*founding_events(), *more], headers=token)).status_code == 201
    return token


def session_row(
    session: str,
    day: Any,
    participant_id: str,
    org: str,
    hours: Any,
    *,
    duration: Any = 6,
    topic: str = "digital",
) -> list[Any]:
    return [session, day, None, topic, "onsite", duration, "AT", "clu-at", None, participant_id, org, hours]


def attendee_row(participant_id: str, org: str, hours: Any) -> list[Any]:
    """A later row of the same session: session columns left blank, as staff do."""
    return [None] * 9 + [participant_id, org, hours]


def xlsx(
    rows: Sequence[Row], headers: Sequence[str] = TRAINING_HEADERS, *, from_template: str | None = None
) -> bytes:
    """An XLSX built with openpyxl: the blank template filled in, or a bare sheet."""
    if from_template is not None:
        workbook = load_workbook(io.BytesIO(template_workbook(from_template)))  # type: ignore[arg-type]
        sheet = workbook.worksheets[0]
    else:
        workbook = Workbook()
        sheet = workbook.active
        assert isinstance(sheet, Worksheet)
        sheet.append(list(headers))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


MARCH = dt.date(2025, 3, 4)
GOOD_ROWS = [
    session_row("TRN-1", MARCH, "p-1", "clu-at", 6),
    attendee_row("p-2", "sme-1", 4.5),
    attendee_row("p-3", "clu-pl", 6),
    session_row("TRN-2", dt.datetime(2025, 3, 18), "p-4", "sme-2", 2, duration=3, topic="green"),
]


async def upload(
    service: httpx.AsyncClient,
    headers: dict[str, str],
    content: bytes,
    name: str = "attendance.xlsx",
    *,
    accept: str | None = None,
) -> httpx.Response:
    """POST the file as the raw body, its name in ?filename=."""
    sent = {**headers, "Content-Type": XLSX_MEDIA_TYPE if name.endswith(".xlsx") else "text/csv"}
    if accept is not None:
        sent["Accept"] = accept
    return await service.post(IMPORTS, content=content, params={"filename": name}, headers=sent)


async def head(service: httpx.AsyncClient, staff: dict[str, str]) -> int:
    return int((await service.get(EVENTS, headers=staff)).json()["head"])


async def logged(service: httpx.AsyncClient, staff: dict[str, str], event_type: str) -> list[dict[str, Any]]:
    events = (await service.get(EVENTS, headers=staff)).json()["events"]
    return [e for e in events if e["type"] == event_type]


def problems(response: httpx.Response) -> set[tuple[int, str | None]]:
    return {(p["row"], p["column"]) for p in response.json()["rows"]}


async def test_an_attendance_list_filled_in_from_the_template_imports_as_sessions(
    service: httpx.AsyncClient, staff: dict[str, str]
) -> None:
    before = await head(service, staff)
    response = await upload(service, staff, xlsx(GOOD_ROWS, from_template="training-attendance"))
    assert response.status_code == 201, response.text
    outcome = response.json()
    assert outcome["status"] == "imported" and outcome["kind"] == "training-attendance"
    assert (outcome["data_rows"], outcome["events"], outcome["unchanged"]) == (4, 2, 0)
    assert (outcome["first_position"], outcome["last_position"]) == (before + 1, before + 2)
    sessions = await logged(service, staff, "TrainingDelivered")
    assert [s["data"]["session_id"] for s in sessions] == ["TRN-1", "TRN-2"]
    first = sessions[0]
    assert first["occurred_on"] == "2025-03-04" and first["data"]["dates"] == ["2025-03-04"]
    assert [(a["participant_id"], a["attended_hours"]) for a in first["data"]["attendees"]] == [
        ("p-1", "6"),
        ("p-2", "4.5"),
        ("p-3", "6"),
    ]
    assert first["metadata"]["import_id"] == outcome["import_id"] and first["metadata"]["actor"] == "staff-at"
    assert first["metadata"]["partner_org_id"] == "clu-at"
    ledger = (await service.get(IMPORTS, headers=staff)).json()
    assert [(i["import_id"], i["status"], i["file_name"], i["events"]) for i in ledger] == [
        (outcome["import_id"], "done", "attendance.xlsx", 2)
    ]


async def test_the_same_file_twice_is_a_no_op(service: httpx.AsyncClient, staff: dict[str, str]) -> None:
    content = xlsx(GOOD_ROWS)
    first = await upload(service, staff, content)
    assert first.status_code == 201
    position = await head(service, staff)
    again = await upload(service, staff, content, name="renamed.xlsx")
    assert again.status_code == 200 and again.json()["status"] == "already_imported"
    assert again.json()["first_position"] == first.json()["first_position"]
    assert await head(service, staff) == position
    # The same rows in another file (a CSV export of it) add nothing either.
    text = csv_text(TRAINING_HEADERS, [[_csv_cell(v) for v in row] for row in GOOD_ROWS])
    same_rows = await upload(service, staff, text.encode(), name="attendance.csv")
    assert same_rows.status_code == 200 and same_rows.json()["status"] == "nothing_new"
    assert same_rows.json()["unchanged"] == 2 and await head(service, staff) == position


async def test_the_same_file_sent_four_times_at_once_is_imported_once(
    service: httpx.AsyncClient, staff: dict[str, str]
) -> None:
    content = xlsx(GOOD_ROWS)
    before = await head(service, staff)
    answers = await asyncio.gather(*(upload(service, staff, content) for _ in range(4)))
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200, 200, 200, 201], [a.text for a in answers]
    created = next(a for a in answers if a.status_code == 201).json()
    # The others found it imported, or (planning after its append) found nothing new in it.
    others = [a.json() for a in answers if a.status_code == 200]
    assert {o["status"] for o in others} <= {"already_imported", "nothing_new"}
    assert all(o["events"] == 0 for o in others)
    assert await head(service, staff) == before + created["events"]
    listed = (await service.get(IMPORTS, headers=staff)).json()
    (row,) = [r for r in listed if r["import_id"] == created["import_id"]]
    assert row["first_position"] == created["first_position"] and row["status"] == "done"


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        return value.date().isoformat()
    return value.isoformat() if isinstance(value, dt.date) else str(value)


def csv_text(headers: Sequence[str], rows: Sequence[Sequence[str]], delimiter: str = ",") -> str:
    """A CSV as spreadsheets write it (quoted where needed, CRLF line ends)."""
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
    writer.writerows([headers, *rows])
    return out.getvalue()


async def test_a_changed_file_is_refused_with_a_pointer_to_corrections_and_a_grown_one_adds_its_rows(
    service: httpx.AsyncClient, staff: dict[str, str]
) -> None:
    assert (await upload(service, staff, xlsx(GOOD_ROWS))).status_code == 201
    position = await head(service, staff)
    changed = [*GOOD_ROWS]
    changed[1] = attendee_row("p-2", "sme-1", 5)  # someone corrected p-2's hours in the sheet
    response = await upload(service, staff, xlsx(changed))
    assert response.status_code == 409, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    (problem,) = response.json()["rows"]
    assert (problem["row"], problem["column"], problem["value"]) == (2, "session_id", "TRN-1")
    assert "CorrectionRecorded" in problem["reason"] and "ActivityRetracted" in problem["reason"]
    assert await head(service, staff) == position

    grown = [*GOOD_ROWS, session_row("TRN-3", dt.date(2025, 4, 1), "p-1", "clu-at", 3, duration=3)]
    response = await upload(service, staff, xlsx(grown))
    assert response.status_code == 201, response.text
    assert (response.json()["events"], response.json()["unchanged"]) == (1, 2)
    assert [s["data"]["session_id"] for s in await logged(service, staff, "TrainingDelivered")] == [
        "TRN-1",
        "TRN-2",
        "TRN-3",
    ]


async def test_bad_rows_are_reported_row_by_row_and_nothing_is_written(
    service: httpx.AsyncClient, staff: dict[str, str]
) -> None:
    position = await head(service, staff)
    rows = [
        session_row("TRN-1", MARCH, "p-1", "clu-at", 6),
        attendee_row("p-404", "sme-1", 4),  # 3: unknown participant
        attendee_row("p-3", "org-nowhere", 6),  # 4: unknown organisation
        attendee_row("p-4", "sme-2", 7),  # 5: more hours than the session lasted
        session_row("TRN-2", "04/03/2025", "p-1", "clu-at", 2),  # 6: a date as ambiguous text
        session_row("TRN-3", MARCH, "p-1", "clu-at", "6,5", duration=8),  # 7: a decimal comma
        session_row("TRN-4", MARCH, "p-1", "clu-at", 1, topic="cooking"),  # 8: not a topic
        [
            *session_row("TRN-1", MARCH, "p-2", "sme-1", 1)[:3],
            "green",
            *attendee_row("p-2", "sme-1", 1)[4:],
        ],  # 9
    ]
    response = await upload(service, staff, xlsx(rows))
    assert response.status_code == 422, response.text
    assert problems(response) == {
        (3, "participant_id"),
        (4, "org_id"),
        (5, "attended_hours"),
        (6, "date"),
        (7, "attended_hours"),
        (8, "topic"),
        (9, "topic"),
    }
    by_row = {p["row"]: p for p in response.json()["rows"]}
    assert "p-404" in by_row[3]["reason"] and by_row[3]["value"] == "p-404"
    assert "org-nowhere" in by_row[4]["reason"]
    assert by_row[6]["value"] == "04/03/2025" and "YYYY-MM-DD" in by_row[6]["reason"]
    assert "point" in by_row[7]["reason"] and by_row[7]["value"] == "6,5"
    assert "'strategy'" in by_row[8]["reason"]
    assert "differs from row 2" in by_row[9]["reason"]
    assert response.json()["errors"][0]["field"] == "row 3, participant_id"
    assert await head(service, staff) == position
    assert (await service.get(IMPORTS, headers=staff)).json() == []


async def test_a_refused_file_comes_back_annotated(service: httpx.AsyncClient, staff: dict[str, str]) -> None:
    rows = [session_row("TRN-1", MARCH, "p-1", "clu-at", 6), attendee_row("p-404", "sme-1", 4)]
    response = await upload(service, staff, xlsx(rows), accept=XLSX_MEDIA_TYPE)
    assert response.status_code == 422
    assert response.headers["content-type"].startswith(XLSX_MEDIA_TYPE)
    assert ".problems.xlsx" in response.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).worksheets[0]
    bad = sheet.cell(3, TRAINING_HEADERS.index("participant_id") + 1)
    assert bad.value == "p-404" and bad.comment is not None and "p-404" in bad.comment.text
    assert bad.fill.start_color.rgb.endswith("FFC7CE")
    problems_column = len(TRAINING_HEADERS) + 1
    assert sheet.cell(1, problems_column).value == "impactlog_problems"
    assert (
        "participant_id:" in sheet.cell(3, problems_column).value
        and sheet.cell(2, problems_column).value is None
    )
    # The corrected copy imports, its annotation column ignored.
    sheet.cell(3, TRAINING_HEADERS.index("participant_id") + 1, "p-2")
    fixed = io.BytesIO()
    sheet.parent.save(fixed)
    assert (await upload(service, staff, fixed.getvalue())).status_code == 201

    text = csv_text(
        TRAINING_HEADERS,
        [["TRN-9", "2025-03-04", "", "digital", "onsite", "6", "AT", "clu-at", "", "p-404", "sme-1", "4"]],
    )
    response = await upload(service, staff, text.encode(), name="a.csv", accept="text/csv")
    assert response.status_code == 422 and response.headers["content-type"].startswith("text/csv")
    lines = response.text.splitlines()
    assert lines[0].endswith(",impactlog_problems") and "p-404" in lines[1].split(",", 12)[-1]
    # Uploading the annotated copy unfixed annotates it again, with one problems column.
    again = await upload(service, staff, response.content, name="a.problems.csv", accept="text/csv")
    assert again.status_code == 422 and again.text.splitlines()[0].count("impactlog_problems") == 1
    assert again.text.splitlines()[1] == lines[1]


async def test_numbers_and_iso_dates_written_as_text_are_read_and_empty_trailing_rows_ignored(
    service: httpx.AsyncClient, staff: dict[str, str]
) -> None:
    rows = [
        session_row("TRN-1", "2025-03-04", "p-1", "clu-at", "6", duration="6"),
        attendee_row("p-2", "sme-1", " 4.5 "),
        session_row(101, MARCH, "p-3", "clu-pl", 2.25, duration=2.5),  # a numeric session id
        [None] * len(TRAINING_HEADERS),
        [""] * len(TRAINING_HEADERS),
        [None, None, "  "],
    ]
    response = await upload(service, staff, xlsx(rows))
    assert response.status_code == 201, response.text
    assert response.json()["data_rows"] == 3
    sessions = await logged(service, staff, "TrainingDelivered")
    assert [s["data"]["session_id"] for s in sessions] == ["TRN-1", "101"]
    assert sessions[1]["data"]["attendees"][0]["attended_hours"] == "2.25"


async def test_a_file_sent_as_a_multipart_form_imports_too(
    service: httpx.AsyncClient, staff: dict[str, str]
) -> None:
    files = {"file": ("march.xlsx", xlsx(GOOD_ROWS), XLSX_MEDIA_TYPE)}
    response = await service.post(IMPORTS, files=files, headers=staff)
    assert response.status_code == 201, response.text
    assert response.json()["file_name"] == "march.xlsx" and response.json()["events"] == 2
    no_file = await service.post(IMPORTS, files={"other": ("x.csv", b"a", "text/csv")}, headers=staff)
    assert no_file.status_code == 400 and "`file`" in no_file.json()["detail"]
    nul = await service.post(IMPORTS, content=b"x", params={"filename": "a\x00b.csv"}, headers=staff)
    assert nul.status_code == 400


async def test_wrong_headers_are_named_in_row_one(service: httpx.AsyncClient, staff: dict[str, str]) -> None:
    headers = [h for h in TRAINING_HEADERS if h != "attended_hours"]
    headers[headers.index("participant_id")] = "particpant_id"
    response = await upload(service, staff, xlsx([["TRN-1"]], headers=[*headers, "Notes", "Notes"]))
    assert response.status_code == 422
    assert problems(response) == {
        (1, "particpant_id"),
        (1, "notes"),
        (1, "attended_hours"),
        (1, "participant_id"),
    }
    reasons = {p["column"]: p["reason"] for p in response.json()["rows"]}
    assert reasons["attended_hours"] == "required column is missing"
    assert "unknown column" in reasons["particpant_id"] and "twice" in reasons["notes"]
    neither = await upload(service, staff, xlsx([["x"]], headers=["name", "email"]))
    assert neither.status_code == 422 and "neither" in neither.json()["rows"][0]["reason"]


async def test_merged_cells_are_refused(service: httpx.AsyncClient, staff: dict[str, str]) -> None:
    workbook = load_workbook(io.BytesIO(xlsx(GOOD_ROWS[:3])))
    sheet = workbook.worksheets[0]
    sheet.merge_cells("A2:A4")  # the session id written once for three attendees
    out = io.BytesIO()
    workbook.save(out)
    response = await upload(service, staff, out.getvalue())
    assert response.status_code == 422
    (problem,) = response.json()["rows"]
    assert (problem["row"], problem["column"], problem["value"]) == (2, "session_id", "TRN-1")
    assert "merged cells A2:A4" in problem["reason"]


async def test_files_that_are_too_large_or_not_spreadsheets(
    service: httpx.AsyncClient, staff: dict[str, str]
) -> None:
    big = b"session_id,date\r\n" + b"x" * (50 * 1024 * 1024)
    response = await upload(service, staff, big, name="huge.csv")
    assert response.status_code == 413
    assert response.headers["content-type"].startswith("application/problem+json")
    old_excel = await upload(service, staff, b"\xd0\xcf\x11\xe0 not really", name="list.xls")
    assert old_excel.status_code == 415
    fake = await upload(service, staff, b"PK\x03\x04 broken zip", name="list.xlsx")
    assert fake.status_code == 422 and "xlsx" in fake.json()["detail"]
    latin1 = "session_id\r\nTRN-é\r\n".encode("latin-1")
    assert (await upload(service, staff, latin1, name="list.csv")).status_code == 422


def survey_row(org: str, wave: str = "baseline", **changes: Any) -> list[Any]:
    values = {
        "survey_id": "PANEL-25",
        "wave": wave,
        "org_id": org,
        "interview_date": "2025-02-10",
        "partner_org_id": "clu-pl",
        "ref_year": "2024",
        "turnover_eur": "1200000",
        "employees_fte": "14.5",
        "export_turnover_eur": "300000",
        "export_countries": "DE; FR",
        "new_products": "1",
        "process_innovation": "yes",
        "digital_score": "41",
        "green_measures": "energy_efficiency;waste_reduction",
        "investment_raised_eur": "0",
        "attribution_share": "0.25",
        **changes,
    }
    return [values[name] for name in SME_SURVEY.names]


async def test_an_sme_survey_wave_from_a_semicolon_csv(
    service: httpx.AsyncClient, staff: dict[str, str]
) -> None:
    rows = [survey_row("sme-1"), survey_row("sme-2", process_innovation="FALSE", export_countries="")]
    response = await upload(
        service, staff, csv_text(SME_SURVEY.names, rows, ";").encode("utf-8-sig"), name="wave.csv"
    )
    assert response.status_code == 201, response.text
    answers = await logged(service, staff, "SMESurveyResponseRecorded")
    assert [a["stream_id"] for a in answers] == ["sme-sme-1", "sme-sme-2"]
    assert (
        answers[0]["data"]["export_countries"] == ["DE", "FR"]
        and answers[0]["data"]["process_innovation"] is True
    )
    assert answers[0]["occurred_on"] == "2025-02-10" and answers[1]["data"]["export_countries"] == []

    repeated = [survey_row("sme-1", "endline"), survey_row("sme-1", "endline", turnover_eur="12,500")]
    response = await upload(service, staff, csv_text(SME_SURVEY.names, repeated).encode(), name="bad.csv")
    assert response.status_code == 422
    assert problems(response) == {(3, "turnover_eur")}
    assert "ambiguous" in response.json()["rows"][0]["reason"]
    twice = [survey_row("sme-2", "endline"), survey_row("sme-2", "endline", digital_score="50")]
    response = await upload(service, staff, csv_text(SME_SURVEY.names, twice).encode(), name="twice.csv")
    assert response.status_code == 422 and "repeats row 2" in response.json()["rows"][0]["reason"]
    out_of_range = [survey_row("sme-2", "endline", attribution_share="1.5", export_turnover_eur="2000000")]
    response = await upload(service, staff, csv_text(SME_SURVEY.names, out_of_range).encode(), name="r.csv")
    assert response.status_code == 422
    assert problems(response) == {(2, "attribution_share")}


async def test_the_templates_carry_validation_lists_and_instructions(
    service: httpx.AsyncClient, staff: dict[str, str]
) -> None:
    response = await service.get("/api/v1/import-templates/training-attendance", headers=staff)
    assert response.status_code == 200 and response.headers["content-type"].startswith(XLSX_MEDIA_TYPE)
    workbook = load_workbook(io.BytesIO(response.content))
    assert workbook.sheetnames == ["attendance", "lists", "instructions"]
    data = workbook["attendance"]
    assert [c.value for c in data[1]] == TRAINING_HEADERS
    rules = {str(rule.sqref).split(":")[0]: rule for rule in data.data_validations.dataValidation}
    topic = rules["D2"]
    assert topic.type == "list" and topic.formula1 == "lists!$A$2:$A$9"
    assert [workbook["lists"].cell(row, 1).value for row in range(2, 10)][:2] == ["strategy", "governance"]
    assert rules["B2"].type == "date" and rules["L2"].type == "decimal"
    instructions = [row[0] for row in workbook["instructions"].iter_rows(min_row=6, values_only=True)]
    assert instructions == TRAINING_HEADERS
    survey = load_workbook(
        io.BytesIO((await service.get("/api/v1/import-templates/sme-survey", headers=staff)).content)
    )
    survey_rules = [rule.type for rule in survey["responses"].data_validations.dataValidation]
    assert "list" in survey_rules and "whole" in survey_rules
    assert (await service.get("/api/v1/import-templates/payroll", headers=staff)).status_code == 404
    # The empty template imports as a file with no rows: nothing to record.
    empty = await upload(service, staff, template_workbook("training-attendance"))
    assert empty.status_code == 200 and empty.json()["status"] == "nothing_new"


async def test_a_crash_between_the_append_and_the_ledger_is_retried_cleanly(
    service: httpx.AsyncClient, staff: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = service.app.state.recorder  # type: ignore[attr-defined]
    content = xlsx(GOOD_ROWS)
    finish = ImportLedger.finish

    async def crash(self: ImportLedger, *args: Any) -> None:
        raise ConnectionError("the process died here")

    monkeypatch.setattr(ImportLedger, "finish", crash)
    actor = {"actor": "staff-at", "actor_role": "staff"}
    with pytest.raises(ConnectionError):
        await import_file(recorder, PROJECT, content, actor=actor, file_name="a.xlsx")
    position = await head(service, staff)
    monkeypatch.setattr(ImportLedger, "finish", finish)
    outcome = await import_file(recorder, PROJECT, content, actor=actor, file_name="a.xlsx")
    assert outcome.status == "imported" and outcome.events == 2 and outcome.last_position == position
    assert await head(service, staff) == position
    assert (await import_file(recorder, PROJECT, content, actor=actor)).status == "already_imported"


async def test_ten_thousand_rows_are_checked_and_recorded_in_one_transaction(
    service: httpx.AsyncClient, staff: dict[str, str]
) -> None:
    recorder = service.app.state.recorder  # type: ignore[attr-defined]
    rows = [
        session_row(
            f"TRN-{i // 4}",
            MARCH,
            ("p-1", "p-2", "p-3", "p-4")[i % 4],
            ("clu-at", "sme-1", "clu-pl", "sme-2")[i % 4],
            3,
        )
        for i in range(10_000)
    ]
    seen: list[tuple[str, int, int]] = []
    outcome = await import_file(
        recorder,
        PROJECT,
        xlsx(rows),
        actor={"actor": "staff-at"},
        progress=lambda *report: seen.append(report),
    )
    assert (outcome.data_rows, outcome.events) == (10_000, 2_500)
    assert seen[0] == ("reading", 0, 0) and ("checking", 10_000, 10_000) in seen and seen[-1][0] == "recorded"


def test_reading_a_sheet_tells_its_kind_from_the_headers() -> None:
    assert read_sheet(xlsx(GOOD_ROWS)).layout is TRAINING_ATTENDANCE
    survey = csv_text(SME_SURVEY.names, [survey_row("sme-1")]).encode()
    assert read_sheet(survey, "wave.csv").layout is SME_SURVEY
    with pytest.raises(ImportRefused):
        raise ImportRefused(read_sheet(survey, "wave.csv", "training-attendance").problems, None)


async def test_the_cli_writes_templates_imports_with_progress_and_annotates_a_refused_file(
    service: httpx.AsyncClient,
    staff: dict[str, str],
    db: Database,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", schema_dsn(db))
    runner = CliRunner()

    def invoke(*args: str) -> Any:
        return runner.invoke(import_command, list(args), catch_exceptions=False)

    template = tmp_path / "attendance.xlsx"
    written = await asyncio.to_thread(invoke, "--template", "training-attendance", "--output", str(template))
    assert written.exit_code == 0 and load_workbook(template).sheetnames[0] == "attendance"
    again = await asyncio.to_thread(invoke, "--template", "training-attendance", "--output", str(template))
    assert again.exit_code == 1 and "exists" in again.output

    good = tmp_path / "march.xlsx"
    good.write_bytes(xlsx(GOOD_ROWS, from_template="training-attendance"))
    imported = await asyncio.to_thread(invoke, "--project", PROJECT, str(good))
    assert imported.exit_code == 0, imported.output
    assert json.loads(imported.stdout)["events"] == 2
    assert "checking rows" in imported.stderr and "recording 2 events" in imported.stderr
    repeated = await asyncio.to_thread(invoke, "--project", PROJECT, str(good))
    assert json.loads(repeated.stdout)["status"] == "already_imported"

    bad = tmp_path / "april.xlsx"
    bad.write_bytes(xlsx([session_row("TRN-7", MARCH, "p-404", "clu-at", 2)]))
    refused = await asyncio.to_thread(invoke, "--project", PROJECT, str(bad))
    assert refused.exit_code == 1
    report = json.loads(refused.stdout)
    assert report["imported"] is False and report["rows"][0]["column"] == "participant_id"
    annotated = tmp_path / "april.problems.xlsx"
    assert annotated.exists() and "annotated copy" in refused.stderr
    missing = await asyncio.to_thread(invoke, str(bad))
    assert missing.exit_code == 2
