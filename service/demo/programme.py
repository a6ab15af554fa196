"""The demo partnership from registration to the last month: a pure, seeded generator.

``demo_registration`` is the ProjectRegistered command; ``demo_commands`` yields every other
event in an order a validator accepts: reference data before what names it, each exchange's
lifecycle in order, nothing dated in a signed-off period except through a reopening.
"""

from __future__ import annotations

import contextlib
import gc
import random
import uuid
from collections.abc import Iterator

from service.commands import EventCommand
from service.demo.activities import Coaching, Outreach, Trainings
from service.demo.cast import CALL_ID, COORDINATOR, GRANT_NO, PARTNER_IDS, PARTNERS, PARTNERSHIP_ID
from service.demo.consortium import Registrar
from service.demo.context import DemoContext, activity_multiplier, population_multiplier, share
from service.demo.dates import MONTHS, PROJECT_END, PROJECT_START, month_bounds, working_day_between
from service.demo.exchanges import Exchanges
from service.demo.governance import Administration, schedule_partnership_results
from service.demo.indicators import schedule_results_framework
from service.demo.schedule import Schedule
from service.demo.survey import Survey

# Seeds the ProjectRegistered event id, so re-creating the demo project is recognised.
_REGISTRATION_NAMESPACE = uuid.UUID("6f1d3c2e-5b7a-4e8f-9a0b-1c2d3e4f5a6b")


def demo_registration(project_id: str = "demo") -> EventCommand:
    """The ProjectRegistered command of the demo: 24 months, P1 interim and P2 final, 5 partners."""
    return EventCommand(
        type="ProjectRegistered",
        occurred_on=PROJECT_START,
        data={
            "grant_no": GRANT_NO,
            "call_id": CALL_ID,
            "start_date": PROJECT_START.isoformat(),
            "end_date": PROJECT_END.isoformat(),
            "reporting_periods": [
                {"period_id": "P1", "start": "2025-01-01", "end": "2025-12-31", "kind": "interim"},
                {"period_id": "P2", "start": "2026-01-01", "end": "2026-12-31", "kind": "final"},
            ],
            "partnership_id": PARTNERSHIP_ID,
            "partners": list(PARTNER_IDS),
        },
        partner_org_id=COORDINATOR.org_id,
        event_id=uuid.uuid5(_REGISTRATION_NAMESPACE, project_id),
        work_package="WP1",
    )


def demo_commands(scale: int = 1, seed: int = 2025) -> Iterator[EventCommand]:
    """Every event of the demo after the registration, in a valid append order.

    ``scale`` multiplies the activity (see ``activity_multiplier``) and, more slowly, the SMEs
    and staff; the same (scale, seed) always yields the same commands, event ids included.
    """
    if scale < 1:
        raise ValueError(f"scale must be at least 1, got {scale}")
    ctx = DemoContext(
        rng=random.Random(seed),
        # Ids come from their own generator so they differ between scales but not between runs.
        schedule=Schedule(random.Random(f"impactlog-demo-event-ids:{seed}:{scale}")),
        scale=scale,
        activity=activity_multiplier(scale),
        population=population_multiplier(scale),
    )
    with _collector_paused():
        registrar = Registrar(ctx)
        registrar.register_partners()
        registrar.register_external()
        registrar.register_staff()
        registrar.register_founding_members()
        schedule_results_framework(ctx)
        schedule_partnership_results(ctx)
        registrar.admit(founding=True)
        trainings = Trainings(ctx)
        coaching = Coaching(ctx)
        exchanges = Exchanges(ctx)
        outreach = Outreach(ctx)
        survey = Survey(ctx)
        administration = Administration(ctx, trainings, coaching)
    for index in range(MONTHS):
        first, last = month_bounds(index)
        with _collector_paused():
            if 1 <= index <= 13:
                # A fifth of the SMEs join during the first year.
                for partner in range(len(PARTNERS)):
                    for _ in range(share(12 * ctx.population, index - 1, 13)):
                        registrar.register_sme(partner, working_day_between(ctx.rng, first, last))
            trainings.month(index, first, last)
            coaching.month(index, first, last)
            exchanges.month(index, first, last)
            outreach.month(index, first, last)
            survey.month(index)
            administration.month(index)
        yield from ctx.schedule.release(last + 1)
        registrar.admit()
    # Nothing is scheduled after the project end; release defensively all the same.
    yield from ctx.schedule.release(PROJECT_END.toordinal() + 3650)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a month is generated.

    Generation allocates hundreds of thousands of small dicts that hold no reference cycles
    (reference counting frees them), yet each allocation burst makes the collector rescan every
    pending command: pausing it halves the generation time at benchmark scales. The consumer's
    code between yields runs with the collector as it found it.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()
