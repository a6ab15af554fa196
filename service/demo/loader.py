"""Loading the demo into a project through the Recorder, in idempotent batches."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any, Final

from service.commands import EventCommand
from service.demo.programme import demo_commands, demo_registration

DEMO_ACTOR: Final[dict[str, str]] = {"actor": "demo-loader", "actor_role": "admin"}


def batches(commands: Iterable[EventCommand], size: int) -> Iterator[list[EventCommand]]:
    """Consecutive lists of ``size`` commands (the last one shorter)."""
    batch: list[EventCommand] = []
    for command in commands:
        batch.append(command)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


async def load_demo(
    recorder: Any,
    project_id: str = "demo",
    scale: int = 1,
    batch_size: int = 1000,
    progress: Callable[[int], None] | None = None,
) -> int:
    """Create the demo project (unless it exists) and record its events; returns how many were sent.

    Each batch carries the idempotency key ``demo-<scale>-<batch size>-<batch number>`` and deterministic
    event ids, so loading again (or resuming an interrupted load) appends nothing twice.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    # False means the project exists already: its registration is in place, carry on.
    await recorder.create_project(project_id, demo_registration(project_id), actor=DEMO_ACTOR)
    sent = 0
    for number, batch in enumerate(batches(demo_commands(scale), batch_size)):
        await recorder.record(
            project_id, batch, actor=DEMO_ACTOR, idempotency_key=f"demo-{scale}-{batch_size}-{number}"
        )
        sent += len(batch)
        if progress is not None:
            progress(sent)
    return sent
