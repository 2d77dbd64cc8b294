"""Events inventory takes in: recordings create print jobs, print-ready makes them printable,
a duplicate drops one, the register's snapshots name residents' villages and put those it
says are recorded in the queue. Applied inside the consumer's transaction (the inbox makes
them once); recordings, print-ready results and snapshots come in runs, applied together (one
lock of the balance, bulk inserts) in the order they arrived."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.inventory.adapters.residents import villages_of
from jemput.inventory.service_layer import print_queue, register
from jemput.inventory.service_layer.print_queue import Recording
from jemput.shared.events.outreach import RecordingCapturedV1
from jemput.shared.events.residents import (
    DuplicateFlaggedV1,
    PrintReadyV1,
    ResidentChangedV1,
    ResidentRegisteredV1,
)
from jemput.shared.messaging.handlers import EventHandlers, InboundEvent
from jemput.shared.messaging.outbox import Outbox


@dataclass(frozen=True)
class PrintQueueHandlers:
    outbox: Outbox

    def register(self, handlers: EventHandlers) -> None:
        handlers.add_batch(RecordingCapturedV1, self.on_recordings)
        handlers.add_batch(PrintReadyV1, self.on_prints_ready)
        handlers.add(DuplicateFlaggedV1, self.on_duplicate)
        handlers.add_batch(ResidentRegisteredV1, self.on_snapshots)
        handlers.add_batch(ResidentChangedV1, self.on_snapshots)

    async def on_recordings(
        self, session: AsyncSession, events: Sequence[InboundEvent[Any]]
    ) -> None:
        payloads: list[RecordingCapturedV1] = [event.payload for event in events]
        # The event names the session's village; the job takes the resident's own when the
        # register told us (and a snapshot coming later moves it there).
        villages = await villages_of(session, (p.nik for p in payloads))
        recordings = [
            Recording(p.nik, villages.get(p.nik, p.village_code), p.captured_at) for p in payloads
        ]
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

    async def on_snapshots(
        self, session: AsyncSession, events: Sequence[InboundEvent[Any]]
    ) -> None:
        await register.on_snapshots(
            session,
            self.outbox,
            [register.Seen(event.payload, event.envelope.time) for event in events],
            actor=events[0].envelope.source,
        )

    async def on_duplicate(self, session: AsyncSession, event: InboundEvent[Any]) -> None:
        payload: DuplicateFlaggedV1 = event.payload
        await print_queue.on_duplicate(
            session, self.outbox, nik=payload.nik, actor=event.envelope.source
        )
