"""Migrations on SQLite and PostgreSQL: with 0003 the facts of the old single tables move into
generation 1 (undated), whose tables have exactly the columns a rebuild creates; 0004 gives every
generation its home-visit table."""

from __future__ import annotations

import asyncio
from datetime import date

import sqlalchemy as sa
from alembic import command
from alembic.migration import MigrationContext
from alembic.operations import Operations

from jemput.analytics.adapters.tables import read_model_tables
from jemput.analytics.service_layer.coverage import coverage
from jemput.analytics.service_layer.generations import active_generation
from jemput.shared.db import create_engine
from jemput.shared.db.migrations import alembic_config
from jemput.shared.reference.areas import load_area_table
from jemput.shared.testing.fixtures import migrate, migrations_dir

VILLAGE = "16.02.05.1001"


async def test_old_facts_move_into_generation_one(database_url: str) -> None:
    config = alembic_config(migrations_dir("analytics"), database_url)
    await asyncio.to_thread(command.upgrade, config, "0002")
    engine = create_engine(database_url)
    old = sa.table(
        "resident_fact",
        *(sa.column(c) for c in ("nik", "village_code", "district_code", "regency_code")),
        *(sa.column(c) for c in ("birth_date", "ever_married", "alive", "domiciled", "recorded")),
    )

    def fact(nik: str, **flags: bool) -> dict[str, object]:
        values = {"alive": True, "domiciled": True, "recorded": False} | flags
        return {
            "nik": nik,
            "village_code": VILLAGE,
            "district_code": VILLAGE[:8],
            "regency_code": VILLAGE[:5],
            "birth_date": date(1980, 1, 1),
            "ever_married": False,
            **values,
        }

    async with engine.begin() as conn:
        await conn.execute(
            old.insert(),
            [
                fact("1602050101800001", recorded=True),
                fact("1602050101800002"),
                fact("1602050101800003", alive=False, recorded=True),
            ],
        )
        await conn.execute(sa.text("INSERT INTO early_recording (nik) VALUES ('1602050101800009')"))
    await migrate("analytics", database_url)
    async with engine.connect() as conn:
        assert await active_generation(conn) == 1
        report = await coverage(
            conn, load_area_table(), load_area_table().get(VILLAGE), date(2026, 1, 1)
        )  # type: ignore[arg-type]
        early = (
            await conn.execute(
                sa.text("SELECT recorded_on FROM resident_g1 WHERE nik = '1602050101800009'")
            )
        ).scalar_one()
        columns = await conn.run_sync(
            lambda sync: {
                name: [c["name"] for c in sa.inspect(sync).get_columns(name)]
                for name in sa.inspect(sync).get_table_names()
            }
        )
    await engine.dispose()
    assert (report.total.eligible, report.total.recorded) == (2, 1)  # the dead one is gone
    assert early is not None  # recorded, day unknown
    assert "resident_fact" not in columns and "early_recording" not in columns
    for table in read_model_tables(2).metadata.sorted_tables:
        name = table.name.replace("_g2", "_g1")
        assert columns[name] == [c.name for c in table.columns], name


async def test_home_visits_join_every_generation_there_is(database_url: str) -> None:
    """A database at 0003 from before home visits: its active generation and a rebuild's
    under way get `home_visit_g<n>`, as a rebuild makes it; downgrading takes them away."""
    config = alembic_config(migrations_dir("analytics"), database_url)
    await asyncio.to_thread(command.upgrade, config, "0003")
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        # A rebuild under way, as one started at 0003 (the registry had these columns then).
        await conn.run_sync(read_model_tables(2).metadata.create_all)
        await conn.execute(
            sa.text(
                "INSERT INTO read_model_generation (generation, state, created_at) "
                "VALUES (2, 'building', CURRENT_TIMESTAMP)"
            )
        )
        for generation in (1, 2):
            await conn.execute(sa.text(f"DROP TABLE home_visit_g{generation}"))

    async def tables() -> dict[str, list[str]]:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: {
                    name: [c["name"] for c in sa.inspect(sync).get_columns(name)]
                    for name in sa.inspect(sync).get_table_names()
                }
            )

    await migrate("analytics", database_url)
    upgraded = await tables()
    await asyncio.to_thread(command.downgrade, config, "0003")
    downgraded = await tables()
    await migrate("analytics", database_url)
    again = await tables()
    await engine.dispose()
    expected = [c.name for c in read_model_tables(3).home_visit.columns]
    assert upgraded["home_visit_g1"] == upgraded["home_visit_g2"] == expected
    assert "home_visit_g1" not in downgraded and "home_visit_g2" not in downgraded
    assert "resident_g1" in downgraded
    assert again["home_visit_g1"] == again["home_visit_g2"] == expected


