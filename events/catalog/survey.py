"""The SME survey panel (impact KPIs I1–I6). Responses go to ``sme-<org_id>``: one stream holds
an SME's whole panel history, whichever survey and wave.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from events.catalog.payload import EventPayload
from events.catalog.vocabulary import (
    CountryCode,
    DigitalScore,
    EuroAmount,
    Fte,
    GreenMeasure,
    Id,
    NonNegativeInt,
    Share,
    SurveyWave,
    Year,
)


class SMESurveyResponseRecorded(EventPayload, frozen=True, kw_only=True):
    """One SME's answers in one wave; the last response per (survey, wave, org) counts."""

    stream_prefix = "sme"
    stream_key = "org_id"

    survey_id: Id
    wave: SurveyWave
    org_id: Id
    # The financial year the figures describe.
    ref_year: Year
    turnover_eur: EuroAmount
    employees_fte: Fte
    export_turnover_eur: EuroAmount
    export_countries: Annotated[list[CountryCode], msgspec.Meta(max_length=250)] = msgspec.field(
        default_factory=list
    )
    new_products: NonNegativeInt
    process_innovation: bool
    digital_score: DigitalScore
    green_measures: Annotated[list[GreenMeasure], msgspec.Meta(max_length=20)] = msgspec.field(
        default_factory=list
    )
    # Raised since the baseline interview (cumulative); 0 at the baseline wave itself.
    investment_raised_eur: EuroAmount
    # Self-reported share of the change the SME attributes to the project.
    attribution_share: Share

    reference_paths = (("org", "org_id"),)
