"""A day's uploads through the whole system while its parts fail, one fault at a time: nothing
is lost and nothing is counted twice.

The four services run as real processes (`Fleet`) on their own Kafka broker and PostgreSQL
server, started here on other ports than the shared test servers because this module stops
and starts them. A register of 36,000 residents (over 20,000 eligible and not recorded) is
imported (its few residents recorded before, without a card yet, are owed one and enter the
print queue first), blanks are received for 15,000 cards, and 20,000 recordings are uploaded in offline
batches of 250 by four teams at once, in eight rounds of 2,500. During each round one fault
strikes at a random moment: each service killed with SIGKILL and restarted, the broker stopped
and started (every service killed while it is away), PostgreSQL stopped and started, every
consumer group rewound to offset 0, batches uploaded twice. After each round, once every
outbox is drained and every consumer has caught up, the counts reconcile exactly:

    recordings captured (outreach) = residents recorded (residents)
        = coverage numerator (analytics)
        = blanks reserved + print jobs waiting (inventory) - the register's own backlog

During the outages the APIs answer (or 503 with a problem document), never 500.

The rounds build on each other, so the tests run in file order on one module-wide fleet.
"""

from __future__ import annotations

import asyncio
import os
import random
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.outreach.domain.model import SessionKind
from jemput.outreach.service_layer import scheduling
from jemput.shared.db import create_engine
from jemput.shared.messaging.outbox import Outbox
from jemput.shared.testing.fleet import SERVICES, Fleet, consumer_reads
from jemput.shared.testing.processes import groups_caught_up
from jemput.shared.timezone import office_day

