"""What the partners deliver: training sessions with their feedback, coaching engagements and
outreach, spread evenly over the 24 months and multiplied by the scale's activity factor.

Also the ordinary slips of a real log: a session corrected after the attendance list came in, a
session recorded twice and retracted, coaching sessions entered weeks late.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from service.demo.cast import COORDINATOR, EXTERNAL_ORGS, PARTNERS
from service.demo.context import DemoContext, Person, share
from service.demo.dates import END, P1_END, iso, next_working_day, ordinal, working_day_between

WP_TRAINING = "WP2"
WP_OUTREACH = "WP4"
APPROVER = f"pm-{COORDINATOR.org_id}"

# Activities in the last month end early, so their feedback is still dated inside the project.
LAST_ACTIVITY_DAY = ordinal(2026, 12, 18)
# P1 is submitted from 9 February 2026; anything dated in P1 must be in the log before that.
LAST_P1_RECORDING = ordinal(2026, 1, 30)

# Decimal hours as the wire carries them, indexed by half-hours: HOURS[7] == "3.5".
HOURS = tuple(f"{h // 2}" if h % 2 == 0 else f"{h // 2}.5" for h in range(200))
# Most participants are satisfied: 83% give 4 or 5, as partners' evaluations usually show.
SATISFACTION = (1,) * 2 + (2,) * 3 + (3,) * 12 + (4,) * 43 + (5,) * 40
KNOWLEDGE_GAIN = (1,) * 2 + (2,) * 6 + (3,) * 20 + (4,) * 42 + (5,) * 30
TOPICS = (
    ("strategy",) * 10 + ("governance",) * 8 + ("financing",) * 10 + ("services",) * 12
    + ("internationalisation",) * 18 + ("digital",) * 18 + ("green",) * 16 + ("skills",) * 8
)  # fmt: skip
FORMATS = ("onsite",) * 50 + ("online",) * 35 + ("hybrid",) * 15
COACHING_OUTPUTS = {
    "strategy": ("Draft cluster strategy 2030", "SWOT of the member base", "Strategy review notes"),
    "governance": ("Board rules of procedure", "Membership fee model", "Governance review notes"),
    "financing": ("Private-income diversification plan", "Funding calendar 2026", "Sponsorship offer"),
    "services": ("Service portfolio review", "New member-service concept", "Service pricing sheet"),
    "internationalisation": ("Internationalisation action plan", "Target-market shortlist", "Fair plan"),
    "digital": ("Digital maturity assessment", "Data-sharing pilot plan", "Cybersecurity checklist"),
    "green": ("Decarbonisation roadmap", "Energy audit follow-up plan", "Circularity pilot plan"),
    "skills": ("Skills-gap analysis", "Training curriculum outline", "Apprenticeship scheme draft"),
}
# (event_type, scale-1 count over 24 months, attendees range, orgs-reached range, B2B range,
# share of attendees giving feedback)
OUTREACH_KINDS: tuple[tuple[str, int, tuple[int, int], tuple[int, int], tuple[int, int], float], ...] = (
    ("newsletter", 40, (300, 1200), (0, 0), (0, 0), 0.0),
    ("webinar", 20, (25, 120), (3, 15), (0, 0), 0.18),
    ("info_day", 10, (30, 90), (5, 20), (0, 0), 0.15),
    ("B2B", 5, (40, 160), (10, 40), (15, 45), 0.12),
    ("fair", 3, (200, 1500), (5, 25), (0, 12), 0.0),
    ("publication", 6, (500, 4000), (0, 0), (0, 0), 0.0),
    ("social", 10, (800, 6000), (0, 0), (0, 0), 0.0),
)
# The two joint conferences: mid-term (October 2025) and final (November 2026), by host partner.
CONFERENCES = {9: 2, 22: 0}
_MARKETS = ("FR", "BE", "NL", "AT", "CZ", "SK", "HU", "SE", "DK", "PT", "IE", "GR", "HR", "SI", "RO")


def feedback_scores(
    random: Callable[[], float], recommend_if_satisfied: float, recommend_otherwise: float
) -> dict[str, Any]:
    """Satisfaction, knowledge gain and recommendation of one feedback form."""
    # Indexing the tables with random() is several times faster than rng.choice (hot path).
    satisfaction = SATISFACTION[int(random() * 100)]
    return {
        "satisfaction": satisfaction,
        "knowledge_gain": KNOWLEDGE_GAIN[int(random() * 100)],
        "recommend": random() < (recommend_if_satisfied if satisfaction >= 4 else recommend_otherwise),
    }


def month_window(index: int, first: int, last: int) -> tuple[int, int]:
    """The days activities of a month may fall on (not before the kick-off, not too late)."""
    if index == 0:
        first = ordinal(2025, 1, 13)  # after the kick-off week of registrations
    return first, min(last, LAST_ACTIVITY_DAY)


def recording_day(occurred: int, delay: int) -> int:
    """When an entry ``delay`` days late reaches the log, kept out of locked periods."""
    return min(occurred + delay, LAST_P1_RECORDING if occurred <= P1_END else END)


class Trainings:
    """Training sessions, their feedback, and the occasional correction or duplicate."""

    def __init__(self, ctx: DemoContext) -> None:
        self.ctx = ctx
        self.delivered = 0

    def month(self, index: int, first: int, last: int) -> None:
        """The sessions of one project month."""
        ctx = self.ctx
        first, last = month_window(index, first, last)
        for _ in range(share(24 * ctx.activity, index, 24)):
            self.deliver(ctx.rng.randrange(len(PARTNERS)), working_day_between(ctx.rng, first, last))

    def deliver(
        self, organiser: int, day: int, *, recorded: int | None = None, founding_only: bool = False
    ) -> str:
        """One session on ``day`` with its feedback; returns its session_id."""
        ctx = self.ctx
        rng = ctx.rng
        self.delivered += 1
        partner = PARTNERS[organiser]
        session_id = f"TRN-{partner.code}-{self.delivered:06d}"
        draw = rng.random()
        if draw < 0.4:  # half day
            duration, dates = rng.randint(6, 8), [day]
        elif draw < 0.8:  # full day
            duration, dates = rng.randint(12, 16), [day]
        else:  # two days
            duration, dates = rng.randint(24, 28), [day, next_working_day(day + 1)]
        transnational = rng.random() < 0.3
        fmt = rng.choice(FORMATS)
        venue = rng.choice(PARTNERS).country if transnational and fmt != "online" else partner.country
        trainers = rng.sample(ctx.staff[organiser], rng.randint(1, 2))
        attendees = self._attendees(organiser, transnational, trainers, founding_only)
        rows: list[dict[str, Any]] = []
        for participant_id, org_id in attendees:
            r = rng.random()
            hours = 0 if r < 0.02 else rng.randint(1, duration - 1) if r < 0.12 else duration
            rows.append({"participant_id": participant_id, "org_id": org_id, "attended_hours": HOURS[hours]})
        data: dict[str, Any] = {
            "session_id": session_id,
            "dates": [iso(d) for d in dates],
            "topic": rng.choice(TOPICS),
            "format": fmt,
            "duration_hours": HOURS[duration],
            "country": venue,
            "trainers": [person[0] for person in trainers],
            "attendees": rows,
        }
        add = ctx.schedule.add
        evidence = ctx.schedule.evidence(
            f"https://files.twintrans.example.eu/trainings/{session_id}/attendance.pdf"
        )
        event_id = add(
            "TrainingDelivered", day, data, partner.org_id, WP_TRAINING, recorded=recorded, evidence=evidence
        )
        last_day = dates[-1]
        random = rng.random
        for row in rows:
            if row["attended_hours"] == "0" or random() >= 0.6:
                continue
            answered = last_day + int(random() * 7)
            add(
                "FeedbackCollected",
                answered,
                {
                    "activity_id": session_id,
                    "respondent_id": row["participant_id"] if random() < 0.85 else None,
                    **feedback_scores(random, 0.95, 0.3),
                },
                partner.org_id,
                WP_TRAINING,
                recorded=None if recorded is None else max(recorded, answered),
            )
        if recorded is None:
            self._slips(organiser, day, event_id, data, duration)
        return session_id

    def _attendees(
        self, organiser: int, transnational: bool, trainers: list[Person], founding_only: bool
    ) -> list[Person]:
        ctx = self.ctx
        rng = ctx.rng
        count = rng.randint(8, 24)
        staff_count = round(count * (0.6 if transnational else 0.25))
        if transnational:
            staff_pool = [person for pool in ctx.staff for person in pool]
            member_pools = [ctx.member_staff[i] for i in rng.sample(range(len(PARTNERS)), 2)]
        else:
            staff_pool = ctx.staff[organiser]
            member_pools = [ctx.member_staff[organiser]]
        if founding_only:
            member_pools = [ctx.member_staff[organiser][: ctx.founding_member_staff[organiser]]]
        staff = [p for p in rng.sample(staff_pool, min(staff_count, len(staff_pool))) if p not in trainers]
        members: list[Person] = []
        wanted = count - staff_count
        for number, pool in enumerate(member_pools):
            take = wanted // len(member_pools) + (1 if number < wanted % len(member_pools) else 0)
            members.extend(rng.sample(pool, min(take, len(pool))))
        return staff + members

    def _slips(
        self, organiser: int, day: int, event_id: uuid.UUID, data: dict[str, Any], duration: int
    ) -> None:
        """Corrections and duplicates: a few scripted at scale 1, ~3% of sessions when scaled."""
        ctx = self.ctx
        rng = ctx.rng
        scaled = ctx.scale > 1
        number = self.delivered
        if number == 3 or (scaled and rng.random() < 0.02):
            self._correct_duration(organiser, day, event_id, data, duration)
        elif number == 14 or (scaled and rng.random() < 0.01):
            self._correct_attendees(organiser, day, event_id, data)
        elif number == 19 or (scaled and rng.random() < 0.005):
            self._record_twice_and_retract(organiser, day, data)

    def _correct_duration(
        self, organiser: int, day: int, target: uuid.UUID, data: dict[str, Any], duration: int
    ) -> None:
        # The session ran an hour longer; those who stayed to the end get the hour too.
        longer = duration + 2
        attendees = [
            {**row, "attended_hours": HOURS[longer]} if row["attended_hours"] == HOURS[duration] else row
            for row in data["attendees"]
        ]
        self._correct(
            organiser,
            day,
            target,
            data["session_id"],
            {"duration_hours": HOURS[longer], "attendees": attendees},
            "The signed attendance list shows the session ran one hour longer than planned",
        )

    def _correct_attendees(self, organiser: int, day: int, target: uuid.UUID, data: dict[str, Any]) -> None:
        ctx = self.ctx
        present = {row["participant_id"] for row in data["attendees"]} | set(data["trainers"])
        pool = ctx.member_staff[organiser]
        for participant_id, org_id in ctx.rng.sample(pool, min(10, len(pool))):
            if participant_id not in present:
                missing = {
                    "participant_id": participant_id,
                    "org_id": org_id,
                    "attended_hours": data["duration_hours"],
                }
                self._correct(
                    organiser,
                    day,
                    target,
                    data["session_id"],
                    {"attendees": [*data["attendees"], missing]},
                    "One attendee signed the paper list but was missing from the online registration",
                )
                return

    def _correct(
        self,
        organiser: int,
        day: int,
        target: uuid.UUID,
        session_id: str,
        changes: dict[str, Any],
        reason: str,
    ) -> None:
        recorded = recording_day(day, self.ctx.rng.randint(5, 20))
        if recorded <= day:
            return
        self.ctx.schedule.add(
            "CorrectionRecorded",
            recorded,
            {
                "target_event_id": str(target),
                "field_changes": changes,
                "reason": reason,
                "approved_by": APPROVER,
            },
            PARTNERS[organiser].org_id,
            WP_TRAINING,
            stream=f"activity-{session_id}",
        )

    def _record_twice_and_retract(self, organiser: int, day: int, data: dict[str, Any]) -> None:
        # A co-organising partner enters the same session under its own number; the coordinator
        # spots the duplicate and the co-organiser retracts its record.
        ctx = self.ctx
        rng = ctx.rng
        co_organiser = (organiser + 1 + rng.randrange(len(PARTNERS) - 1)) % len(PARTNERS)
        recorded = recording_day(day, rng.randint(1, 3))
        retracted = recording_day(day, rng.randint(8, 16))
        if not day < recorded < retracted:
            return
        partner = PARTNERS[co_organiser]
        duplicate = {**data, "session_id": f"TRN-{partner.code}-{self.delivered:06d}-B"}
        duplicate_id = ctx.schedule.add(
            "TrainingDelivered", day, duplicate, partner.org_id, WP_TRAINING, recorded=recorded
        )
        ctx.schedule.add(
            "ActivityRetracted",
            retracted,
            {
                "target_event_id": str(duplicate_id),
                "reason": f"Duplicate of session {data['session_id']} recorded by the organising partner",
                "approved_by": APPROVER,
            },
            partner.org_id,
            WP_TRAINING,
            stream=f"activity-{duplicate['session_id']}",
        )


class Coaching:
    """Coaching engagements: a partner cluster coaches a peer cluster or one of its SMEs."""

    def __init__(self, ctx: DemoContext) -> None:
        self.ctx = ctx
        self.engagements = 0

    def month(self, index: int, first: int, last: int) -> None:
        """The engagements that start in one project month (months 2 to 21)."""
        if not 1 <= index <= 20:
            return
        ctx = self.ctx
        first, last = month_window(index, first, last)
        for _ in range(share(25 * ctx.activity, index - 1, 20)):
            self.engage(ctx.rng.randrange(len(PARTNERS)), working_day_between(ctx.rng, first, last))

    def engage(
        self,
        coach: int,
        day: int,
        *,
        sessions: int = 0,
        recorded: int | None = None,
        coachee: str | None = None,
    ) -> None:
        """One engagement's sessions from ``day`` on, every two to five weeks."""
        ctx = self.ctx
        rng = ctx.rng
        self.engagements += 1
        partner = PARTNERS[coach]
        engagement_id = f"COACH-{partner.code}-{self.engagements:05d}"
        if coachee is None:
            if rng.random() < 0.4 or not ctx.smes[coach]:
                coachee = PARTNERS[(coach + 1 + rng.randrange(len(PARTNERS) - 1)) % len(PARTNERS)].org_id
            else:
                coachee = rng.choice(ctx.smes[coach])
        topic = rng.choice(TOPICS)
        mode = rng.choice(FORMATS)
        outputs = COACHING_OUTPUTS[topic]
        for _ in range(sessions or rng.randint(2, 6)):
            if day > LAST_ACTIVITY_DAY:
                break
            late = recorded
            if late is None and rng.random() < 0.05:
                # About one entry in twenty reaches the log weeks after the session.
                late = recording_day(day, rng.randint(20, 75))
            ctx.schedule.add(
                "CoachingSessionHeld",
                day,
                {
                    "engagement_id": engagement_id,
                    "coach_org_id": partner.org_id,
                    "coachee_org_id": coachee,
                    "topic": topic,
                    "hours": HOURS[rng.randint(3, 8)],
                    "mode": mode,
                    "output": rng.choice(outputs),
                },
                partner.org_id,
                WP_TRAINING,
                recorded=late,
            )
            day = next_working_day(day + rng.randint(14, 35))


