"""Pytest fixtures: the test Kafka broker, the test PostgreSQL server, fresh databases."""

from __future__ import annotations

import importlib
import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest

from jemput.shared.db.migrations import upgrade_to_head_async
from jemput.shared.testing.kafka import delete_topics, reachable

KAFKA_ENV = "JEMPUT_TEST_KAFKA_BOOTSTRAP"
PG_ENV = "JEMPUT_TEST_PG_DSN"


@pytest.fixture(scope="session")
def kafka_bootstrap() -> str:
    address = os.environ.get(KAFKA_ENV, "127.0.0.1:9092")
    if not reachable(address):
        pytest.fail(
            f"No Kafka broker at {address}. Run the tests with `make test` (it starts one), or "
            f"start it with `deploy/kafka/kafka.sh start` and set {KAFKA_ENV}."
        )
    return address


@pytest.fixture(scope="session")
def pg_dsn() -> str:
    """Base DSN (no database name) of the test PostgreSQL server."""
    dsn = os.environ.get(PG_ENV, "postgresql://jemput:jemput@127.0.0.1:55432/")
    host_port = dsn.split("@", 1)[-1].split("/", 1)[0]
    if not reachable(host_port):
        pytest.fail(
            f"No PostgreSQL server at {host_port}. Run the tests with `make test` (it starts "
            f"one), or start it with `deploy/postgres/pg.sh start` and set {PG_ENV}."
        )
    return dsn.rstrip("/") + "/"


@pytest.fixture
async def kafka_namespace() -> AsyncIterator[str]:
    """A prefix for topics and consumer groups, so that tests never see each other's events.
    Its topics are deleted afterwards: a broker holding the partitions of every test ever run
    runs out of file descriptors."""
    namespace = f"t{uuid.uuid4().hex[:10]}."
    yield namespace
    await delete_topics(os.environ.get(KAFKA_ENV, "127.0.0.1:9092"), namespace)


async def create_postgres_database(pg_dsn: str) -> tuple[str, str]:
    """A fresh, empty database; returns (its name, its SQLAlchemy URL)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(pg_dsn + "postgres")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = pg_dsn.replace("postgresql://", "postgresql+asyncpg://", 1) + name
    return name, url


async def drop_postgres_database(pg_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(pg_dsn + "postgres")
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """An empty database, once on SQLite and once on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    pg = request.getfixturevalue("pg_dsn")
    name, url = await create_postgres_database(pg)
    try:
        yield url
    finally:
        await drop_postgres_database(pg, name)


def migrations_dir(service: str) -> Path:
    package = importlib.import_module(f"jemput.{service}")
    assert package.__file__ is not None
    return Path(package.__file__).parent / "migrations"


async def migrate(service: str, database_url: str) -> None:
    await upgrade_to_head_async(migrations_dir(service), database_url)


@pytest.fixture
def spawned() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Processes a test starts; whatever still runs at the end is killed, pass or fail."""
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