async def test_suket_revocation_columns_join_every_generation_there_is(database_url: str) -> None:
    """A database at 0004 from before revoked SUKETs: its generations' resident tables get the
    columns a rebuild makes, in the same order; downgrading takes them away."""
    config = alembic_config(migrations_dir("analytics"), database_url)
    await asyncio.to_thread(command.upgrade, config, "0004")
    engine = create_engine(database_url)
    added = ("suket_at", "suket_revoked_on", "suket_revoked_at")

    def drop_new_columns(sync: sa.Connection) -> None:
        operations = Operations(MigrationContext.configure(sync))
        with operations.batch_alter_table("resident_g1") as table:
            for column in added:
                table.drop_column(column)

    async def columns() -> list[str]:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: [c["name"] for c in sa.inspect(sync).get_columns("resident_g1")]
            )

    async with engine.begin() as conn:
        await conn.run_sync(drop_new_columns)
    assert not set(added) & set(await columns())
    await migrate("analytics", database_url)
    upgraded = await columns()
    await asyncio.to_thread(command.downgrade, config, "0004")
    downgraded = await columns()
    await engine.dispose()
    assert upgraded == [c.name for c in read_model_tables(1).resident.columns]
    assert not set(added) & set(downgraded)


async def test_the_aggregates_position_moves_into_the_registry_and_back(
    database_url: str,
) -> None:
    """A database at 0007 keeps each generation's position in `aggregate_state_g<n>`: 0008
    moves it into the generation's registry row (none for a generation still building) and
    drops those tables; downgrading puts them back with the same values."""
    config = alembic_config(migrations_dir("analytics"), database_url)
    await asyncio.to_thread(command.upgrade, config, "0007")
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.execute(
            sa.text(
                "INSERT INTO read_model_generation (generation, state, created_at) "
                "VALUES (2, 'building', CURRENT_TIMESTAMP)"
            )
        )
        await conn.execute(
            sa.text(
                "CREATE TABLE aggregate_state_g2 (id INTEGER PRIMARY KEY, rolled_to DATE NOT "
                "NULL, version BIGINT NOT NULL DEFAULT 0, changed_at TIMESTAMP)"
            )
        )
        await conn.execute(sa.text("UPDATE aggregate_state_g1 SET version = 41"))
        before = (
            await conn.execute(sa.text("SELECT rolled_to, version FROM aggregate_state_g1"))
        ).one()

    async def names() -> set[str]:
        async with engine.connect() as conn:
            return set(await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names()))

    async def positions() -> dict[int, tuple[object, int]]:
        async with engine.connect() as conn:
            rows = await conn.execute(
                sa.text("SELECT generation, rolled_to, version FROM read_model_generation")
            )
            return {int(r.generation): (r.rolled_to, int(r.version)) for r in rows}

    try:
        await migrate("analytics", database_url)
        assert not {"aggregate_state_g1", "aggregate_state_g2"} & await names()
        assert await positions() == {1: (before.rolled_to, 41), 2: (None, 0)}

        await asyncio.to_thread(command.downgrade, config, "0007")
        async with engine.connect() as conn:
            back = (
                await conn.execute(sa.text("SELECT rolled_to, version FROM aggregate_state_g1"))
            ).one()
            assert (
                await conn.execute(sa.text("SELECT count(*) FROM aggregate_state_g2"))
            ).scalar_one() == 0
        assert (back.rolled_to, back.version) == (before.rolled_to, 41)
    finally:
        await engine.dispose()
