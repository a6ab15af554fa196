"""A project's log as the KPI tests write it (`ProjectLog`), built from the catalog's payload
classes, and the tests of the log view's plumbing (entries, "as of" dates).

Every payload a test appends is checked with the catalog's own `check_payload`, so the scenarios
are logs the API would have accepted.
"""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

import msgspec
import pytest

from events.catalog import (
    EXAMPLES,
    ActivityRetracted,
    Attendee,
    BaselineRecorded,
    ClusterServiceLaunched,
    CoachingSessionHeld,
    CommitmentToQualitySigned,
    CorrectionRecorded,
    ESCALabelAwarded,
    EventPayload,
    ExchangeCancelled,
    ExchangeClosingReportSubmitted,
    ExchangeCompleted,
    ExchangeRegistered,
    FeedbackCollected,
    FollowUpCooperationRecorded,
    LumpSumPaid,
    OrganisationRegistered,
    OrganisationSizeClassChanged,
    OutreachEventHeld,
    ParticipantRegistered,
    PartnershipAgreementSigned,
    ProjectRegistered,
    ReportingPeriod,
    SMESurveyResponseRecorded,
    StrategyMilestoneReached,
    TargetSet,
    TrainingDelivered,
    check_payload,
    event_type_of,
    self_date,
)
from events.entries import LogEntry, log_entry
from events.envelope import RecordedEvent
from indicators.log_view import fold_log, resolve_as_of

D = dt.date.fromisoformat
PARTNERSHIP = "CXC-P"


def _day(value: str | dt.date) -> dt.date:
    return D(value) if isinstance(value, str) else value


class ProjectLog:
    """Appends events in commit order: position 1, 2, … with non-decreasing recorded_at."""

    def __init__(self) -> None:
        self.entries: list[LogEntry] = []

    def add(
        self,
        payload: EventPayload,
        on: str | dt.date | None = None,
        partner: str | None = None,
        recorded: str | None = None,
        checked: bool = True,
    ) -> uuid.UUID:
        """Append one event and return its id. `on` defaults to the payload's own date; recorded_at
        defaults to 09:00 UTC the day after, never before the previous entry's. `checked=False`
        appends what the API would refuse, to show the engine is not thrown by it."""
        dated = self_date(payload)
        occurred_on = _day(on) if on is not None else dated[1] if dated is not None else None
        assert occurred_on is not None, f"{event_type_of(payload)} needs an occurred_on"
        assert not checked or check_payload(event_type_of(payload), payload, occurred_on) == []
        if recorded is not None:
            recorded_at = dt.datetime.fromisoformat(recorded).replace(tzinfo=dt.UTC)
        else:
            recorded_at = dt.datetime.combine(occurred_on + dt.timedelta(days=1), dt.time(9), dt.UTC)
        if self.entries:
            recorded_at = max(recorded_at, self.entries[-1].recorded_at + dt.timedelta(minutes=1))
        position = len(self.entries) + 1
        self.entries.append(
            LogEntry(
                position=position,
                type=event_type_of(payload),
                occurred_on=occurred_on,
                recorded_at=recorded_at,
                partner_org_id=partner,
                event_id=uuid.UUID(int=position),
                payload=payload,
            )
        )
        return uuid.UUID(int=position)

    @property
    def head(self) -> int:
        """The last position appended."""
        return len(self.entries)


# --- payloads, with the defaults the tests do not care about ----------------------------------


def project(
    periods: list[tuple[str, str, str]], partners: list[str], partnership: str = PARTNERSHIP
) -> ProjectRegistered:
    """A project whose reporting periods are (id, start, end); the last one is final."""
    return ProjectRegistered(
        grant_no="101000001",
        call_id="SMP-COSME-2024-CLUSTER",
        start_date=D(periods[0][1]),
        end_date=D(periods[-1][2]),
        reporting_periods=[
            ReportingPeriod(
                period_id=pid,
                start=D(start),
                end=D(end),
                kind="final" if i == len(periods) - 1 else "interim",
            )
            for i, (pid, start, end) in enumerate(periods)
        ],
        partnership_id=partnership,
        partners=partners,
    )


