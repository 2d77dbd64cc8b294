"""The analytics HTTP API and the dashboard."""

from __future__ import annotations

from fastapi import FastAPI

from jemput.analytics.bootstrap import bootstrap
from jemput.analytics.entrypoints.http import (
    caching,
    coverage,
    dashboard,
    data_quality,
    overview,
    productivity,
    progress,
    stock,
)
from jemput.analytics.settings import AnalyticsSettings
from jemput.shared.http.service_app import service_app


def create_app(settings: AnalyticsSettings | None = None) -> FastAPI:
    settings = settings or AnalyticsSettings()
    app = service_app(
        title="Jemput analytics",
        description="Coverage of e-KTP recording against the target, stock cover and outreach "
        "productivity, from events only; the dashboard at `/`.",
        settings=settings,
        runtime_factory=lambda: bootstrap(settings),
        public_paths=dashboard.public_paths(),
    )
    app.state.settings = settings
    app.state.answers = caching.Answers()
    for module in (coverage, overview, progress, stock, productivity, data_quality):
        app.include_router(module.router)
    dashboard.mount(app, regency_code=settings.regency_code)
    return app
