"""Two operators print at the same moment, through real HTTP: two `jemput inventory serve`
processes (uvicorn) on one PostgreSQL database, one request to each at once, twenty rounds.

Each round races twice: both operators print the same job (each on a blank of their own),
then two jobs hold the last two blanks and each operator prints one of them on the same blank.
Every race must end in one success and one clear refusal (409 problem+json); stock never goes
negative, no blank is used twice, and the ledger, the balance and the printed jobs agree.
"""

from __future__ import annotations

import asyncio
import socket
import subprocess
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.inventory.adapters.tables import LedgerEntry, PrintJob, StockBalance, UsedBlank
from jemput.inventory.domain.ledger import EntryKind, Stock
from jemput.inventory.service_layer import ledger, print_queue
from jemput.inventory.settings import InventorySettings
from jemput.shared.db import create_engine
from jemput.shared.messaging.outbox import Outbox
from jemput.shared.messaging.tables import outbox as outbox_table
from jemput.shared.testing import processes
from jemput.shared.testing.auth import TEST_ISSUER, shared_issuer
from jemput.shared.testing.fixtures import (
    create_postgres_database,
    drop_postgres_database,
    migrate,
)

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]

ROUNDS = 20
OFFICE = "office"


@dataclass(frozen=True)
class Operator:
    name: str
    client: httpx.AsyncClient  # talks to its own server process

    async def print(self, job_id: str, serial: str) -> tuple[httpx.Response, float, float]:
        started = time.perf_counter()
        response = await self.client.post(
            f"/v1/print-jobs/{job_id}:print", json={"card_serial": serial}
        )
        return response, started, time.perf_counter()


@pytest.fixture
async def pg_url(pg_dsn: str) -> AsyncIterator[str]:
    name, url = await create_postgres_database(pg_dsn)
    try:
        yield url
    finally:
        await drop_postgres_database(pg_dsn, name)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


