"""The KPI result cache computes each value once, however many requests ask for it at once."""

from __future__ import annotations

import asyncio
import threading

import pytest

from service.indicators_api import ResultCache


async def test_concurrent_requests_for_one_value_compute_it_once() -> None:
    cache = ResultCache()
    calls = 0
    release = threading.Event()

    def compute() -> str:
        nonlocal calls
        calls += 1
        release.wait(5)
        return "table"

    waiters = [asyncio.create_task(cache.get(("demo", 10), compute)) for _ in range(5)]
    await asyncio.sleep(0.05)
    release.set()
    assert await asyncio.gather(*waiters) == ["table"] * 5
    assert calls == 1
    assert await cache.get(("demo", 10), compute) == "table" and calls == 1


async def test_a_waiter_that_goes_away_does_not_cancel_the_computation_for_the_others() -> None:
    cache = ResultCache()
    release = threading.Event()

    def compute() -> int:
        release.wait(5)
        return 42

    first = asyncio.create_task(cache.get(("k",), compute))
    second = asyncio.create_task(cache.get(("k",), compute))
    await asyncio.sleep(0.05)
    first.cancel()
    release.set()
    assert await second == 42
    with pytest.raises(asyncio.CancelledError):
        await first


async def test_a_failed_computation_reaches_every_waiter_and_is_not_kept() -> None:
    cache = ResultCache()
    attempts = 0

    def failing() -> int:
        nonlocal attempts
        attempts += 1
        raise ValueError("engine refused")

    results = await asyncio.gather(
        cache.get(("bad",), failing), cache.get(("bad",), failing), return_exceptions=True
    )
    assert all(isinstance(r, ValueError) for r in results) and attempts == 1
    assert await cache.get(("bad",), lambda: 7) == 7


async def test_the_oldest_value_is_dropped_beyond_the_size() -> None:
    cache = ResultCache(size=2)
    for position in (1, 2, 3):
        await cache.get((position,), lambda p=position: p)
    calls = []
    assert await cache.get((1,), lambda: calls.append(1) or 1) == 1
    assert calls == [1]
