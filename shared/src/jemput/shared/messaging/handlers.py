"""Route decoded events to the service's handlers inside the consumer's transaction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.shared import tracing
from jemput.shared.events.base import EventPayload
from jemput.shared.events.envelope import CloudEvent

P = TypeVar("P", bound=EventPayload)


@dataclass(frozen=True, slots=True)
class InboundEvent(Generic[P]):
    """An event read from Kafka: its envelope, its decoded payload and where it came from."""

    envelope: CloudEvent
    payload: P
    topic: str
    partition: int
    offset: int

    @property
    def id(self) -> str:
        return self.envelope.id


Handler = Callable[[AsyncSession, InboundEvent[Any]], Awaitable[None]]
BatchHandler = Callable[[AsyncSession, Sequence[InboundEvent[Any]]], Awaitable[None]]


class EventHandlers:
    """The handler map of one consumer: payload class → async handler(session, event).

    A consumer only decodes the types it has a handler for; others pass by untouched.
    """

    def __init__(self) -> None:
        self._handlers: dict[str, tuple[type[EventPayload], BatchHandler]] = {}

    def on(self, payload_class: type[P]) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            self.add(payload_class, handler)
            return handler

        return register

    def add(self, payload_class: type[EventPayload], handler: Handler) -> None:
        """A handler called once per event."""

        async def one_by_one(session: AsyncSession, events: Sequence[InboundEvent[Any]]) -> None:
            for event in events:
                # What the handler publishes continues the trace of the event it applies.
                with tracing.continued(_traceparent(event)):
                    await handler(session, event)

        self._register(payload_class, one_by_one)

    def add_batch(self, payload_class: type[EventPayload], handler: BatchHandler) -> None:
        """A handler called once for each run of consecutive events of this type in a batch:
        projections write one bulk statement instead of one per event."""

        async def traced(session: AsyncSession, events: Sequence[InboundEvent[Any]]) -> None:
            # What the run publishes about an entity continues the trace of the run's event
            # about it (the first, as the handlers keep a resident's first event); what is
            # about the run as a whole, the trace of its first event.
            by_key: dict[str, str | None] = {}
            for event in events:
                by_key.setdefault(event.payload.partition_key(), _traceparent(event))
            with tracing.continued(_traceparent(events[0]), by_key=by_key):
                await handler(session, events)

        self._register(payload_class, traced)

    def _register(self, payload_class: type[EventPayload], handler: BatchHandler) -> None:
        if payload_class.event_type in self._handlers:
            raise ValueError(f"two handlers for {payload_class.event_type}")
        self._handlers[payload_class.event_type] = (payload_class, handler)

    def handles(self, event_type: str) -> bool:
        return event_type in self._handlers

    def payload_class(self, event_type: str) -> type[EventPayload]:
        return self._handlers[event_type][0]

    @property
    def topics_producers(self) -> set[str]:
        return {cls.producer for cls, _ in self._handlers.values()}

    async def apply(self, session: AsyncSession, events: Sequence[InboundEvent[Any]]) -> None:
        """Apply in order; consecutive events of one type go to their handler together."""
        start = 0
        while start < len(events):
            event_type = events[start].envelope.type
            end = start + 1
            while end < len(events) and events[end].envelope.type == event_type:
                end += 1
            _, handler = self._handlers[event_type]
            await handler(session, events[start:end])
            start = end


def _traceparent(event: InboundEvent[Any]) -> str | None:
    return event.envelope.extensions.get(tracing.TRACEPARENT)
