"""The inventory schema goes up, down and up again on SQLite and PostgreSQL, and revision 0004
fills the daily snapshot, the received serial ranges and the used blanks of a ledger written
before it."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import command
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.inventory.adapters.tables import BlankBatch, StockBalance, StockDay, UsedBlank
from jemput.inventory.service_layer import daily
from jemput.shared.db import create_engine
from jemput.shared.db.migrations import alembic_config
from jemput.shared.testing.fixtures import migrate, migrations_dir

NEW_TABLES = {"stock_day", "blank_batch", "used_blank", "blank_request", "idempotent_request"}
AUDIT_TABLES = {"audit_log", "audit_chain_head"}
RESIDENT_TABLES = {"resident_village"}  # 0006
# 2 November 08:00 WIB, and the next day.
DAY_ONE = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
DAY_TWO = datetime(2026, 11, 3, 1, 0, tzinfo=UTC)


async def tables(database_url: str) -> set[str]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def test_upgrade_downgrade_upgrade(database_url: str) -> None:
    await migrate("inventory", database_url)
    everything = (
        NEW_TABLES | AUDIT_TABLES | RESIDENT_TABLES | {"ledger_entry", "print_job", "suket"}
    )
    assert await tables(database_url) >= everything
    config = alembic_config(migrations_dir("inventory"), database_url)
    await asyncio.to_thread(command.downgrade, config, "0003")
    assert not (NEW_TABLES | AUDIT_TABLES | RESIDENT_TABLES) & await tables(database_url)
    await migrate("inventory", database_url)
    assert await tables(database_url) >= everything


async def test_0004_fills_what_it_adds_from_the_ledger(database_url: str) -> None:
    config = alembic_config(migrations_dir("inventory"), database_url)
    await asyncio.to_thread(command.upgrade, config, "0003")
    entries = [
        # id, kind, quantity, serial_from, serial_to, job, reverses, at
        (1, "RECEIVED", 10, "A0001", "A0010", None, None, DAY_ONE),
        (2, "RESERVED", 1, None, None, "job-1", None, DAY_ONE),
        (3, "CONSUMED", 1, "A0003", "A0003", "job-1", None, DAY_TWO),
        (4, "RECEIVED", 5, "B0001", "B0005", None, None, DAY_TWO),
        (5, "REVERSAL", 5, None, None, None, 4, DAY_TWO),
        (6, "RESERVED", 1, None, None, "job-2", None, DAY_TWO),
    ]
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.execute(
            sa.text(
                "INSERT INTO stock_balance (location, on_hand, reserved, last_entry_id, "
                "low_threshold) VALUES ('office', 9, 1, 6, 100)"
            )
        )
        for entry_id, kind, quantity, serial_from, serial_to, job, reverses, at in entries:
            await conn.execute(
                sa.text(
                    "INSERT INTO ledger_entry (id, kind, quantity, location, reverses_id, "
                    "serial_from, serial_to, job_id, actor, recorded_at) VALUES (:id, :kind, "
                    ":quantity, 'office', :reverses, :first, :last, :job, 't', :at)"
                ),
                {
                    "id": entry_id,
                    "kind": kind,
                    "quantity": quantity,
                    "reverses": reverses,
                    "first": serial_from,
                    "last": serial_to,
                    "job": job,
                    "at": at.replace(tzinfo=None) if "sqlite" in database_url else at,
                },
            )
        await conn.execute(
            sa.text(
                "INSERT INTO print_job (id, nik, recorded_at, location, state, has_blank, "
                "print_ready) VALUES ('job-1', '1602054505000001', :at, 'office', 'PRINTED', "
                "false, true)"
            ),
            {"at": DAY_ONE.replace(tzinfo=None) if "sqlite" in database_url else DAY_ONE},
        )
        await conn.execute(
            sa.text(
                "INSERT INTO suket (number, nik, job_id, issued_at, valid_until) VALUES "
                "('SUKET/1', '1602054505000001', 'job-1', :at, :at)"
            ),
            {"at": DAY_ONE.replace(tzinfo=None) if "sqlite" in database_url else DAY_ONE},
        )
    await migrate("inventory", database_url)
    async with AsyncSession(engine) as session:
        days = {row.day: row for row in (await session.exec(select(StockDay))).all()}
        replayed = await daily.replay(session, "office")
        assert sorted(days) == sorted(replayed)
        for day, figures in replayed.items():
            row = days[day]
            assert (row.on_hand, row.reserved, row.min_available) == (
                figures.on_hand,
                figures.reserved,
                figures.min_available,
            )
            assert (row.received, row.consumed) == (figures.received, figures.consumed)
        first, second = sorted(days)
        assert (days[first].on_hand, days[first].reserved, days[first].sukets_issued) == (10, 1, 1)
        assert (days[second].on_hand, days[second].received, days[second].suket_prints) == (
            9,
            0,  # 5 received, then reversed the same day
            1,
        )
        batches = {b.entry_id: b.voided for b in (await session.exec(select(BlankBatch))).all()}
        assert batches == {1: False, 4: True}
        used = (await session.exec(select(UsedBlank))).all()
        assert [(u.serial, u.job_id) for u in used] == [("A0003", "job-1")]
        balance = await session.get(StockBalance, "office")
        assert balance is not None and balance.last_day == second
    await engine.dispose()
