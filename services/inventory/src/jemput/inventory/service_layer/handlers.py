"""Events inventory takes in: recordings create print jobs, print-ready makes them printable,
a duplicate drops one. Applied inside the consumer's transaction (the inbox makes them once);
recordings and print-ready results come in runs, applied together (one lock of the balance,
bulk inserts) in the order they arrived."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.inventory.service_layer import print_queue
from jemput.inventory.service_layer.print_queue import Recording
from jemput.shared.events.outreach import RecordingCapturedV1
from jemput.shared.events.residents import DuplicateFlaggedV1, PrintReadyV1
from jemput.shared.messaging.handlers import EventHandlers, InboundEvent
from jemput.shared.messaging.outbox import Outbox


@dataclass(frozen=True)
class PrintQueueHandlers:
    outbox: Outbox

    def register(self, handlers: EventHandlers) -> None:
        handlers.add_batch(RecordingCapturedV1, self.on_recordings)
        handlers.add_batch(PrintReadyV1, self.on_prints_ready)
        handlers.add(DuplicateFlaggedV1, self.on_duplicate)

    async def on_recordings(
        self, session: AsyncSession, events: Sequence[InboundEvent[Any]]
    ) -> None:
        recordings = []
        for event in events:
            payload: RecordingCapturedV1 = event.payload
            recordings.append(Recording(payload.nik, payload.village_code, payload.captured_at))
        await print_queue.on_recordings(
            session, self.outbox, recordings, actor=events[0].envelope.source
        )

    async def on_prints_ready(
        self, session: AsyncSession, events: Sequence[InboundEvent[Any]]
    ) -> None:
        decisions, residents = [], {}
        for event in events:
            payload: PrintReadyV1 = event.payload
            decisions.append((payload.nik, payload.decided_at))
            # The event names the resident's own village and recording: a job it starts
            # takes those, not the moment of the decision.
            residents[payload.nik] = Recording(
                payload.nik, payload.village_code, payload.recorded_at or payload.decided_at
            )
        await print_queue.on_prints_ready(
            session,
            self.outbox,
            decisions,
            actor=events[0].envelope.source,
            residents=residents,
        )

    async def on_duplicate(self, session: AsyncSession, event: InboundEvent[Any]) -> None:
        payload: DuplicateFlaggedV1 = event.payload
        await print_queue.on_duplicate(
            session, self.outbox, nik=payload.nik, actor=event.envelope.source
        )
