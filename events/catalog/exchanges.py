"""The ClusterXchange lifecycle: registration, Commitment to Quality, completion, closing
report, lump-sum payment, cancellation. Every event of one exchange goes to
``exchange-<exchange_id>``, so its lifecycle is ordered and guarded by one stream version.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated

import msgspec

from events.catalog.payload import EventPayload, RefKind
from events.catalog.vocabulary import (
    ExchangeActivityType,
    ExchangeMode,
    FollowUpType,
    Id,
    ObjectivesMet,
    PositiveEuroAmount,
    Scale1to5,
    ShortText,
    Text,
)

_EXCHANGE: tuple[tuple[RefKind, str], ...] = (("exchange", "exchange_id"),)


class ExchangeRegistered(EventPayload, frozen=True, kw_only=True):
    """A matched visit: visiting (VO) and host (HO) organisations and their partnerships."""

    stream_prefix = "exchange"
    stream_key = "exchange_id"

    exchange_id: Id
    vo_org_id: Id
    ho_org_id: Id
    # ClusterXchange partnership ids: the exchange counts only where vop_id is the project's.
    vop_id: Id
    hop_id: Id
    objectives: Annotated[list[Text], msgspec.Meta(min_length=1, max_length=20)]
    activity_types: Annotated[list[ExchangeActivityType], msgspec.Meta(min_length=1, max_length=10)]

    reference_paths = (("org", "vo_org_id"), ("org", "ho_org_id"))


class CommitmentToQualitySigned(EventPayload, frozen=True, kw_only=True):
    """The Commitment to Quality (goals and agenda) signed by VO, HO and both partnerships."""

    stream_prefix = "exchange"
    stream_key = "exchange_id"

    exchange_id: Id
    planned_start: dt.date
    planned_end: dt.date
    # Where the signed agenda is (document id or URI); its hash goes in the envelope evidence.
    agenda_ref: ShortText

    reference_paths = _EXCHANGE


class ExchangeCompleted(EventPayload, frozen=True, kw_only=True):
    """The visit took place (O5); dated by its last day."""

    stream_prefix = "exchange"
    stream_key = "exchange_id"
    self_date_field = "actual_end"

    exchange_id: Id
    actual_start: dt.date
    actual_end: dt.date
    # ClusterXchange visits last 3 working days to one month.
    working_days: Annotated[int, msgspec.Meta(ge=1, le=31)]
    mode: ExchangeMode
    # Under 200 km the lump sum is halved.
    distance_km: Annotated[int, msgspec.Meta(ge=0, le=20_000)]

    reference_paths = _EXCHANGE


class ExchangeClosingReportSubmitted(EventPayload, frozen=True, kw_only=True):
    """The closing report; R1 counts each satisfaction score given as one response (a side that
    did not answer is left out: R1's denominator is the responses given)."""

    stream_prefix = "exchange"
    stream_key = "exchange_id"

    exchange_id: Id
    satisfaction_vo: Scale1to5 | None = None
    satisfaction_ho: Scale1to5 | None = None
    objectives_met: ObjectivesMet
    follow_up_planned: Annotated[list[FollowUpType], msgspec.Meta(max_length=10)] = msgspec.field(
        default_factory=list
    )

    reference_paths = _EXCHANGE


class LumpSumPaid(EventPayload, frozen=True, kw_only=True):
    """The visitor's lump sum (O11); `reduced` when halved (< 5 working days or < 200 km)."""

    stream_prefix = "exchange"
    stream_key = "exchange_id"
    self_date_field = "paid_on"

    exchange_id: Id
    amount_eur: PositiveEuroAmount
    paid_on: dt.date
    reduced: bool

    reference_paths = _EXCHANGE


class ExchangeCancelled(EventPayload, frozen=True, kw_only=True):
    """The exchange will not take place; it then contributes to no KPI."""

    stream_prefix = "exchange"
    stream_key = "exchange_id"

    exchange_id: Id
    reason: Text

    reference_paths = _EXCHANGE
