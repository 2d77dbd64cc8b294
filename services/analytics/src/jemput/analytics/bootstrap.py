"""Composition root of the analytics service."""

from __future__ import annotations

from jemput.analytics.service_layer.gauges import CoverageGauges
from jemput.analytics.service_layer.projections import handlers
from jemput.analytics.settings import AnalyticsSettings
from jemput.shared.runtime import ServiceRuntime
from jemput.shared.settings import ServiceSettings


def bootstrap(settings: ServiceSettings | None = None) -> ServiceRuntime:
    settings = settings or AnalyticsSettings()
    runtime = ServiceRuntime.from_settings(settings, handlers=handlers())
    # The regency's coverage on /metrics, kept fresh in the background: a scrape never queries.
    own = settings if isinstance(settings, AnalyticsSettings) else AnalyticsSettings()
    runtime.workers.append(CoverageGauges(runtime, own.regency_code).refresher().run)
    return runtime
