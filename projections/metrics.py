"""Prometheus metrics of the projections: lag, events/s and health per projection and project.

A collector over the statuses last observed: the /metrics handler awaits
`ProjectionService.status()` (it reads the database), hands it to `observe`, then renders.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from projections.runner import ProjectionStatus

_LABELS = ("projection", "project")


class ProjectionMetrics(Collector):
    """impactlog_projection_* gauges (lag, checkpoint, head, events/s, running, rebuilding, stalled) and
    the events projected by this process, from the last observed statuses."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self._statuses: list[ProjectionStatus] = []
        if registry is not None:
            registry.register(self)

    def observe(self, statuses: Sequence[ProjectionStatus]) -> None:
        """Keep the statuses the next scrape reports."""
        self._statuses = list(statuses)

    def collect(self) -> Iterator[Metric]:
        """The metric families, one sample per projection × project."""
        gauges = {
            "lag": GaugeMetricFamily(
                "impactlog_projection_lag_events", "Log head minus projection checkpoint", labels=_LABELS
            ),
            "checkpoint": GaugeMetricFamily(
                "impactlog_projection_checkpoint", "Last log position folded", labels=_LABELS
            ),
            "head": GaugeMetricFamily("impactlog_projection_log_head", "Log head position", labels=_LABELS),
            "events_per_second": GaugeMetricFamily(
                "impactlog_projection_events_per_second",
                "Events projected by this process per second (10 s window)",
                labels=_LABELS,
            ),
            "behind_seconds": GaugeMetricFamily(
                "impactlog_projection_behind_seconds", "Seconds behind without progress", labels=_LABELS
            ),
            "running": GaugeMetricFamily(
                "impactlog_projection_running", "1 when this process runs the projection", labels=_LABELS
            ),
            "rebuilding": GaugeMetricFamily(
                "impactlog_projection_rebuilding",
                "1 while a rebuild from zero, in any process, reports progress",
                labels=_LABELS,
            ),
            "stalled": GaugeMetricFamily(
                "impactlog_projection_stalled", "1 when behind without progress too long", labels=_LABELS
            ),
        }
        projected = CounterMetricFamily(
            "impactlog_projection_events", "Events projected by this process", labels=_LABELS
        )
        for status in self._statuses:
            labels = [status.projection, status.project_id]
            for field, family in gauges.items():
                family.add_metric(labels, float(getattr(status, field)))
            projected.add_metric(labels, float(status.events_projected))
        yield from gauges.values()
        yield projected