_REGIONS = {"DE": "DE21", "ES": "ES61", "PL": "PL22", "FR": "FR10", "IT": "ITC4", "AT": "AT13"}


def organisation(
    org_id: str, org_type: Any, country: str, region: Any, ecosystem: Any, size_class: Any = "n/a"
) -> OrganisationRegistered:
    """An organisation in `country` (a fixed NUTS-2 region of it)."""
    return OrganisationRegistered(
        org_id=org_id,
        name=org_id,
        org_type=org_type,
        country=country,
        nuts2=_REGIONS[country],
        region_category=region,
        nace="M70",
        ecosystem=ecosystem,
        size_class=size_class,
        headcount=10,
        turnover_band="n/a",
    )


def participant(participant_id: str, org_id: str, role: Any, gender: Any) -> ParticipantRegistered:
    """A pseudonymous participant."""
    return ParticipantRegistered(participant_id=participant_id, org_id=org_id, role=role, gender=gender)


def training(
    session_id: str,
    dates: list[str],
    attendees: list[tuple[str, str, str]],
    *,
    topic: Any = "strategy",
    format: Any = "onsite",
    hours: str = "8",
    country: str = "DE",
) -> TrainingDelivered:
    """A session; attendees are (participant_id, org_id, attended_hours)."""
    return TrainingDelivered(
        session_id=session_id,
        dates=[D(d) for d in dates],
        topic=topic,
        format=format,
        duration_hours=Decimal(hours),
        country=country,
        attendees=[Attendee(participant_id=p, org_id=o, attended_hours=Decimal(h)) for p, o, h in attendees],
    )


def feedback(activity_id: str, satisfaction: int, respondent: str | None = None) -> FeedbackCollected:
    """One feedback response."""
    return FeedbackCollected(
        activity_id=activity_id,
        respondent_id=respondent,
        satisfaction=satisfaction,
        knowledge_gain=3,
        recommend=satisfaction >= 4,
    )


def coaching(
    engagement_id: str, coach: str, coachee: str, hours: str, *, topic: Any = "digital", mode: Any = "online"
) -> CoachingSessionHeld:
    """One coaching session."""
    return CoachingSessionHeld(
        engagement_id=engagement_id,
        coach_org_id=coach,
        coachee_org_id=coachee,
        topic=topic,
        hours=Decimal(hours),
        mode=mode,
        output="action plan",
    )


def exchange(
    exchange_id: str, vo: str, ho: str, vop: str = PARTNERSHIP, hop: str = "CXC-Q"
) -> ExchangeRegistered:
    """A registered exchange (paid by `vop`)."""
    return ExchangeRegistered(
        exchange_id=exchange_id,
        vo_org_id=vo,
        ho_org_id=ho,
        vop_id=vop,
        hop_id=hop,
        objectives=["learn"],
        activity_types=["study_visit"],
    )


def commitment(exchange_id: str, start: str, end: str) -> CommitmentToQualitySigned:
    """The Commitment to Quality."""
    return CommitmentToQualitySigned(
        exchange_id=exchange_id, planned_start=D(start), planned_end=D(end), agenda_ref="agenda.pdf"
    )


def completed(exchange_id: str, start: str, end: str, mode: Any = "physical") -> ExchangeCompleted:
    """The visit took place from `start` to `end`."""
    return ExchangeCompleted(
        exchange_id=exchange_id,
        actual_start=D(start),
        actual_end=D(end),
        working_days=(D(end) - D(start)).days + 1,
        mode=mode,
        distance_km=1500,
    )


def closing_report(exchange_id: str, vo: int, ho: int) -> ExchangeClosingReportSubmitted:
    """A closing report with the VO's and the HO's satisfaction."""
    return ExchangeClosingReportSubmitted(
        exchange_id=exchange_id, satisfaction_vo=vo, satisfaction_ho=ho, objectives_met="fully"
    )


def lump_sum(exchange_id: str, amount: str, paid_on: str, reduced: bool = False) -> LumpSumPaid:
    """The visitor's lump sum."""
    return LumpSumPaid(
        exchange_id=exchange_id, amount_eur=Decimal(amount), paid_on=D(paid_on), reduced=reduced
    )