class Outreach:
    """Newsletters, webinars, info days, B2B matchmaking, fairs, publications and conferences."""

    def __init__(self, ctx: DemoContext) -> None:
        self.ctx = ctx
        self.held = 0

    def month(self, index: int, first: int, last: int) -> None:
        """The outreach of one project month."""
        ctx = self.ctx
        rng = ctx.rng
        first, last = month_window(index, first, last)
        for kind in OUTREACH_KINDS:
            for _ in range(share(kind[1] * ctx.activity, index, 24)):
                self.hold(kind, rng.randrange(len(PARTNERS)), working_day_between(rng, first, last))
        host = CONFERENCES.get(index)
        if host is not None:
            conference = ("conference", 1, (120, 350), (20, 60), (5, 20), 0.15)
            for _ in range(ctx.activity):
                self.hold(conference, host, working_day_between(rng, first, last))

    def hold(
        self,
        kind: tuple[str, int, tuple[int, int], tuple[int, int], tuple[int, int], float],
        organiser: int,
        day: int,
    ) -> None:
        """One outreach event and the feedback forms it collects."""
        ctx = self.ctx
        rng = ctx.rng
        event_type, _, attendance, reach, meetings, feedback_share = kind
        partner = PARTNERS[organiser]
        self.held += 1
        outreach_id = f"OUT-{partner.code}-{self.held:06d}"
        attendees = rng.randint(*attendance)
        reached = self._orgs_reached(event_type, organiser, rng.randint(*reach)) if reach[1] else []
        smes = sum(1 for org_id in reached if ctx.orgs[org_id].org_type == "SME")
        if event_type == "newsletter":
            smes = len(ctx.smes[organiser])
        elif reached:
            smes += int(attendees * rng.uniform(0.05, 0.25))  # SMEs that came but are not members
        countries = {ctx.orgs[org_id].country for org_id in reached} | {partner.country}
        if not reached:
            countries.update(rng.sample(_MARKETS, rng.randint(1, 4)))
        ctx.schedule.add(
            "OutreachEventHeld",
            day,
            {
                "outreach_id": outreach_id,
                "event_type": event_type,
                "attendees": attendees,
                "orgs_reached": reached,
                "sme_count": smes,
                "countries": sorted(countries),
                "country": partner.country,
                "b2b_meetings": rng.randint(*meetings),
            },
            partner.org_id,
            WP_OUTREACH,
        )
        add = ctx.schedule.add
        random = rng.random
        # Feedback forms are anonymous at outreach events.
        for _ in range(min(80, int(attendees * feedback_share * rng.uniform(0.6, 1.4)))):
            add(
                "FeedbackCollected",
                day + int(random() * 6),
                {"activity_id": outreach_id, **feedback_scores(random, 0.9, 0.25)},
                partner.org_id,
                WP_OUTREACH,
            )

    def _orgs_reached(self, event_type: str, organiser: int, count: int) -> list[str]:
        ctx = self.ctx
        rng = ctx.rng
        if event_type in ("conference", "B2B", "fair"):
            # Cross-border events: members of several partners, the partners, organisations abroad.
            pools = [ctx.members[i] for i in rng.sample(range(len(PARTNERS)), 3)]
            guests = [org.org_id for org in rng.sample(EXTERNAL_ORGS, 3)]
            extra = [PARTNERS[organiser].org_id, *guests]
        else:
            pools = [ctx.members[organiser]]
            extra = [PARTNERS[organiser].org_id]
        reached = list(extra)
        for pool in pools:
            reached.extend(rng.sample(pool, min(count // len(pools), len(pool))))
        return list(dict.fromkeys(reached))
