"""Python's cyclic garbage collector paused while a large log is decoded, folded or measured (the
KPI engine, a projection rebuilt from zero).

Folding a million events allocates millions of small objects that all stay alive until the
result is built; each allocation burst triggers a collection that walks every one of them, which
more than halves the engine's speed. Nothing the engine allocates forms a cycle that must be
freed early, so the collector is paused for the evaluation and resumed after (nested and
concurrent evaluations share one pause; the last one out resumes it).
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections.abc import Iterator


class _Pause:
    """How many evaluations are running, and whether the collector was on before the first."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.holders = 0
        self.resume = False


_PAUSE = _Pause()


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """The collector off while the block runs (when it was on), back on once no block runs."""
    with _PAUSE.lock:
        if _PAUSE.holders == 0:
            _PAUSE.resume = gc.isenabled()
            gc.disable()
        _PAUSE.holders += 1
    try:
        yield
    finally:
        with _PAUSE.lock:
            _PAUSE.holders -= 1
            if _PAUSE.holders == 0 and _PAUSE.resume:
                gc.enable()
