"""Composition root of the residents service: builds the runtime; nothing happens at import."""

from __future__ import annotations

from jemput.residents.domain.webhooks import RetryPolicy
from jemput.residents.entrypoints.deliverer import (
    DelivererConfig,
    DeliveryMetrics,
    WebhookDeliverer,
)
from jemput.residents.service_layer.handlers import StatusEventHandlers
from jemput.residents.service_layer.webhook_fan_out import WebhookFanOut
from jemput.residents.settings import ResidentsSettings, allows_local_webhooks
from jemput.shared.messaging.handlers import EventHandlers
from jemput.shared.runtime import ServiceRuntime
from jemput.shared.settings import ServiceSettings


def bootstrap(settings: ServiceSettings | None = None) -> ServiceRuntime:
    settings = settings or ResidentsSettings()
    # The register takes in recordings (outreach) and prints, issues and SUKETs (inventory).
    # The handlers publish through the runtime's own outbox, so they are added once it exists;
    # the consumer reads the map only when the runtime starts.
    handlers = EventHandlers()
    # Reads and changes of residents' personal data are audited (UU 27/2022); the runtime seals
    # the audit log's hash chain in the background.
    runtime = ServiceRuntime.from_settings(settings, handlers=handlers, audit_enabled=True)
    StatusEventHandlers(runtime.outbox).register(handlers)
    # Partner webhooks are made from the register's own status-change events (so the consumer
    # also reads jemput.residents.v1): the inbox makes each change one delivery per partner.
    WebhookFanOut().register(handlers)
    webhooks = settings if isinstance(settings, ResidentsSettings) else ResidentsSettings()
    if webhooks.webhooks_enabled:
        deliverer = WebhookDeliverer(
            runtime.engine,
            webhook_config(webhooks),
            metrics=DeliveryMetrics(runtime.registry),
        )
        runtime.workers.append(deliverer.run)
    return runtime


def webhook_config(settings: ResidentsSettings) -> DelivererConfig:
    return DelivererConfig(
        policy=RetryPolicy(
            max_attempts=settings.webhook_max_attempts,
            base_seconds=settings.webhook_backoff_base_seconds,
            cap_seconds=settings.webhook_backoff_cap_seconds,
        ),
        timeout_seconds=settings.webhook_timeout_seconds,
        poll_interval_seconds=settings.webhook_poll_interval_seconds,
        batch_size=settings.webhook_batch_size,
        allow_internal_addresses=allows_local_webhooks(settings),
    )
