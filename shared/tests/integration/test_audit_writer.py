"""The audit writer's group commit: concurrent reads wait for their entries, which are stored
in a few shared transactions; when the log cannot be written every waiting read learns it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
import structlog
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from jemput.shared.audit import AuditAction, AuditEntry, AuditResult
from jemput.shared.audit.tables import audit_log, create_audit_tables_now
from jemput.shared.audit.writer import AuditUnavailable, AuditWriter
from jemput.shared.db import create_engine


def entry(n: int) -> AuditEntry:
    return AuditEntry(
        client_id="bpjs",
        action=AuditAction.RESIDENT_STATUS_READ,
        result=AuditResult.OK,
        nik=f"16020501019{n:05d}",
        purpose="verifikasi kepesertaan",
    )


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await create_audit_tables_now(conn)
    try:
        yield engine
    finally:
        await engine.dispose()


async def count(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int(
            (await conn.execute(sa.select(sa.func.count()).select_from(audit_log))).scalar_one()
        )


async def test_concurrent_reads_share_transactions_and_each_waits_for_its_entry(
    engine: AsyncEngine,
) -> None:
    writer = AuditWriter(engine)
    stop = asyncio.Event()
    running = asyncio.create_task(writer.run(stop))
    await asyncio.sleep(0)
    inserts = 0

    def counted(_conn: object, statement: object, *_: object) -> None:
        nonlocal inserts
        if isinstance(statement, sa.Insert):
            inserts += 1

    event.listen(engine.sync_engine, "before_execute", counted)

    async def one_request(n: int) -> int:
        structlog.contextvars.bind_contextvars(request_id=f"req-{n}")
        await writer.write(entry(n))
        return await count(engine)  # stored before write returned

    try:
        seen = await asyncio.gather(*(one_request(n) for n in range(300)))
    finally:
        event.remove(engine.sync_engine, "before_execute", counted)
        stop.set()
        await running
    assert min(seen) >= 1 and await count(engine) == 300
    assert inserts < 300 // 3, f"{inserts} inserts for 300 entries: no group commit"
    async with engine.connect() as conn:
        request_ids = set((await conn.execute(sa.select(audit_log.c.request_id))).scalars())
    assert request_ids == {f"req-{n}" for n in range(300)}  # each request's own id


async def test_when_the_log_cannot_be_written_every_waiting_read_is_refused(
    engine: AsyncEngine,
) -> None:
    async with engine.begin() as conn:
        await conn.execute(sa.text("DROP TABLE audit_log"))
    writer = AuditWriter(engine)
    stop = asyncio.Event()
    running = asyncio.create_task(writer.run(stop))
    await asyncio.sleep(0)
    try:
        results = await asyncio.gather(
            *(writer.write(entry(n)) for n in range(5)), return_exceptions=True
        )
    finally:
        stop.set()
        await running
    assert all(isinstance(r, AuditUnavailable) for r in results), results


async def test_without_a_running_writer_entries_are_written_directly(engine: AsyncEngine) -> None:
    await AuditWriter(engine).write(entry(1), entry(2))
    assert await count(engine) == 2
