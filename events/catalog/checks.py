"""Cross-field rules a decoded payload must also satisfy; pure, no database.

Type-level constraints (enums, ranges, patterns) are enforced while decoding; these are the
rules that relate two fields, or a payload and its envelope's occurred_on (DOMAIN.md (f)).
Rules that need other events (does the org exist? is the period locked?) are not here: see
``references`` and the service's validator.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from typing import Any, TypeVar

import msgspec

from events.catalog.activities import FollowUpCooperationRecorded, TrainingDelivered
from events.catalog.errors import PayloadError
from events.catalog.exchanges import CommitmentToQualitySigned, ExchangeCompleted, ExchangeRegistered
from events.catalog.governance import CorrectionRecorded, SnapshotPublished
from events.catalog.indicators import IndicatorRevised
from events.catalog.payload import EventPayload, self_date
from events.catalog.reference import OrganisationRegistered, ProjectRegistered
from events.catalog.registry import PAYLOAD_TYPES, payload_type
from events.catalog.results import ESCALabelAwarded, PartnershipAgreementSigned
from events.catalog.survey import SMESurveyResponseRecorded
from events.catalog.vocabulary import IDENTITY_FIELDS, LIFE_OF_PROJECT

P = TypeVar("P", bound=EventPayload)
Rule = Callable[[P], Iterable[PayloadError]]
_CHECKS: dict[type[EventPayload], Callable[[Any], Iterable[PayloadError]]] = {}


def _rule(cls: type[P]) -> Callable[[Rule[P]], Rule[P]]:
    """Register a function as the cross-field rule of one payload class."""

    def register(check: Rule[P]) -> Rule[P]:
        _CHECKS[cls] = check
        return check

    return register


def check_payload(event_type: str, payload: EventPayload, occurred_on: dt.date | None) -> list[PayloadError]:
    """Every cross-field problem of a decoded payload (empty list = fine); occurred_on None skips
    the self-date rule."""
    cls = payload_type(event_type)
    if type(payload) is not cls:
        return [PayloadError("type", f"payload is a {type(payload).__name__}, not a {event_type}")]
    errors: list[PayloadError] = []
    dated = self_date(payload)
    if dated is not None and occurred_on is not None and dated[1] != occurred_on:
        path, day = dated
        errors.append(PayloadError("occurred_on", f"must equal data.{path} ({day}), got {occurred_on}"))
    check = _CHECKS.get(cls)
    if check is not None:
        errors.extend(check(payload))
    return errors


def check_dated_within_project(
    event_type: str, occurred_on: dt.date, project: ProjectRegistered, final_period_approved: bool
) -> list[PayloadError]:
    """The project-window rule of DOMAIN.md (f): before the start only for types that may
    predate it; after the end only until the final period is approved (records of duties that
    outlive the project, `outside_reporting`, excepted: they count in no period)."""
    if occurred_on < project.start_date and not payload_type(event_type).may_predate_project:
        return [
            PayloadError(
                "occurred_on",
                f"{occurred_on} is before the project start {project.start_date}; only "
                f"{' and '.join(_MAY_PREDATE)} may be dated earlier",
            )
        ]
    outlives_project = payload_type(event_type).outside_reporting
    if occurred_on > project.end_date and final_period_approved and not outlives_project:
        return [
            PayloadError(
                "occurred_on",
                f"{occurred_on} is after the project end {project.end_date} and the final period is approved",
            )
        ]
    return []


_MAY_PREDATE = [name for name, cls in PAYLOAD_TYPES.items() if cls.may_predate_project]


def _repeats(values: Sequence[Hashable], path: str) -> Iterator[PayloadError]:
    first: dict[Hashable, int] = {}
    for index, value in enumerate(values):
        if value in first:
            yield PayloadError(f"{path}[{index}]", f"repeats {value!r} (first at [{first[value]}])")
        else:
            first[value] = index


@_rule(ProjectRegistered)
def _project(p: ProjectRegistered) -> Iterator[PayloadError]:
    if p.end_date <= p.start_date:
        yield PayloadError("data.end_date", f"must be after start_date ({p.start_date})")
    # Periods are contiguous and cover the project, so every date in the project falls in
    # exactly one period when figures are bucketed by reporting period.
    expected_start = p.start_date
    last = len(p.reporting_periods) - 1
    for index, period in enumerate(p.reporting_periods):
        at = f"data.reporting_periods[{index}]"
        if period.period_id == LIFE_OF_PROJECT:
            yield PayloadError(f"{at}.period_id", f"{LIFE_OF_PROJECT!r} means the life of the project")
        if period.start != expected_start:
            yield PayloadError(
                f"{at}.start", f"must be {expected_start} (periods run back to back from the project start)"
            )
        if period.end < period.start:
            yield PayloadError(f"{at}.end", f"must not be before the period start ({period.start})")
        expected_start = period.end + dt.timedelta(days=1)
        if index == last and period.kind != "final":
            yield PayloadError(f"{at}.kind", "the last reporting period must be final")
        if index != last and period.kind == "final":
            yield PayloadError(f"{at}.kind", "only the last reporting period may be final")
    if p.reporting_periods and p.reporting_periods[last].end != p.end_date:
        yield PayloadError(
            f"data.reporting_periods[{last}].end", f"must be the project end_date ({p.end_date})"
        )
    yield from _repeats([period.period_id for period in p.reporting_periods], "data.reporting_periods")
    yield from _repeats(p.partners, "data.partners")


# NUTS writes Greece as EL and the United Kingdom as UK, where ISO 3166 has GR and GB.
_NUTS_COUNTRY = {"GR": "EL", "GB": "UK"}


@_rule(OrganisationRegistered)
def _organisation(p: OrganisationRegistered) -> Iterator[PayloadError]:
    prefix = _NUTS_COUNTRY.get(p.country, p.country)
    if not p.nuts2.startswith(prefix):
        yield PayloadError("data.nuts2", f"must start with {prefix!r} for country {p.country!r}")
    if p.org_id in p.cluster_member_of:
        yield PayloadError("data.cluster_member_of", "an organisation cannot be a member of itself")
    yield from _repeats(p.cluster_member_of, "data.cluster_member_of")


@_rule(TrainingDelivered)
def _training(p: TrainingDelivered) -> Iterator[PayloadError]:
    for index in range(1, len(p.dates)):
        if p.dates[index] <= p.dates[index - 1]:
            yield PayloadError(f"data.dates[{index}]", "dates must be in ascending order without repeats")
    if p.duration_hours > 24 * len(p.dates):
        yield PayloadError("data.duration_hours", f"exceeds 24 hours × {len(p.dates)} day(s)")
    # DOMAIN.md (f) O2: attended_hours lies between 0 and duration_hours.
    for index, attendee in enumerate(p.attendees):
        if attendee.attended_hours > p.duration_hours:
            yield PayloadError(
                f"data.attendees[{index}].attended_hours",
                f"{attendee.attended_hours} exceeds the session's duration_hours ({p.duration_hours})",
            )
    yield from _repeats([a.participant_id for a in p.attendees], "data.attendees")


@_rule(ExchangeRegistered)
def _exchange(p: ExchangeRegistered) -> Iterator[PayloadError]:
    if p.vo_org_id == p.ho_org_id:
        yield PayloadError("data.ho_org_id", "the host must differ from the visiting organisation")


@_rule(CommitmentToQualitySigned)
def _commitment(p: CommitmentToQualitySigned) -> Iterator[PayloadError]:
    if p.planned_end < p.planned_start:
        yield PayloadError("data.planned_end", f"must not be before planned_start ({p.planned_start})")


@_rule(ExchangeCompleted)
def _completion(p: ExchangeCompleted) -> Iterator[PayloadError]:
    if p.actual_end < p.actual_start:
        yield PayloadError("data.actual_end", f"must not be before actual_start ({p.actual_start})")
        return
    span = (p.actual_end - p.actual_start).days + 1
    if p.working_days > span:
        yield PayloadError("data.working_days", f"{p.working_days} exceeds the {span} day(s) of the visit")


@_rule(ESCALabelAwarded)
def _label(p: ESCALabelAwarded) -> Iterator[PayloadError]:
    if p.valid_until <= p.awarded_on:
        yield PayloadError("data.valid_until", f"must be after awarded_on ({p.awarded_on})")


@_rule(PartnershipAgreementSigned)
def _agreement(p: PartnershipAgreementSigned) -> Iterator[PayloadError]:
    yield from _repeats(p.parties, "data.parties")


@_rule(FollowUpCooperationRecorded)
def _follow_up(p: FollowUpCooperationRecorded) -> Iterator[PayloadError]:
    yield from _repeats(p.org_ids, "data.org_ids")


@_rule(SMESurveyResponseRecorded)
def _survey(p: SMESurveyResponseRecorded) -> Iterator[PayloadError]:
    if p.export_turnover_eur > p.turnover_eur:
        yield PayloadError("data.export_turnover_eur", f"exceeds turnover_eur ({p.turnover_eur})")
    yield from _repeats(p.export_countries, "data.export_countries")
    yield from _repeats(p.green_measures, "data.green_measures")


@_rule(IndicatorRevised)
def _revision(p: IndicatorRevised) -> Iterator[PayloadError]:
    if p.version < 2:
        yield PayloadError("data.version", "a revision has version 2 or more (version 1 is IndicatorDefined)")


@_rule(SnapshotPublished)
def _snapshot(p: SnapshotPublished) -> Iterator[PayloadError]:
    if p.kind != "adhoc" and p.period_id is None:
        yield PayloadError("data.period_id", f"required for a {p.kind} snapshot")


# A correction's field_changes may carry this envelope field too: it moves the target's date.
OCCURRED_ON = "occurred_on"


@_rule(CorrectionRecorded)
def _correction(p: CorrectionRecorded) -> Iterator[PayloadError]:
    # The envelope `type` cannot be corrected either, but it is not a payload field, so a key
    # named "type" means a payload field of that name (a follow-up's or an agreement's kind).
    for name, value in p.field_changes.items():
        at = f"data.field_changes.{name}"
        if name in IDENTITY_FIELDS:
            yield PayloadError(at, f"{name} identifies the record; retract it and record it again instead")
        elif name == OCCURRED_ON and parse_date(value) is None:
            yield PayloadError(at, "expected an ISO 8601 date (YYYY-MM-DD)")


def parse_date(value: object) -> dt.date | None:
    """An ISO 8601 date from a JSON value (or a date), None when it is not one."""
    try:
        return msgspec.convert(value, dt.date)
    except msgspec.ValidationError:
        return None
