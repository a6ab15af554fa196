"""The two spreadsheets staff keep, as data: their columns, types, allowed values and help.

Parsing, the blank templates and the annotated copies all read these tables, so a column is
described once. Column names are the catalog's payload field names wherever there is one.
"""

from __future__ import annotations

from typing import Literal, NamedTuple, get_args

from events.catalog.vocabulary import DeliveryFormat, SurveyWave, Topic

ImportKind = Literal["training-attendance", "sme-survey"]
IMPORT_KINDS: tuple[ImportKind, ...] = get_args(ImportKind)

# What a cell holds once read: text, an id, a date, several dates or list items (";"-separated
# text), a decimal, a whole number or yes/no.
CellKind = Literal["id", "text", "date", "dates", "decimal", "int", "bool", "list"]


class Column(NamedTuple):
    """One column of an import sheet."""

    name: str
    kind: CellKind
    required: bool
    help: str
    choices: tuple[str, ...] = ()
    # Inclusive bounds the template's data validation enforces (the catalog checks them too).
    bounds: tuple[float, float] | None = None
    # Training sheets: the same on every row of a session (a blank repeats the first row's value).
    per_session: bool = False


class SheetLayout(NamedTuple):
    """One kind of import: its data sheet's name, columns, the event it records, and the column
    that dates the event (the envelope's occurred_on)."""

    kind: ImportKind
    sheet_name: str
    event_type: str
    columns: tuple[Column, ...]
    date_column: str
    title: str
    how: str

    @property
    def names(self) -> tuple[str, ...]:
        """Column names in sheet order."""
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> Column | None:
        """The column with this name, if the layout has one."""
        return next((c for c in self.columns if c.name == name), None)


TRAINING_ATTENDANCE = SheetLayout(
    kind="training-attendance",
    sheet_name="attendance",
    event_type="TrainingDelivered",
    date_column="date",
    title="Training attendance",
    how=(
        "One row per attendee. Rows with the same session_id make one training session "
        "(TrainingDelivered); the session columns repeat on each of its rows, or stay blank below "
        "its first row. Participants and organisations must be registered in impactlog first: "
        "write their pseudonymous ids, never names."
    ),
    columns=(
        Column(
            "session_id", "id", True, "Your id of the training session, e.g. TRN-2025-03", per_session=True
        ),
        Column("date", "date", True, "The session's (first) day", per_session=True),
        Column(
            "more_dates",
            "dates",
            False,
            "Further days of a multi-day session, as YYYY-MM-DD separated by ';'",
            per_session=True,
        ),
        Column("topic", "text", True, "The session's topic", choices=get_args(Topic), per_session=True),
        Column(
            "format", "text", True, "How it was delivered", choices=get_args(DeliveryFormat), per_session=True
        ),
        Column(
            "duration_hours",
            "decimal",
            True,
            "Length of the session in hours (all days)",
            bounds=(0, 10000),
            per_session=True,
        ),
        Column(
            "country",
            "text",
            True,
            "Venue country (ISO 3166 alpha-2, e.g. AT); for online sessions the organising partner's",
            per_session=True,
        ),
        Column(
            "partner_org_id", "id", True, "The partner organisation recording the session", per_session=True
        ),
        Column(
            "trainers",
            "list",
            False,
            "Trainers' participant ids separated by ';' (optional)",
            per_session=True,
        ),
        Column("participant_id", "id", True, "The attendee's pseudonymous participant id"),
        Column("org_id", "id", True, "The attendee's organisation id"),
        Column(
            "attended_hours",
            "decimal",
            True,
            "Hours this attendee attended (0..duration_hours)",
            bounds=(0, 10000),
        ),
    ),
)

SME_SURVEY = SheetLayout(
    kind="sme-survey",
    sheet_name="responses",
    event_type="SMESurveyResponseRecorded",
    date_column="interview_date",
    title="SME survey wave",
    how=(
        "One row per SME interviewed in one survey wave (SMESurveyResponseRecorded). Amounts in "
        "EUR without thousands separators; shares between 0 and 1; lists separated by ';'. "
        "Organisations must be registered in impactlog first."
    ),
    columns=(
        Column("survey_id", "id", True, "Your id of the survey, e.g. SME-PANEL-2025"),
        Column("wave", "text", True, "Which wave this answer belongs to", choices=get_args(SurveyWave)),
        Column("org_id", "id", True, "The SME's organisation id"),
        Column("interview_date", "date", True, "The day the SME answered"),
        Column("partner_org_id", "id", True, "The partner organisation recording the answer"),
        Column("ref_year", "int", True, "The financial year the figures describe", bounds=(1990, 2100)),
        Column("turnover_eur", "decimal", True, "Turnover in EUR", bounds=(0, 1e12)),
        Column("employees_fte", "decimal", True, "Employees in full-time equivalents", bounds=(0, 1e7)),
        Column(
            "export_turnover_eur", "decimal", True, "Export turnover in EUR (≤ turnover)", bounds=(0, 1e12)
        ),
        Column("export_countries", "list", False, "Export countries, ISO alpha-2 separated by ';'"),
        Column("new_products", "int", True, "New products or services introduced", bounds=(0, 10_000_000)),
        Column("process_innovation", "bool", True, "A new or improved process (TRUE/FALSE)"),
        Column("digital_score", "int", True, "Digital maturity score 0–100", bounds=(0, 100)),
        Column(
            "green_measures",
            "list",
            False,
            "Green measures taken, separated by ';' (e.g. energy_efficiency; renewable_energy; "
            "circular_economy; waste_reduction)",
        ),
        Column(
            "investment_raised_eur",
            "decimal",
            True,
            "Investment raised since the baseline interview, EUR (0 at baseline)",
            bounds=(0, 1e12),
        ),
        Column(
            "attribution_share",
            "decimal",
            True,
            "Share of the change the SME attributes to the project, 0–1",
            bounds=(0, 1),
        ),
    ),
)

LAYOUTS: dict[ImportKind, SheetLayout] = {layout.kind: layout for layout in (TRAINING_ATTENDANCE, SME_SURVEY)}
# Sheets of a workbook that never hold data (the template's own helpers).
HELPER_SHEETS = frozenset({"instructions", "lists"})
# The column an annotated copy adds; ignored when the corrected copy is imported.
PROBLEMS_COLUMN = "impactlog_problems"


def layout_for_headers(headers: list[str]) -> SheetLayout | None:
    """The layout a header row belongs to, told by the column only it has."""
    if "session_id" in headers:
        return TRAINING_ATTENDANCE
    if "survey_id" in headers:
        return SME_SURVEY
    return None
