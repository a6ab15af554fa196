"""Provenance: the log positions behind a figure, its periods and its cells (indicators/evidence.py),
on a small hand-built log where every position is known by name."""

from __future__ import annotations

import uuid

import pytest
from test_indicators_log import (
    ProjectLog,
    closing_report,
    completed,
    correction,
    exchange,
    feedback,
    label,
    lump_sum,
    organisation,
    participant,
    project,
    retraction,
    survey,
    training,
)
from test_indicators_scenario import build_log

from events.catalog import EventPayload
from indicators import (
    FIGURES,
    EvidenceQueryError,
    IndicatorQueryError,
    canonical_json,
    evaluate_all,
    figure_evidence,
)
from indicators.evaluate import FLOW_FORMULAS, STATE_FORMULAS, state_as_of

PERIODS = [("RP1", "2025-01-01", "2025-06-30"), ("RP2", "2025-07-01", "2025-12-31")]


class Story:
    """A small project: three sessions with feedback, one exchange the project pays and one it
    does not; `at` maps a name to its log position."""

    def __init__(self) -> None:
        self.log = ProjectLog()
        self.at: dict[str, int] = {}
        log = self.log
        log.add(project(PERIODS, ["clu-de", "clu-es"]), on="2025-01-01", partner="clu-de")
        for org_id, kind, country, size in (
            ("clu-de", "cluster_org", "DE", "n/a"),
            ("clu-es", "cluster_org", "ES", "n/a"),
            ("sme-de", "SME", "DE", "micro"),
        ):
            log.add(organisation(org_id, kind, country, "more_developed", "digital", size), on="2025-01-01")
        log.add(participant("p-f", "clu-de", "cluster_manager", "F"), on="2025-01-01")
        log.add(participant("p-m", "clu-es", "cluster_staff", "M"), on="2025-01-01")
        self.name("S1", training("S1", ["2025-02-03"], [("p-f", "clu-de", "8")]), partner="clu-de")
        self.name("S2", training("S2", ["2025-03-10"], [("p-m", "clu-es", "6")]), partner="clu-es")
        self.name(
            "S3",
            training("S3", ["2025-08-04"], [("p-f", "clu-de", "4"), ("p-m", "clu-es", "4")]),
            partner="clu-de",
        )
        self.name("feedback S1", feedback("S1", 5, "p-f"), on="2025-02-03")
        self.name("feedback S3", feedback("S3", 3, "p-m"), on="2025-08-04")
        self.name("X1", exchange("X1", "sme-de", "clu-es"), on="2025-03-01", partner="clu-de")
        self.name("X1 completed", completed("X1", "2025-04-07", "2025-04-11"))
        self.name("X2", exchange("X2", "clu-es", "clu-de", vop="CXC-OTHER"), on="2025-03-01")
        self.name("X2 completed", completed("X2", "2025-05-05", "2025-05-09"))

    def name(
        self, name: str, payload: EventPayload, on: str | None = None, partner: str | None = None
    ) -> uuid.UUID:
        """Append an event and remember its position as `name`."""
        event_id = self.log.add(payload, on=on, partner=partner)
        self.at[name] = self.log.head
        return event_id

    def event_id(self, name: str) -> uuid.UUID:
        """The event id of a named position (the builder numbers ids by position)."""
        return uuid.UUID(int=self.at[name])

    def positions(self, *names: str) -> list[int]:
        """The sorted positions of named events."""
        return sorted(self.at[name] for name in names)


@pytest.fixture
def story() -> Story:
    return Story()


def test_o1_evidence_is_the_training_sessions(story: Story) -> None:
    evidence = figure_evidence(story.log.entries, "O1")
    assert evidence.positions == story.positions("S1", "S2", "S3")
    assert (evidence.count, evidence.as_of_position, evidence.period_id) == (3, story.log.head, None)


def test_a_period_lists_its_own_sessions_and_its_cumulative_figure_everything_up_to_its_end(
    story: Story,
) -> None:
    entries = story.log.entries
    assert figure_evidence(entries, "O1", period_id="RP1").positions == story.positions("S1", "S2")
    assert figure_evidence(entries, "O1", period_id="RP2").positions == story.positions("S3")
    everything = story.positions("S1", "S2", "S3")
    assert figure_evidence(entries, "O1", period_id="RP2", cumulative=True).positions == everything
    quarter = figure_evidence(entries, "O1", period="quarter", period_id="2025-Q1")
    assert quarter.positions == story.positions("S1", "S2")


def test_a_corrected_trainings_evidence_names_the_correction_too(story: Story) -> None:
    story.name("S2 corrected", correction(story.event_id("S2"), topic="green"), on="2025-03-20")
    entries = story.log.entries
    with_correction = story.positions("S1", "S2", "S2 corrected", "S3")
    assert figure_evidence(entries, "O1").positions == with_correction
    assert figure_evidence(entries, "O2", by="topic", category="green").positions == story.positions(
        "S2", "S2 corrected"
    )
    before = figure_evidence(entries, "O1", as_of=story.at["S2 corrected"] - 1)
    assert before.positions == story.positions("S1", "S2", "S3")


