"""Coverage of the regency and its districts as Prometheus gauges, for alerts and the ops
dashboards: the same counts as `GET /v1/coverage` as of today, recomputed in the background
after the consumer applied events (or the office day turned), never at scrape time."""

from __future__ import annotations

from prometheus_client import Gauge

from jemput.analytics.service_layer import coverage as coverage_service
from jemput.shared.db import read_only
from jemput.shared.gauges import GaugeRefresher, events_applied_total
from jemput.shared.reference.areas import load_area_table
from jemput.shared.runtime import ServiceRuntime
from jemput.shared.timezone import today_in_office


class CoverageGauges:
    def __init__(self, runtime: ServiceRuntime, regency_code: str) -> None:
        self.runtime = runtime
        self.regency_code = regency_code
        labels = ["area"]
        registry = runtime.registry
        self.eligible = Gauge(
            "jemput_coverage_eligible",
            "Residents required to hold an e-KTP, as of today (regency and its districts)",
            labels,
            registry=registry,
        )
        self.recorded = Gauge(
            "jemput_coverage_recorded",
            "Residents recorded (living in the regency), as of today",
            labels,
            registry=registry,
        )
        self.ratio = Gauge(
            "jemput_coverage_ratio",
            "Recorded / eligible as of today; absent for an area with no eligible resident",
            labels,
            registry=registry,
        )
        self._with_ratio: set[str] = set()

    def refresher(self) -> GaugeRefresher:
        return GaugeRefresher(
            self.refresh,
            self.runtime.registry,
            marker=lambda: (events_applied_total(self.runtime.metrics), today_in_office()),
        )

    async def refresh(self) -> None:
        areas = load_area_table()
        regency = areas.get(self.regency_code)
        if regency is None:
            return
        async with read_only(self.runtime.engine).connect() as conn:
            report = await coverage_service.coverage(conn, areas, regency, today_in_office())
        for item in (report.total, *report.children):
            code = item.area.code
            self.eligible.labels(code).set(item.eligible)
            self.recorded.labels(code).set(item.recorded)
            if item.coverage is not None:
                self.ratio.labels(code).set(item.coverage)
                self._with_ratio.add(code)
            elif code in self._with_ratio:  # no eligible resident left: no ratio, not 0
                self.ratio.remove(code)
                self._with_ratio.discard(code)
