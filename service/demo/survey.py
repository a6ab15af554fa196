"""The SME survey panel behind I1–I6: a baseline wave in spring 2025, a midline in late 2025 and
an endline in autumn 2026, with attrition, late joiners answering only the endline, a few
re-submitted answers, and SMEs that outgrow their size class.
"""

from __future__ import annotations

import random
from typing import Any

from service.demo.cast import EXPORT_MARKETS, PARTNERS, SURVEY_ID
from service.demo.context import Baseline, DemoContext, Org
from service.demo.dates import ordinal, working_day_between

WP_IMPACT = "WP5"

GREEN_MEASURES = (
    "energy_efficiency", "renewable_energy", "circular_economy", "waste_reduction",
    "sustainable_sourcing", "emissions_monitoring", "eco_design", "environmental_certification",
)  # fmt: skip
# (first day, last day, project month in which the wave is generated, financial year asked about)
WAVES = {
    "baseline": (ordinal(2025, 3, 3), ordinal(2025, 4, 30), 2, 2024),
    "midline": (ordinal(2025, 11, 3), ordinal(2025, 12, 12), 10, 2025),
    "endline": (ordinal(2026, 9, 14), ordinal(2026, 11, 27), 20, 2026),
}
_EXPORT_PROPENSITY = {"micro": 0.25, "small": 0.45, "medium": 0.65}
_DIGITAL_RANGE = {"micro": (15, 60), "small": (25, 70), "medium": (35, 80)}
# Lower bounds of headcount and turnover an SME reaches when it grows into a class.
_CLASS_FLOOR = {"small": (10.5, 2_200_000), "medium": (52.0, 10_800_000), "large": (262.0, 52_000_000)}
_GROWTH = (("micro", "small"), ("small", "medium"), ("medium", "large"))


