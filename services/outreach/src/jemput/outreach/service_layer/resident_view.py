"""The residents read model: kept from the register's events by the consumer (each handler
idempotent under the inbox), read by appointments, home visits, capture and the planner."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.outreach.adapters.tables import ResidentView, table_of
from jemput.outreach.domain.planner import VillageDemand
from jemput.shared.db import core_connection, is_postgres
from jemput.shared.eligibility import eligible_from
from jemput.shared.events.residents import (
    EktpStatusChangedV1,
    ResidentDiedV1,
    ResidentMovedOutV1,
    ResidentSnapshot,
)
from jemput.shared.messaging.handlers import InboundEvent

# Statuses of residents not recorded yet; every other status means recorded at least once.
NOT_RECORDED = frozenset({"BELUM_WAJIB", "BELUM_REKAM"})


def view_row(snapshot: ResidentSnapshot) -> dict[str, Any]:
    ever_married = snapshot.marital_status != "BELUM_KAWIN"
    return {
        "nik": snapshot.nik,
        "village_code": snapshot.village_code,
        "birth_date": snapshot.birth_date,
        "ever_married": ever_married,
        "eligible_from": eligible_from(birth_date=snapshot.birth_date, ever_married=ever_married),
        "alive": snapshot.domicile_status != "DECEASED",
        "domiciled": snapshot.domicile_status == "RESIDENT",
        "recorded": snapshot.ektp_status not in NOT_RECORDED,
        "ektp_status": snapshot.ektp_status,
        "disabled": snapshot.disabled,
        "chronically_ill": snapshot.chronically_ill,
        "mental_illness": snapshot.mental_illness,
    }


async def upsert_rows(db: AsyncSession | AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
    """Insert or replace residents in one statement. A recording is never undone: a snapshot
    of the register older than our own recording leaves `recorded` set."""
    if not rows:
        return
    conn = await core_connection(db)
    view = table_of(ResidentView)
    insert_into = postgresql_insert if is_postgres(conn.engine) else sqlite_insert
    # One statement run with many parameter sets: SQLAlchemy caches its compiled form and
    # batches the rows itself, where a multi-row VALUES was compiled again for every batch
    # (70% of the consumer's time while the register was imported).
    upsert = insert_into(view)
    replaced = {c: upsert.excluded[c] for c in rows[0] if c not in ("nik", "recorded")}
    await conn.execute(
        upsert.on_conflict_do_update(
            index_elements=["nik"],
            set_={**replaced, "recorded": sa.or_(view.c.recorded, upsert.excluded.recorded)},
        ),
        list(rows),
    )


async def on_snapshots(
    session: AsyncSession, events: Sequence[InboundEvent[ResidentSnapshot]]
) -> list[str]:
    """Registered or changed: the register's latest view of each resident replaces ours.
    Returns the NIKs."""
    latest = {event.payload.nik: event.payload for event in events}
    await upsert_rows(session, [view_row(snapshot) for snapshot in latest.values()])
    return list(latest)


async def on_moved_out(session: AsyncSession, event: InboundEvent[ResidentMovedOutV1]) -> None:
    await _set(session, event.payload.nik, domiciled=False)


async def on_died(session: AsyncSession, event: InboundEvent[ResidentDiedV1]) -> None:
    await _set(session, event.payload.nik, alive=False)


async def on_status_changed(
    session: AsyncSession, event: InboundEvent[EktpStatusChangedV1]
) -> None:
    values: dict[str, Any] = {"ektp_status": event.payload.to_status}
    if event.payload.to_status not in NOT_RECORDED:
        values["recorded"] = True
    await _set(session, event.payload.nik, **values)


async def _set(session: AsyncSession, nik: str, **values: Any) -> None:
    # A resident the view has not seen yet is skipped: the register's topic is keyed by NIK,
    # so a resident's registration always comes before their other events.
    view = table_of(ResidentView)
    await (await session.connection()).execute(
        sa.update(view).where(view.c.nik == nik).values(**values)
    )


async def mark_recorded(session: AsyncSession, niks: Iterable[str]) -> None:
    """Our own recordings count at once, before the register's status event comes back."""
    wanted = sorted(set(niks))
    if not wanted:
        return
    view = table_of(ResidentView)
    await (await session.connection()).execute(
        sa.update(view).where(view.c.nik.in_(wanted)).values(recorded=True)
    )


async def residents(session: AsyncSession, niks: Iterable[str]) -> dict[str, ResidentView]:
    wanted = sorted(set(niks))
    if not wanted:
        return {}
    found = await session.exec(select(ResidentView).where(col(ResidentView.nik).in_(wanted)))
    return {row.nik: row for row in found}


async def village_demand(session: AsyncSession, start: date, end: date) -> list[VillageDemand]:
    """Per village: eligible-but-unrecorded residents on `start`, and those becoming eligible
    on each later day up to `end` (birthdays and marriages) — one grouped query."""
    view = table_of(ResidentView)
    on_day = sa.case(
        (view.c.eligible_from <= start, sa.literal(start, sa.Date())),
        else_=view.c.eligible_from,
    ).label("on_day")
    query = (
        sa.select(view.c.village_code, on_day, sa.func.count().label("residents"))
        # Written as the partial index `ix_resident_view_waiting` is, so SQLite uses it.
        .where(sa.text("recorded = false AND alive = true AND domiciled = true"))
        .where(view.c.eligible_from <= end)
        .group_by(view.c.village_code, on_day)
    )
    rows = (await (await session.connection()).execute(query)).all()
    waiting: dict[str, int] = {}
    upcoming: dict[str, list[tuple[date, int]]] = {}
    for village, day, count in rows:
        if _as_date(day) <= start:
            waiting[village] = waiting.get(village, 0) + int(count)
        else:
            upcoming.setdefault(village, []).append((_as_date(day), int(count)))
    return [
        VillageDemand(code, waiting.get(code, 0), tuple(sorted(upcoming.get(code, []))))
        for code in sorted(waiting.keys() | upcoming.keys())
    ]


def _as_date(value: date | str) -> date:
    # SQLite hands back the CASE of a bound date and a DATE column as text.
    return value if isinstance(value, date) else date.fromisoformat(value)
