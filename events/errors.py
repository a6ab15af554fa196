"""Every way an append or a read can be refused; the service maps each to one HTTP status."""

from __future__ import annotations


class EventStoreError(Exception):
    """Base of every error the event store raises on purpose."""


class ProjectNotFound(EventStoreError):
    """The project has no log (it was never created)."""

    def __init__(self, project_id: str) -> None:
        super().__init__(f"project {project_id!r} does not exist")
        self.project_id = project_id


class ProjectAlreadyExists(EventStoreError):
    """A log for this project id exists already."""

    def __init__(self, project_id: str) -> None:
        super().__init__(f"project {project_id!r} already exists")
        self.project_id = project_id


class WrongExpectedVersion(EventStoreError):
    """Optimistic concurrency: the stream is not at the version the writer expected."""

    def __init__(self, stream_id: str, expected: int, actual: int, index: int) -> None:
        super().__init__(f"stream {stream_id!r} is at version {actual}, the append expected {expected}")
        self.stream_id = stream_id
        self.expected = expected
        self.actual = actual
        self.index = index


class IdempotencyKeyReused(EventStoreError):
    """The idempotency key was used before for a request with different content."""

    def __init__(self, key: str) -> None:
        super().__init__(
            f"idempotency key {key!r} was already used for a different request; use a new key for new content"
        )
        self.key = key


class DuplicateEventId(EventStoreError):
    """An event id in the request is already in the log with different content."""

    def __init__(
        self, event_id: str, index: int, *, within_request: bool = False, reason: str | None = None
    ) -> None:
        where = "twice in one request" if within_request else "already in the log with different content"
        super().__init__(reason or f"event id {event_id} is {where}")
        self.event_id = event_id
        self.index = index


class AppendOutcomeUnknown(EventStoreError):
    """The connection broke around COMMIT: the append may or may not be in the log.

    Retrying with the same idempotency key (or the same event ids) is always safe.
    """


class EventRejected(EventStoreError):
    """The log's current state does not admit an event (a domain rule, checked under the head lock).

    `problems` are (index of the event in its request, field path, message).
    """

    def __init__(self, problems: list[tuple[int, str, str]]) -> None:
        first = problems[0]
        super().__init__(f"event {first[0]}: {first[1]}: {first[2]}")
        self.problems = problems
