"""Events inventory takes in: a recording creates a print job, print-ready makes it printable,
a duplicate drops it. Applied inside the consumer's transaction (the inbox makes them once)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.inventory.service_layer import print_queue
from jemput.shared.events.outreach import RecordingCapturedV1
from jemput.shared.events.residents import DuplicateFlaggedV1, PrintReadyV1
from jemput.shared.messaging.handlers import EventHandlers, InboundEvent
from jemput.shared.messaging.outbox import Outbox


@dataclass(frozen=True)
class PrintQueueHandlers:
    outbox: Outbox

    def register(self, handlers: EventHandlers) -> None:
        handlers.add(RecordingCapturedV1, self.on_recording)
        handlers.add(PrintReadyV1, self.on_print_ready)
        handlers.add(DuplicateFlaggedV1, self.on_duplicate)

    async def on_recording(self, session: AsyncSession, event: InboundEvent[Any]) -> None:
        payload: RecordingCapturedV1 = event.payload
        await print_queue.on_recorded(
            session,
            self.outbox,
            nik=payload.nik,
            village_code=payload.village_code,
            recorded_at=payload.captured_at,
            actor=event.envelope.source,
        )

    async def on_print_ready(self, session: AsyncSession, event: InboundEvent[Any]) -> None:
        payload: PrintReadyV1 = event.payload
        await print_queue.on_print_ready(
            session,
            self.outbox,
            nik=payload.nik,
            decided_at=payload.decided_at,
            actor=event.envelope.source,
        )

    async def on_duplicate(self, session: AsyncSession, event: InboundEvent[Any]) -> None:
        payload: DuplicateFlaggedV1 = event.payload
        await print_queue.on_duplicate(
            session, self.outbox, nik=payload.nik, actor=event.envelope.source
        )
