"""Prometheus metrics of the event log, in one registry per app."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
BATCH_BUCKETS = (1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096)


class LogMetrics:
    """Counters and histograms the append path feeds through its group observer."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.events_appended = Counter(
            "impactlog_events_appended",
            "Events appended to project logs",
            ["project"],
            registry=self.registry,
        )
        self.append_requests = Counter(
            "impactlog_append_requests",
            "Append requests decided (committed, replayed or refused)",
            ["project"],
            registry=self.registry,
        )
        self.group_seconds = Histogram(
            "impactlog_append_group_seconds",
            "Time to commit one group of appends",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.group_requests = Histogram(
            "impactlog_append_group_requests",
            "Requests coalesced into one transaction",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.group_events = Histogram(
            "impactlog_append_group_events",
            "Events written by one transaction",
            buckets=BATCH_BUCKETS,
            registry=self.registry,
        )
        self.request_seconds = Histogram(
            "impactlog_append_request_seconds",
            "Latency of one append request, queue included",
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )

    def observe_group(self, project: str, events: int, requests: int, seconds: float) -> None:
        """The event store's report after each group."""
        self.events_appended.labels(project).inc(events)
        self.append_requests.labels(project).inc(requests)
        self.group_seconds.observe(seconds)
        self.group_requests.observe(requests)
        self.group_events.observe(events)

    def observe_request(self, project: str, seconds: float) -> None:
        """The event store's per-request latency report."""
        self.request_seconds.observe(seconds)

    def render(self) -> bytes:
        """The Prometheus text exposition."""
        return generate_latest(self.registry)
