"""The analytics HTTP API."""

from __future__ import annotations

from fastapi import FastAPI

from jemput.analytics.bootstrap import bootstrap
from jemput.analytics.entrypoints.http import coverage
from jemput.analytics.settings import AnalyticsSettings
from jemput.shared.http.service_app import service_app


def create_app(settings: AnalyticsSettings | None = None) -> FastAPI:
    settings = settings or AnalyticsSettings()
    app = service_app(
        title="Jemput analytics",
        description="Coverage of e-KTP recording against the target, from events only.",
        runtime_factory=lambda: bootstrap(settings),
    )
    app.state.settings = settings
    app.include_router(coverage.router)
    return app
