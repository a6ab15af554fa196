"""The results framework: versioned indicator reference sheets, baselines and targets.

Streams: ``indicator-<indicator_id>`` for a sheet and its revisions (a revision can then expect
the sheet's stream version), ``project`` for baselines and targets, beside the periods they
name.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

from events.catalog.payload import EventPayload
from events.catalog.vocabulary import (
    DimensionName,
    DisaggregationKey,
    Id,
    IndicatorLevel,
    IndicatorValue,
    Measure,
    ShortText,
    Text,
    TimeAggregation,
)


class _IndicatorSheet(EventPayload, frozen=True, kw_only=True):
    """The fields shared by a definition and its revisions (one sheet, many versions)."""

    stream_prefix = "indicator"
    stream_key = "indicator_id"

    indicator_id: Id
    version: Annotated[int, msgspec.Meta(ge=1, le=1000)]
    # Name and definition are part of a reference sheet (DOMAIN.md (c) 1).
    name: ShortText
    definition: Text
    level: IndicatorLevel
    # Which formula of the KPI catalog computes it, e.g. "kpi:O2".
    formula_ref: Id
    unit: ShortText
    measure: Measure
    ascending: bool
    time_aggregation: TimeAggregation
    disaggregations: Annotated[list[DimensionName], msgspec.Meta(max_length=20)] = msgspec.field(
        default_factory=list
    )
    means_of_verification: Text


class IndicatorDefined(_IndicatorSheet, frozen=True, kw_only=True):
    """The first version of an indicator's reference sheet."""


class IndicatorRevised(_IndicatorSheet, frozen=True, kw_only=True):
    """A later version of the sheet (version ≥ 2); earlier figures keep their version."""


class _IndicatorValue(EventPayload, frozen=True, kw_only=True):
    """The fields shared by baselines and targets."""

    stream_prefix = "project"

    indicator_id: Id
    # A reporting period's id, or LIFE_OF_PROJECT ("LoP").
    period_id: Id
    value: IndicatorValue
    cumulative: bool
    disaggregation_key: DisaggregationKey | None = None
    rationale: Text


class BaselineRecorded(_IndicatorValue, frozen=True, kw_only=True):
    """The value an indicator starts from; may be dated before the project, never a result."""

    may_predate_project = True

    reference_paths = (("indicator", "indicator_id"), ("period", "period_id"))


class TargetSet(_IndicatorValue, frozen=True, kw_only=True):
    """A target for (indicator, period, disaggregation); the last one set is in force."""

    reference_paths = (("indicator", "indicator_id"), ("period", "period_id"))
