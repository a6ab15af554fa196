"""The partnership's own results and the running of the grant: agreements, strategy milestones,
new services, ESCA labels, P1 sign-off, a reopened period with late entries, consent withdrawals
and one erasure request.
"""

from __future__ import annotations

from service.demo.activities import APPROVER, Coaching, Trainings
from service.demo.cast import COORDINATOR, PARTNER_IDS
from service.demo.context import DemoContext
from service.demo.dates import iso, ordinal, working_day_between

WP_MANAGEMENT = "WP1"
WP_STRATEGY = "WP2"
WP_SERVICES = "WP4"
_DOCS = "https://files.twintrans.example.eu/deliverables"

# (agreement_id, type, parties, scope, signed on (y, m, d))
AGREEMENTS: tuple[tuple[str, str, tuple[str, ...], str, tuple[int, int, int]], ...] = (
    ("AGR-CA-001", "consortium_agreement", PARTNER_IDS, "Consortium agreement of the TWINTRANS partnership",
     (2025, 1, 20)),
    ("MOU-001", "MoU", ("mobitech-de", "biovalley-fr"),
     "Joint services for SMEs at the mobility-health interface",
     (2025, 5, 14)),
    ("MOU-002", "MoU", ("aerovalley-pl", "itvalley-sk"),
     "Cross-border digital skills academy for aerospace SMEs",
     (2025, 6, 25)),
    ("COOP-001", "cooperation_agreement", ("agroinnova-es", "greentech-it"), "Agrivoltaics pilot programme",
     (2025, 9, 18)),
    ("MOU-003", "MoU", ("digihub-fi", "praha-ict-cz"), "Data-economy matchmaking for Nordic and Czech SMEs",
     (2025, 11, 5)),
    ("MOU-005", "MoU", ("aerovalley-pl", "rto-pl"), "Shared testing lab access for member SMEs",
     (2026, 2, 4)),
    ("COOP-002", "cooperation_agreement", ("greentech-it", "greenalps-at", "cleantech-dk"),
     "Alpine-Nordic alliance on renewable-energy supply chains", (2026, 3, 12)),
    ("MOU-004", "MoU", ("agroinnova-es", "produtech-pt"), "Food-processing automation for Iberian SMEs",
     (2026, 5, 21)),
    ("COOP-003", "cooperation_agreement", ("mobitech-de", "aerovalley-pl"),
     "Lightweight-materials supply chain between automotive and aerospace members", (2026, 9, 9)),
)  # fmt: skip
# (milestone code, kind, status, document, date (y, m, d)); the joint strategy is adopted in M10.
MILESTONES: tuple[tuple[str, str, str, str, tuple[int, int, int]], ...] = (
    ("D1.1", "deliverable", "submitted", "D1.1-project-handbook.pdf", (2025, 3, 31)),
    ("D2.1", "joint_strategy", "draft", "D2.1-joint-strategy-draft.pdf", (2025, 6, 30)),
    ("D2.1", "joint_strategy", "adopted", "D2.1-joint-strategy-v1.0.pdf", (2025, 10, 15)),
    ("D2.1", "joint_strategy", "submitted", "D2.1-joint-strategy-v1.0.pdf", (2025, 10, 31)),
    ("D4.1", "deliverable", "submitted", "D4.1-interim-dissemination-report.pdf", (2025, 12, 18)),
    ("D2.2", "roadmap", "draft", "D2.2-internationalisation-roadmap-draft.pdf", (2026, 2, 27)),
    ("D2.2", "roadmap", "adopted", "D2.2-internationalisation-roadmap-v1.0.pdf", (2026, 5, 29)),
    ("D3.1", "action_plan", "adopted", "D3.1-partner-action-plans.pdf", (2026, 6, 30)),
    ("D5.1", "deliverable", "draft", "D5.1-impact-assessment-draft.pdf", (2026, 12, 15)),
)  # fmt: skip
# (partner org_id, service area, target group, launched on (y, m, d))
SERVICES: tuple[tuple[str, str, str, tuple[int, int, int]], ...] = (
    ("aerovalley-pl", "skills", "Aerospace SMEs in Podkarpackie", (2025, 6, 2)),
    ("mobitech-de", "digitalisation", "Automotive supplier SMEs", (2025, 9, 1)),
    ("digihub-fi", "internationalisation", "Digital start-ups and SMEs", (2025, 10, 1)),
    ("agroinnova-es", "internationalisation", "Agri-food exporters", (2025, 11, 3)),
    ("greentech-it", "access_to_finance", "Renewable-energy SMEs", (2026, 1, 12)),
    ("aerovalley-pl", "innovation", "Manufacturing SMEs of the cluster", (2026, 3, 2)),
    ("mobitech-de", "green_transition", "Automotive supplier SMEs", (2026, 4, 1)),
    ("digihub-fi", "business_support", "Member SMEs scaling up", (2026, 6, 1)),
)
# (partner org_id, level, awarded on (y, m, d), assessor): labels before the project are the R7
# reference; PL starts without one, IT and FI renew without moving up.
LABELS: tuple[tuple[str, str, tuple[int, int, int], str], ...] = (
    ("mobitech-de", "silver", (2023, 6, 15), "ESCA"),
    ("agroinnova-es", "bronze", (2023, 3, 10), "ESCA"),
    ("greentech-it", "bronze", (2024, 2, 20), "ESCA"),
    ("digihub-fi", "silver", (2022, 11, 3), "ESCA"),
    ("aerovalley-pl", "bronze", (2025, 7, 2), "EUCLES"),
    ("agroinnova-es", "silver", (2025, 10, 8), "EUCLES"),
    ("digihub-fi", "silver", (2025, 11, 20), "EUCLES"),
    ("greentech-it", "bronze", (2026, 2, 18), "EUCLES"),
    ("mobitech-de", "gold", (2026, 5, 20), "EUCLES"),
)
REOPENED_PARTNER = 2  # aerovalley-pl
_COORDINATOR = COORDINATOR.org_id


