"""The read models' fold, without a database: which events are live after corrections and
retractions (the KPI engine's rules), and the rows each read model derives from them."""

from __future__ import annotations

import datetime as dt
import uuid
from decimal import Decimal
from typing import Any

from events.catalog import EXAMPLES, EventPayload, check_payload, decode_payload, self_date
from events.entries import LogEntry
from projections import (
    ActivitiesProjection,
    ExchangesProjection,
    OrganisationsProjection,
    ParticipantsProjection,
    SurveyProjection,
)
from projections.activities import ActivityRow, AttendanceRow
from projections.exchanges import ExchangeRow
from projections.keyed import KeyedProjection, Row
from projections.ledger import Ledger
from projections.organisations import OrganisationRow, SizeClassRow
from projections.participants import ParticipantRow
from projections.survey import SurveyResponseRow

D = dt.date.fromisoformat
ATTENDEES = [
    {"participant_id": "p-1", "org_id": "sme-1", "attended_hours": "4"},
    {"participant_id": "p-2", "org_id": "sme-2", "attended_hours": "5.5"},
]


class Log:
    """A project's log in memory: catalog payloads at positions 1, 2, …"""

    def __init__(self) -> None:
        self.entries: list[LogEntry] = []

    def add(self, event_type: str, on: str = "2025-03-03", **fields: Any) -> uuid.UUID:
        """Append an event of the catalog's example, with `fields` changed; its id."""
        defaults = {"attendees": ATTENDEES} if event_type == "TrainingDelivered" else {}
        payload = decode_payload(event_type, {**EXAMPLES[event_type], **defaults, **fields})
        return self.append(payload, on)

    def append(self, payload: EventPayload, on: str = "2025-03-03") -> uuid.UUID:
        """Append a payload the API would accept (dated by its own date when it has one)."""
        dated = self_date(payload)
        occurred_on = dated[1] if dated else D(on)
        assert check_payload(type(payload).__name__, payload, occurred_on) == []
        event_id = uuid.uuid4()
        self.entries.append(
            LogEntry(
                position=len(self.entries) + 1,
                type=type(payload).__name__,
                occurred_on=occurred_on,
                recorded_at=dt.datetime(2025, 3, 3, tzinfo=dt.UTC),
                partner_org_id="vitaclust-de",
                event_id=event_id,
                payload=payload,
            )
        )
        return event_id

    def correct(self, target: uuid.UUID, **changes: Any) -> uuid.UUID:
        return self.add("CorrectionRecorded", target_event_id=str(target), field_changes=changes)

    def retract(self, target: uuid.UUID) -> uuid.UUID:
        return self.add("ActivityRetracted", target_event_id=str(target))

    def rows(self, projection: KeyedProjection) -> list[Row]:
        return projection.rows_from_zero(self.entries)


def only(rows: list[Row], kind: type[Any]) -> list[Any]:
    return [r for r in rows if isinstance(r, kind)]


# --- corrections and retractions (the ledger) ---------------------------------------------------


def test_a_correction_changes_its_training_in_place_and_can_move_its_date() -> None:
    log = Log()
    session = log.add("TrainingDelivered", session_id="S-1", dates=["2025-03-03"], duration_hours="6")
    log.correct(session, duration_hours="8", dates=["2025-04-07"], occurred_on="2025-04-07")
    (row,) = only(log.rows(ActivitiesProjection()), ActivityRow)
    assert (row.hours, row.occurred_on, row.live) == (Decimal("8"), D("2025-04-07"), True)


def test_several_corrections_apply_in_log_order() -> None:
    log = Log()
    session = log.add("TrainingDelivered", session_id="S-1", duration_hours="6")
    log.correct(session, duration_hours="7")
    log.correct(session, duration_hours="9")
    (row,) = only(log.rows(ActivitiesProjection()), ActivityRow)
    assert row.hours == Decimal("9")


def test_a_retracted_training_stays_with_live_false_and_its_attendance() -> None:
    log = Log()
    kept = log.add("TrainingDelivered", session_id="S-1")
    gone = log.add("TrainingDelivered", session_id="S-2")
    log.retract(gone)
    rows = log.rows(ActivitiesProjection())
    assert {(r.event_id, r.live) for r in only(rows, ActivityRow)} == {(kept, True), (gone, False)}
    assert len(only(rows, AttendanceRow)) == 2 * len(ATTENDEES)


