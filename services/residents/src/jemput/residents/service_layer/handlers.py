"""What moves a resident's e-KTP status: events from outreach and inventory (facts, taken in
whatever order they arrive) and the national de-duplication results (requests, checked against
the lifecycle). Nothing here commits: the consumer's batch or the route's unit of work does.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

import structlog
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlalchemy.ext.asyncio import AsyncSession as CoreSession
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.residents.adapters.tables import Resident
from jemput.residents.domain.model import EktpStatus
from jemput.residents.domain.status import TransitionRefused
from jemput.residents.service_layer import status
from jemput.residents.service_layer.queries import residents_for_update
from jemput.residents.service_layer.status import Cause
from jemput.shared import tracing
from jemput.shared.db import core_connection
from jemput.shared.events.base import EventPayload
from jemput.shared.events.inventory import (
    CardIssuedV1,
    CardPrintedV1,
    SuketIssuedV1,
    SuketRevokedV1,
)
from jemput.shared.events.outreach import RecordingCapturedV1
from jemput.shared.messaging.handlers import EventHandlers, InboundEvent
from jemput.shared.messaging.outbox import Outbox
from jemput.shared.messaging.tables import outbox as outbox_table
from jemput.shared.timezone import today_in_office

log = structlog.get_logger(__name__)

# Sets or clears a resident's SUKET flag at a moment; returns whether it changed.
SuketChange = Callable[[AsyncSession, Outbox, Resident, datetime], Awaitable[bool]]


# ---------------------------------------------------------------------------------------------
# Events


class StatusEventHandlers:
    """Handlers of the events that move a resident along the lifecycle, publishing to `outbox`.

    Facts (recorded, printed, issued) are applied a run at a time: the run's residents are
    locked with one query, each event is applied in order, and the events they cause go to the
    outbox in one insert — an evening's offline uploads arrive as thousands of recordings."""

    def __init__(self, outbox: Outbox, *, today: Callable[[], date] = today_in_office) -> None:
        self._outbox = outbox
        self._today = today

    def register(self, handlers: EventHandlers) -> EventHandlers:
        handlers.add_batch(RecordingCapturedV1, self.on_recordings_captured)
        handlers.add_batch(CardPrintedV1, self.on_cards_printed)
        handlers.add_batch(CardIssuedV1, self.on_cards_issued)
        handlers.add_batch(SuketIssuedV1, self.on_sukets_issued)
        handlers.add_batch(SuketRevokedV1, self.on_sukets_revoked)
        return handlers

    async def on_recordings_captured(
        self, session: AsyncSession, events: Sequence[InboundEvent[RecordingCapturedV1]]
    ) -> None:
        await self._facts(
            session, events, EktpStatus.SUDAH_REKAM, [e.payload.captured_at for e in events]
        )

    async def on_cards_printed(
        self, session: AsyncSession, events: Sequence[InboundEvent[CardPrintedV1]]
    ) -> None:
        await self._facts(
            session, events, EktpStatus.CARD_PRINTED, [e.payload.printed_at for e in events]
        )

    async def on_cards_issued(
        self, session: AsyncSession, events: Sequence[InboundEvent[CardIssuedV1]]
    ) -> None:
        # Issuing the card also clears an outstanding SUKET (see `status.record_fact`).
        await self._facts(
            session, events, EktpStatus.CARD_ISSUED, [e.payload.issued_at for e in events]
        )

    async def on_sukets_issued(
        self, session: AsyncSession, events: Sequence[InboundEvent[SuketIssuedV1]]
    ) -> None:
        await self._suket_changes(
            session, events, status.set_suket_outstanding, [e.payload.issued_at for e in events]
        )

    async def on_sukets_revoked(
        self, session: AsyncSession, events: Sequence[InboundEvent[SuketRevokedV1]]
    ) -> None:
        """A duplicate's SUKET was revoked by inventory: the resident no longer holds one."""
        await self._suket_changes(
            session,
            events,
            status.clear_suket_outstanding,
            [e.payload.revoked_at for e in events],
        )

    async def _suket_changes(
        self,
        session: AsyncSession,
        events: Sequence[InboundEvent[Any]],
        change: SuketChange,
        moments: Sequence[datetime],
    ) -> None:
        async def apply(resident: Resident, event: InboundEvent[Any], at: datetime) -> None:
            await change(session, collected, resident, at)

        collected = CollectingOutbox(self._outbox)
        await _each_resident(session, events, moments, apply)
        await collected.write(session)

    async def _facts(
        self,
        session: AsyncSession,
        events: Sequence[InboundEvent[Any]],
        fact: EktpStatus,
        moments: Sequence[datetime],
    ) -> None:
        async def apply(resident: Resident, event: InboundEvent[Any], at: datetime) -> None:
            await status.record_fact(
                session, collected, resident, fact, at, _cause(event), today=today
            )

        collected = CollectingOutbox(self._outbox)
        today = self._today()
        await _each_resident(session, events, moments, apply)
        await collected.write(session)


