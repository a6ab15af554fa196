"""Reference data: the partner clusters, their member organisations, organisations abroad and the
people who take part, each registered before anything names them.

Registrations made in a month join the pools that activities draw from only when ``admit`` is
called after that month, so no activity names someone registered later in the log.
"""

from __future__ import annotations

from typing import Any

from service.demo.cast import (
    AGENCY_MEMBERS,
    EXTERNAL_ORGS,
    NAME_ENDINGS,
    NAME_STEMS,
    PARTNERS,
    PARTNERSHIP_ID,
    RESEARCH_MEMBERS,
    Partner,
    Region,
    Sector,
)
from service.demo.context import DemoContext, Org, Person
from service.demo.dates import START, iso, ordinal

WP_MANAGEMENT = "WP1"

_TURNOVER_BAND = {"micro": "up_to_2m", "small": "2m_to_10m", "medium": "10m_to_50m", "large": "over_50m"}
# Staff and turnover (EUR) ranges of each size class (Rec. 2003/361).
_SIZE_RANGES = {
    "micro": ((1, 9), (90_000, 1_900_000)),
    "small": ((10, 49), (2_100_000, 9_500_000)),
    "medium": ((50, 240), (10_500_000, 46_000_000)),
    "large": ((260, 2400), (55_000_000, 900_000_000)),
}
_GENDERS = ("F",) * 47 + ("M",) * 48 + ("X",) * 1 + ("undisclosed",) * 4