def test_a_correction_of_a_retracted_event_changes_nothing() -> None:
    log = Log()
    gone = log.add("CoachingSessionHeld", hours="2")
    log.retract(gone)
    log.correct(gone, hours="5")
    (row,) = only(log.rows(ActivitiesProjection()), ActivityRow)
    assert (row.hours, row.live) == (Decimal("2"), False)


def test_a_retracted_correction_stops_applying() -> None:
    log = Log()
    session = log.add("TrainingDelivered", session_id="S-1", duration_hours="6")
    correction = log.correct(session, duration_hours="8")
    log.retract(correction)  # the API refuses this; the fold tolerates it as the engine does
    (row,) = only(log.rows(ActivitiesProjection()), ActivityRow)
    assert row.hours == Decimal("6")


def test_events_of_other_projections_leave_a_ledger_untouched() -> None:
    log = Log()
    session = log.add("TrainingDelivered")
    log.correct(session, duration_hours="8")
    log.retract(session)
    ledger = Ledger(OrganisationsProjection())
    for entry in log.entries:
        ledger.fold(entry)
    assert ledger.dirty == set() and ledger.new_sources() == []


def test_retracting_the_registration_voids_the_exchange_lifecycle_for_good() -> None:
    log = Log()
    registration = log.add("ExchangeRegistered", exchange_id="X-1", vop_id="CXC-TWIN-2025")
    log.add("ExchangeCompleted", exchange_id="X-1")
    log.add("LumpSumPaid", exchange_id="X-1")
    log.retract(registration)
    assert log.rows(ExchangesProjection()) == []
    # Recorded again: a fresh exchange, the voided completion and payment do not come back.
    log.add("ExchangeRegistered", exchange_id="X-1", vop_id="CXC-TWIN-2025")
    (row,) = only(log.rows(ExchangesProjection()), ExchangeRow)
    assert (row.status, row.payments, row.lump_sums_eur) == ("registered", 0, Decimal(0))


def test_a_second_live_registration_keeps_the_lifecycle_when_one_is_retracted() -> None:
    log = Log()
    first = log.add("ExchangeRegistered", exchange_id="X-1")
    log.add("ExchangeRegistered", exchange_id="X-1")
    log.add("ExchangeCompleted", exchange_id="X-1")
    log.retract(first)
    (row,) = only(log.rows(ExchangesProjection()), ExchangeRow)
    assert row.status == "completed"


# --- the read models' rows ----------------------------------------------------------------------


def test_exchanges_count_only_for_the_paying_partnership_and_never_when_cancelled() -> None:
    log = Log()
    log.add("ProjectRegistered", on="2025-01-01", partnership_id="CXC-OURS")
    log.add("ExchangeRegistered", exchange_id="ours", vop_id="CXC-OURS", hop_id="CXC-OTHER")
    log.add("ExchangeRegistered", exchange_id="hosted", vop_id="CXC-OTHER", hop_id="CXC-OURS")
    log.add("ExchangeRegistered", exchange_id="dropped", vop_id="CXC-OURS")
    log.add("ExchangeCancelled", exchange_id="dropped", reason="visitor ill")
    rows = {r.exchange_id: r for r in only(log.rows(ExchangesProjection()), ExchangeRow)}
    assert {k: (r.status, r.counted) for k, r in rows.items()} == {
        "ours": ("registered", True),
        "hosted": ("registered", False),
        "dropped": ("cancelled", False),
    }
    assert rows["dropped"].cancel_reason == "visitor ill"


def test_correcting_the_partnership_recounts_every_exchange() -> None:
    log = Log()
    project = log.add("ProjectRegistered", on="2025-01-01", partnership_id="CXC-TYPO")
    log.add("ExchangeRegistered", exchange_id="X-1", vop_id="CXC-OURS")
    assert [r.counted for r in only(log.rows(ExchangesProjection()), ExchangeRow)] == [False]
    log.correct(project, partnership_id="CXC-OURS")
    assert [r.counted for r in only(log.rows(ExchangesProjection()), ExchangeRow)] == [True]


