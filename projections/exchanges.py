"""Read model: ClusterXchange exchanges with their lifecycle folded in — status, actual dates,
the latest closing report, lump sums — and whether the exchange counts for this project
(DOMAIN.md (f) "The VOP rule": vop_id equals the project's partnership_id; cancelled never counts).

Keyed by exchange_id: the registration and every lifecycle event, so retracting the registration
voids the lifecycle as the KPI engine does. The project's registration sits under PROJECT_KEY and
is every exchange's context (its partnership_id); when it changes, every exchange is derived again.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Sequence
from decimal import Decimal

import msgspec

from events.catalog import (
    CommitmentToQualitySigned,
    EventPayload,
    ExchangeCancelled,
    ExchangeClosingReportSubmitted,
    ExchangeCompleted,
    ExchangeRegistered,
    LumpSumPaid,
    ProjectRegistered,
)
from events.connection import Connection
from events.entries import LiveEvent, LogEntry
from projections.keyed import DerivedTable, KeyedProjection, KeyView, Row, of_type
from projections.sources import all_keys

# Not an exchange id: ids carry no whitespace.
PROJECT_KEY = "project registration"

_LIFECYCLE = (
    CommitmentToQualitySigned,
    ExchangeCompleted,
    ExchangeClosingReportSubmitted,
    LumpSumPaid,
    ExchangeCancelled,
)
_EXCHANGE_EVENTS = (ExchangeRegistered, *_LIFECYCLE)


class ExchangeRow(msgspec.Struct, frozen=True, kw_only=True):
    """A row of `exchanges`."""

    exchange_id: str
    vo_org_id: str
    ho_org_id: str
    vop_id: str
    hop_id: str
    partner_org_id: str | None
    status: str
    counted: bool
    registered_on: dt.date
    planned_start: dt.date | None
    planned_end: dt.date | None
    actual_start: dt.date | None
    actual_end: dt.date | None
    working_days: int | None
    mode: str | None
    distance_km: int | None
    satisfaction_vo: int | None
    satisfaction_ho: int | None
    objectives_met: str | None
    closing_reports: int
    lump_sums_eur: Decimal
    payments: int
    cancel_reason: str | None
    position: int
    event_id: uuid.UUID


def exchange_rows(events: Sequence[LiveEvent[EventPayload]], project: ProjectRegistered | None) -> list[Row]:
    """One exchange's row from its live events; none while it has no live registration."""
    registrations = of_type(events, ExchangeRegistered)
    if not registrations:
        return []
    # A second live registration of one exchange id replaces the first, as in the KPI engine.
    registration = registrations[-1]
    commitments = of_type(events, CommitmentToQualitySigned)
    completions = of_type(events, ExchangeCompleted)
    reports = of_type(events, ExchangeClosingReportSubmitted)
    payments = of_type(events, LumpSumPaid)
    cancellations = of_type(events, ExchangeCancelled)
    # The last of each counts; one cancellation cancels.
    commitment = commitments[-1].payload if commitments else None
    completion = completions[-1].payload if completions else None
    report = reports[-1].payload if reports else None
    r = registration.payload
    paid_by_project = project is not None and r.vop_id == project.partnership_id
    return [
        ExchangeRow(
            exchange_id=r.exchange_id,
            vo_org_id=r.vo_org_id,
            ho_org_id=r.ho_org_id,
            vop_id=r.vop_id,
            hop_id=r.hop_id,
            partner_org_id=registration.partner_org_id,
            status="cancelled" if cancellations else "completed" if completion else "registered",
            counted=paid_by_project and not cancellations,
            registered_on=registration.occurred_on,
            planned_start=commitment.planned_start if commitment else None,
            planned_end=commitment.planned_end if commitment else None,
            actual_start=completion.actual_start if completion else None,
            actual_end=completion.actual_end if completion else None,
            working_days=completion.working_days if completion else None,
            mode=completion.mode if completion else None,
            distance_km=completion.distance_km if completion else None,
            satisfaction_vo=report.satisfaction_vo if report else None,
            satisfaction_ho=report.satisfaction_ho if report else None,
            objectives_met=report.objectives_met if report else None,
            closing_reports=len(reports),
            lump_sums_eur=sum((p.payload.amount_eur for p in payments), Decimal(0)),
            payments=len(payments),
            cancel_reason=cancellations[0].payload.reason if cancellations else None,
            position=registration.position,
            event_id=registration.event_id,
        )
    ]


class ExchangesProjection(KeyedProjection):
    """exchanges."""

    name = "exchanges"
    version = 1
    sources_table = "exchange_sources"
    derived = (DerivedTable(name="exchanges", row_type=ExchangeRow, key_column="exchange_id"),)
    event_types = frozenset({"ProjectRegistered", *(kind.__name__ for kind in _EXCHANGE_EVENTS)})
    context_keys = frozenset({PROJECT_KEY})

    def key_of(self, entry: LogEntry) -> str | None:
        """The exchange_id of an exchange event; PROJECT_KEY for the project's registration."""
        payload = entry.payload
        if isinstance(payload, ProjectRegistered):
            return PROJECT_KEY
        if isinstance(payload, _EXCHANGE_EVENTS):
            return payload.exchange_id
        return None

    def carried_activity(self, payload: EventPayload) -> str | None:
        """A registration carries its exchange_id, which the lifecycle events name."""
        return payload.exchange_id if isinstance(payload, ExchangeRegistered) else None

    def depends_on(self, payload: EventPayload, activity_id: str) -> bool:
        """Lifecycle events die with the last live registration of their exchange."""
        return isinstance(payload, _LIFECYCLE) and payload.exchange_id == activity_id

    def rows(self, view: KeyView) -> list[Row]:
        """The exchange's row, counted against the project's partnership."""
        if view.key == PROJECT_KEY:
            return []
        projects = of_type(view.context, ProjectRegistered)
        return exchange_rows(view.live, projects[-1].payload if projects else None)

    async def keys_to_derive(self, connection: Connection, project_id: str, dirty: set[str]) -> set[str]:
        """Every exchange when the project's registration changed (its partnership_id decides)."""
        if PROJECT_KEY in dirty:
            return dirty | await all_keys(connection, self.sources_table, project_id)
        return dirty