async def serving(base_url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 90
    async with httpx.AsyncClient(base_url=base_url) as client:
        while time.monotonic() < deadline:
            assert process.poll() is None, "the server exited; see processes.log"
            try:
                if (await client.get("/healthz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise AssertionError(f"{base_url} did not start")


@pytest.fixture
async def operators(
    pg_url: str,
    kafka_bootstrap: str,
    kafka_namespace: str,
    tmp_path: Path,
    spawned: list[subprocess.Popen[bytes]],
) -> AsyncIterator[tuple[Operator, Operator]]:
    await migrate("inventory", pg_url)
    issuer = shared_issuer()
    clients = []
    for name in ("operator-a", "operator-b"):
        port = free_port()
        env = processes.service_env(
            "inventory",
            database_url=pg_url,
            kafka_bootstrap_servers=kafka_bootstrap,
            kafka_namespace=kafka_namespace,
            auth_public_key_file=str(issuer.public_key_file),
            auth_issuer=TEST_ISSUER,
            http_port=str(port),
            relay_enabled="false",
            consumer_enabled="false",
            rate_limit_per_minute="1000000",
            log_level="WARNING",
        )
        process = processes.start("inventory", "serve", env, tmp_path / "processes.log")
        spawned.append(process)
        base_url = f"http://127.0.0.1:{port}"
        await serving(base_url, process)
        headers = issuer.headers("inventory:print inventory:read", client_id=name)
        clients.append(
            Operator(name, httpx.AsyncClient(base_url=base_url, headers=headers, timeout=30))
        )
    try:
        yield clients[0], clients[1]
    finally:
        for operator in clients:
            await operator.client.aclose()


class Office:
    """Sets each round up straight through the service layer (the race is what is tested)."""

    def __init__(self, database_url: str, namespace: str) -> None:
        self.engine = create_engine(database_url)
        settings = InventorySettings(kafka_namespace=namespace)
        self.outbox = Outbox(source="/jemput/inventory", topic_for=settings.topic)
        self.residents = 0

    async def receive(self, serials: list[str]) -> None:
        first, last = serials[0], serials[-1]
        async with AsyncSession(self.engine, expire_on_commit=False) as session, session.begin():
            await print_queue.receive_blanks(
                session,
                self.outbox,
                quantity=len(serials),
                location=OFFICE,
                reference=f"B-{first}",
                serial_from=first,
                serial_to=last,
                actor="test",
            )

    async def printable_job(self) -> str:
        self.residents += 1
        nik = f"1602054505{self.residents:06d}"
        now = datetime.now(UTC)
        async with AsyncSession(self.engine, expire_on_commit=False) as session, session.begin():
            job = await print_queue.on_recorded(
                session, self.outbox, nik=nik, village_code=None, recorded_at=now, actor="test"
            )
            await print_queue.on_print_ready(
                session, self.outbox, nik=nik, decided_at=now, actor="test"
            )
            assert job.has_blank
        return job.id

    async def stock(self) -> Stock:
        async with AsyncSession(self.engine) as session:
            balance = await session.get(StockBalance, OFFICE)
            assert balance is not None
            return Stock(balance.on_hand, balance.reserved)


def one_success_one_refusal(
    results: Sequence[tuple[httpx.Response, float, float]], reason: str
) -> bool:
    """Checks the race's outcome; returns whether the two requests overlapped in time."""
    statuses = sorted(response.status_code for response, _, _ in results)
    assert statuses == [200, 409], [r.text for r, _, _ in results]
    (refusal,) = [r for r, _, _ in results if r.status_code == 409]
    assert refusal.headers["content-type"] == "application/problem+json"
    assert reason in refusal.json()["detail"], refusal.text
    (_, a_start, a_end), (_, b_start, b_end) = results
    return a_start < b_end and b_start < a_end


async def test_two_operators_printing_the_last_blanks_at_once(
    operators: tuple[Operator, Operator], pg_url: str, kafka_namespace: str
) -> None:
    a, b = operators
    office = Office(pg_url, kafka_namespace)
    overlapped = 0
    try:
        for round_ in range(ROUNDS):
            serial = [f"R{round_:02d}-{n:04d}" for n in range(1, 4)]
            await office.receive(serial[:2])
            job = await office.printable_job()  # takes one of the two blanks
            # Both print the same job, each on a blank of their own.
            race = await asyncio.gather(a.print(job, serial[0]), b.print(job, serial[1]))
            overlapped += one_success_one_refusal(race, "the job is printed")
            (loser,) = [
                s for s, (r, _, _) in zip(serial[:2], race, strict=True) if r.status_code == 409
            ]
            stock = await office.stock()
            assert stock.on_hand >= 0 and stock.available == 1  # the loser's blank

            # One more blank: two jobs take the last two; both operators print on the same one.
            await office.receive(serial[2:])
            first, second = await office.printable_job(), await office.printable_job()
            assert (await office.stock()).available == 0
            race = await asyncio.gather(a.print(first, loser), b.print(second, loser))
            overlapped += one_success_one_refusal(race, "printed on or spoiled already")
            stock = await office.stock()
            assert stock.on_hand >= 0 and stock.available == 0
        async with AsyncSession(office.engine) as session:
            await _everything_agrees(session)
    finally:
        await office.engine.dispose()
    assert overlapped >= ROUNDS  # the requests really were in flight together


async def _everything_agrees(session: AsyncSession) -> None:
    balance = await session.get(StockBalance, OFFICE)
    assert balance is not None
    assert await ledger.replay(session, OFFICE) == Stock(balance.on_hand, balance.reserved)
    printed = (
        await session.exec(select(PrintJob).where(col(PrintJob.card_serial).is_not(None)))
    ).all()
    consumed = (
        await session.exec(select(LedgerEntry).where(LedgerEntry.kind == EntryKind.CONSUMED))
    ).all()
    used = (await session.exec(select(UsedBlank))).all()
    assert len(printed) == len(consumed) == len(used) == 2 * ROUNDS
    assert len({job.card_serial for job in printed}) == len(printed)
    assert sorted(e.serial_from or "" for e in consumed) == sorted(u.serial for u in used)
    events = await session.exec(
        select(func.count())
        .select_from(outbox_table)
        .where(outbox_table.c.event_type == "jemput.inventory.card_printed.v1")
    )
    assert events.one() == 2 * ROUNDS
