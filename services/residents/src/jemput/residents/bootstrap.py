"""Composition root of the residents service: builds the runtime; nothing happens at import."""

from __future__ import annotations

from jemput.residents.settings import ResidentsSettings
from jemput.shared.runtime import ServiceRuntime
from jemput.shared.settings import ServiceSettings


def bootstrap(settings: ServiceSettings | None = None) -> ServiceRuntime:
    settings = settings or ResidentsSettings()
    # The register consumes outreach and inventory events once those services exist.
    return ServiceRuntime.from_settings(settings, handlers=None)