class Survey:
    """Generates each wave in its month, remembering the baseline answers of the panel."""

    def __init__(self, ctx: DemoContext) -> None:
        self.ctx = ctx
        self._midline_investment: dict[str, int] = {}

    def month(self, index: int) -> None:
        """The wave (or the size-class changes) that falls in project month ``index``."""
        if index == WAVES["baseline"][2]:
            self.baseline()
        elif index == WAVES["midline"][2]:
            self.midline()
        elif index == WAVES["endline"][2]:
            self.endline()
        elif index == 14:
            self._size_class_changes(ordinal(2026, 3, 2), ordinal(2026, 3, 31))

    def _respond(self, wave: str, org: Org, answers: dict[str, Any], *, again: bool = False) -> None:
        first, last, _, ref_year = WAVES[wave]
        rng = self.ctx.rng
        day = working_day_between(rng, first, last)
        assert org.partner is not None
        data = {"survey_id": SURVEY_ID, "wave": wave, "org_id": org.org_id, "ref_year": ref_year, **answers}
        recorder = PARTNERS[org.partner].org_id
        self.ctx.schedule.add("SMESurveyResponseRecorded", day, data, recorder, WP_IMPACT)
        if again:
            # The SME re-submits after checking its accounts; the last response counts.
            fixed = {**data, "turnover_eur": str(int(int(data["turnover_eur"]) * rng.uniform(0.97, 1.03)))}
            fixed["export_turnover_eur"] = str(
                min(int(data["export_turnover_eur"]), int(fixed["turnover_eur"]))
            )
            self.ctx.schedule.add(
                "SMESurveyResponseRecorded", day + rng.randint(3, 12), fixed, recorder, WP_IMPACT
            )

    def baseline(self) -> None:
        """Three in four member SMEs answer the baseline; their figures seed the panel."""
        ctx = self.ctx
        rng = ctx.rng
        for pool in ctx.smes:
            for org_id in pool:
                if rng.random() >= 0.75:
                    continue
                org = ctx.orgs[org_id]
                turnover = int(org.turnover * rng.uniform(0.9, 1.05))
                fte = round(org.headcount * rng.uniform(0.85, 1.0), 1) or 0.5
                exporter = rng.random() < _EXPORT_PROPENSITY[org.size_class]
                markets = tuple(rng.sample(_markets_for(org), rng.randint(1, 6))) if exporter else ()
                export_turnover = int(turnover * rng.uniform(0.05, 0.6)) if exporter else 0
                digital = rng.randint(*_DIGITAL_RANGE[org.size_class])
                green = tuple(rng.sample(GREEN_MEASURES, rng.choice((0, 0, 1, 1, 2, 3))))
                ctx.panel[org_id] = (turnover, fte, export_turnover, markets, digital, green)
                new_products = rng.choice((0, 0, 0, 1, 1, 2))
                answers = _answers(
                    turnover,
                    fte,
                    export_turnover,
                    markets,
                    new_products,
                    rng.random() < 0.3,
                    digital,
                    green,
                    0,
                    0.0,
                )
                self._respond("baseline", org, answers)

    def midline(self) -> None:
        """Three in five of the panel answer halfway; the midline feeds no impact KPI."""
        ctx = self.ctx
        rng = ctx.rng
        for org_id, base in ctx.panel.items():
            if rng.random() >= 0.6:
                continue
            invested = _investment(rng, 0.15)
            self._midline_investment[org_id] = invested
            self._respond("midline", ctx.orgs[org_id], self._changed(base, 0.5, invested, org_id))

    def endline(self) -> None:
        """Most of the panel answers the endline, plus some late joiners outside the panel."""
        ctx = self.ctx
        rng = ctx.rng
        resubmissions = 2 * ctx.population
        for org_id, base in ctx.panel.items():
            if rng.random() >= 0.85:
                continue
            invested = max(self._midline_investment.get(org_id, 0), _investment(rng, 0.25))
            again = resubmissions > 0 and rng.random() < 0.05
            resubmissions -= again
            self._respond(
                "endline", ctx.orgs[org_id], self._changed(base, 1.0, invested, org_id), again=again
            )
        for pool in ctx.smes:
            for org_id in pool:
                if org_id not in ctx.panel and rng.random() < 0.25:
                    org = ctx.orgs[org_id]
                    fte = float(max(org.headcount, 1))
                    digital = rng.randint(*_DIGITAL_RANGE.get(org.size_class, (30, 70)))
                    self._respond(
                        "endline", org, _answers(org.turnover, fte, 0, (), 0, False, digital, (), 0, 0.0)
                    )

    def _changed(self, base: Baseline, years: float, invested: int, org_id: str) -> dict[str, Any]:
        """A later wave's answers: the baseline moved on by ``years`` of (mostly positive) change."""
        rng = self.ctx.rng
        turnover, fte, export_turnover, markets, digital, green = base
        growth = min(max(rng.gauss(0.07, 0.12), -0.4), 0.8) * years
        turnover = int(turnover * (1 + growth))
        fte = max(round(fte * (1 + min(max(rng.gauss(0.03, 0.08), -0.3), 0.5) * years), 1), 0.5)
        grown = self.ctx.resized.get(org_id)
        if grown in _CLASS_FLOOR and years >= 1:
            fte, turnover = max(fte, _CLASS_FLOOR[grown][0]), max(turnover, _CLASS_FLOOR[grown][1])
        new_markets = list(markets)
        if rng.random() < 0.25 * years:
            options = [market for market in _markets_for(self.ctx.orgs[org_id]) if market not in markets]
            new_markets.extend(rng.sample(options, rng.randint(1, 2)))
        export_turnover = int(export_turnover * (1 + growth)) if markets else 0
        if new_markets and not markets:
            export_turnover = int(turnover * rng.uniform(0.02, 0.1))
        if rng.random() < 0.3 * years:
            digital = min(100, digital + rng.randint(3, 15))
        new_green = list(green)
        if rng.random() < 0.25 * years:
            new_green.extend(rng.sample([m for m in GREEN_MEASURES if m not in green], 1))
        changed = invested > 0 or len(new_markets) > len(markets) or len(new_green) > len(green)
        attribution = round(rng.uniform(0.05, 0.5), 2) if changed else round(rng.uniform(0.0, 0.1), 2)
        return _answers(
            turnover,
            fte,
            min(export_turnover, turnover),
            tuple(new_markets),
            rng.choice((1, 1, 1, 2, 3)) if rng.random() < 0.25 * years else 0,
            rng.random() < 0.15 * years,
            digital,
            tuple(new_green),
            invested,
            attribution,
        )

    def _size_class_changes(self, first: int, last: int) -> None:
        """After the 2025 accounts, a few panel SMEs move up a class (one leaves the SME range)."""
        ctx = self.ctx
        rng = ctx.rng
        for old, new in _GROWTH:
            candidates = [
                org_id
                for org_id in ctx.panel
                if ctx.orgs[org_id].size_class == old and org_id not in ctx.resized
            ]
            for org_id in rng.sample(candidates, min(ctx.population, len(candidates))):
                org = ctx.orgs[org_id]
                org.size_class = new
                ctx.resized[org_id] = new
                assert org.partner is not None
                ctx.schedule.add(
                    "OrganisationSizeClassChanged",
                    working_day_between(rng, first, last),
                    {
                        "org_id": org_id,
                        "size_class": new,
                        "reference_year": 2025,
                        "basis": "turnover" if rng.random() < 0.7 else "balance_sheet",
                    },
                    PARTNERS[org.partner].org_id,
                    WP_IMPACT,
                )


def _markets_for(org: Org) -> list[str]:
    return [market for market in EXPORT_MARKETS if market != org.country]


def _investment(rng: random.Random, chance: float) -> int:
    """Investment raised since the baseline: most SMEs raise none, a few raise a lot."""
    if rng.random() >= chance:
        return 0
    return int(rng.triangular(20_000, 400_000, 40_000) // 1000 * 1000)


def _answers(
    turnover: int,
    fte: float,
    export_turnover: int,
    markets: tuple[str, ...],
    new_products: int,
    process_innovation: bool,
    digital: int,
    green: tuple[str, ...],
    invested: int,
    attribution: float,
) -> dict[str, Any]:
    return {
        "turnover_eur": str(turnover),
        "employees_fte": f"{fte:.1f}",
        "export_turnover_eur": str(export_turnover),
        "export_countries": list(markets),
        "new_products": new_products,
        "process_innovation": process_innovation,
        "digital_score": digital,
        "green_measures": list(green),
        "investment_raised_eur": str(invested),
        "attribution_share": f"{attribution:.2f}",
    }