def cancelled(exchange_id: str) -> ExchangeCancelled:
    """The exchange is cancelled."""
    return ExchangeCancelled(exchange_id=exchange_id, reason="visitor withdrew")


def follow_up(source: str, kind: Any, on: str, orgs: list[str]) -> FollowUpCooperationRecorded:
    """Cooperation that grew out of an activity."""
    return FollowUpCooperationRecorded(source_activity_id=source, type=kind, org_ids=orgs, date=D(on))


def outreach(
    outreach_id: str, event_type: Any, attendees: int, orgs: list[str], country: str, b2b: int = 0
) -> OutreachEventHeld:
    """An outreach event or channel."""
    return OutreachEventHeld(
        outreach_id=outreach_id,
        event_type=event_type,
        attendees=attendees,
        orgs_reached=orgs,
        sme_count=0,
        countries=[country],
        country=country,
        b2b_meetings=b2b,
    )


def agreement(agreement_id: str, kind: Any, parties: list[str], signed_on: str) -> PartnershipAgreementSigned:
    """A signed agreement."""
    return PartnershipAgreementSigned(
        agreement_id=agreement_id,
        type=kind,
        parties=parties,
        scope="joint services",
        signed_on=D(signed_on),
        doc_hash="0" * 64,
    )


def milestone(code: str, kind: Any, status: Any) -> StrategyMilestoneReached:
    """A strategy milestone or deliverable."""
    return StrategyMilestoneReached(milestone_code=code, kind=kind, status=status, evidence="doc.pdf")


def service(org_id: str, area: Any, launched_on: str) -> ClusterServiceLaunched:
    """A new cluster service."""
    return ClusterServiceLaunched(
        org_id=org_id, service_area=area, target_group="SMEs", launched_on=D(launched_on)
    )


def label(org_id: str, level: Any, awarded_on: str) -> ESCALabelAwarded:
    """An ESCA label award (valid two years)."""
    awarded = D(awarded_on)
    return ESCALabelAwarded(
        org_id=org_id,
        level=level,
        awarded_on=awarded,
        valid_until=awarded.replace(year=awarded.year + 2),
        assessor="ESCA",
    )


def survey(
    org_id: str,
    wave: Any,
    *,
    turnover: str,
    fte: str,
    exports: list[str] | None = None,
    new_products: int = 0,
    process: bool = False,
    digital: int = 50,
    green: list[Any] | None = None,
    investment: str = "0",
    attribution: str = "0",
    survey_id: str = "PANEL",
) -> SMESurveyResponseRecorded:
    """One SME's answers in one wave."""
    return SMESurveyResponseRecorded(
        survey_id=survey_id,
        wave=wave,
        org_id=org_id,
        ref_year=2025,
        turnover_eur=Decimal(turnover),
        employees_fte=Decimal(fte),
        export_turnover_eur=Decimal(0),
        export_countries=exports or [],
        new_products=new_products,
        process_innovation=process,
        digital_score=digital,
        green_measures=green or [],
        investment_raised_eur=Decimal(investment),
        attribution_share=Decimal(attribution),
    )


def size_change(org_id: str, size_class: Any) -> OrganisationSizeClassChanged:
    """A new size class, in force from the event's occurred_on."""
    return OrganisationSizeClassChanged(
        org_id=org_id, size_class=size_class, reference_year=2025, basis="turnover"
    )


def target(
    indicator: str, period: str, value: str, cumulative: bool = True, key: str | None = None
) -> TargetSet:
    """A target for (indicator, period, disaggregation key)."""
    return TargetSet(
        indicator_id=indicator,
        period_id=period,
        value=Decimal(value),
        cumulative=cumulative,
        disaggregation_key=key,
        rationale="plan",
    )


def baseline(indicator: str, period: str, value: str, key: str | None = None) -> BaselineRecorded:
    """A baseline for (indicator, period, disaggregation key)."""
    return BaselineRecorded(
        indicator_id=indicator,
        period_id=period,
        value=Decimal(value),
        cumulative=True,
        disaggregation_key=key,
        rationale="before the project",
    )


