"""From a CloudEvents `type` to the payload class that reads it."""

from __future__ import annotations

from collections.abc import Iterable

from jemput.shared.events.base import EventPayload


class UnknownEventType(KeyError):
    pass


class EventRegistry:
    def __init__(self, payload_classes: Iterable[type[EventPayload]] = ()) -> None:
        self._by_type: dict[str, type[EventPayload]] = {}
        for cls in payload_classes:
            self.register(cls)

    def register(self, cls: type[EventPayload]) -> None:
        existing = self._by_type.get(cls.event_type)
        if existing is not None and existing is not cls:
            raise ValueError(f"event type {cls.event_type} registered twice")
        self._by_type[cls.event_type] = cls

    def __contains__(self, event_type: object) -> bool:
        return event_type in self._by_type

    def payload_class(self, event_type: str) -> type[EventPayload]:
        try:
            return self._by_type[event_type]
        except KeyError:
            raise UnknownEventType(event_type) from None

    def decode(self, event_type: str, data: bytes) -> EventPayload:
        return self.payload_class(event_type).model_validate_json(data)

    @property
    def types(self) -> list[str]:
        return sorted(self._by_type)
