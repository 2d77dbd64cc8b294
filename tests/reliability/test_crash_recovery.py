"""Processes killed with SIGKILL at the worst moments lose nothing and apply nothing twice.

Real processes (`jemput residents relay`, `jemput analytics consume`), a real Kafka broker and
real databases (SQLite and PostgreSQL). The crash points are set through each service's
`CRASH_AT` setting, which makes the process SIGKILL itself there (accepted only in a development
or test environment).
"""

from __future__ import annotations

import asyncio
import subprocess
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from jemput.analytics.adapters.tables import read_model_tables
from jemput.residents.adapters.tables import ResidentCreate
from jemput.residents.service_layer import registration
from jemput.shared.db import create_engine
from jemput.shared.messaging.outbox import Outbox
from jemput.shared.messaging.tables import inbox, outbox
from jemput.shared.nik import Sex, make_nik
from jemput.shared.settings import ServiceSettings
from jemput.shared.testing import processes
from jemput.shared.testing.fixtures import create_postgres_database, drop_postgres_database, migrate
from jemput.shared.testing.kafka import read_topic

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

RESIDENTS = 40


async def register_residents(database_url: str, namespace: str, count: int) -> None:
    """Register residents straight through the service layer (the relay is what we test)."""
    engine = create_engine(database_url)
    settings = ServiceSettings(kafka_namespace=namespace)
    box = Outbox(source="/jemput/residents", topic_for=settings.topic)
    from sqlmodel.ext.asyncio.session import AsyncSession

    async with AsyncSession(engine) as session, session.begin():
        for serial in range(1, count + 1):
            data = ResidentCreate(
                nik=make_nik("16.02.05", date(1980, 1, 1 + serial % 28), Sex.MALE, serial),
                kk=f"16020501012{serial:05d}",
                full_name=f"Warga {serial}",
                birth_date=date(1980, 1, 1 + serial % 28),
                sex=Sex.MALE,
                village_code="16.02.05.1001",
            )
            await registration.create(
                session, box, data, regency_code="16.02", today=date(2026, 11, 28)
            )
    await engine.dispose()


def crashing_at(service: str, point: str) -> dict[str, str]:
    """The variables that make a service kill itself at `point`: only accepted in a
    development or test environment, so the test says which (whatever the caller's shell)."""
    prefix = f"JEMPUT_{service.upper()}_"
    return {prefix + "CRASH_AT": point, prefix + "ENVIRONMENT": "test"}


async def count(database_url: str, query: sa.Select[Any]) -> int:
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())
    finally:
        await engine.dispose()


async def until(predicate: Any, seconds: float = 60.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.2)


@pytest.fixture
async def analytics_url(
    request: pytest.FixtureRequest, database_url: str, tmp_path: Path
) -> object:
    """The analytics database on the same kind of server as the residents one."""
    if database_url.startswith("sqlite"):
        yield f"sqlite+aiosqlite:///{tmp_path / 'analytics.db'}"
        return
    pg = request.getfixturevalue("pg_dsn")
    name, url = await create_postgres_database(pg)
    yield url
    await drop_postgres_database(pg, name)


async def test_relay_killed_between_publish_and_mark(
    database_url: str,
    analytics_url: str,
    kafka_bootstrap: str,
    kafka_namespace: str,
    tmp_path: Path,
    spawned: list[subprocess.Popen[bytes]],
) -> None:
    await migrate("residents", database_url)
    await migrate("analytics", analytics_url)
    await register_residents(database_url, kafka_namespace, RESIDENTS)
    topic = f"{kafka_namespace}jemput.residents.v1"
    common = {"kafka_bootstrap_servers": kafka_bootstrap, "kafka_namespace": kafka_namespace}
    residents_env = processes.service_env("residents", database_url=database_url, **common)
    log = tmp_path / "processes.log"

    crashing = processes.start(
        "residents",
        "relay",
        residents_env | crashing_at("residents", "relay.after_publish"),
        log,
    )
    spawned.append(crashing)
    assert await processes.wait_exit(crashing) == -9  # killed itself right after publishing
    unsent = sa.select(sa.func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
    assert await count(database_url, unsent) == RESIDENTS  # nothing was marked sent
    assert len(await read_topic(kafka_bootstrap, topic, expect=RESIDENTS)) == RESIDENTS

    relay = processes.start("residents", "relay", residents_env, log)
    spawned.append(relay)
    await until(lambda: _zero(database_url, unsent))
    assert await processes.stop(relay) == 0
    assert len(await read_topic(kafka_bootstrap, topic, expect=2 * RESIDENTS)) == 2 * RESIDENTS

    analytics_env = processes.service_env("analytics", database_url=analytics_url, **common)
    consumer = processes.start("analytics", "consume", analytics_env, log)
    spawned.append(consumer)
    group = f"{kafka_namespace}jemput.analytics"
    await until(lambda: processes.group_caught_up(kafka_bootstrap, group, topic))
    assert await processes.stop(consumer) == 0
    facts = sa.select(sa.func.count()).select_from(read_model_tables(1).resident)
    assert await count(analytics_url, facts) == RESIDENTS
    assert await count(analytics_url, sa.select(sa.func.count()).select_from(inbox)) == RESIDENTS


@pytest.mark.parametrize("crash_at", ["consumer.before_db_commit", "consumer.after_db_commit"])
async def test_consumer_killed_in_the_middle_of_a_batch(
    database_url: str,
    analytics_url: str,
    kafka_bootstrap: str,
    kafka_namespace: str,
    tmp_path: Path,
    crash_at: str,
    spawned: list[subprocess.Popen[bytes]],
) -> None:
    await migrate("residents", database_url)
    await migrate("analytics", analytics_url)
    await register_residents(database_url, kafka_namespace, RESIDENTS)
    topic = f"{kafka_namespace}jemput.residents.v1"
    common = {"kafka_bootstrap_servers": kafka_bootstrap, "kafka_namespace": kafka_namespace}
    log = tmp_path / "processes.log"
    relay = processes.start(
        "residents",
        "relay",
        processes.service_env("residents", database_url=database_url, **common),
        log,
    )
    spawned.append(relay)
    assert len(await read_topic(kafka_bootstrap, topic, expect=RESIDENTS)) == RESIDENTS
    assert await processes.stop(relay) == 0

    analytics_env = processes.service_env(
        "analytics", database_url=analytics_url, consumer_batch_size="7", **common
    )
    crashing = processes.start(
        "analytics", "consume", analytics_env | crashing_at("analytics", crash_at), log
    )
    spawned.append(crashing)
    assert await processes.wait_exit(crashing) == -9
    applied_before_restart = await count(
        analytics_url, sa.select(sa.func.count()).select_from(inbox)
    )
    if crash_at == "consumer.after_db_commit":
        assert applied_before_restart > 0  # the batch is in the database, its offsets are not
    else:
        assert applied_before_restart == 0

    consumer = processes.start("analytics", "consume", analytics_env, log)
    spawned.append(consumer)
    group = f"{kafka_namespace}jemput.analytics"
    await until(lambda: processes.group_caught_up(kafka_bootstrap, group, topic))
    assert await processes.stop(consumer) == 0
    facts = sa.select(sa.func.count()).select_from(read_model_tables(1).resident)
    assert await count(analytics_url, facts) == RESIDENTS
    assert await count(analytics_url, sa.select(sa.func.count()).select_from(inbox)) == RESIDENTS


async def _zero(database_url: str, query: sa.Select[Any]) -> bool:
    return await count(database_url, query) == 0
