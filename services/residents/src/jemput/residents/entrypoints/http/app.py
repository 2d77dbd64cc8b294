"""The residents HTTP API."""

from __future__ import annotations

from fastapi import Depends, FastAPI

from jemput.residents.bootstrap import bootstrap
from jemput.residents.entrypoints.http import (
    central_results,
    families,
    import_jobs,
    residents,
    subscriptions,
)
from jemput.residents.settings import ResidentsSettings
from jemput.shared.audit.http import audit_router
from jemput.shared.http.service_app import service_app
from jemput.shared.security import Scope, require_scope


def create_app(settings: ResidentsSettings | None = None) -> FastAPI:
    settings = settings or ResidentsSettings()
    app = service_app(
        title="Jemput residents",
        description="The population register and each resident's e-KTP status.",
        settings=settings,
        runtime_factory=lambda: bootstrap(settings),
        # Register files are streamed to disk, up to 2 GiB.
        larger_body_limits={"/v1/import-jobs": import_jobs.MAX_UPLOAD_BYTES},
    )
    app.state.settings = settings
    app.include_router(residents.router)
    app.include_router(families.router)
    app.include_router(central_results.router)
    app.include_router(import_jobs.router)
    app.include_router(subscriptions.router)
    # Auditors search the whole log: no client limited to areas.
    app.include_router(
        audit_router(dependencies=[Depends(require_scope(Scope.AUDIT_READ, whole_regency=True))])
    )
    return app
