"""Composition root of the analytics service."""

from __future__ import annotations

from jemput.analytics.service_layer.projections import handlers
from jemput.analytics.settings import AnalyticsSettings
from jemput.shared.runtime import ServiceRuntime
from jemput.shared.settings import ServiceSettings


def bootstrap(settings: ServiceSettings | None = None) -> ServiceRuntime:
    return ServiceRuntime.from_settings(settings or AnalyticsSettings(), handlers=handlers())
