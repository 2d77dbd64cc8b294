"""The inventory HTTP API (a skeleton: health, readiness and metrics only, so far)."""

from __future__ import annotations

from fastapi import FastAPI

from jemput.inventory.bootstrap import bootstrap
from jemput.inventory.settings import InventorySettings
from jemput.shared.http.service_app import service_app


def create_app(settings: InventorySettings | None = None) -> FastAPI:
    settings = settings or InventorySettings()
    app = service_app(
        title="Jemput inventory",
        description="Not built yet: answers /healthz, /readyz and /metrics.",
        runtime_factory=lambda: bootstrap(settings),
    )
    app.state.settings = settings
    return app
