"""Looking up the SUKETs of many print jobs at once: a delivery of blanks serves as many
waiting jobs as it has blanks, more than one statement may name (the drivers' limit of bound
parameters), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.inventory.adapters.tables import Suket
from jemput.inventory.service_layer import queries
from jemput.shared.db import create_engine
from jemput.shared.testing.fixtures import migrate


async def test_the_sukets_of_forty_thousand_jobs_are_found(database_url: str) -> None:
    await migrate("inventory", database_url)
    engine = create_engine(database_url)
    jobs = [f"job-{n:05d}" for n in range(40_000)]
    holders = {jobs[7]: "SKT-0007", jobs[20_000]: "SKT-20000", jobs[39_999]: "SKT-39999"}
    now = datetime.now(UTC)
    try:
        async with AsyncSession(engine) as session, session.begin():
            for n, (job_id, number) in enumerate(holders.items()):
                session.add(
                    Suket(
                        number=number,
                        nik=f"16020501019{n:05d}",
                        job_id=job_id,
                        issued_at=now,
                        valid_until=now + timedelta(days=30),
                    )
                )
            session.add(  # cleared by the hand-over: not outstanding
                Suket(
                    number="SKT-0008",
                    nik="1602050101990008",
                    job_id=jobs[8],
                    issued_at=now,
                    valid_until=now + timedelta(days=30),
                    cleared_at=now,
                )
            )
        async with AsyncSession(engine) as session:
            assert await queries.outstanding_sukets(session, jobs) == holders
            assert await queries.outstanding_sukets(session, []) == {}
    finally:
        await engine.dispose()
