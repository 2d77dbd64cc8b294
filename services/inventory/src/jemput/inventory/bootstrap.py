"""Composition root of the inventory service."""

from __future__ import annotations

from jemput.inventory.service_layer.gauges import StockGauges
from jemput.inventory.service_layer.handlers import PrintQueueHandlers
from jemput.inventory.settings import InventorySettings
from jemput.shared.messaging.handlers import EventHandlers
from jemput.shared.runtime import ServiceRuntime
from jemput.shared.settings import ServiceSettings


def bootstrap(settings: ServiceSettings | None = None) -> ServiceRuntime:
    # The handlers publish through the runtime's own outbox, so they join the map once it
    # exists; the consumer reads the map only when the runtime starts.
    handlers = EventHandlers()
    # Print jobs and SUKETs name residents: reads and changes are audited (UU 27/2022), and the
    # runtime seals the audit log's hash chain in the background.
    runtime = ServiceRuntime.from_settings(
        settings or InventorySettings(), handlers=handlers, audit_enabled=True
    )
    PrintQueueHandlers(runtime.outbox).register(handlers)
    # Blanks available per location on /metrics, kept fresh in the background.
    runtime.workers.append(StockGauges(runtime).refresher().run)
    return runtime