async def _each_resident(
    session: AsyncSession,
    events: Sequence[InboundEvent[Any]],
    moments: Sequence[datetime],
    apply: Callable[[Resident, InboundEvent[Any], datetime], Awaitable[None]],
) -> None:
    """Apply a run of events in order, the run's residents locked with one query. The caller
    collects the events they cause and writes them with one insert."""
    residents = await residents_for_update(session, [e.payload.nik for e in events])
    for event, at in zip(events, moments, strict=True):
        resident = residents.get(event.payload.nik)
        if resident is None:
            _unknown_nik(event)
            continue
        # What the event causes continues the trace of the event that carried it.
        with tracing.continued(event.envelope.extensions.get(tracing.TRACEPARENT)):
            await apply(resident, event, at)


def _cause(event: InboundEvent[Any]) -> Cause:
    return Cause("event", event.id, actor=event.envelope.source)


def _unknown_nik(event: InboundEvent[Any]) -> None:
    # Logged and skipped: one stray event must not hold up the batch. The logging setup masks
    # the NIK.
    log.warning(
        "residents.event_for_unknown_nik",
        nik=event.payload.nik,
        event_type=event.envelope.type,
        event_id=event.id,
    )


# ---------------------------------------------------------------------------------------------
# National de-duplication results (a command, from the HTTP API)


class CentralOutcome(StrEnum):
    APPLIED = "applied"
    UNCHANGED = "unchanged"
    REFUSED = "refused"
    NOT_FOUND = "not_found"


@dataclass(frozen=True, slots=True)
class CentralResult:
    nik: str
    result: EktpStatus  # PRINT_READY_RECORD or DUPLICATE
    decided_at: datetime
    reference: str


@dataclass(frozen=True, slots=True)
class CentralResultOutcome:
    nik: str
    outcome: CentralOutcome
    status: EktpStatus | None = None
    reason: str | None = None


NATIONAL_DEDUP = "national-dedup"


class CollectingOutbox(Outbox):
    """An outbox that keeps the events of a large unit of work and writes them with one
    multi-row insert (`write`) instead of one insert each: 10,000 results publish 20,000 events.
    The events still go in the caller's transaction, in the order they were added."""

    def __init__(self, outbox: Outbox) -> None:
        super().__init__(source=outbox.source, topic_for=outbox.topic)
        self._rows: list[dict[str, Any]] = []

    async def add(
        self,
        db: CoreSession | AsyncConnection,
        payload: EventPayload,
        *,
        event_id: str | None = None,
        occurred_at: datetime | None = None,
    ) -> str:
        row = self.row(payload, event_id=event_id, occurred_at=occurred_at)
        self._rows.append(row)
        return str(row["event_id"])

    async def write(self, db: CoreSession | AsyncConnection) -> None:
        if self._rows:
            await (await core_connection(db)).execute(insert(outbox_table), self._rows)
            self._rows = []


async def apply_central_results(
    session: AsyncSession, outbox: Outbox, results: Sequence[CentralResult], *, today: date
) -> list[CentralResultOutcome]:
    """Apply each result in the caller's transaction; a refused result or an unknown NIK is
    reported in its outcome and does not stop the others."""
    residents = await residents_for_update(session, [r.nik for r in results])
    events = CollectingOutbox(outbox)
    outcomes = []
    for item in results:
        resident = residents.get(item.nik)
        if resident is None:
            outcomes.append(
                CentralResultOutcome(
                    item.nik, CentralOutcome.NOT_FOUND, reason="no resident with this NIK"
                )
            )
            continue
        cause = Cause("central_result", item.reference, actor=NATIONAL_DEDUP)
        try:
            changed = await status.apply_central_result(
                session, events, resident, item.result, item.decided_at, cause, today=today
            )
        except TransitionRefused as refused:
            outcomes.append(
                CentralResultOutcome(
                    item.nik, CentralOutcome.REFUSED, refused.current, reason=str(refused)
                )
            )
            continue
        outcome = CentralOutcome.APPLIED if changed else CentralOutcome.UNCHANGED
        outcomes.append(
            CentralResultOutcome(item.nik, outcome, status.current_status(resident, today))
        )
    await events.write(session)
    await session.flush()
    return outcomes


__all__ = [
    "CentralOutcome",
    "CentralResult",
    "CentralResultOutcome",
    "StatusEventHandlers",
    "apply_central_results",
]
