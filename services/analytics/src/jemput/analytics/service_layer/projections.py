"""Event handlers that keep the read models; each is idempotent under the consumer's inbox."""

from __future__ import annotations

from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.analytics.adapters.tables import ResidentFact
from jemput.shared.events.residents import (
    EktpStatusChangedV1,
    ResidentChangedV1,
    ResidentDiedV1,
    ResidentMovedOutV1,
    ResidentRegisteredV1,
    ResidentSnapshot,
)
from jemput.shared.messaging.handlers import EventHandlers, InboundEvent

NOT_RECORDED = {"BELUM_WAJIB", "BELUM_REKAM"}


async def on_resident_snapshot(
    session: AsyncSession, event: InboundEvent[ResidentSnapshot]
) -> None:
    """Registered or changed: the register's view of the resident replaces ours."""
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
    fact.village_code = payload.village_code
    fact.district_code = payload.village_code[:8]
    fact.regency_code = payload.village_code[:5]
    fact.birth_date = payload.birth_date
    fact.ever_married = payload.marital_status != "BELUM_KAWIN"
    fact.alive = payload.domicile_status != "DECEASED"
    fact.domiciled = payload.domicile_status == "RESIDENT"
    # Recording is never undone: a late snapshot must not erase a recording seen before it.
    fact.recorded = fact.recorded or payload.ektp_status not in NOT_RECORDED
    session.add(fact)


async def on_moved_out(session: AsyncSession, event: InboundEvent[ResidentMovedOutV1]) -> None:
    fact = await session.get(ResidentFact, event.payload.nik)
    if fact is not None:
        fact.domiciled = False
        session.add(fact)


async def on_died(session: AsyncSession, event: InboundEvent[ResidentDiedV1]) -> None:
    fact = await session.get(ResidentFact, event.payload.nik)
    if fact is not None:
        fact.alive = False
        session.add(fact)


async def on_status_changed(
    session: AsyncSession, event: InboundEvent[EktpStatusChangedV1]
) -> None:
    fact = await session.get(ResidentFact, event.payload.nik)
    if fact is not None and event.payload.to_status not in NOT_RECORDED:
        fact.recorded = True
        session.add(fact)


def handlers() -> EventHandlers:
    registry = EventHandlers()
    registry.add(ResidentRegisteredV1, on_resident_snapshot)
    registry.add(ResidentChangedV1, on_resident_snapshot)
    registry.add(ResidentMovedOutV1, on_moved_out)
    registry.add(ResidentDiedV1, on_died)
    registry.add(EktpStatusChangedV1, on_status_changed)
    return registry
