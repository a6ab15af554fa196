"""The write model (events/write_model.py) and the KPI fold (indicators/log_view.py) agree on what
is live: an event the engine no longer counts can be neither corrected nor retracted, and one it
counts can, as it stands after its corrections."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_indicators_log import ProjectLog, correction, organisation, participant, project, retraction
from test_indicators_rules import CORRECTIONS, KINDS, ORGS, PEOPLE, PERIODS, _bundle, _event

from events.catalog import ActivityRetracted, CorrectionRecorded, EventPayload
from events.entries import LogEntry
from events.write_model import WriteModel
from indicators.log_view import LogFold

GOVERNANCE = (CorrectionRecorded, ActivityRetracted)
# Corrections that move a dependent to another activity, or change the id an activity carries.
MOVES: list[dict[str, Any]] = [
    {"activity_id": "S1"},
    {"activity_id": "S2"},
    {"source_activity_id": "X2"},
    {"outreach_id": "S2"},
]


@st.composite
def admitted_logs(draw: Any) -> list[LogEntry]:
    """A random log of what the write model admits: the project, its organisations and people,
    then activities, exchange lifecycles, corrections and retractions of earlier events (what it
    refuses is never appended, as through the API)."""
    log, model = ProjectLog(), WriteModel()

    def offer(payload: EventPayload, on: str | None, partner: str | None = None) -> None:
        log.add(payload, on=on, partner=partner, checked=False)
        entry = log.entries[-1]
        if model.problems(entry.payload, entry.occurred_on, entry.partner_org_id):
            log.entries.pop()
            return
        model.apply(
            entry.position, entry.event_id, "s", entry.payload, entry.occurred_on, entry.partner_org_id
        )

    offer(project(PERIODS, ["clu-de", "clu-es"]), "2025-01-01", "clu-de")
    for org in ORGS:
        size = draw(st.sampled_from(["micro", "medium", "large", "n/a"]))
        kind = "cluster_org" if org.startswith("clu") else "SME"
        offer(organisation(org, kind, "DE", "transition", "digital", size), "2025-01-02")
    for person in PEOPLE:
        offer(participant(person, draw(st.sampled_from(ORGS)), "cluster_staff", "F"), "2025-01-03")
    # Activities with dependents, and corrections and retractions of them, weigh more.
    kinds = [*KINDS, *["training", "feedback", "follow_up", "outreach", "correction", "retraction"] * 2]
    for kind in draw(st.lists(st.sampled_from([*kinds, "exchange_lifecycle"] * 1), min_size=10, max_size=40)):
        partner = draw(st.sampled_from([None, "clu-de", "clu-es"]))
        if kind in ("correction", "retraction"):
            target = log.entries[
                draw(st.integers(8, len(log.entries) - 1)) if len(log.entries) > 8 else -1
            ].event_id
            changes = draw(st.sampled_from(CORRECTIONS + MOVES))
            governance = correction(target, **changes) if kind == "correction" else retraction(target)
            offer(governance, "2025-09-01", partner)
            continue
        for payload, day in _bundle(kind, draw) if kind == "exchange_lifecycle" else [_event(kind, draw)]:
            offer(payload, day, partner)
    return log.entries


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example],
)
@given(entries=admitted_logs())
def test_the_write_model_holds_the_events_the_fold_keeps_live_as_they_stand(entries: list[LogEntry]) -> None:
    model, fold = WriteModel(), LogFold()
    for entry in entries:
        model.apply(
            entry.position, entry.event_id, "stream", entry.payload, entry.occurred_on, entry.partner_org_id
        )
        fold.read(entry)
        live = {
            event_id: record.current()
            for event_id, record in fold.records.items()
            if record.live and not isinstance(record.entry.payload, GOVERNANCE)
        }
        held = {
            event_id: recorded
            for event_id, recorded in model.events.items()
            if not isinstance(recorded.payload, GOVERNANCE)
        }
        assert held.keys() == live.keys(), f"after position {entry.position}"
        for event_id, event in live.items():
            assert (held[event_id].payload, held[event_id].occurred_on) == (event.payload, event.occurred_on)
