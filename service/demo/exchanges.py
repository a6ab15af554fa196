"""ClusterXchange: visits paid by the project's partnership through their whole lifecycle, a few
cancelled before they happen, a few visits the partners host for other partnerships (which must
not count), and the cooperation that follows some of them.

Lifecycle per exchange, each step on a later day: ExchangeRegistered → CommitmentToQualitySigned
→ ExchangeCompleted → ExchangeClosingReportSubmitted → LumpSumPaid, or ExchangeCancelled before
the visit.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from service.demo.activities import APPROVER, month_window, recording_day
from service.demo.cast import EXTERNAL_ORGS, LUMP_SUM_BY_HOST_COUNTRY, PARTNERS, PARTNERSHIP_ID
from service.demo.context import DemoContext, Org, share
from service.demo.dates import (
    END,
    P1_END,
    add_working_days,
    iso,
    next_monday,
    next_working_day,
    working_day_between,
)

WP_EXCHANGES = "WP3"

# Most visits last a working week; ClusterXchange allows 3 working days to a month.
WORKING_DAYS = (
    (3,) * 15 + (4,) * 10 + (5,) * 45 + (6,) * 5 + (7,) * 4 + (8,) * 4 + (9,) * 3 + (10,) * 4
    + (12,) * 4 + (15,) * 3 + (20,) * 3
)  # fmt: skip
# Visitors and hosts rate exchanges a little higher than trainings.
EXCHANGE_SATISFACTION = (2,) * 3 + (3,) * 9 + (4,) * 38 + (5,) * 50
OBJECTIVES_MET = ("fully",) * 70 + ("partially",) * 25 + ("not_met",) * 5
FOLLOW_UP_TYPES = (
    "MoU", "joint_project_proposal", "commercial_agreement", "new_market_entry", "tech_transfer",
    "new_membership",
)  # fmt: skip
ACTIVITY_TYPES = ("job_shadowing", "peer_learning", "study_visit", "workshop", "matchmaking", "training")
OBJECTIVES = (
    "Benchmark the host's cluster-management practices",
    "Learn how the host runs its member services",
    "Explore joint R&D on {ecosystem} with the host's members",
    "Identify partners for a joint Horizon Europe proposal",
    "Scout customers and distributors in {country}",
    "Study the host's qualification and certification scheme",
    "Prepare a pilot for a shared digital platform",
)
CANCELLATION_REASONS = (
    "The visiting SME withdrew for lack of staff",
    "The host could not receive the visitor in the agreed period",
    "The visitor's travel was prevented by illness; not rescheduled within the programme",
    "The host organisation restructured its team and withdrew",
)
# Hosts under 200 km from the Stuttgart and Rzeszów regions: some visits there get a halved sum.
_SHORT_TRIPS = {"DE": "biovalley-fr", "PL": "itvalley-sk"}


class Visit(NamedTuple):
    """What the rest of a lifecycle needs from a completed visit."""

    end: int
    working_days: int
    distance_km: int
    reported: int
    follow_ups_planned: list[str]


def distance_km(a: Org, b: Org) -> int:
    """Road distance between two organisations, approximated as 1.15 × the great-circle distance."""
    lat1, lon1, lat2, lon2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return round(1.15 * 2 * 6371 * math.asin(math.sqrt(h)))


class Exchanges:
    """Registers exchanges month by month and schedules the rest of each lifecycle."""

    def __init__(self, ctx: DemoContext) -> None:
        self.ctx = ctx
        self.registered = 0
        self._hosts = [org for org in EXTERNAL_ORGS if org.hosts]
        self._foreign_visitors = [org for org in EXTERNAL_ORGS if org.visits]
        self._wrong_payment_recorded = False

    def month(self, index: int, first: int, last: int) -> None:
        """Exchanges registered in one project month (months 2 to 19, so all end in time)."""
        if not 1 <= index <= 18:
            return
        ctx = self.ctx
        first, last = month_window(index, first, last)
        for _ in range(share(40 * ctx.activity, index - 1, 18)):
            self.visit(working_day_between(ctx.rng, first, last))
        for _ in range(share(4 * ctx.activity, index - 1, 18)):
            self.host_for_other_partnership(working_day_between(ctx.rng, first, last))

    def _next_visitor(self) -> Org:
        ctx = self.ctx
        if ctx.next_visitor >= len(ctx.visitors):
            # Everyone has visited once; benchmark scales send them again.
            ctx.next_visitor = 0
        org_id = ctx.visitors[ctx.next_visitor]
        ctx.next_visitor += 1
        return ctx.orgs[org_id]

    def _host_for(self, visitor: Org) -> tuple[Org, str]:
        """A host in another country and the partnership it belongs to (hop_id)."""
        ctx = self.ctx
        rng = ctx.rng
        short_trip = _SHORT_TRIPS.get(visitor.country)
        if short_trip is not None and rng.random() < 0.3:
            host = ctx.orgs[short_trip]
            return host, host.partnership or ""
        if rng.random() < 0.5:
            assert visitor.partner is not None
            other = (visitor.partner + 1 + rng.randrange(len(PARTNERS) - 1)) % len(PARTNERS)
            org_id = PARTNERS[other].org_id if rng.random() < 0.4 else rng.choice(ctx.members[other])
            return ctx.orgs[org_id], PARTNERSHIP_ID
        external = rng.choice(self._hosts)
        return ctx.orgs[external.org_id], external.partnership_id

    def visit(self, registered: int) -> None:
        """An exchange the project pays for (vop_id = the project's partnership)."""
        ctx = self.ctx
        rng = ctx.rng
        self.registered += 1
        visitor = self._next_visitor()
        host, hop_id = self._host_for(visitor)
        assert visitor.partner is not None
        recorder = PARTNERS[visitor.partner].org_id
        exchange_id = f"CXC-TT-{self.registered:06d}"
        self._register(exchange_id, registered, visitor, host, PARTNERSHIP_ID, hop_id, recorder)
        signed = next_working_day(registered + rng.randint(10, 30))
        start = next_monday(signed + rng.randint(14, 45))
        working_days = rng.choice(WORKING_DAYS)
        if self.registered % 10 == 7:
            # One exchange in ten falls through, before or after its Commitment to Quality.
            if rng.random() < 0.5:
                self._commit(exchange_id, signed, start, working_days, recorder)
                cancelled = rng.randint(signed + 1, start - 1)
            else:
                cancelled = rng.randint(registered + 1, signed - 1)
            ctx.schedule.add(
                "ExchangeCancelled",
                cancelled,
                {"exchange_id": exchange_id, "reason": rng.choice(CANCELLATION_REASONS)},
                recorder,
                WP_EXCHANGES,
            )
            return
        self._commit(exchange_id, signed, start, working_days, recorder)
        visit = self._complete(exchange_id, start, working_days, visitor, host, recorder)
        self._pay(exchange_id, visit, host, recorder)
        self._follow_up(exchange_id, visitor, host, visit, recorder)

    def host_for_other_partnership(self, registered: int) -> None:
        """A visitor of another partnership at one of ours: recorded, never counted, not paid by us."""
        ctx = self.ctx
        rng = ctx.rng
        self.registered += 1
        foreign = rng.choice(self._foreign_visitors)
        visitor = ctx.orgs[foreign.org_id]
        hosting = [i for i, partner in enumerate(PARTNERS) if partner.country != visitor.country]
        partner_index = rng.choice(hosting)
        host_id = (
            PARTNERS[partner_index].org_id if rng.random() < 0.5 else rng.choice(ctx.members[partner_index])
        )
        host = ctx.orgs[host_id]
        recorder = PARTNERS[partner_index].org_id
        exchange_id = f"CXC-TT-{self.registered:06d}"
        self._register(
            exchange_id, registered, visitor, host, foreign.partnership_id, PARTNERSHIP_ID, recorder
        )
        signed = next_working_day(registered + rng.randint(10, 30))
        start = next_monday(signed + rng.randint(14, 45))
        working_days = rng.choice(WORKING_DAYS)
        self._commit(exchange_id, signed, start, working_days, recorder)
        # The visitor's own partnership pays the lump sum; the host side records the rest.
        self._complete(exchange_id, start, working_days, visitor, host, recorder)

    def _register(
        self, exchange_id: str, day: int, visitor: Org, host: Org, vop_id: str, hop_id: str, recorder: str
    ) -> None:
        rng = self.ctx.rng
        objectives = rng.sample(OBJECTIVES, rng.randint(1, 3))
        ecosystem = (
            PARTNERS[host.partner].ecosystem.replace("_", " ") if host.partner is not None else "green"
        )
        self.ctx.schedule.add(
            "ExchangeRegistered",
            day,
            {
                "exchange_id": exchange_id,
                "vo_org_id": visitor.org_id,
                "ho_org_id": host.org_id,
                "vop_id": vop_id,
                "hop_id": hop_id,
                "objectives": [text.format(ecosystem=ecosystem, country=host.country) for text in objectives],
                "activity_types": rng.sample(ACTIVITY_TYPES, rng.randint(1, 3)),
            },
            recorder,
            WP_EXCHANGES,
        )

    def _commit(self, exchange_id: str, signed: int, start: int, working_days: int, recorder: str) -> None:
        agenda = f"ctq/{exchange_id}-agenda.pdf"
        self.ctx.schedule.add(
            "CommitmentToQualitySigned",
            signed,
            {
                "exchange_id": exchange_id,
                "planned_start": iso(start),
                "planned_end": iso(add_working_days(start, working_days)),
                "agenda_ref": agenda,
            },
            recorder,
            WP_EXCHANGES,
            evidence=self.ctx.schedule.evidence(f"https://files.twintrans.example.eu/exchanges/{agenda}"),
        )

    def _complete(
        self, exchange_id: str, planned_start: int, working_days: int, visitor: Org, host: Org, recorder: str
    ) -> Visit:
        """The visit and its closing report."""
        ctx = self.ctx
        rng = ctx.rng
        # One visit in seven moves by a week; the Commitment to Quality keeps the plan.
        start = planned_start + (7 if rng.random() < 0.15 else 0)
        end = add_working_days(start, working_days)
        virtual = rng.random() < 0.08
        # A virtual visit involves no travel, so it is under 200 km and its lump sum is halved.
        distance = 0 if virtual else distance_km(visitor, host)
        add = ctx.schedule.add
        add(
            "ExchangeCompleted",
            end,
            {
                "exchange_id": exchange_id,
                "actual_start": iso(start),
                "actual_end": iso(end),
                "working_days": working_days,
                "mode": "virtual" if virtual else "physical",
                "distance_km": distance,
            },
            recorder,
            WP_EXCHANGES,
        )
        reported = next_working_day(end + rng.randint(3, 14))
        follow_ups = rng.sample(FOLLOW_UP_TYPES, rng.choice((0, 0, 1, 1, 1, 2)))
        add(
            "ExchangeClosingReportSubmitted",
            reported,
            {
                "exchange_id": exchange_id,
                "satisfaction_vo": rng.choice(EXCHANGE_SATISFACTION),
                "satisfaction_ho": rng.choice(EXCHANGE_SATISFACTION),
                "objectives_met": rng.choice(OBJECTIVES_MET),
                "follow_up_planned": follow_ups,
            },
            recorder,
            WP_EXCHANGES,
            evidence=ctx.schedule.evidence(
                f"https://files.twintrans.example.eu/exchanges/{exchange_id}/closing-report.pdf"
            ),
        )
        return Visit(end, working_days, distance, reported, follow_ups)

    def _pay(self, exchange_id: str, visit: Visit, host: Org, recorder: str) -> None:
        """The visitor's lump sum: the host country's rate, halved under 5 days or 200 km."""
        ctx = self.ctx
        rng = ctx.rng
        paid = next_working_day(visit.reported + rng.randint(2, 10))
        rate = LUMP_SUM_BY_HOST_COUNTRY[host.country]
        reduced = visit.working_days < 5 or visit.distance_km < 200
        amount = rate // 2 if reduced else rate
        corrected = recording_day(paid, rng.randint(10, 20))
        # Once (and in ~1% of reduced payments when scaled) the full rate is entered by mistake
        # and corrected a couple of weeks later, inside the same open period.
        mistaken = (
            reduced
            and paid > P1_END
            and corrected > paid
            and (not self._wrong_payment_recorded or (ctx.scale > 1 and rng.random() < 0.01))
        )
        entered = {"amount_eur": f"{rate if mistaken else amount}.00", "reduced": reduced and not mistaken}
        payment = ctx.schedule.add(
            "LumpSumPaid",
            paid,
            {"exchange_id": exchange_id, **entered, "paid_on": iso(paid)},
            recorder,
            WP_EXCHANGES,
            evidence=ctx.schedule.evidence(
                f"https://files.twintrans.example.eu/exchanges/{exchange_id}/payment.pdf"
            ),
        )
        if mistaken:
            self._wrong_payment_recorded = True
            ctx.schedule.add(
                "CorrectionRecorded",
                corrected,
                {
                    "target_event_id": str(payment),
                    "field_changes": {"amount_eur": f"{amount}.00", "reduced": True},
                    "reason": (
                        f"Visit of {visit.working_days} working days over {visit.distance_km} km: "
                        "the lump sum is halved"
                    ),
                    "approved_by": APPROVER,
                },
                recorder,
                WP_EXCHANGES,
                stream=f"exchange-{exchange_id}",
            )

    def _follow_up(self, exchange_id: str, visitor: Org, host: Org, visit: Visit, recorder: str) -> None:
        """Cooperation after the visit: for ~55% of exchanges, mostly within six months."""
        rng = self.ctx.rng
        if rng.random() >= 0.55:
            return
        for _ in range(2 if rng.random() < 0.1 else 1):
            day = visit.end + (rng.randint(20, 175) if rng.random() < 0.8 else rng.randint(190, 360))
            if day > END:
                return
            planned = visit.follow_ups_planned
            kind = rng.choice(planned) if planned and rng.random() < 0.7 else rng.choice(FOLLOW_UP_TYPES)
            self.ctx.schedule.add(
                "FollowUpCooperationRecorded",
                day,
                {
                    "source_activity_id": exchange_id,
                    "type": kind,
                    "org_ids": [visitor.org_id, host.org_id],
                    "date": iso(day),
                },
                recorder,
                WP_EXCHANGES,
            )
