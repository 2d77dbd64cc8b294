"""Event payloads (one class per event version), the CloudEvents envelope and the registry."""

from jemput.shared.events import inventory, outreach, residents
from jemput.shared.events.base import EventPayload
from jemput.shared.events.envelope import CloudEvent, EnvelopeError
from jemput.shared.events.registry import EventRegistry, UnknownEventType


def default_registry() -> EventRegistry:
    """Every event type the project knows."""
    return EventRegistry([*residents.ALL, *outreach.ALL, *inventory.ALL])


__all__ = [
    "CloudEvent",
    "EnvelopeError",
    "EventPayload",
    "EventRegistry",
    "UnknownEventType",
    "default_registry",
]
