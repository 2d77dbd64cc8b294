"""Pooled PostgreSQL connections cut by the server (a restart, an idle timeout in between):
an idle one is pinged and replaced before use; a busy one fails its next statement once, and
the pool is renewed."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine

from jemput.shared.db import create_engine
from jemput.shared.db import engine as engine_module
from jemput.shared.testing.fixtures import create_postgres_database, drop_postgres_database

pytestmark = pytest.mark.postgres


@pytest.fixture
async def engine(pg_dsn: str) -> AsyncIterator[AsyncEngine]:
    name, url = await create_postgres_database(pg_dsn)
    engine = create_engine(url, pool_size=1)
    try:
        yield engine
    finally:
        await engine.dispose()
        await drop_postgres_database(pg_dsn, name)


async def _backend_pid(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(sa.text("SELECT pg_backend_pid()"))).scalar_one())


async def _cut(engine: AsyncEngine, pid: int) -> None:
    """What a database restart does to a pooled connection, from another connection."""
    other = create_engine(engine.url.render_as_string(hide_password=False), pool_size=1)
    try:
        async with other.connect() as conn:
            await conn.execute(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    finally:
        await other.dispose()


async def test_an_idle_connection_that_was_cut_is_replaced_before_use(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "IDLE_PING_SECONDS", 0.0)
    first = await _backend_pid(engine)
    await _cut(engine, first)
    # The pool's one connection is dead; the ping on checkout finds it, a new one serves.
    assert await _backend_pid(engine) != first


async def test_a_busy_connection_is_not_pinged_and_a_cut_one_fails_once(
    engine: AsyncEngine, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "IDLE_PING_SECONDS", 3600.0)
    first = await _backend_pid(engine)
    assert await _backend_pid(engine) == first  # the same pooled connection, no new one
    await _cut(engine, first)
    with pytest.raises(DBAPIError) as failed:
        await _backend_pid(engine)
    assert failed.value.connection_invalidated
    assert await _backend_pid(engine) != first  # the next use has a fresh connection