def _day(ymd: tuple[int, int, int]) -> int:
    return ordinal(*ymd)


def schedule_partnership_results(ctx: DemoContext) -> None:
    """Agreements, milestones, services and labels: fixed, whatever the scale."""
    add = ctx.schedule.add
    for agreement_id, kind, parties, scope, signed in AGREEMENTS:
        day = _day(signed)
        agreement = add(
            "PartnershipAgreementSigned",
            day,
            {
                "agreement_id": agreement_id,
                "type": kind,
                "parties": list(parties),
                "scope": scope,
                "signed_on": iso(day),
                "doc_hash": ctx.schedule.digest(),
            },
            parties[0],
            WP_STRATEGY,
        )
        if agreement_id == "MOU-004":
            # The payload field `type` is not the envelope type, so a correction may change it.
            add(
                "CorrectionRecorded",
                day + 13,
                {
                    "target_event_id": str(agreement),
                    "field_changes": {"type": "cooperation_agreement"},
                    "reason": "The signed document is a cooperation agreement, not an MoU",
                    "approved_by": APPROVER,
                },
                parties[0],
                WP_STRATEGY,
                stream=f"agreement-{agreement_id}",
            )
    for code, kind, status, document, dated in MILESTONES:
        add(
            "StrategyMilestoneReached",
            _day(dated),
            {"milestone_code": code, "kind": kind, "status": status, "evidence": f"{_DOCS}/{document}"},
            _COORDINATOR,
            WP_STRATEGY,
        )
    for org_id, area, group, launched in SERVICES:
        day = _day(launched)
        add(
            "ClusterServiceLaunched",
            day,
            {"org_id": org_id, "service_area": area, "target_group": group, "launched_on": iso(day)},
            org_id,
            WP_SERVICES,
        )
    labels_known = ordinal(2025, 1, 8)
    for org_id, level, awarded, assessor in LABELS:
        day = _day(awarded)
        add(
            "ESCALabelAwarded",
            day,
            {
                "org_id": org_id,
                "level": level,
                "awarded_on": iso(day),
                "valid_until": iso(day + 730),
                "assessor": assessor,
            },
            org_id,
            WP_MANAGEMENT,
            # Labels from before the project are entered in its first week.
            recorded=max(day, labels_known),
        )


