"""The inventory HTTP API."""

from __future__ import annotations

from fastapi import Depends, FastAPI

from jemput.inventory.bootstrap import bootstrap
from jemput.inventory.entrypoints.http import planning, print_jobs, stock
from jemput.inventory.settings import InventorySettings
from jemput.shared.audit.http import audit_router
from jemput.shared.http.service_app import service_app
from jemput.shared.security import Scope, require_scope


def create_app(settings: InventorySettings | None = None) -> FastAPI:
    settings = settings or InventorySettings()
    app = service_app(
        title="Jemput inventory",
        description=(
            "The blank-card ledger and stock per location (with a daily snapshot), the print "
            "queue and SUKETs, the forecast of blanks and requests to the ministry."
        ),
        settings=settings,
        runtime_factory=lambda: bootstrap(settings),
    )
    app.state.settings = settings
    for module in (stock, print_jobs, planning):
        app.include_router(module.router)
    # Auditors search the whole log: no client limited to areas.
    app.include_router(
        audit_router(dependencies=[Depends(require_scope(Scope.AUDIT_READ, whole_regency=True))])
    )
    return app
