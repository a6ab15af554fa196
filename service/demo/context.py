"""What every part of the demo generator shares: the random source, the schedule, the cast in
play and how much activity a scale asks for."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

from service.demo.schedule import Schedule

# Scale 1 is the realistic demo (a few thousand events). A benchmark needs far more activity
# than a linear multiple of that gives (scale 100 must reach a million events), so each step
# beyond 1 adds this many demo programmes' worth of activity.
ACTIVITY_PER_SCALE_STEP = 10


def activity_multiplier(scale: int) -> int:
    """How many times the scale-1 volume of trainings, coaching, exchanges and outreach to run."""
    return 1 + ACTIVITY_PER_SCALE_STEP * (scale - 1)


def population_multiplier(scale: int) -> int:
    """How many times the scale-1 number of SMEs and staff to register (grows slowly)."""
    return math.isqrt(scale)


def share(total: int, index: int, slots: int) -> int:
    """Slot ``index``'s part of ``total`` spread evenly over ``slots`` slots (parts sum to total)."""
    return total * (index + 1) // slots - total * index // slots


Person = tuple[str, str]  # (participant_id, org_id)
# An SME's baseline answers: turnover, FTE, export turnover, export countries, digital score,
# green measures.
Baseline = tuple[int, float, int, tuple[str, ...], int, tuple[str, ...]]


@dataclass(slots=True)
class Org:
    """What the generator needs to remember about a registered organisation."""

    org_id: str
    org_type: str
    country: str
    lat: float
    lon: float
    partner: int | None  # index of the consortium partner it is, or is a member of
    partnership: str | None  # the ClusterXchange partnership it visits under
    size_class: str
    headcount: int
    turnover: int


@dataclass(slots=True)
class DemoContext:
    """The state of one generation run."""

    rng: random.Random
    schedule: Schedule
    scale: int
    activity: int
    population: int
    orgs: dict[str, Org] = field(default_factory=dict)
    # Per partner index: who activities may name (admitted once their registration is out).
    staff: list[list[Person]] = field(default_factory=list)
    member_staff: list[list[Person]] = field(default_factory=list)
    members: list[list[str]] = field(default_factory=list)
    smes: list[list[str]] = field(default_factory=list)
    # How many of member_staff[p] belonged to founding members (registered in January 2025).
    founding_member_staff: list[int] = field(default_factory=list)
    # Clustered organisations in line to visit; ClusterXchange lets an organisation visit once.
    visitors: list[str] = field(default_factory=list)
    next_visitor: int = 0
    # The SMEs of the survey panel, with their baseline figures (see survey.py).
    panel: dict[str, Baseline] = field(default_factory=dict)
    # Participants who consented to media use, with the partner that recorded them.
    media_consents: list[Person] = field(default_factory=list)
    # SMEs whose size class changed during the project: org_id -> new class.
    resized: dict[str, str] = field(default_factory=dict)
