"""The outreach schema goes up, down and up again on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa
from alembic import command

from jemput.shared.db import create_engine
from jemput.shared.db.migrations import alembic_config
from jemput.shared.testing.fixtures import migrate, migrations_dir

TABLES = {
    "team",
    "kit",
    "outreach_session",
    "session_kit",
    "appointment",
    "home_visit",
    "recording",
    "office_closure",
    "resident_view",
    "audit_log",
    "audit_chain_head",
}


async def tables(database_url: str) -> set[str]:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))
    finally:
        await engine.dispose()


async def test_upgrade_downgrade_upgrade(database_url: str) -> None:
    await migrate("outreach", database_url)
    assert await tables(database_url) >= TABLES
    config = alembic_config(migrations_dir("outreach"), database_url)
    await asyncio.to_thread(command.downgrade, config, "0001")
    assert not TABLES & await tables(database_url)
    await migrate("outreach", database_url)
    assert await tables(database_url) >= TABLES
