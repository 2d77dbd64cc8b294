"""The business-gauge refresher: refreshes when its marker moves (and when the values grow old),
keeps going after a failed refresh, and spaces slow refreshes out."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from prometheus_client import CollectorRegistry

from jemput.shared.gauges import GaugeRefresher, events_applied_total
from jemput.shared.metrics import MessagingMetrics


async def run_for(refresher: GaugeRefresher, seconds: float, during: Callable[[], None]) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(refresher.run(stop))
    await asyncio.sleep(seconds / 2)
    during()
    await asyncio.sleep(seconds / 2)
    stop.set()
    await asyncio.wait_for(task, 1)


async def test_refreshes_at_start_and_when_the_marker_moves_only() -> None:
    calls: list[int] = []
    marker = [0]

    async def refresh() -> None:
        calls.append(marker[0])

    registry = CollectorRegistry()
    refresher = GaugeRefresher(
        refresh, registry, marker=lambda: marker[0], min_interval=0.01, max_age=60
    )

    def move() -> None:
        marker[0] = 1

    await run_for(refresher, 0.3, move)
    assert calls == [0, 1]
    stamp = registry.get_sample_value("jemput_business_gauges_refreshed_timestamp_seconds")
    assert stamp is not None and stamp > 0


async def test_without_a_marker_it_polls_and_a_failure_is_retried() -> None:
    outcomes = iter([RuntimeError("database away"), None, None, None, None, None])
    calls = 0

    async def refresh() -> None:
        nonlocal calls
        calls += 1
        failure = next(outcomes, None)
        if failure is not None:
            raise failure

    registry = CollectorRegistry()
    refresher = GaugeRefresher(refresh, registry, min_interval=0.02)
    await run_for(refresher, 0.2, lambda: None)
    assert calls >= 3
    assert registry.get_sample_value("jemput_business_gauges_refreshed_timestamp_seconds")


async def test_a_slow_refresh_is_spaced_out_to_its_share_of_the_time() -> None:
    calls = 0

    async def refresh() -> None:
        nonlocal calls
        calls += 1
        await asyncio.sleep(0.05)

    # 0.05 s each at a 25% share: one refresh per 0.2 s at most after the first (warm-up) two.
    refresher = GaugeRefresher(refresh, CollectorRegistry(), min_interval=0.01, cost_share=0.25)
    await run_for(refresher, 0.5, lambda: None)
    assert 2 <= calls <= 4


def test_events_applied_total_sums_every_event_type() -> None:
    metrics = MessagingMetrics(CollectorRegistry())
    assert events_applied_total(metrics) == 0
    metrics.events_applied.labels("a").inc(2)
    metrics.events_applied.labels("b").inc()
    assert events_applied_total(metrics) == 3
