"""Read models folded from the log by checkpointed runners (docs/architecture.md, "Projections").

    service = ProjectionService(pool)            # every default projection
    await service.start(); …; await service.stop()
    await service.status()                       # checkpoint, head, lag, events/s, stalled
    await replay(pool, "demo", "exchanges", progress=callback)   # rebuild from zero, swap in

Read models (tables keyed by project_id first): organisations + organisation_size_classes,
participants, exchanges, activities + activity_attendance, survey_responses. Each is a keyed
projection (keyed.py): its rows for a key are a pure function of that key's live events, folded
with the KPI engine's rules for corrections and retractions (ledger.py).
"""

from __future__ import annotations

from projections.activities import ActivitiesProjection
from projections.exchanges import ExchangesProjection
from projections.keyed import KeyedProjection
from projections.organisations import OrganisationsProjection
from projections.participants import ParticipantsProjection
from projections.replay import ReplayProgress, ReplayResult, UnknownProject, rebuild, replay
from projections.runner import Projection, ProjectionRunner, ProjectionService, ProjectionStatus
from projections.survey import SurveyProjection


def default_projections() -> list[Projection]:
    """One instance of every read model the service keeps."""
    return [
        OrganisationsProjection(),
        ParticipantsProjection(),
        ExchangesProjection(),
        ActivitiesProjection(),
        SurveyProjection(),
    ]


__all__ = [
    "ActivitiesProjection",
    "ExchangesProjection",
    "KeyedProjection",
    "OrganisationsProjection",
    "ParticipantsProjection",
    "Projection",
    "ProjectionRunner",
    "ProjectionService",
    "ProjectionStatus",
    "ReplayProgress",
    "ReplayResult",
    "SurveyProjection",
    "UnknownProject",
    "default_projections",
    "rebuild",
    "replay",
]
