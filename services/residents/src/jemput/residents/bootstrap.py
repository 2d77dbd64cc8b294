"""Composition root of the residents service: builds the runtime; nothing happens at import."""

from __future__ import annotations

from jemput.residents.service_layer.handlers import StatusEventHandlers
from jemput.residents.settings import ResidentsSettings
from jemput.shared.messaging.handlers import EventHandlers
from jemput.shared.runtime import ServiceRuntime
from jemput.shared.settings import ServiceSettings


def bootstrap(settings: ServiceSettings | None = None) -> ServiceRuntime:
    settings = settings or ResidentsSettings()
    # The register takes in recordings (outreach) and prints, issues and SUKETs (inventory).
    # The handlers publish through the runtime's own outbox, so they are added once it exists;
    # the consumer reads the map only when the runtime starts.
    handlers = EventHandlers()
    runtime = ServiceRuntime.from_settings(settings, handlers=handlers)
    StatusEventHandlers(runtime.outbox).register(handlers)
    return runtime
