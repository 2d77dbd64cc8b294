"""The residents HTTP API."""

from __future__ import annotations

from fastapi import FastAPI

from jemput.residents.bootstrap import bootstrap
from jemput.residents.entrypoints.http import central_results, families, import_jobs, residents
from jemput.residents.settings import ResidentsSettings
from jemput.shared.http.service_app import service_app


def create_app(settings: ResidentsSettings | None = None) -> FastAPI:
    settings = settings or ResidentsSettings()
    app = service_app(
        title="Jemput residents",
        description="The population register and each resident's e-KTP status.",
        runtime_factory=lambda: bootstrap(settings),
    )
    app.state.settings = settings
    app.include_router(residents.router)
    app.include_router(families.router)
    app.include_router(central_results.router)
    app.include_router(import_jobs.router)
    return app
