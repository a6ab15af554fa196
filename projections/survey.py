"""Read model: the SME survey panel — each SME's last live response per survey and wave
(DOMAIN.md (f): "the last recorded response per wave counts"). Who belongs to the impact panel
(an SME at its baseline interview, both waves answered) is the KPI engine's question; this
table holds the answers it is asked over.

Keyed by org_id (an identity field): one SME's whole response history, so a correction that
moves a response to another survey or wave re-derives both.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal

import msgspec

from events.catalog import SMESurveyResponseRecorded
from events.entries import LiveEvent, LogEntry
from projections.keyed import DerivedTable, KeyedProjection, KeyView, Row, of_type


class SurveyResponseRow(msgspec.Struct, frozen=True, kw_only=True):
    """A row of `survey_responses`."""

    survey_id: str
    org_id: str
    wave: str
    ref_year: int
    turnover_eur: Decimal
    employees_fte: Decimal
    export_turnover_eur: Decimal
    export_countries: list[str]
    new_products: int
    process_innovation: bool
    digital_score: int
    green_measures: list[str]
    investment_raised_eur: Decimal
    attribution_share: Decimal
    responded_on: dt.date
    position: int
    event_id: uuid.UUID


def response_row(response: LiveEvent[SMESurveyResponseRecorded]) -> SurveyResponseRow:
    """One response as a row."""
    p = response.payload
    return SurveyResponseRow(
        survey_id=p.survey_id,
        org_id=p.org_id,
        wave=p.wave,
        ref_year=p.ref_year,
        turnover_eur=p.turnover_eur,
        employees_fte=p.employees_fte,
        export_turnover_eur=p.export_turnover_eur,
        export_countries=list(p.export_countries),
        new_products=p.new_products,
        process_innovation=p.process_innovation,
        digital_score=p.digital_score,
        green_measures=list(p.green_measures),
        investment_raised_eur=p.investment_raised_eur,
        attribution_share=p.attribution_share,
        responded_on=response.occurred_on,
        position=response.position,
        event_id=response.event_id,
    )


class SurveyProjection(KeyedProjection):
    """survey_responses."""

    name = "survey"
    version = 1
    sources_table = "survey_sources"
    derived = (DerivedTable(name="survey_responses", row_type=SurveyResponseRow, key_column="org_id"),)
    event_types = frozenset({"SMESurveyResponseRecorded"})

    def key_of(self, entry: LogEntry) -> str | None:
        """The responding SME's org_id."""
        return entry.payload.org_id if isinstance(entry.payload, SMESurveyResponseRecorded) else None

    def rows(self, view: KeyView) -> list[Row]:
        """The last live response per (survey, wave), in log order."""
        last: dict[tuple[str, str], LiveEvent[SMESurveyResponseRecorded]] = {}
        for response in of_type(view.live, SMESurveyResponseRecorded):
            last[(response.payload.survey_id, response.payload.wave)] = response
        return [response_row(r) for r in last.values()]
