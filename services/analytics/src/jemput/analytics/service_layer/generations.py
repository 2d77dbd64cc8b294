"""Which generation of read-model tables serves, and how a new one is started and switched to.

Writers of one generation (the service's consumer and, during a rebuild, the rebuild's) take
turns through `lock_for_writing`: each applies a batch as read-merge-write of the rows it
touches, which must not interleave.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Table, func, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.analytics.adapters.tables import (
    ReadModelGeneration,
    ReadModelTables,
    read_model_tables,
)
from jemput.shared.db import core_connection, is_postgres

ACTIVE, BUILDING, RETIRED = "active", "building", "retired"
# Key space of the PostgreSQL advisory locks that serialise writers of a generation.
_LOCK_SPACE = 0x4A454D


class NoActiveGeneration(RuntimeError):
    pass


def registry_table() -> Table:
    table: Table = ReadModelGeneration.__table__  # type: ignore[attr-defined]
    return table


async def active_generation(db: AsyncSession | AsyncConnection) -> int:
    conn = await core_connection(db)
    registry = registry_table()
    found = (
        await conn.execute(select(registry.c.generation).where(registry.c.state == ACTIVE))
    ).scalar_one_or_none()
    if found is None:
        raise NoActiveGeneration("no active read-model generation: run the migrations")
    return int(found)


async def active_tables(db: AsyncSession | AsyncConnection) -> ReadModelTables:
    return read_model_tables(await active_generation(db))


async def lock_for_writing(db: AsyncSession | AsyncConnection, generation: int) -> None:
    """Until the transaction ends, the only writer of this generation (SQLite has one writer
    at a time already)."""
    conn = await core_connection(db)
    if is_postgres(conn.engine):
        await conn.execute(
            text("SELECT pg_advisory_xact_lock(:space, :generation)"),
            {"space": _LOCK_SPACE, "generation": generation},
        )


async def start_generation(db: AsyncSession | AsyncConnection) -> ReadModelTables:
    """A new, empty generation (state `building`) with its tables created."""
    conn = await core_connection(db)
    registry = registry_table()
    newest = (await conn.execute(select(func.max(registry.c.generation)))).scalar_one_or_none()
    generation = (newest or 0) + 1
    tables = read_model_tables(generation)
    await conn.run_sync(tables.metadata.create_all)
    await conn.execute(
        registry.insert().values(
            generation=generation, state=BUILDING, created_at=datetime.now(UTC)
        )
    )
    return tables


async def activate(db: AsyncSession | AsyncConnection, generation: int) -> int | None:
    """Make `generation` the one that serves; returns the generation it replaced."""
    conn = await core_connection(db)
    table = registry_table()
    previous = await active_generation(conn)
    await conn.execute(update(table).where(table.c.state == ACTIVE).values(state=RETIRED))
    await conn.execute(
        update(table)
        .where(table.c.generation == generation)
        .values(state=ACTIVE, activated_at=datetime.now(UTC))
    )
    return previous if previous != generation else None


async def drop_generation(db: AsyncSession | AsyncConnection, generation: int) -> None:
    """Drop the tables of a generation that no longer serves (a retired or abandoned one)."""
    conn = await core_connection(db)
    if generation == await active_generation(conn):
        raise ValueError(f"generation {generation} is active")
    await conn.run_sync(read_model_tables(generation).metadata.drop_all)
    table = registry_table()
    await conn.execute(table.delete().where(table.c.generation == generation))
