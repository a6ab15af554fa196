"""The domain's write rules through the real API: approved periods are locked until reopened
with a reason, the project window of DOMAIN.md (f), and the records that outlive the project
(consent, erasure, snapshots) accepted after the final approval."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import Database, bearer
from tests.story import PARTNERS, REGISTRATION, founding_events, training

PROJECT = "rules"
EVENTS = f"/api/v1/projects/{PROJECT}/events"


async def set_up(service: httpx.AsyncClient, db: Database) -> dict[str, str]:
    """The story partnership with its founding events; returns staff headers."""
    admin = await bearer(db, "admin")
    created = await service.post(
        "/api/v1/projects", json={"project_id": PROJECT, "data": REGISTRATION}, headers=admin
    )
    assert created.status_code == 201, created.text
    staff = await bearer(db, "staff", PROJECT, name="coordinator")
    recorded = await service.post(EVENTS, json=founding_events(), headers=staff)
    assert recorded.status_code == 201, recorded.text
    return staff


def transition(kind: str, period: str, partner: str, on: str, **extra: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "occurred_on": on,
        "data": {"period_id": period, "partner_org_id": partner, "actor": "coordinator", **extra},
    }


def approve_all(period: str, on: str) -> list[dict[str, Any]]:
    return [
        event
        for partner in PARTNERS
        for event in (
            transition("PeriodSubmitted", period, partner, on),
            transition("PeriodApproved", period, partner, on),
        )
    ]


def problem_of(response: httpx.Response) -> dict[str, Any]:
    assert response.headers["content-type"].startswith("application/problem+json"), response.text
    body: dict[str, Any] = response.json()
    return body


async def head(service: httpx.AsyncClient, staff: dict[str, str]) -> int:
    return int((await service.get(EVENTS, headers=staff)).json()["head"])


async def log_length(db: Database) -> int:
    count: int = await db.pool.fetchval("SELECT count(*) FROM events")
    return count


async def test_an_approved_period_is_locked_until_reopened_with_a_reason(
    service: httpx.AsyncClient, db: Database
) -> None:
    staff = await set_up(service, db)
    first = training("TRN-1", "2025-03-04", [("p-1", "clu-at", "6")])
    recorded = await service.post(EVENTS, json=first, headers=staff)
    assert recorded.status_code == 201, recorded.text
    target_id = recorded.json()["events"][0]["event_id"]
    approved = await service.post(
        EVENTS, json=transition("PeriodApproved", "RP1", "clu-at", "2026-01-15"), headers=staff
    )
    assert approved.status_code == 201, approved.text
    before = await log_length(db)

    # A new activity of that partner dated in the approved period: refused, naming the date.
    late = training("TRN-2", "2025-06-10", [("p-1", "clu-at", "4")])
    refused = await service.post(EVENTS, json=late, headers=staff)
    assert refused.status_code == 422, refused.text
    body = problem_of(refused)
    assert "locked" in refused.text and "PeriodReopened" in refused.text
    assert any("occurred_on" in str(error) for error in body.get("errors", [body]))

    # A correction of an event in the locked period: refused too.
    correction = {
        "type": "CorrectionRecorded",
        "occurred_on": "2026-01-20",
        "partner_org_id": "clu-at",
        "data": {
            "target_event_id": target_id,
            "field_changes": {"duration_hours": "7"},
            "reason": "attendance sheet re-checked",
            "approved_by": "coordinator",
        },
    }
    locked = await service.post(EVENTS, json=correction, headers=staff)
    assert locked.status_code == 422 and "locked" in locked.text, locked.text
    # A correction naming a field the event does not have: a 422 naming it (it was once a 500).
    unknown = {**correction, "data": {**correction["data"], "field_changes": {"hours": "7"}}}
    invalid = await service.post(EVENTS, json=unknown, headers=staff)
    assert invalid.status_code == 422 and "data.field_changes.hours" in invalid.text, invalid.text
    # All-or-nothing: a list with one locked event writes none of it.
    other_partner = training("TRN-3", "2025-06-11", [("p-2", "sme-1", "2")])
    other_partner["partner_org_id"] = "clu-pl"
    mixed = await service.post(EVENTS, json=[other_partner, late], headers=staff)
    assert mixed.status_code == 422, mixed.text
    assert await log_length(db) == before

    # Another partner's period is not locked; reopening needs a reason, then the entry goes in.
    assert (await service.post(EVENTS, json=other_partner, headers=staff)).status_code == 201
    no_reason = transition("PeriodReopened", "RP1", "clu-at", "2026-01-21")
    missing = await service.post(EVENTS, json=no_reason, headers=staff)
    assert missing.status_code in (400, 422) and "reason" in missing.text
    reopened = transition(
        "PeriodReopened", "RP1", "clu-at", "2026-01-21", reason="late attendance list from Graz"
    )
    assert (await service.post(EVENTS, json=reopened, headers=staff)).status_code == 201
    assert (await service.post(EVENTS, json=late, headers=staff)).status_code == 201, "reopened"


async def test_the_project_window_before_the_start_and_after_the_final_approval(
    service: httpx.AsyncClient, db: Database
) -> None:
    staff = await set_up(service, db)
    early = training("TRN-0", "2024-12-02", [("p-1", "clu-at", "6")])
    refused = await service.post(EVENTS, json=early, headers=staff)
    assert refused.status_code == 422 and "before the project start" in refused.text

    # After the end date: accepted (counted in the final period) until the final approval.
    after_end = training("TRN-9", "2027-01-12", [("p-1", "clu-at", "3")])
    assert (await service.post(EVENTS, json=after_end, headers=staff)).status_code == 201
    closing = await service.post(EVENTS, json=approve_all("RP2", "2027-02-10"), headers=staff)
    assert closing.status_code == 201, closing.text
    later = training("TRN-10", "2027-02-12", [("p-1", "clu-at", "3")])
    refused = await service.post(EVENTS, json=later, headers=staff)
    assert refused.status_code == 422 and "final period is approved" in refused.text


async def test_consent_erasure_and_snapshots_outlive_the_final_approval(
    service: httpx.AsyncClient, db: Database
) -> None:
    """A person may withdraw consent or ask to be erased years after the project closed; the
    platform must honour it, and a funder may still be sent an ad-hoc snapshot."""
    staff = await set_up(service, db)
    admin = await bearer(db, "admin", name="dpo")
    enrolled = await service.post(
        f"/api/v1/projects/{PROJECT}/participants",
        json={
            "participant_id": "p-zk",
            "org_id": "clu-pl",
            "role": "cluster_manager",
            "gender": "F",
            "occurred_on": "2025-02-03",
            "partner_org_id": "clu-pl",
            "name": "Zofia K.",
            "email": "zofia@example.pl",
        },
        headers=staff,
    )
    assert enrolled.status_code == 201, enrolled.text
    closing = await service.post(EVENTS, json=approve_all("RP2", "2027-02-10"), headers=staff)
    assert closing.status_code == 201, closing.text

    withdrawn = {
        "type": "ConsentWithdrawn",
        "occurred_on": "2028-05-02",
        "partner_org_id": "clu-pl",
        "data": {
            "participant_id": "p-zk",
            "purpose": "communication",
            "basis": "consent",
            "date": "2028-05-02",
        },
    }
    answer = await service.post(EVENTS, json=withdrawn, headers=staff)
    assert answer.status_code == 201, answer.text
    erased = await service.post(
        f"/api/v1/projects/{PROJECT}/participants/p-zk/erasure",
        json={"request_date": "2028-05-03"},
        headers=admin,
    )
    assert erased.status_code == 201, erased.text
    published = await service.post(
        f"/api/v1/projects/{PROJECT}/snapshots", json={"kind": "adhoc"}, headers=staff
    )
    assert published.status_code == 201, published.text
    verified = await service.get(
        f"/api/v1/projects/{PROJECT}/snapshots/{published.json()['snapshot_id']}/verify", headers=staff
    )
    assert verified.status_code == 200 and verified.json()["reproduced"], verified.text


async def test_a_correction_cannot_move_an_event_out_of_the_project_window(
    service: httpx.AsyncClient, db: Database
) -> None:
    staff = await set_up(service, db)
    recorded = await service.post(
        EVENTS, json=training("TRN-1", "2025-03-04", [("p-1", "clu-at", "6")]), headers=staff
    )
    assert recorded.status_code == 201, recorded.text
    target = recorded.json()["events"][0]["event_id"]

    def moved(day: str) -> dict[str, Any]:
        return {
            "type": "CorrectionRecorded",
            "occurred_on": "2025-03-14",
            "partner_org_id": "clu-at",
            "data": {
                "target_event_id": target,
                "field_changes": {"dates": [day], "occurred_on": day},
                "reason": "the sign-in sheet shows another day",
                "approved_by": "coordinator",
            },
        }

    before = await log_length(db)
    refused = await service.post(EVENTS, json=moved("2024-04-01"), headers=staff)
    assert refused.status_code == 422, refused.text
    assert "data.field_changes.occurred_on" in refused.text and "before the project start" in refused.text
    assert await log_length(db) == before
    accepted = await service.post(EVENTS, json=moved("2025-03-05"), headers=staff)
    assert accepted.status_code == 201, accepted.text


async def test_a_request_mixing_a_recorded_event_id_with_new_events_names_the_recorded_one(
    service: httpx.AsyncClient, db: Database
) -> None:
    staff = await set_up(service, db)
    event_id = "0e6f9ba2-6a0c-4c47-9d1c-3f6d2a1b7e55"
    first = {**training("I5", "2025-03-04", [("p-1", "clu-at", "6")]), "event_id": event_id}
    assert (await service.post(EVENTS, json=first, headers=staff)).status_code == 201
    before = await log_length(db)
    new = training("J1", "2025-03-05", [("p-1", "clu-at", "6")])
    mixed = await service.post(EVENTS, json=[new, first], headers=staff)
    assert mixed.status_code == 409, mixed.text
    body = problem_of(mixed)
    assert body["errors"][0]["field"] == "[1].event_id"
    assert event_id in body["detail"] and "None" not in body["detail"] and "[0]" in body["detail"]
    changed = {**first, "data": {**first["data"], "topic": "green"}}
    other = await service.post(EVENTS, json=[new, changed], headers=staff)
    assert other.status_code == 409 and problem_of(other)["errors"][0]["field"] == "[1].event_id"
    assert await log_length(db) == before
    # The same event alone again is a replay: its original position, nothing written.
    again = await service.post(EVENTS, json=first, headers=staff)
    assert again.status_code in (200, 201) and await log_length(db) == before


def exchange_event(kind: str, on: str, **data: Any) -> dict[str, Any]:
    return {
        "type": kind,
        "occurred_on": on,
        "partner_org_id": "clu-pl",
        "data": {"exchange_id": "X-1", **data},
    }


# Exchange X1: the SME visits clu-es, paid by the project's partnership; completed on 16 May.
EXCHANGE_X1 = exchange_event(
    "ExchangeRegistered",
    "2025-03-01",
    vo_org_id="sme-1",
    ho_org_id="clu-es",
    vop_id="CXC-TWIN-2025",
    hop_id="CXC-AGRIFOOD-2025",
    objectives=["Learn the host's qualification scheme"],
    activity_types=["study_visit"],
)
X1_COMPLETED = exchange_event(
    "ExchangeCompleted",
    "2025-05-16",
    actual_start="2025-05-12",
    actual_end="2025-05-16",
    working_days=5,
    mode="physical",
    distance_km=1800,
)


def retraction_of(event_id: str, on: str) -> dict[str, Any]:
    return {
        "type": "ActivityRetracted",
        "occurred_on": on,
        "partner_org_id": "clu-pl",
        "data": {"target_event_id": event_id, "reason": "recorded in error", "approved_by": "coordinator"},
    }


async def test_a_retracted_cancellation_or_completion_is_as_if_it_had_never_been_appended(
    service: httpx.AsyncClient, db: Database
) -> None:
    staff = await set_up(service, db)

    async def record(event: dict[str, Any]) -> httpx.Response:
        return await service.post(EVENTS, json=event, headers=staff)

    registration = EXCHANGE_X1
    registered = await record(registration)
    assert registered.status_code == 201, registered.text
    cancelled = await record(exchange_event("ExchangeCancelled", "2025-03-10", reason="the SME withdrew"))
    assert cancelled.status_code == 201, cancelled.text
    completion = X1_COMPLETED
    refused = await record(completion)
    assert refused.status_code == 422 and "was cancelled" in refused.text
    # The cancellation was a mistake: retracted, the exchange can be completed after all.
    undone = await record(retraction_of(cancelled.json()["events"][0]["event_id"], "2025-04-01"))
    assert undone.status_code == 201, undone.text
    completed = await record(completion)
    assert completed.status_code == 201, completed.text
    # A completion recorded against the wrong exchange is retracted; it may be recorded again.
    again = await record(completion)
    assert again.status_code == 422 and "already completed" in again.text
    undone = await record(retraction_of(completed.json()["events"][0]["event_id"], "2025-05-20"))
    assert undone.status_code == 201, undone.text
    assert (await record(completion)).status_code == 201


async def test_events_voided_with_a_retracted_activity_can_be_neither_corrected_nor_retracted(
    service: httpx.AsyncClient, db: Database
) -> None:
    staff = await set_up(service, db)

    async def record(event: dict[str, Any]) -> httpx.Response:
        return await service.post(EVENTS, json=event, headers=staff)

    session = await record(training("S-9", "2025-02-18", [("p-1", "clu-at", "6")]))
    assert session.status_code == 201, session.text
    feedback = await record(
        {
            "type": "FeedbackCollected",
            "occurred_on": "2025-02-18",
            "partner_org_id": "clu-at",
            "data": {"activity_id": "S-9", "satisfaction": 2, "knowledge_gain": 3, "recommend": False},
        }
    )
    assert feedback.status_code == 201, feedback.text
    feedback_id = feedback.json()["events"][0]["event_id"]
    retracted = await record(retraction_of(session.json()["events"][0]["event_id"], "2025-02-20"))
    assert retracted.status_code == 201, retracted.text
    before = await head(service, staff)

    # The feedback went with its session (DOMAIN.md (f)): nothing can change it any more.
    correction = {
        "type": "CorrectionRecorded",
        "occurred_on": "2025-02-21",
        "partner_org_id": "clu-at",
        "data": {
            "target_event_id": feedback_id,
            "field_changes": {"satisfaction": 5},
            "reason": "typo",
            "approved_by": "coordinator",
        },
    }
    for refused in (await record(correction), await record(retraction_of(feedback_id, "2025-02-21"))):
        assert refused.status_code == 422, refused.text
        problem = problem_of(refused)
        assert "voided" in problem["detail"] + str(problem.get("errors", "")) and "S-9" in refused.text
        assert "target_event_id" in refused.text
    assert await head(service, staff) == before  # nothing written


async def test_an_exchange_lifecycle_event_voided_with_its_registration_cannot_be_corrected(
    service: httpx.AsyncClient, db: Database
) -> None:
    staff = await set_up(service, db)

    async def record(event: dict[str, Any]) -> httpx.Response:
        return await service.post(EVENTS, json=event, headers=staff)

    registered = await record(EXCHANGE_X1)
    assert registered.status_code == 201, registered.text
    completed = await record(X1_COMPLETED)
    assert completed.status_code == 201, completed.text
    undone = await record(retraction_of(registered.json()["events"][0]["event_id"], "2025-05-20"))
    assert undone.status_code == 201, undone.text
    correction = {
        "type": "CorrectionRecorded",
        "occurred_on": "2025-05-21",
        "partner_org_id": "clu-pl",
        "data": {
            "target_event_id": completed.json()["events"][0]["event_id"],
            "field_changes": {"working_days": 4},
            "reason": "miscounted",
            "approved_by": "coordinator",
        },
    }
    refused = await record(correction)
    assert refused.status_code == 422 and "voided" in refused.text and "X-1" in refused.text, refused.text


async def test_feedback_corrected_to_name_another_session_goes_with_that_session(
    service: httpx.AsyncClient, db: Database
) -> None:
    staff = await set_up(service, db)

    async def record(event: dict[str, Any]) -> httpx.Response:
        return await service.post(EVENTS, json=event, headers=staff)

    first = await record(training("S-1", "2025-02-18", [("p-1", "clu-at", "6")]))
    second = await record(training("S-2", "2025-02-19", [("p-1", "clu-at", "6")]))
    feedback = await record(
        {
            "type": "FeedbackCollected",
            "occurred_on": "2025-02-18",
            "partner_org_id": "clu-at",
            "data": {"activity_id": "S-1", "satisfaction": 4, "knowledge_gain": 4, "recommend": True},
        }
    )
    feedback_id = feedback.json()["events"][0]["event_id"]

    def correction(changes: dict[str, Any], on: str) -> dict[str, Any]:
        return {
            "type": "CorrectionRecorded",
            "occurred_on": on,
            "partner_org_id": "clu-at",
            "data": {
                "target_event_id": feedback_id,
                "field_changes": changes,
                "reason": "wrong session on the form",
                "approved_by": "coordinator",
            },
        }

    moved = await record(correction({"activity_id": "S-2"}, "2025-02-20"))
    assert moved.status_code == 201, moved.text
    # It is about S-2 now: retracting S-1 leaves it live, and it can still be corrected.
    assert (
        await record(retraction_of(first.json()["events"][0]["event_id"], "2025-02-21"))
    ).status_code == 201
    kept = await record(correction({"satisfaction": 5}, "2025-02-22"))
    assert kept.status_code == 201, kept.text
    # Retracting S-2 voids it.
    assert (
        await record(retraction_of(second.json()["events"][0]["event_id"], "2025-02-23"))
    ).status_code == 201
    refused = await record(correction({"satisfaction": 3}, "2025-02-24"))
    assert refused.status_code == 422 and "voided" in refused.text and "S-2" in refused.text, refused.text
