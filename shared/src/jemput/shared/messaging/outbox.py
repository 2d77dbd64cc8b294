"""Write events into the outbox inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from jemput.shared import tracing
from jemput.shared.db import core_connection
from jemput.shared.events.base import EventPayload
from jemput.shared.events.envelope import CloudEvent
from jemput.shared.messaging.tables import outbox
from jemput.shared.tracing import TRACEPARENT


class Outbox:
    """Adds events to the outbox table; the relay publishes them after the commit.

    Never commits: the caller's unit of work commits the state change and its events together.
    """

    def __init__(self, *, source: str, topic_for: Callable[[str], str]) -> None:
        self._source = source
        self._topic_for = topic_for

    def row(
        self,
        payload: EventPayload,
        *,
        event_id: str | None = None,
        occurred_at: datetime | None = None,
        extensions: dict[str, str] | None = None,
    ) -> dict[str, Any]:
        traceparent = tracing.current(payload.partition_key())
        if traceparent is not None and not (extensions and TRACEPARENT in extensions):
            # The event continues the trace of the request or event that caused it.
            extensions = {**(extensions or {}), TRACEPARENT: traceparent}
        return {
            "event_id": event_id or CloudEvent.new_id(),
            "topic": self._topic_for(payload.producer),
            "partition_key": payload.partition_key(),
            "event_type": payload.event_type,
            "subject": payload.subject(),
            "occurred_at": occurred_at or datetime.now(UTC),
            "payload": payload.model_dump_json().encode(),
            "extensions": extensions or None,
        }

    async def add(
        self,
        db: AsyncSession | AsyncConnection,
        payload: EventPayload,
        *,
        event_id: str | None = None,
        occurred_at: datetime | None = None,
    ) -> str:
        row = self.row(payload, event_id=event_id, occurred_at=occurred_at)
        await (await core_connection(db)).execute(insert(outbox), [row])
        return str(row["event_id"])

    async def add_many(
        self,
        db: AsyncSession | AsyncConnection,
        payloads: Sequence[EventPayload],
        *,
        occurred_at: datetime | None = None,
    ) -> None:
        if not payloads:
            return
        now = occurred_at or datetime.now(UTC)
        rows = [self.row(p, occurred_at=now) for p in payloads]
        await (await core_connection(db)).execute(insert(outbox), rows)

    def topic(self, producer: str) -> str:
        return self._topic_for(producer)

    @property
    def source(self) -> str:
        return self._source
