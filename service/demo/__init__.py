"""The demo project: a deterministic, realistic 24-month cluster partnership (``impactlog demo``).

Five cluster organisations in five countries (Podkarpackie a less developed region), ~300 SME
members, ~60 cluster staff, trainings with feedback, coaching, outreach, ~40 ClusterXchange
exchanges through their lifecycle (a few cancelled, a few hosted for other partnerships),
agreements, strategy milestones, ESCA labels, three survey waves, baselines and targets for
every KPI, corrections, a retraction, and late entries through a reopened period.

    registration = demo_registration("demo")          # the ProjectRegistered command
    for command in demo_commands(scale=1, seed=2025):   # everything else, in append order
        ...
    sent = await load_demo(recorder, "demo", scale=100)  # through the Recorder, in batches

``scale`` N runs ``activity_multiplier(N)`` times the activity (N=100: over a million events).
"""

from service.demo.context import activity_multiplier, population_multiplier
from service.demo.loader import DEMO_ACTOR, load_demo
from service.demo.programme import demo_commands, demo_registration

__all__ = [
    "DEMO_ACTOR",
    "activity_multiplier",
    "demo_commands",
    "demo_registration",
    "load_demo",
    "population_multiplier",
]