def test_a_retracted_training_leaves_the_evidence_from_the_retraction_on(story: Story) -> None:
    story.name("S3 retracted", retraction(story.event_id("S3")), on="2025-09-01")
    entries = story.log.entries
    assert figure_evidence(entries, "O1").positions == story.positions("S1", "S2")
    # Its feedback is voided with it.
    assert figure_evidence(entries, "R2").positions == story.positions("feedback S1")
    before = figure_evidence(entries, "O1", as_of=story.at["S3 retracted"] - 1)
    assert before.positions == story.positions("S1", "S2", "S3")


def test_o3_by_gender_lists_only_the_sessions_a_person_of_that_gender_attended(story: Story) -> None:
    entries = story.log.entries
    women = figure_evidence(entries, "O3", by="gender", category="F")
    assert (women.by, women.category, women.positions) == ("gender", "F", story.positions("S1", "S3"))
    men = figure_evidence(entries, "O3", period_id="RP1", by="gender", category="M")
    assert men.positions == story.positions("S2")


def test_r2_lists_the_feedback_responses_not_the_sessions(story: Story) -> None:
    evidence = figure_evidence(story.log.entries, "R2")
    assert evidence.positions == story.positions("feedback S1", "feedback S3")


def test_o5_lists_the_completion_and_the_registration_of_exchanges_the_project_pays(story: Story) -> None:
    evidence = figure_evidence(story.log.entries, "O5")
    assert evidence.positions == story.positions("X1", "X1 completed")


def test_o11_and_r1_add_the_payment_and_the_latest_closing_report(story: Story) -> None:
    story.name("X1 paid", lump_sum("X1", "780", "2025-04-20"))
    story.name("X1 first report", closing_report("X1", 3, 3), on="2025-04-15")
    story.name("X1 report", closing_report("X1", 5, 4), on="2025-04-16")
    entries = story.log.entries
    exchange_itself = ("X1", "X1 completed")
    assert figure_evidence(entries, "O11.sum").positions == story.positions(*exchange_itself, "X1 paid")
    assert figure_evidence(entries, "R1").positions == story.positions(*exchange_itself, "X1 report")


def test_r7_names_the_latest_award_and_the_one_at_the_start_it_outranks(story: Story) -> None:
    story.name("bronze", label("clu-de", "bronze", "2024-05-01"))
    story.name("silver", label("clu-de", "silver", "2025-10-01"))
    entries = story.log.entries
    assert figure_evidence(entries, "R7").positions == story.positions("bronze", "silver")
    assert figure_evidence(entries, "R7", period_id="RP1").positions == []


def test_an_impact_figure_names_each_panel_smes_baseline_and_endline(story: Story) -> None:
    story.name("baseline", survey("sme-de", "baseline", turnover="100", fte="3"), on="2025-02-01")
    story.name("endline", survey("sme-de", "endline", turnover="120", fte="4"), on="2025-11-01")
    assert figure_evidence(story.log.entries, "I2").positions == story.positions("baseline", "endline")


def test_every_contribution_of_the_scenario_names_live_positions_of_the_log() -> None:
    log = build_log()
    state = state_as_of(log.entries, None)
    live = {e.position for e in state.events}
    corrections = {p for e in state.events for p in e.correction_positions}
    contributions = [
        *(c for formula in FLOW_FORMULAS.values() for c in formula(state)),
        *(c for formula in STATE_FORMULAS.values() for c in formula(state, None)),
    ]
    assert contributions and all(c.sources for c in contributions)
    assert {p for c in contributions for p in c.sources} <= live | corrections
    assert corrections  # the scenario corrects something, so the check above bites


def test_a_periods_evidence_is_part_of_the_figures_evidence_to_date() -> None:
    entries = build_log().entries
    table = evaluate_all(entries)
    for sheet in FIGURES:
        to_date = set(figure_evidence(entries, sheet.figure_id).positions)
        # Someone behind the figure means some event behind it.
        assert to_date or table.figure(sheet.figure_id).total.n == 0, sheet.figure_id
        for point in table.figure(sheet.figure_id).points:
            own = figure_evidence(entries, sheet.figure_id, period_id=point.period.period_id)
            assert set(own.positions) <= to_date, (sheet.figure_id, point.period.period_id)


def test_provenance_stays_out_of_the_served_results(story: Story) -> None:
    assert b"sources" not in canonical_json(evaluate_all(story.log.entries))


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ({"kpi_id": "O99"}, "KPI"),
        ({"kpi_id": "O1", "period": "week"}, "period"),
        ({"kpi_id": "O1", "period_id": "RP9"}, "period_id"),
        ({"kpi_id": "O1", "period": "quarter", "period_id": "RP1"}, "period_id"),
        ({"kpi_id": "O1", "by": "gender", "category": "F"}, "split by"),
        ({"kpi_id": "O3", "by": "gender", "category": "Z"}, "category"),
        ({"kpi_id": "O3", "by": "gender"}, "category"),
        ({"kpi_id": "O3", "category": "F"}, "by"),
    ],
)
def test_an_unknown_query_value_is_refused_naming_the_parameter(
    story: Story, query: dict[str, str], parameter: str
) -> None:
    with pytest.raises(EvidenceQueryError, match=parameter) as refused:
        figure_evidence(story.log.entries, **query)  # type: ignore[arg-type]
    assert isinstance(refused.value, IndicatorQueryError) and isinstance(refused.value, ValueError)