class Registrar:
    """Registers organisations and participants, and admits them to the activity pools."""

    def __init__(self, ctx: DemoContext) -> None:
        self.ctx = ctx
        count = len(PARTNERS)
        ctx.staff = [[] for _ in range(count)]
        ctx.member_staff = [[] for _ in range(count)]
        ctx.members = [[] for _ in range(count)]
        ctx.smes = [[] for _ in range(count)]
        ctx.founding_member_staff = [0] * count
        self._pending_staff: list[tuple[int, Person]] = []
        self._pending_members: list[tuple[int, str, list[Person]]] = []
        self._participants = 0
        self._sme_numbers = [0] * count

    # --- organisations ------------------------------------------------------------------------

    def register_partners(self) -> None:
        """The five cluster organisations, on the first day of the project."""
        for index, partner in enumerate(PARTNERS):
            region = partner.regions[0]
            self._register_org(
                START,
                index,
                {
                    "org_id": partner.org_id,
                    "name": partner.name,
                    "org_type": "cluster_org",
                    "country": partner.country,
                    "nuts2": region.nuts2,
                    "region_category": region.category,
                    "nace": "S94.11",
                    "ecosystem": partner.ecosystem,
                    "eccp_profile_id": partner.eccp_profile_id,
                    "size_class": "n/a",
                    "headcount": partner.headcount,
                    "turnover_band": "up_to_2m",
                },
                region,
                PARTNERSHIP_ID,
            )
            self.ctx.visitors.append(partner.org_id)

    def register_external(self) -> None:
        """Hosts abroad and visitors of other partnerships (both belong to no partner)."""
        day = ordinal(2025, 1, 2)
        for org in EXTERNAL_ORGS:
            self._register_org(
                day,
                None,
                {
                    "org_id": org.org_id,
                    "name": org.name,
                    "org_type": org.org_type,
                    "country": org.country,
                    "nuts2": org.region.nuts2,
                    "region_category": org.region.category,
                    "nace": org.sector.nace,
                    "ecosystem": org.sector.ecosystem,
                    "size_class": org.size_class,
                    "headcount": org.headcount,
                    "turnover_band": org.turnover_band,
                },
                org.region,
                org.partnership_id,
            )

    def register_founding_members(self) -> None:
        """Each partner's existing members, in the first week: non-SME members and most SMEs."""
        ctx = self.ctx
        for index, partner in enumerate(PARTNERS):
            day = ordinal(2025, 1, 2 + index)
            self._register_institution(day, index, partner, "RTO/univ", RESEARCH_MEMBERS[partner.code], 2)
            self._register_institution(day, index, partner, "public", AGENCY_MEMBERS[partner.code], 1)
            for number in range(1, 4):
                name = f"{self._company_name()} {partner.legal_form}"
                self._register_institution(day, index, partner, "large", name, 1 + number % 2, number)
            for _ in range(48 * ctx.population):
                self.register_sme(index, day)

    def register_sme(self, partner_index: int, day: int) -> str:
        """One SME member of a partner cluster with its contact people; returns its org_id."""
        rng = self.ctx.rng
        partner = PARTNERS[partner_index]
        self._sme_numbers[partner_index] += 1
        org_id = f"sme-{partner.code.lower()}-{self._sme_numbers[partner_index]:05d}"
        draw = rng.random()
        size = "micro" if draw < 0.45 else "small" if draw < 0.80 else "medium"
        region = partner.regions[0] if rng.random() < 0.7 else rng.choice(partner.regions[1:])
        sector = partner.sectors[min(int(rng.expovariate(0.45)), len(partner.sectors) - 1)]
        member_of = [partner.org_id]
        if rng.random() < 0.05:
            member_of.append(rng.choice([p.org_id for p in PARTNERS if p is not partner]))
        headcount, turnover = self._size_figures(size)
        self._register_member(
            day,
            partner_index,
            {
                "org_id": org_id,
                "name": f"{self._company_name()} {partner.legal_form}",
                "org_type": "SME",
                "country": partner.country,
                "nuts2": region.nuts2,
                "region_category": region.category,
                "nace": sector.nace,
                "ecosystem": sector.ecosystem,
                "cluster_member_of": member_of,
                "size_class": size,
                "headcount": headcount,
                "turnover_band": _TURNOVER_BAND[size],
            },
            region,
            turnover,
            contacts=1 if rng.random() < 0.65 else 2,
            role="SME_staff",
        )
        return org_id

    def _register_institution(
        self, day: int, index: int, partner: Partner, org_type: str, name: str, contacts: int, number: int = 0
    ) -> None:
        """A member that is not an SME: a research institute, an agency or a large company."""
        kind = {"RTO/univ": "rto", "public": "agency", "large": "corp"}[org_type]
        suffix = f"-{number}" if number else ""
        if org_type == "large":
            size = "large"
            headcount, turnover = self._size_figures("large")
            sector = partner.sectors[number % len(partner.sectors)]
        else:
            size, headcount, turnover = "n/a", 60 if org_type == "public" else 420, 0
            sector = Sector("P85.42" if org_type == "RTO/univ" else "O84.13", partner.ecosystem)
        self._register_member(
            day,
            index,
            {
                "org_id": f"{kind}-{partner.code.lower()}{suffix}",
                "name": name,
                "org_type": org_type,
                "country": partner.country,
                "nuts2": partner.regions[0].nuts2,
                "region_category": partner.regions[0].category,
                "nace": sector.nace,
                "ecosystem": sector.ecosystem,
                "cluster_member_of": [partner.org_id],
                "size_class": size,
                "headcount": headcount,
                "turnover_band": _TURNOVER_BAND.get(size, "n/a"),
            },
            partner.regions[0],
            turnover,
            contacts=contacts,
            role="other",
        )

    def _register_member(
        self,
        day: int,
        index: int,
        data: dict[str, Any],
        region: Region,
        turnover: int,
        *,
        contacts: int,
        role: str,
    ) -> None:
        org = self._register_org(day, index, data, region, PARTNERSHIP_ID, turnover)
        people = [self._register_participant(day, index, org.org_id, role) for _ in range(contacts)]
        self._pending_members.append((index, org.org_id, people))

    def _register_org(
        self,
        day: int,
        index: int | None,
        data: dict[str, Any],
        region: Region,
        partnership: str | None,
        turnover: int = 0,
    ) -> Org:
        org = Org(
            org_id=data["org_id"],
            org_type=data["org_type"],
            country=data["country"],
            lat=region.lat,
            lon=region.lon,
            partner=index,
            partnership=partnership,
            size_class=data["size_class"],
            headcount=data["headcount"],
            turnover=turnover,
        )
        self.ctx.orgs[org.org_id] = org
        recorder = PARTNERS[index].org_id if index is not None else PARTNERS[0].org_id
        self.ctx.schedule.add("OrganisationRegistered", day, data, recorder, WP_MANAGEMENT)
        return org

    def _size_figures(self, size: str) -> tuple[int, int]:
        rng = self.ctx.rng
        (low, high), (turnover_low, turnover_high) = _SIZE_RANGES[size]
        # Skewed towards the small end of each class, as real firm-size distributions are.
        share = rng.random() ** 1.8
        return low + int(share * (high - low)), turnover_low + int(share * (turnover_high - turnover_low))

    def _company_name(self) -> str:
        rng = self.ctx.rng
        return rng.choice(NAME_STEMS) + rng.choice(NAME_ENDINGS)

    # --- people -------------------------------------------------------------------------------

    def register_staff(self) -> None:
        """Each partner's cluster managers and staff, who run and attend the trainings."""
        for index, partner in enumerate(PARTNERS):
            day = ordinal(2025, 1, 2 + index)
            for number in range(12 * self.ctx.population):
                role = "cluster_manager" if number % 12 < 2 else "cluster_staff"
                person = self._register_participant(day, index, partner.org_id, role)
                self._pending_staff.append((index, person))

    def _register_participant(self, day: int, index: int, org_id: str, role: str) -> Person:
        ctx = self.ctx
        self._participants += 1
        # An odd multiplier is a bijection modulo 2^32: unique ids that reveal no order.
        participant_id = f"p-{(self._participants * 2654435761) & 0xFFFFFFFF:08x}"
        recorder = PARTNERS[index].org_id
        ctx.schedule.add(
            "ParticipantRegistered",
            day,
            {
                "participant_id": participant_id,
                "org_id": org_id,
                "role": role,
                "gender": ctx.rng.choice(_GENDERS),
            },
            recorder,
            WP_MANAGEMENT,
        )
        self._consent(day, participant_id, recorder, "activity_monitoring", "consent")
        if ctx.rng.random() < (0.4 if role.startswith("cluster") else 0.2):
            self._consent(day, participant_id, recorder, "media", "consent")
            ctx.media_consents.append((participant_id, recorder))
        return participant_id, org_id

    def _consent(self, day: int, participant_id: str, recorder: str, purpose: str, basis: str) -> None:
        self.ctx.schedule.add(
            "ConsentRecorded",
            day,
            {"participant_id": participant_id, "purpose": purpose, "basis": basis, "date": iso(day)},
            recorder,
            WP_MANAGEMENT,
        )

    # --- admission ----------------------------------------------------------------------------

    def admit(self, founding: bool = False) -> None:
        """Let activities name everyone registered so far."""
        ctx = self.ctx
        for index, person in self._pending_staff:
            ctx.staff[index].append(person)
        new_visitors: list[str] = []
        for index, org_id, people in self._pending_members:
            ctx.members[index].append(org_id)
            ctx.member_staff[index].extend(people)
            if ctx.orgs[org_id].org_type == "SME":
                ctx.smes[index].append(org_id)
                new_visitors.append(org_id)
        ctx.rng.shuffle(new_visitors)
        ctx.visitors.extend(new_visitors)
        if founding:
            # Partner clusters visit too, but not all in the first five exchanges.
            head = ctx.visitors[:15]
            ctx.rng.shuffle(head)
            ctx.visitors[:15] = head
            ctx.founding_member_staff = [len(pool) for pool in ctx.member_staff]
        self._pending_staff.clear()
        self._pending_members.clear()