def correction(target_event: uuid.UUID, **changes: Any) -> CorrectionRecorded:
    """A correction of top-level fields (and occurred_on) of an earlier event."""
    return CorrectionRecorded(
        target_event_id=target_event, field_changes=changes, reason="typo", approved_by="coord"
    )


def retraction(target_event: uuid.UUID) -> ActivityRetracted:
    """A retraction of an event recorded in error."""
    return ActivityRetracted(target_event_id=target_event, reason="recorded in error", approved_by="coord")


# --- the log view's plumbing --------------------------------------------------------------------


def test_an_entry_whose_type_is_not_its_payloads_is_refused() -> None:
    with pytest.raises(ValueError, match="payload is a ParticipantRegistered"):
        LogEntry(
            position=1,
            type="TrainingDelivered",
            occurred_on=D("2025-01-01"),
            recorded_at=dt.datetime(2025, 1, 1, tzinfo=dt.UTC),
            partner_org_id=None,
            event_id=uuid.uuid4(),
            payload=participant("p1", "org", "other", "F"),
        )


def test_an_as_of_date_means_the_last_position_recorded_on_or_before_that_day() -> None:
    log = ProjectLog()
    log.add(participant("p1", "o", "other", "F"), on="2025-01-01", recorded="2025-01-01T23:59:00")
    log.add(participant("p2", "o", "other", "F"), on="2025-01-02", recorded="2025-01-02T00:00:00")
    assert resolve_as_of(log.entries, D("2025-01-01")) == 1
    assert resolve_as_of(log.entries, dt.datetime(2025, 1, 2, tzinfo=dt.UTC)) == 2
    assert resolve_as_of(log.entries, D("2024-12-31")) == 0
    assert resolve_as_of(log.entries, 7) == 7


def test_a_size_class_change_applies_from_its_own_occurred_on_not_its_reference_year() -> None:
    log = ProjectLog()
    log.add(organisation("sme", "SME", "DE", "more_developed", "digital", "medium"), on="2025-01-01")
    # reference_year 2025, but in force only from 2025-10-01, and recorded late.
    log.add(size_change("sme", "large"), on="2025-10-01", recorded="2025-12-01T10:00:00")
    state = fold_log(log.entries)
    assert state.is_sme("sme", D("2025-09-30"))
    assert not state.is_sme("sme", D("2025-10-01"))
    assert fold_log(log.entries, as_of=1).is_sme("sme", D("2025-10-01"))  # not known yet at position 1


def test_a_stored_row_becomes_an_entry_with_its_partner_and_a_decoded_payload() -> None:
    def row(event_type: str, occurred_on: dt.date | None, metadata: dict[str, Any]) -> RecordedEvent:
        return RecordedEvent(
            project_id="demo",
            position=7,
            event_id=uuid.UUID(int=7),
            stream_id="activity-TRN-2025-004",
            stream_version=1,
            type=event_type,
            schema_version=1,
            occurred_on=occurred_on,
            recorded_at=dt.datetime(2025, 4, 10, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-2))),
            data=msgspec.Raw(msgspec.json.encode(EXAMPLES[event_type])),
            metadata=msgspec.Raw(msgspec.json.encode(metadata)),
            prev_hash="00",
            hash="11",
            tx_id=1,
        )

    entry = log_entry(row("TrainingDelivered", D("2025-04-08"), {"partner_org_id": "bioclust-es"}))
    assert (entry.partner_org_id, entry.occurred_on, entry.type) == (
        "bioclust-es",
        D("2025-04-08"),
        "TrainingDelivered",
    )
    assert isinstance(entry.payload, TrainingDelivered) and entry.payload.duration_hours == Decimal(12)
    # An undated row takes the UTC day it was recorded (23:30 at UTC−2 is the next day in UTC).
    undated = log_entry(row("PeriodSubmitted", None, {}))
    assert (undated.partner_org_id, undated.occurred_on) == (None, D("2025-04-11"))
