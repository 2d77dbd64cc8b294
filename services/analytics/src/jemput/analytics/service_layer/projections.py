"""Event handlers that keep the read models; each is idempotent under the consumer's inbox."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.analytics.adapters.tables import ResidentFact
from jemput.shared.events.residents import ResidentRegisteredV1
from jemput.shared.messaging.handlers import EventHandlers, InboundEvent

NOT_RECORDED = {"BELUM_WAJIB", "BELUM_REKAM"}


async def on_resident_registered(
    session: AsyncSession, event: InboundEvent[ResidentRegisteredV1]
) -> None:
    payload = event.payload
    fact = await session.get(ResidentFact, payload.nik)
    if fact is None:
        fact = ResidentFact(
            nik=payload.nik,
            village_code=payload.village_code,
            district_code=payload.village_code[:8],
            regency_code=payload.village_code[:5],
            birth_date=payload.birth_date,
            ever_married=payload.marital_status != "BELUM_KAWIN",
        )
    fact.recorded = fact.recorded or payload.ektp_status not in NOT_RECORDED
    session.add(fact)


def handlers() -> EventHandlers:
    registry = EventHandlers()
    registry.add(ResidentRegisteredV1, on_resident_registered)
    return registry
