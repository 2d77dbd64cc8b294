"""The outreach HTTP API."""

from __future__ import annotations

from fastapi import Depends, FastAPI

from jemput.outreach.bootstrap import bootstrap, load_config
from jemput.outreach.entrypoints.http import (
    appointments,
    closures,
    home_visits,
    plan,
    recordings,
    sessions,
    teams,
)
from jemput.outreach.settings import OutreachSettings
from jemput.shared.audit.http import audit_router
from jemput.shared.http.service_app import service_app
from jemput.shared.security import Scope, require_scope


def create_app(settings: OutreachSettings | None = None) -> FastAPI:
    settings = settings or OutreachSettings()
    app = service_app(
        title="Jemput outreach",
        description=(
            'Mobile recording teams and their kits, "jemput bola" sessions, appointments and '
            "home visits, field recordings (also in offline batches), and the planner."
        ),
        settings=settings,
        runtime_factory=lambda: bootstrap(settings),
    )
    app.state.settings = settings
    # Holidays and travel times are read once, here, not at import or per request.
    app.state.config = load_config(settings)
    for module in (teams, sessions, appointments, recordings, home_visits, closures, plan):
        app.include_router(module.router)
    # Auditors search the whole log: no client limited to areas.
    app.include_router(
        audit_router(dependencies=[Depends(require_scope(Scope.AUDIT_READ, whole_regency=True))])
    )
    return app
