"""The outreach HTTP API (a skeleton: health, readiness and metrics only, so far)."""

from __future__ import annotations

from fastapi import FastAPI

from jemput.outreach.bootstrap import bootstrap
from jemput.outreach.settings import OutreachSettings
from jemput.shared.http.service_app import service_app


def create_app(settings: OutreachSettings | None = None) -> FastAPI:
    settings = settings or OutreachSettings()
    app = service_app(
        title="Jemput outreach",
        description="Not built yet: answers /healthz, /readyz and /metrics.",
        runtime_factory=lambda: bootstrap(settings),
    )
    app.state.settings = settings
    return app
