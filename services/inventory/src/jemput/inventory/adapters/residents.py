"""What inventory keeps of residents: their own village (from the register's snapshots), and
the print jobs' village set from it. Set-based: one statement for a consumer batch."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import sqlalchemy as sa
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.inventory.adapters.tables import PrintJob, ResidentVillage
from jemput.inventory.domain.print_jobs import JobState
from jemput.shared.db import dialect_insert

_VILLAGES: sa.Table = ResidentVillage.__table__  # type: ignore[attr-defined]
_JOBS: sa.Table = PrintJob.__table__  # type: ignore[attr-defined]


async def remember_villages(session: AsyncSession, villages: Mapping[str, str]) -> None:
    """NIK → village, replacing what was known (the register's latest word)."""
    if not villages:
        return
    conn = await session.connection()
    upsert = dialect_insert(conn, _VILLAGES)
    await conn.execute(
        upsert.on_conflict_do_update(
            index_elements=["nik"], set_={"village_code": upsert.excluded.village_code}
        ),
        [{"nik": nik, "village_code": village} for nik, village in villages.items()],
    )


async def villages_of(session: AsyncSession, niks: Iterable[str]) -> dict[str, str]:
    wanted = list(dict.fromkeys(niks))
    if not wanted:
        return {}
    found = await session.exec(
        select(ResidentVillage.nik, ResidentVillage.village_code).where(
            col(ResidentVillage.nik).in_(wanted)
        )
    )
    return dict(found.all())


async def move_jobs_to_villages(session: AsyncSession, niks: Iterable[str]) -> None:
    """The residents' cards still on their way (open or printed, not handed over) take the
    residents' own villages; an issued or dropped job keeps the village it had."""
    wanted = list(dict.fromkeys(niks))
    if not wanted:
        return
    own = (
        sa.select(_VILLAGES.c.village_code).where(_VILLAGES.c.nik == _JOBS.c.nik).scalar_subquery()
    )
    known = sa.exists().where(_VILLAGES.c.nik == _JOBS.c.nik)
    await (await session.connection()).execute(
        sa.update(_JOBS)
        .where(
            _JOBS.c.nik.in_(wanted),
            _JOBS.c.state.in_([JobState.OPEN, JobState.PRINTED]),
            known,
        )
        .values(village_code=own)
        .execution_options(synchronize_session=False)
    )


async def niks_with_card(session: AsyncSession, niks: Iterable[str]) -> set[str]:
    """Those of `niks` whose card was printed (handed over or not)."""
    wanted = list(dict.fromkeys(niks))
    if not wanted:
        return set()
    found = await session.exec(
        select(PrintJob.nik).where(
            col(PrintJob.nik).in_(wanted),
            col(PrintJob.state).in_([JobState.PRINTED, JobState.ISSUED]),
        )
    )
    return set(found.all())