def test_an_exchange_row_folds_its_lifecycle() -> None:
    log = Log()
    log.add("ExchangeRegistered", exchange_id="X-1")
    log.add(
        "CommitmentToQualitySigned", exchange_id="X-1", planned_start="2025-05-05", planned_end="2025-05-09"
    )
    log.add("ExchangeCompleted", exchange_id="X-1", actual_start="2025-05-05", actual_end="2025-05-09")
    log.add("ExchangeClosingReportSubmitted", exchange_id="X-1", satisfaction_vo=3, satisfaction_ho=4)
    log.add("ExchangeClosingReportSubmitted", exchange_id="X-1", satisfaction_vo=5, satisfaction_ho=4)
    first = log.add("LumpSumPaid", exchange_id="X-1", amount_eur="390.00", paid_on="2025-05-20")
    log.add("LumpSumPaid", exchange_id="X-1", amount_eur="390.00", paid_on="2025-05-21")
    log.correct(first, amount_eur="195.00")
    (row,) = only(log.rows(ExchangesProjection()), ExchangeRow)
    assert (row.status, row.planned_start, row.actual_end) == ("completed", D("2025-05-05"), D("2025-05-09"))
    # The latest closing report counts; both payments, the first as corrected.
    assert (row.satisfaction_vo, row.satisfaction_ho, row.closing_reports) == (5, 4, 2)
    assert (row.payments, row.lump_sums_eur) == (2, Decimal("585.00"))


def test_size_classes_take_effect_from_their_own_date_in_date_order() -> None:
    log = Log()
    log.add("OrganisationRegistered", on="2025-01-10", org_id="sme-1", org_type="SME", size_class="small")
    log.add("OrganisationSizeClassChanged", on="2025-06-01", org_id="sme-1", size_class="medium")
    late = log.add("OrganisationSizeClassChanged", on="2025-03-01", org_id="sme-1", size_class="micro")
    rows = log.rows(OrganisationsProjection())
    (org,) = only(rows, OrganisationRow)
    assert (org.org_id, org.size_class, org.registered_on) == ("sme-1", "small", D("2025-01-10"))
    history = [(r.seq, r.valid_from, r.size_class) for r in only(rows, SizeClassRow)]
    assert history == [
        (0, D("2025-01-10"), "small"),
        (1, D("2025-03-01"), "micro"),
        (2, D("2025-06-01"), "medium"),
    ]
    log.retract(late)
    assert [r.size_class for r in only(log.rows(OrganisationsProjection()), SizeClassRow)] == [
        "small",
        "medium",
    ]


def test_the_last_live_registration_describes_an_organisation() -> None:
    log = Log()
    log.add("OrganisationRegistered", org_id="o-1", name="First name")
    second = log.add("OrganisationRegistered", org_id="o-1", name="Second name")
    assert [r.name for r in only(log.rows(OrganisationsProjection()), OrganisationRow)] == ["Second name"]
    log.retract(second)
    assert [r.name for r in only(log.rows(OrganisationsProjection()), OrganisationRow)] == ["First name"]


def test_participants_are_pseudonymous_and_flagged_when_erased() -> None:
    log = Log()
    log.add("ParticipantRegistered", participant_id="p-1", role="cluster_staff", gender="X")
    log.add("ParticipantRegistered", participant_id="p-2")
    log.add("ParticipantErased", on="2025-09-01", participant_id="p-2")
    rows = {r.participant_id: r for r in only(log.rows(ParticipantsProjection()), ParticipantRow)}
    assert (rows["p-1"].role, rows["p-1"].gender, rows["p-1"].erased) == ("cluster_staff", "X", False)
    assert (rows["p-2"].erased, rows["p-2"].erased_on) == (True, D("2025-09-01"))
    assert "pii" not in ParticipantRow.__struct_fields__


def test_the_last_survey_response_per_wave_counts_and_a_correction_can_move_its_wave() -> None:
    log = Log()
    log.add("SMESurveyResponseRecorded", org_id="sme-1", wave="baseline", employees_fte="10")
    log.add("SMESurveyResponseRecorded", org_id="sme-1", wave="baseline", employees_fte="12")
    endline = log.add("SMESurveyResponseRecorded", org_id="sme-1", wave="midline", employees_fte="14")
    log.correct(endline, wave="endline")
    rows = only(log.rows(SurveyProjection()), SurveyResponseRow)
    assert sorted((r.wave, r.employees_fte) for r in rows) == [
        ("baseline", Decimal("12")),
        ("endline", Decimal("14")),
    ]
