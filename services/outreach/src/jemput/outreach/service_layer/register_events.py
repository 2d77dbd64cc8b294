"""What outreach does with the register's events (jemput.residents.v1): keep the residents
read model, and send out again the recordings it kept for NIKs the register did not know."""

from __future__ import annotations

from collections.abc import Sequence

from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.outreach.service_layer import recordings, resident_view
from jemput.shared.events.residents import (
    EktpStatusChangedV1,
    ResidentChangedV1,
    ResidentDiedV1,
    ResidentMovedOutV1,
    ResidentRegisteredV1,
    ResidentSnapshot,
)
from jemput.shared.messaging.handlers import EventHandlers, InboundEvent
from jemput.shared.messaging.outbox import Outbox


class RegisterEventHandlers:
    """The consumer's handlers, publishing to `outbox`. Nothing here commits: the consumer's
    batch does, with its inbox rows."""

    def __init__(self, outbox: Outbox) -> None:
        self._outbox = outbox

    def register(self, handlers: EventHandlers) -> EventHandlers:
        handlers.add_batch(ResidentRegisteredV1, self.on_snapshots)
        handlers.add_batch(ResidentChangedV1, self.on_snapshots)
        handlers.add(ResidentMovedOutV1, resident_view.on_moved_out)
        handlers.add(ResidentDiedV1, resident_view.on_died)
        handlers.add(EktpStatusChangedV1, resident_view.on_status_changed)
        return handlers

    async def on_snapshots(
        self, session: AsyncSession, events: Sequence[InboundEvent[ResidentSnapshot]]
    ) -> None:
        niks = await resident_view.on_snapshots(session, events)
        # The register skipped the first event of a NIK it did not know; now it does.
        await recordings.publish_flagged(session, self._outbox, niks)