class Administration:
    """P1 sign-off, the reopened period with its late entries, consent withdrawals, an erasure."""

    def __init__(self, ctx: DemoContext, trainings: Trainings, coaching: Coaching) -> None:
        self.ctx = ctx
        self.trainings = trainings
        self.coaching = coaching

    def month(self, index: int) -> None:
        """What the coordinator and partners do in project month ``index``."""
        if index == 13:
            self._sign_off_p1()
        elif index == 15:
            self._reopen_p1_for_late_entries()
            self._privacy_requests()

    def _transition(
        self, event_type: str, day: int, partner: str, recorder: str, note: dict[str, str]
    ) -> None:
        self.ctx.schedule.add(
            event_type,
            day,
            {"period_id": "P1", "partner_org_id": partner, **note},
            recorder,
            WP_MANAGEMENT,
            correlation_id=f"P1-{partner}",
        )

    def _sign_off_p1(self) -> None:
        """Every partner submits P1 in the week of 9 February 2026; the coordinator approves."""
        approvals = (ordinal(2026, 2, 18), ordinal(2026, 2, 19), ordinal(2026, 2, 20), ordinal(2026, 2, 23),
                     ordinal(2026, 2, 24))  # fmt: skip
        for number, partner in enumerate(PARTNER_IDS):
            self._transition(
                "PeriodSubmitted",
                ordinal(2026, 2, 9 + number),
                partner,
                partner,
                {
                    "actor": f"pm-{partner}",
                    "comment": "All P1 activities, attendance lists and survey answers entered",
                },
            )
        for number, partner in enumerate(PARTNER_IDS):
            self._transition(
                "PeriodApproved",
                approvals[number],
                partner,
                _COORDINATOR,
                {"actor": APPROVER, "comment": "Checked against the interim technical report"},
            )

    def _reopen_p1_for_late_entries(self) -> None:
        """A partner finds two November 2025 activities missing: reopen, enter them, sign off again."""
        partner = PARTNER_IDS[REOPENED_PARTNER]
        self._transition(
            "PeriodReopened",
            ordinal(2026, 4, 14),
            partner,
            _COORDINATOR,
            {
                "actor": APPROVER,
                "reason": "A November 2025 training (trainer's report) and a coaching session (coach's "
                "timesheet) are missing from the interim figures",
            },
        )
        # Only people registered before November 2025 can have attended then.
        self.trainings.deliver(
            REOPENED_PARTNER, ordinal(2025, 11, 19), recorded=ordinal(2026, 4, 15), founding_only=True
        )
        self.coaching.engage(
            REOPENED_PARTNER,
            ordinal(2025, 11, 26),
            sessions=1,
            recorded=ordinal(2026, 4, 16),
            coachee="greentech-it",
        )
        self._transition(
            "PeriodSubmitted",
            ordinal(2026, 4, 20),
            partner,
            partner,
            {"actor": f"pm-{partner}", "comment": "Resubmitted with the two late November 2025 entries"},
        )
        self._transition(
            "PeriodApproved",
            ordinal(2026, 4, 23),
            partner,
            _COORDINATOR,
            {"actor": APPROVER, "comment": "Late entries checked against the trainer's report and timesheet"},
        )

    def _privacy_requests(self) -> None:
        """Some participants withdraw their media consent; one stops taking part in August."""
        ctx = self.ctx
        rng = ctx.rng
        # The person erased belongs to an SME that joined late and stops taking part now, so no
        # event after the erasure names them.
        erased = ""
        for index, pool in enumerate(ctx.member_staff):
            joiners = pool[ctx.founding_member_staff[index] :]
            if joiners:
                erased = rng.choice(joiners)[0]
                pool[:] = [person for person in pool if person[0] != erased]
                # Erasure goes through the vault (POST …/participants/{id}/erasure), which holds the
                # key to destroy; the demo records no personal data, so it records no erasure.
                break
        candidates = [person for person in ctx.media_consents if person[0] != erased]
        for participant_id, recorder in rng.sample(candidates, min(3 * ctx.population, len(candidates))):
            day = working_day_between(rng, ordinal(2026, 5, 4), ordinal(2026, 11, 30))
            ctx.schedule.add(
                "ConsentWithdrawn",
                day,
                {"participant_id": participant_id, "purpose": "media", "basis": "consent", "date": iso(day)},
                recorder,
                WP_MANAGEMENT,
            )
