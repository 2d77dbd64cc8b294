"""Helpers for analytics' own tests: events as the consumer hands them over, and residents.
Nothing here runs in production."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.analytics.service_layer.projections import handlers
from jemput.shared.events.base import EventPayload
from jemput.shared.events.envelope import CloudEvent
from jemput.shared.events.residents import ResidentRegisteredV1
from jemput.shared.messaging.handlers import EventHandlers, InboundEvent
from jemput.shared.nik import Sex, make_nik

KAYU_AGUNG_VILLAGE = "16.02.05.1001"
LEMPUING_VILLAGE = "16.02.13.2005"


def inbound(
    payload: EventPayload, *, at: datetime | None = None, offset: int = 0
) -> InboundEvent[Any]:
    """The event as the consumer decodes it; `at` is when it occurred (ce_time)."""
    envelope = CloudEvent(
        id=CloudEvent.new_id(),
        type=payload.event_type,
        source=f"/jemput/{payload.producer}",
        time=at or datetime.now(UTC),
        data=payload.model_dump_json().encode(),
        subject=payload.subject(),
    )
    return InboundEvent(envelope, payload, f"jemput.{payload.producer}.v1", 0, offset)


def resident(
    village: str,
    born: date,
    *,
    marital: str = "BELUM_KAWIN",
    status: str = "BELUM_REKAM",
    serial: int = 1,
    **fields: Any,
) -> ResidentRegisteredV1:
    return ResidentRegisteredV1(
        nik=make_nik(village[:8], born, Sex.MALE, serial),
        village_code=village,
        birth_date=born,
        sex="L",
        marital_status=marital,
        ektp_status=status,
        **fields,
    )


async def apply(
    engine: AsyncEngine,
    events: Sequence[InboundEvent[Any]],
    registry: EventHandlers | None = None,
) -> None:
    """Apply events straight to the read models, one transaction, no inbox: what the
    projections do with repeats is theirs to get right."""
    async with AsyncSession(engine) as session, session.begin():
        await (registry or handlers()).apply(session, events)
