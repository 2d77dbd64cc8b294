"""A consumer applies runs of events together (`EventHandlers.add_batch`): what the handler
publishes about a resident continues the trace of the run's event about that resident, what is
about the run as a whole the trace of its first event (a new trace for an event without one);
one event at a time (`add`), its own."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any, cast

from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.shared import tracing
from jemput.shared.events.envelope import CloudEvent
from jemput.shared.events.inventory import StockChangedV1, SuketIssuedV1
from jemput.shared.events.outreach import RecordingCapturedV1
from jemput.shared.events.residents import DuplicateFlaggedV1
from jemput.shared.messaging.handlers import EventHandlers, InboundEvent
from jemput.shared.messaging.outbox import Outbox

AT = datetime(2026, 11, 21, 2, 0, tzinfo=UTC)
TRACE_A = "4bf92f3577b34da6a3ce929d0e0e4736"
TRACE_B = "5ce03a4688c45eb7b4df03a1f1f15847"
NIK_A, NIK_B, NIK_C = "1602054505000001", "1602054505000002", "1602054505000003"


def inbound(payload: Any, trace_id: str | None) -> InboundEvent[Any]:
    extensions = {tracing.TRACEPARENT: f"00-{trace_id}-b7ad6b7169203331-01"} if trace_id else {}
    envelope = CloudEvent(
        id=CloudEvent.new_id(),
        type=payload.event_type,
        source="/jemput/test",
        time=CloudEvent.new_time(),
        data=payload.model_dump_json().encode(),
        extensions=extensions,
    )
    return InboundEvent(envelope, payload, "topic", 0, 0)


def suket(nik: str) -> SuketIssuedV1:
    return SuketIssuedV1(nik=nik, suket_number="S", issued_at=AT, valid_until=date(2027, 5, 1))


def trace_of(row: dict[str, Any]) -> str | None:
    span = (row["extensions"] or {}).get(tracing.TRACEPARENT)
    return tracing.trace_id_of(span) if span else None


async def test_a_run_publishes_each_residents_events_in_that_residents_trace() -> None:
    outbox = Outbox(source="/jemput/inventory", topic_for=lambda producer: producer)
    rows: list[dict[str, Any]] = []

    async def on_recordings(_: AsyncSession, events: Sequence[InboundEvent[Any]]) -> None:
        rows.append(
            outbox.row(StockChangedV1(location="office", entry_kind="RESERVED", quantity=1,
                                      on_hand=1, reserved=1, at=AT))
        )  # fmt: skip
        rows.extend(outbox.row(suket(event.payload.nik)) for event in events)

    async def on_duplicate(_: AsyncSession, event: InboundEvent[Any]) -> None:
        rows.append(outbox.row(suket(event.payload.nik)))

    handlers = EventHandlers()
    handlers.add_batch(RecordingCapturedV1, on_recordings)
    handlers.add(DuplicateFlaggedV1, on_duplicate)
    run = [
        inbound(RecordingCapturedV1(recording_id=str(n), nik=nik, captured_at=AT), trace)
        for n, (nik, trace) in enumerate(((NIK_A, TRACE_A), (NIK_B, TRACE_B), (NIK_C, None)))
    ]
    duplicate = inbound(
        DuplicateFlaggedV1(nik=NIK_C, village_code="16.02.05.1001", decided_at=AT), TRACE_B
    )
    await handlers.apply(cast(AsyncSession, None), [*run, duplicate])

    stock, for_a, for_b, for_c, after_duplicate = rows
    assert trace_of(stock) == TRACE_A  # about the run: its first event's trace
    assert (trace_of(for_a), trace_of(for_b)) == (TRACE_A, TRACE_B)
    assert trace_of(for_c) not in (TRACE_A, TRACE_B, None)  # its event had none: a new one
    assert trace_of(after_duplicate) == TRACE_B
    # Each event published is a new span of its cause's trace.
    assert for_a["extensions"][tracing.TRACEPARENT] != stock["extensions"][tracing.TRACEPARENT]
    assert tracing.current() is None
