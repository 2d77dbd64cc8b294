"""Event handlers that keep the read models; each is idempotent under the consumer's inbox."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table, delete, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.analytics.adapters.tables import EarlyRecording, ResidentFact
from jemput.shared.db import is_postgres
from jemput.shared.events.outreach import RecordingCapturedV1
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


async def on_resident_snapshots(
    session: AsyncSession, events: Sequence[InboundEvent[ResidentSnapshot]]
) -> None:
    """Registered or changed: the register's view of each resident replaces ours, in one
    upsert per run of events. A recording is never undone by a later snapshot."""
    latest: dict[str, ResidentSnapshot] = {}
    for event in events:
        latest[event.payload.nik] = event.payload
    facts = _facts()
    rows = [
        {
            "nik": p.nik,
            "village_code": p.village_code,
            "district_code": p.village_code[:8],
            "regency_code": p.village_code[:5],
            "birth_date": p.birth_date,
            "ever_married": p.marital_status != "BELUM_KAWIN",
            "alive": p.domicile_status != "DECEASED",
            "domiciled": p.domicile_status == "RESIDENT",
            "recorded": p.ektp_status not in NOT_RECORDED,
        }
        for p in latest.values()
    ]
    conn = await session.connection()
    upsert = (postgresql_insert if is_postgres(conn.engine) else sqlite_insert)(facts).values(rows)
    replaced = {c: upsert.excluded[c] for c in rows[0] if c not in ("nik", "recorded")}
    await conn.execute(
        upsert.on_conflict_do_update(
            index_elements=["nik"],
            set_={**replaced, "recorded": or_(facts.c.recorded, upsert.excluded.recorded)},
        )
    )
    # Recordings that came in before these residents did.
    early = _early().c.nik
    waiting = select(early).where(early.in_(list(latest)))
    await conn.execute(update(facts).where(facts.c.nik.in_(waiting)).values(recorded=True))
    await conn.execute(delete(_early()).where(early.in_(list(latest))))


async def on_recordings(
    session: AsyncSession, events: Sequence[InboundEvent[RecordingCapturedV1]]
) -> None:
    """A field recording counts toward coverage at once: the resident is recorded."""
    niks = list({event.payload.nik for event in events})
    conn = await session.connection()
    facts = _facts()
    await conn.execute(update(facts).where(facts.c.nik.in_(niks)).values(recorded=True))
    known = set((await conn.execute(select(facts.c.nik).where(facts.c.nik.in_(niks)))).scalars())
    unknown = [{"nik": n} for n in niks if n not in known]
    if unknown:
        insert_into = postgresql_insert if is_postgres(conn.engine) else sqlite_insert
        await conn.execute(insert_into(_early()).values(unknown).on_conflict_do_nothing())


def _early() -> Table:
    table: Table = EarlyRecording.__table__  # type: ignore[attr-defined]
    return table


def _facts() -> Table:
    table: Table = ResidentFact.__table__  # type: ignore[attr-defined]
    return table


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
    registry.add_batch(ResidentRegisteredV1, on_resident_snapshots)
    registry.add_batch(ResidentChangedV1, on_resident_snapshots)
    registry.add(ResidentMovedOutV1, on_moved_out)
    registry.add(ResidentDiedV1, on_died)
    registry.add(EktpStatusChangedV1, on_status_changed)
    registry.add_batch(RecordingCapturedV1, on_recordings)
    return registry