pytestmark = [pytest.mark.kafka, pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
# Below the kernel's ephemeral range (32768-60999): this PostgreSQL is started and restarted
# while the suite holds thousands of client sockets, and one of them took a port in the range.
KAFKA_PORT = int(os.environ.get("JEMPUT_FAULTS_KAFKA_PORT", "19192"))
PG_PORT = int(os.environ.get("JEMPUT_FAULTS_PG_PORT", "25532"))
BOOTSTRAP = f"127.0.0.1:{KAFKA_PORT}"
PG_BASE = f"postgresql://jemput:jemput@127.0.0.1:{PG_PORT}/"

REGISTER_SIZE = 36_000
RECORDINGS = 20_000
ROUNDS = 8
PER_ROUND = RECORDINGS // ROUNDS
BATCH = 250
TEAMS = 4
BLANKS = 15_000
REGENCY = "16.02"
VILLAGE = "16.02.05.1001"
CONVERGE_SECONDS = 240.0


def _script(script: str, command: str, **env: str) -> None:
    done = subprocess.run(
        [str(ROOT / script), command],
        env=os.environ | env,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert done.returncode == 0, f"{script} {command}: {done.stderr[-3000:]}"


def kafka(command: str, **env: str) -> None:
    _script("deploy/kafka/kafka.sh", command, KAFKA_PORT=str(KAFKA_PORT), **env)


def postgres(command: str, **env: str) -> None:
    _script("deploy/postgres/pg.sh", command, JEMPUT_PG_PORT=str(PG_PORT), **env)


@pytest.fixture(scope="module")
def servers() -> Iterator[None]:
    """This module's own broker and PostgreSQL server: the tests stop and start them."""
    kafka("start")
    try:
        postgres("start")
        try:
            yield
        finally:
            postgres("stop")
    finally:
        kafka("stop", KAFKA_WIPE="1")


@dataclass
class Drive:
    """The fleet, the residents to record, the sessions they are recorded in, and what the
    uploads and the outage probes have seen so far."""

    fleet: Fleet
    namespace: str
    niks: list[str]
    sessions: list[tuple[str, str]] = field(default_factory=list)  # (session id, kit serial)
    captured_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    uploaded: int = 0  # recordings 0 .. uploaded-1 have been accepted
    coverage_before: int = 0  # the coverage numerator before the first upload
    backlog: int = 0  # residents the register says are recorded, still owed a card
    printed: int = 0  # cards printed by the operators
    outcomes: Counter[str] = field(default_factory=Counter)
    probes: Counter[int] = field(default_factory=Counter)

    def url(self, service: str, path: str) -> str:
        return self.fleet.url(service) + path

    def recording(self, index: int) -> dict[str, Any]:
        session_id, kit = self.sessions[index % len(self.sessions)]
        return {
            "session_id": session_id,
            "recording_id": f"fault-{index:08d}",
            "nik": self.niks[index],
            "captured_at": self.captured_at.isoformat(),
            "kit_serial": kit,
            "operator": f"Operator {index % len(self.sessions)}",
            "captured": ["photo", "fingerprints", "iris", "signature"],
        }


async def _await_import(client: httpx.AsyncClient, drive: Drive, job_id: str) -> dict[str, Any]:
    for _ in range(600):
        job: dict[str, Any] = (
            await client.get(drive.url("residents", f"/v1/import-jobs/{job_id}"))
        ).json()
        if job["state"] in ("succeeded", "failed"):
            return job
        await asyncio.sleep(0.5)
    raise AssertionError("the import did not finish in 300 s")


async def _schedule_sessions(drive: Drive, client: httpx.AsyncClient, database_url: str) -> None:
    """Teams and kits over HTTP; the sessions written through outreach's service layer for
    today, whatever day it is (the API refuses weekends and holidays), then started over
    HTTP like in the field."""
    today = office_day(drive.captured_at)
    box = Outbox(source="/jemput/outreach", topic_for=lambda s: f"{drive.namespace}jemput.{s}.v1")
    rules = scheduling.SchedulingRules(holidays={}, per_kit_daily_rate=80, regency_code=REGENCY)
    kits: dict[str, str] = {}  # serial: team id
    for number in range(1, TEAMS + 1):
        team = await client.post(
            drive.url("outreach", "/v1/teams"),
            json={"name": f"Tim {number}", "members": ["Andi"], "base_code": "16.02.05"},
        )
        assert team.status_code == 201, team.text
        serial = f"OKI-F{number:02d}"
        kit = await client.post(
            drive.url("outreach", "/v1/kits"), json={"serial": serial, "team_id": team.json()["id"]}
        )
        assert kit.status_code == 201, kit.text
        kits[serial] = team.json()["id"]
    engine = create_engine(database_url)
    try:
        for serial, team_id in kits.items():
            request = scheduling.SessionRequest(
                SessionKind.VILLAGE_DRIVE, VILLAGE, today, team_id, (serial,)
            )
            async with AsyncSession(engine) as session, session.begin():
                row = await scheduling.write(
                    session,
                    box,
                    scheduling.CheckedSession(request, (serial,), 80),
                    rules=rules,
                    actor="fault-tests",
                )
                drive.sessions.append((row.id, serial))
    finally:
        await engine.dispose()
    for session_id, _ in drive.sessions:
        started = await client.post(drive.url("outreach", f"/v1/sessions/{session_id}:start"))
        assert started.status_code == 200, started.text


async def _fetch(database: str, query: str, *args: Any) -> Any:
    conn = await asyncpg.connect(PG_BASE + database)
    try:
        return await conn.fetchval(query, *args)
    finally:
        await conn.close()


@pytest.fixture(scope="module")
async def drive(servers: None, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Drive]:
    folder = tmp_path_factory.mktemp("faults")
    register = folder / "register.csv"
    generated = await asyncio.to_thread(
        subprocess.run,
        [
            *(sys.executable, "-m", "jemput.shared.cli", "demo", "population"),
            *("--area", REGENCY, "--limit", str(REGISTER_SIZE), "--recorded-share", "0"),
            *("--out", str(register)),
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert generated.returncode == 0, generated.stderr
    namespace = f"f{uuid.uuid4().hex[:8]}."
    # The generator's databases, emptied: a rerun must not find the last run's rows.
    admin = await asyncpg.connect(PG_BASE + "postgres")
    try:
        for service in SERVICES:
            await admin.execute(f'DROP DATABASE IF EXISTS "jemput_{service}" WITH (FORCE)')
            await admin.execute(f'CREATE DATABASE "jemput_{service}"')
    finally:
        await admin.close()
    urls = {
        service: PG_BASE.replace("postgresql://", "postgresql+asyncpg://") + f"jemput_{service}"
        for service in SERVICES
    }
    async with Fleet(folder / "logs", BOOTSTRAP, namespace, urls) as fleet:
        async with httpx.AsyncClient(timeout=60, headers=fleet.headers("admin")) as client:
            started = await client.post(
                fleet.url("residents") + "/v1/import-jobs?file_name=register.csv",
                content=register.read_bytes(),
                headers={"Content-Type": "text/csv"},
            )
            assert started.status_code == 202, started.text
            drive = Drive(fleet, namespace, niks=[])
            job = await _await_import(client, drive, started.json()["id"])
            assert job["state"] == "succeeded" and job["rejected"] == 0, job
            conn = await asyncpg.connect(PG_BASE + "jemput_residents")
            try:
                rows = await conn.fetch(
                    "SELECT nik FROM resident WHERE ektp_status = 'BELUM_REKAM' ORDER BY nik"
                )
            finally:
                await conn.close()
            drive.niks = [row["nik"] for row in rows]
            drive.backlog = await _fetch(
                "jemput_residents",
                "SELECT count(*) FROM resident WHERE domicile_status = 'RESIDENT' "
                "AND ektp_status IN ('SUDAH_REKAM', 'PRINT_READY_RECORD')",
            )
            assert len(drive.niks) >= RECORDINGS, len(drive.niks)
            random.Random(9).shuffle(drive.niks)
            drive.niks = drive.niks[:RECORDINGS]
            # Outreach must know every resident, or their recordings are kept flagged.
            await converge(drive)
            await _schedule_sessions(drive, client, urls["outreach"])
            receipt = await client.post(
                fleet.url("inventory") + "/v1/receipts",
                json={
                    "quantity": BLANKS,
                    "allocation_reference": "B-001/DUKCAPIL/2026",
                    "serial_from": "OKI00000001",
                    "serial_to": f"OKI{BLANKS:08d}",
                },
            )
            assert receipt.status_code == 201, receipt.text
        yield drive


# -- uploads -------------------------------------------------------------------------------


async def upload(drive: Drive, start: int, end: int, *, expect: str = "accepted") -> None:
    """Recordings start .. end-1 in batches, by every team at once. A batch that gets no
    answer (a process down, a database away) is sent again until it does: the resend of a
    batch that was stored before the crash comes back `duplicate`, never twice."""
    batches: asyncio.Queue[list[dict[str, Any]]] = asyncio.Queue()
    for first in range(start, end, BATCH):
        batches.put_nowait([drive.recording(i) for i in range(first, min(first + BATCH, end))])

    async def team() -> None:
        async with httpx.AsyncClient(timeout=30, headers=drive.fleet.headers("admin")) as client:
            while not batches.empty():
                batch = batches.get_nowait()
                await _send(drive, client, batch, expect)

    await asyncio.gather(*(team() for _ in range(TEAMS)))
    drive.uploaded = max(drive.uploaded, end)


async def _send(
    drive: Drive, client: httpx.AsyncClient, batch: list[dict[str, Any]], expect: str
) -> None:
    for _ in range(2000):
        try:
            response = await client.post(
                drive.url("outreach", "/v1/recordings:batch"), json={"recordings": batch}
            )
        except httpx.HTTPError:
            await asyncio.sleep(0.2)
            continue
        if response.status_code == 200:
            outcomes = Counter(item["outcome"] for item in response.json()["results"])
            drive.outcomes.update(outcomes)
            # A first upload is accepted, or duplicate when its first try was stored before
            # the answer was lost; nothing is ever a conflict or rejected.
            assert set(outcomes) <= {"accepted", "duplicate"}, response.text[:2000]
            if expect == "duplicate":
                assert outcomes == {"duplicate": len(batch)}
            return
        _check_refusal(response)
        await asyncio.sleep(0.2)
    raise AssertionError("a batch was never taken")


def _check_refusal(response: httpx.Response) -> None:
    """What a client may see while a part is down: 503 with a problem document, never 500."""
    assert response.status_code == 503, (response.status_code, response.text[:2000])
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["status"] == 503


async def probe(drive: Drive, stop: asyncio.Event) -> None:
    """Dashboard, register, stock and session reads while a fault lasts: they answer, or 503."""
    reads = [
        ("analytics", f"/v1/coverage?area={REGENCY}"),
        ("residents", "/v1/residents?page_size=5"),
        ("inventory", "/v1/stock-levels"),
        ("outreach", "/v1/sessions"),
    ]
    async with httpx.AsyncClient(timeout=10, headers=drive.fleet.headers("admin")) as client:
        while not stop.is_set():
            for service, path in reads:
                try:
                    response = await client.get(drive.url(service, path))
                except httpx.HTTPError:
                    continue  # a process being restarted
                drive.probes[response.status_code] += 1
                if response.status_code != 200:
                    _check_refusal(response)
            await asyncio.sleep(0.2)


# -- convergence and the reconciliation ----------------------------------------------------


async def _outboxes_drained() -> bool:
    for service in ("residents", "outreach", "inventory"):
        unsent = await _fetch(
            f"jemput_{service}", "SELECT count(*) FROM outbox WHERE sent_at IS NULL"
        )
        if unsent:
            return False
    return True


async def _caught_up(drive: Drive) -> bool:
    """Every group has committed every partition of the topics it reads up to their end."""
    return await groups_caught_up(BOOTSTRAP, consumer_reads(drive.namespace))


async def converge(drive: Drive) -> None:
    """Until every outbox is published and every consumer group has read to the end twice in
    a row (an event published by a handler is picked up on the second pass)."""
    deadline = asyncio.get_running_loop().time() + CONVERGE_SECONDS
    settled = 0
    while settled < 2:
        try:
            done = await _outboxes_drained() and await _caught_up(drive)
        except (OSError, asyncpg.PostgresError, KafkaError):
            done = False
        settled = settled + 1 if done else 0
        if asyncio.get_running_loop().time() > deadline:
            logs = "\n".join(f"== {s}\n{drive.fleet.logs(s, 1500)}" for s in SERVICES)
            raise AssertionError(f"no convergence in {CONVERGE_SECONDS} s\n{logs}")
        await asyncio.sleep(0.5 if done else 1.0)


@dataclass(frozen=True)
class Counts:
    captured: int  # outreach: recordings stored and published for a known resident
    recorded: int  # residents: our residents whose status went to SUDAH_REKAM
    recorded_changes: int  # residents: status changes to SUDAH_REKAM for them (once each)
    coverage: int  # analytics: the regency's coverage numerator
    reserved: int  # inventory: blanks reserved at the office
    waiting: int  # inventory: open print jobs waiting for a blank
    printed: int  # inventory: print jobs printed (their blank consumed)
    jobs: int  # inventory: print jobs


async def counts(drive: Drive) -> Counts:
    niks = drive.niks[: drive.uploaded]
    async with httpx.AsyncClient(timeout=30, headers=drive.fleet.headers("admin")) as client:
        coverage = (await client.get(drive.url("analytics", f"/v1/coverage?area={REGENCY}"))).json()
        stock = (
            await client.get(drive.url("inventory", "/v1/stock-levels?location=office"))
        ).json()
    return Counts(
        captured=await _fetch(
            "jemput_outreach", "SELECT count(*) FROM recording WHERE NOT unknown_nik"
        ),
        recorded=await _fetch(
            "jemput_residents",
            "SELECT count(*) FROM resident WHERE nik = ANY($1) AND ektp_status IN "
            "('SUDAH_REKAM', 'PRINT_READY_RECORD', 'CARD_PRINTED', 'CARD_ISSUED')",
            niks,
        ),
        recorded_changes=await _fetch(
            "jemput_residents",
            "SELECT count(*) FROM resident_status_change "
            "WHERE to_status = 'SUDAH_REKAM' AND nik = ANY($1)",
            niks,
        ),
        coverage=coverage["area"]["recorded"] - drive.coverage_before,
        reserved=stock[0]["reserved"],
        waiting=await _fetch(
            "jemput_inventory",
            "SELECT count(*) FROM print_job WHERE state = 'OPEN' AND NOT has_blank",
        ),
        printed=await _fetch(
            "jemput_inventory", "SELECT count(*) FROM print_job WHERE state = 'PRINTED'"
        ),
        jobs=await _fetch("jemput_inventory", "SELECT count(*) FROM print_job"),
    )


async def reconcile(drive: Drive) -> Counts:
    await converge(drive)
    found = await counts(drive)
    n = drive.uploaded
    # The register's backlog was queued before any blank came, with earlier recording days:
    # blanks served it first.
    owed = n + drive.backlog
    expected = Counts(
        captured=n,
        recorded=n,
        recorded_changes=n,
        coverage=n,
        reserved=min(owed, BLANKS) - drive.printed,
        waiting=max(0, owed - BLANKS),
        printed=drive.printed,
        jobs=owed,
    )
    assert found == expected, f"after {n} recordings: {found} != {expected}"
    assert found.reserved + found.printed + found.waiting == owed
    return found


async def with_fault(drive: Drive, fault: Any, *, probing: bool = False) -> None:
    """A round of uploads, with the fault striking at a random moment of it."""
    start, end = drive.uploaded, drive.uploaded + PER_ROUND
    stop = asyncio.Event()
    prober = asyncio.create_task(probe(drive, stop)) if probing else None

    async def strike() -> None:
        await asyncio.sleep(random.uniform(0.2, 1.5))
        await fault()

    try:
        await asyncio.gather(upload(drive, start, end), strike())
    finally:
        stop.set()
        if prober is not None:
            await prober
    await reconcile(drive)


# -- the rounds ----------------------------------------------------------------------------


async def test_register_imported_and_nothing_recorded_yet(drive: Drive) -> None:
    await converge(drive)
    async with httpx.AsyncClient(timeout=30, headers=drive.fleet.headers("admin")) as client:
        coverage = (await client.get(drive.url("analytics", f"/v1/coverage?area={REGENCY}"))).json()
    assert coverage["area"]["eligible"] >= RECORDINGS
    drive.coverage_before = coverage["area"]["recorded"]
    await reconcile(drive)


@pytest.mark.parametrize("service", SERVICES)
async def test_service_killed_at_a_random_moment(drive: Drive, service: str) -> None:
    await with_fault(drive, lambda: drive.fleet.restart(service))


async def test_kafka_stopped_and_started_with_every_service_killed_meanwhile(drive: Drive) -> None:
    async def outage() -> None:
        await asyncio.to_thread(kafka, "stop")
        await asyncio.sleep(5)  # uploads go on into the outboxes meanwhile
        # The services die while the broker is away. An idempotent producer retries for as
        # long as its process lives, so only a death loses what it held in memory; what was
        # written to an outbox is sent after the restart.
        await asyncio.gather(*(drive.fleet.kill(service) for service in SERVICES))
        await asyncio.to_thread(kafka, "start")
        await asyncio.gather(*(drive.fleet.restart(service) for service in SERVICES))

    await with_fault(drive, outage, probing=True)


async def test_postgres_stopped_and_started(drive: Drive) -> None:
    async def outage() -> None:
        await asyncio.to_thread(postgres, "stop", JEMPUT_PG_KEEP="1")
        await asyncio.sleep(5)
        await asyncio.to_thread(postgres, "start")

    probes_before = sum(drive.probes.values())
    await with_fault(drive, outage, probing=True)
    assert drive.probes[503] > 0, drive.probes  # the outage was seen, and answered 503
    assert sum(drive.probes.values()) > probes_before


PRINTS = 500


async def print_cards(drive: Drive, count: int) -> None:
    """The national system clears the first residents recorded, and operators print their
    cards on the blanks reserved for them."""
    cleared = set(drive.niks[:count])
    async with httpx.AsyncClient(timeout=60, headers=drive.fleet.headers("admin")) as client:
        results = [{"nik": nik, "result": "PRINT_READY_RECORD"} for nik in cleared]
        answer = await client.post(
            drive.url("residents", "/v1/central-results"), json={"results": results}
        )
        assert answer.status_code == 200, answer.text[:2000]
        await converge(drive)
        jobs: list[dict[str, Any]] = []
        token = None
        while True:
            params: dict[str, Any] = {"state": "printable", "page_size": 200}
            if token:
                params["page_token"] = token
            page = (
                await client.get(drive.url("inventory", "/v1/print-jobs"), params=params)
            ).json()
            # The register's backlog cleared before (PRINT_READY_RECORD) is printable too.
            jobs += [job for job in page["items"] if job["nik"] in cleared]
            token = page.get("next_page_token")
            if not token:
                break
        assert len(jobs) == count, len(jobs)
        used = await _fetch("jemput_inventory", "SELECT count(*) FROM used_blank")
        for number, job in enumerate(jobs, start=used + 1):
            printed = await client.post(
                drive.url("inventory", f"/v1/print-jobs/{job['id']}:print"),
                json={"card_serial": f"OKI{number:08d}"},
            )
            assert printed.status_code == 200, printed.text
    drive.printed += count


async def test_every_consumer_replays_from_offset_zero(drive: Drive) -> None:
    """Cards printed for some residents; then every service killed, its consumer group rewound
    to the start of every topic it reads, and started again: it reads everything again and
    applies nothing twice (a recording read again must not open a second print job for a
    resident whose card is printed)."""
    await print_cards(drive, PRINTS)
    await reconcile(drive)

    async def replay() -> None:
        await asyncio.gather(*(drive.fleet.kill(s) for s in SERVICES))
        await asyncio.gather(*(rewind(f"{drive.namespace}jemput.{s}") for s in SERVICES))
        for service in SERVICES:
            drive.fleet.processes[service].start()
        await asyncio.gather(*(drive.fleet.wait_ready(s) for s in SERVICES))

    await with_fault(drive, replay)


async def rewind(group: str) -> None:
    """Commit offset 0 on every partition the group has read. The broker takes it once the
    killed member's session has expired and the group is empty."""
    admin = AIOKafkaAdminClient(bootstrap_servers=BOOTSTRAP)
    await admin.start()
    try:
        partitions: list[TopicPartition] = list(await admin.list_consumer_group_offsets(group))
    finally:
        await admin.close()
    assert partitions, f"{group} has committed nothing"
    deadline = asyncio.get_running_loop().time() + 90
    while True:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=BOOTSTRAP, group_id=group, enable_auto_commit=False
        )
        await consumer.start()
        try:
            consumer.assign(partitions)
            await consumer.commit({tp: 0 for tp in partitions})
            return
        except Exception:
            if asyncio.get_running_loop().time() > deadline:
                raise
        finally:
            await consumer.stop()
        await asyncio.sleep(1)


async def test_duplicate_batches_uploaded(drive: Drive) -> None:
    """A round uploaded twice over (two teams sending the same day), then the first round's
    batches again: every resend is a duplicate and nothing moves."""
    start, end = drive.uploaded, drive.uploaded + PER_ROUND
    await asyncio.gather(upload(drive, start, end), upload(drive, start, end))
    await upload(drive, 0, PER_ROUND, expect="duplicate")
    found = await reconcile(drive)
    assert drive.uploaded == RECORDINGS
    assert found.captured == RECORDINGS
    # Fewer than all accepted at first try: a batch stored just before its answer was lost
    # (a kill, an outage) came back duplicate when resent.
    assert 0 < drive.outcomes["accepted"] <= RECORDINGS
