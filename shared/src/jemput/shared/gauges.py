"""Business gauges (coverage, blanks available) kept off the scrape path.

A scrape must never wait on the database, so a background loop reads the service's own tables
and sets the gauges; `/metrics` only reads what the loop left. The loop refreshes when the
service's data may have changed (`marker` moved, e.g. the consumer applied events or the office
day turned), and at least every `max_age` seconds for changes another process made. However
slow the query gets, it takes at most `cost_share` of the time: a regency-wide count over 800,000
residents is refreshed less often, never more than the database can spare.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field

import structlog
from prometheus_client import CollectorRegistry, Gauge

from jemput.shared.metrics import MessagingMetrics

log = structlog.get_logger(__name__)

_NEVER = object()


def events_applied_total(metrics: MessagingMetrics) -> float:
    """Events this process's consumer has applied so far (all types): moves after each batch."""
    return sum(
        sample.value
        for family in metrics.events_applied.collect()
        for sample in family.samples
        if sample.name.endswith("_total")
    )


@dataclass
class GaugeRefresher:
    """`runtime.workers.append(GaugeRefresher(refresh, registry, marker=...).run)`.

    `refresh` reads the database and sets the gauges; it is called with no lock held and must
    not commit anything. `marker` is cheap and in memory; None refreshes every `min_interval`.
    """

    refresh: Callable[[], Awaitable[None]]
    registry: CollectorRegistry
    marker: Callable[[], Hashable] | None = None
    min_interval: float = 2.0
    max_age: float = 300.0
    cost_share: float = 0.05
    refreshed: Gauge = field(init=False)

    def __post_init__(self) -> None:
        self.refreshed = Gauge(
            "jemput_business_gauges_refreshed_timestamp_seconds",
            "When the business gauges were last computed (Unix time)",
            registry=self.registry,
        )

    async def run(self, stop: asyncio.Event) -> None:
        clock = asyncio.get_running_loop().time
        seen: object = _NEVER
        last_started = float("-inf")
        last_took = 0.0
        refreshes = 0
        while not stop.is_set():
            current = self.marker() if self.marker is not None else _NEVER
            now = clock()
            due = self.marker is None or current != seen or now - last_started >= self.max_age
            spacing = max(self.min_interval, last_took / self.cost_share)
            if due and now - last_started >= spacing:
                last_started = now
                try:
                    await self.refresh()
                except Exception as exc:  # the next round tries again; /metrics keeps the last
                    log.warning("gauges.refresh_failed", error=type(exc).__name__)
                else:
                    seen = current
                    self.refreshed.set(time.time())
                took = clock() - now
                # The first refresh warms connections and reference tables: not its usual cost.
                last_took = took if refreshes else 0.0
                refreshes += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=self.min_interval)
