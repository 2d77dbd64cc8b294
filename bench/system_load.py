"""Benchmark: the whole system driven like the field, on one machine, with baselines.

The four services run as real processes (`Fleet`: `jemput <service> serve`, migrated, on one
Kafka namespace, on fresh PostgreSQL databases). Stages, in order:

  import     the synthetic OKI register (`--register`, default var/demo/population-16.02.csv,
             made if missing) sent to `POST /v1/import-jobs`; timed to `succeeded`, and to
             "published": every outbox drained and every consumer caught up
  uploads    `--recordings` recordings (default 40,000) in offline batches of `--batch` (500)
             by `--teams` teams (8) at once; recordings per second, batch latency, and the
             delay from a batch's answer to its recordings counted in coverage
             (`GET /v1/coverage`) and present in inventory's print queue
  printing   print-ready results for `--prints` residents (2,000) through
             `POST /v1/central-results`, then operators (4) print their cards
  reads      `--readers` clients (32) for `--read-seconds` (10 s) reading the dashboard
             (`GET /v1/coverage`) and the partner status API
             (`GET /v1/residents/{nik}/ektp-status`) at once
  rebuild    `jemput analytics rebuild` from offset 0 of every topic

Baselines in the same run, same servers: raw aiokafka produce + consume of as many messages as
the upload stage published; PostgreSQL `COPY` of the register's rows into a plain table; a
bare FastAPI route served by uvicorn under the same read load. Results go to
`bench/results/system_load-<timestamp>.json`.

    .venv/bin/python bench/system_load.py --bootstrap HOST:PORT --pg postgresql://u:p@host:port/
        [--register FILE] [--recordings N] [--teams N] [--batch N] [--prints N]
        [--readers N] [--read-seconds S]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import platform
import random
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.outreach.domain.model import SessionKind
from jemput.outreach.service_layer import scheduling
from jemput.shared.db import create_engine
from jemput.shared.messaging.outbox import Outbox
from jemput.shared.testing.fleet import SERVICES, Fleet, consumer_reads, free_port
from jemput.shared.testing.processes import groups_caught_up
from jemput.shared.timezone import office_day

ROOT = Path(__file__).resolve().parents[1]
REGENCY = "16.02"
VILLAGE = "16.02.05.1001"


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def latency(values: list[float]) -> dict[str, float]:
    """Seconds in, milliseconds out."""
    return {
        "p50_ms": round(pct(values, 0.50) * 1000, 1),
        "p95_ms": round(pct(values, 0.95) * 1000, 1),
        "p99_ms": round(pct(values, 0.99) * 1000, 1),
    }


@dataclass
class Stack:
    fleet: Fleet
    namespace: str
    pg: str  # base DSN, ends with /
    databases: dict[str, str]
    client: httpx.AsyncClient
    results: dict[str, Any] = field(default_factory=dict)

    def url(self, service: str, path: str) -> str:
        return self.fleet.url(service) + path

    async def fetch(self, service: str, query: str, *args: Any) -> Any:
        conn = await asyncpg.connect(self.pg + self.databases[service])
        try:
            return await conn.fetchval(query, *args)
        finally:
            await conn.close()


async def settled(stack: Stack) -> bool:
    """Every outbox published and every consumer group at the end of what it reads."""
    for service in ("residents", "outreach", "inventory"):
        if await stack.fetch(service, "SELECT count(*) FROM outbox WHERE sent_at IS NULL"):
            return False
    return await groups_caught_up(stack.fleet.kafka_bootstrap, consumer_reads(stack.namespace))


async def wait_settled(stack: Stack, seconds: float = 900) -> None:
    deadline = time.monotonic() + seconds
    while not await settled(stack):
        if time.monotonic() > deadline:
            raise RuntimeError("the stack did not settle")
        await asyncio.sleep(0.5)


async def topic_messages(stack: Stack) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=stack.fleet.kafka_bootstrap)
    admin = AIOKafkaAdminClient(bootstrap_servers=stack.fleet.kafka_bootstrap)
    await consumer.start()
    await admin.start()
    try:
        topics = [t for t in await admin.list_topics() if t.startswith(stack.namespace)]
        described = await admin.describe_topics(topics)
        tps = [
            TopicPartition(d["topic"], p["partition"]) for d in described for p in d["partitions"]
        ]
        return sum((await consumer.end_offsets(tps)).values())
    finally:
        await consumer.stop()
        await admin.close()


# -- stages --------------------------------------------------------------------------------


async def stage_import(stack: Stack, register: Path) -> None:
    body = await asyncio.to_thread(register.read_bytes)
    started = time.monotonic()
    answer = await stack.client.post(
        stack.url("residents", "/v1/import-jobs?file_name=register.csv"),
        content=body,
        headers={"Content-Type": "text/csv"},
        timeout=600,
    )
    answer.raise_for_status()
    job_url = stack.url("residents", f"/v1/import-jobs/{answer.json()['id']}")
    while True:
        job = (await stack.client.get(job_url)).json()
        if job["state"] in ("succeeded", "failed"):
            break
        await asyncio.sleep(0.2)
    imported = time.monotonic() - started
    if job["state"] != "succeeded":
        raise RuntimeError(f"import failed: {job}")
    await wait_settled(stack)
    published = time.monotonic() - started
    rows = job["total_rows"]
    stack.results["import"] = {
        "rows": rows,
        "imported_s": round(imported, 1),
        "imported_and_published_s": round(published, 1),
        "rows_per_s": round(rows / imported),
    }
    # Baseline: COPY of the same rows into a plain table of text columns.
    with register.open(newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        records = [tuple(r) for r in reader]
    conn = await asyncpg.connect(stack.pg + stack.databases["residents"])
    try:
        columns = ", ".join(f'"{c.lower()}" text' for c in header)
        await conn.execute(f"CREATE TABLE bench_copy ({columns})")
        copy_started = time.monotonic()
        await conn.copy_records_to_table("bench_copy", records=records)
        copied = time.monotonic() - copy_started
        await conn.execute("DROP TABLE bench_copy")
    finally:
        await conn.close()
    stack.results["import"] |= {
        "baseline_copy_s": round(copied, 2),
        "ratio_to_copy": round(imported / copied, 1),
    }


async def schedule_sessions(stack: Stack, teams: int) -> list[tuple[str, str]]:
    """Teams and kits over HTTP; sessions written through the service layer for today (the
    API refuses weekends and holidays, and a benchmark runs any day), started over HTTP."""
    now = datetime.now(UTC)
    box = Outbox(source="/jemput/outreach", topic_for=lambda s: f"{stack.namespace}jemput.{s}.v1")
    rules = scheduling.SchedulingRules(holidays={}, per_kit_daily_rate=80, regency_code=REGENCY)
    sessions = []
    engine = create_engine(stack.fleet.database_urls["outreach"])
    try:
        for number in range(1, teams + 1):
            team = await stack.client.post(
                stack.url("outreach", "/v1/teams"),
                json={"name": f"Tim {number}", "members": ["Andi"], "base_code": "16.02.05"},
            )
            team.raise_for_status()
            serial = f"OKI-L{number:03d}"
            kit = await stack.client.post(
                stack.url("outreach", "/v1/kits"),
                json={"serial": serial, "team_id": team.json()["id"]},
            )
            kit.raise_for_status()
            request = scheduling.SessionRequest(
                SessionKind.VILLAGE_DRIVE, VILLAGE, office_day(now), team.json()["id"], (serial,)
            )
            async with AsyncSession(engine) as session, session.begin():
                row = await scheduling.write(
                    session,
                    box,
                    scheduling.CheckedSession(request, (serial,), 80),
                    rules=rules,
                    actor="bench",
                )
                sessions.append((row.id, serial))
    finally:
        await engine.dispose()
    for session_id, _ in sessions:
        started = await stack.client.post(stack.url("outreach", f"/v1/sessions/{session_id}:start"))
        started.raise_for_status()
    return sessions


async def stage_uploads(stack: Stack, niks: list[str], args: argparse.Namespace) -> None:
    sessions = await schedule_sessions(stack, args.teams)
    receipt = await stack.client.post(
        stack.url("inventory", "/v1/receipts"),
        json={
            "quantity": len(niks),
            "allocation_reference": "B-001/DUKCAPIL/2026",
            "serial_from": "OKI00000001",
            "serial_to": f"OKI{len(niks):08d}",
        },
    )
    receipt.raise_for_status()
    await wait_settled(stack)
    captured_at = datetime.now(UTC).isoformat()
    queue: asyncio.Queue[list[dict[str, Any]]] = asyncio.Queue()
    for first in range(0, len(niks), args.batch):
        batch = []
        for i in range(first, min(first + args.batch, len(niks))):
            session_id, kit = sessions[(first // args.batch) % len(sessions)]
            batch.append(
                {
                    "session_id": session_id,
                    "recording_id": f"load-{i:08d}",
                    "nik": niks[i],
                    "captured_at": captured_at,
                    "kit_serial": kit,
                    "operator": "Andi",
                    "captured": ["photo", "fingerprints", "iris", "signature"],
                }
            )
        queue.put_nowait(batch)
    coverage_before = await coverage_recorded(stack)
    jobs_before = await stack.fetch("inventory", "SELECT count(*) FROM print_job")
    acks: list[tuple[float, int]] = []  # (answered at, size), in answer order
    batch_seconds: list[float] = []
    done = asyncio.Event()

    async def team() -> None:
        async with httpx.AsyncClient(timeout=120, headers=stack.fleet.headers("admin")) as client:
            while not queue.empty():
                batch = queue.get_nowait()
                sent = time.monotonic()
                answer = await client.post(
                    stack.url("outreach", "/v1/recordings:batch"), json={"recordings": batch}
                )
                answer.raise_for_status()
                if answer.json()["accepted"] != len(batch):
                    raise RuntimeError(f"batch not accepted: {answer.text[:500]}")
                now = time.monotonic()
                batch_seconds.append(now - sent)
                acks.append((now, len(batch)))

    seen_coverage: list[tuple[float, int]] = []
    seen_jobs: list[tuple[float, int]] = []

    async def watch() -> None:
        """Poll coverage and the print queue; stop when both hold every recording."""
        total = len(niks)
        while True:
            recorded = await coverage_recorded(stack) - coverage_before
            seen_coverage.append((time.monotonic(), recorded))
            jobs = await stack.fetch("inventory", "SELECT count(*) FROM print_job") - jobs_before
            seen_jobs.append((time.monotonic(), jobs))
            if done.is_set() and recorded >= total and jobs >= total:
                return
            await asyncio.sleep(0.05)

    watcher = asyncio.create_task(watch())
    started = time.monotonic()
    await asyncio.gather(*(team() for _ in range(args.teams)))
    uploaded = time.monotonic() - started
    done.set()
    await asyncio.wait_for(watcher, 900)
    stack.results["uploads"] = {
        "recordings": len(niks),
        "teams": args.teams,
        "batch": args.batch,
        "seconds": round(uploaded, 1),
        "recordings_per_s": round(len(niks) / uploaded),
        "batch_latency": latency(batch_seconds),
        "to_coverage": latency(_delays(acks, seen_coverage)),
        "to_print_queue": latency(_delays(acks, seen_jobs)),
        "all_in_coverage_s": round(seen_coverage[-1][0] - started, 1),
    }


def _delays(acks: list[tuple[float, int]], seen: list[tuple[float, int]]) -> list[float]:
    """For each answered batch (one value per recording): the first poll that counted as many
    recordings as had been answered by then, less the answer's time. Partitions are applied
    in parallel, so this is the delay of the count, not of each recording's own row."""
    delays = []
    answered = 0
    position = 0
    for at, size in sorted(acks):
        answered += size
        while position < len(seen) and seen[position][1] < answered:
            position += 1
        if position == len(seen):
            break
        delays.extend([max(0.0, seen[position][0] - at)] * size)
    return delays


async def coverage_recorded(stack: Stack) -> int:
    answer = await stack.client.get(stack.url("analytics", f"/v1/coverage?area={REGENCY}"))
    answer.raise_for_status()
    recorded: int = answer.json()["area"]["recorded"]
    return recorded


async def stage_printing(stack: Stack, niks: list[str], operators: int) -> None:
    started = time.monotonic()
    for first in range(0, len(niks), 1000):
        results = [{"nik": n, "result": "PRINT_READY_RECORD"} for n in niks[first : first + 1000]]
        answer = await stack.client.post(
            stack.url("residents", "/v1/central-results"), json={"results": results}
        )
        answer.raise_for_status()
    cleared = time.monotonic() - started
    await wait_settled(stack)
    printable = time.monotonic() - started
    jobs: list[str] = []
    token = None
    while True:
        params: dict[str, Any] = {"state": "printable", "page_size": 500}
        if token:
            params["page_token"] = token
        page = (
            await stack.client.get(stack.url("inventory", "/v1/print-jobs"), params=params)
        ).json()
        jobs += [job["id"] for job in page["items"]]
        token = page.get("next_page_token")
        if not token:
            break
    used = await stack.fetch("inventory", "SELECT count(*) FROM used_blank")
    work = asyncio.Queue[tuple[int, str]]()
    for number, job_id in enumerate(jobs, start=used + 1):
        work.put_nowait((number, job_id))
    seconds: list[float] = []

    async def operator() -> None:
        async with httpx.AsyncClient(timeout=60, headers=stack.fleet.headers("admin")) as client:
            while not work.empty():
                number, job_id = work.get_nowait()
                sent = time.monotonic()
                answer = await client.post(
                    stack.url("inventory", f"/v1/print-jobs/{job_id}:print"),
                    json={"card_serial": f"OKI{number:08d}"},
                )
                answer.raise_for_status()
                seconds.append(time.monotonic() - sent)

    print_started = time.monotonic()
    await asyncio.gather(*(operator() for _ in range(operators)))
    printing = time.monotonic() - print_started
    stack.results["printing"] = {
        "results": len(niks),
        "central_results_s": round(cleared, 2),
        "printable_after_s": round(printable, 2),
        "printed": len(jobs),
        "prints_per_s": round(len(jobs) / printing) if printing else None,
        "print_latency": latency(seconds),
    }


async def load(
    urls: list[str], readers: int, seconds: float, headers: dict[str, str]
) -> dict[str, Any]:
    """`readers` clients reading the URLs round-robin as fast as they can for `seconds`."""
    timings: list[float] = []
    errors = 0
    stop_at = time.monotonic() + seconds

    async def reader(offset: int) -> None:
        nonlocal errors
        async with httpx.AsyncClient(timeout=30, headers=headers) as client:
            i = offset
            while time.monotonic() < stop_at:
                sent = time.monotonic()
                try:
                    answer = await client.get(urls[i % len(urls)])
                    errors += answer.status_code != 200
                except httpx.HTTPError:
                    errors += 1
                timings.append(time.monotonic() - sent)
                i += 1

    started = time.monotonic()
    await asyncio.gather(*(reader(i) for i in range(readers)))
    elapsed = time.monotonic() - started
    return {
        "requests": len(timings),
        "errors": errors,
        "requests_per_s": round(len(timings) / elapsed),
        **latency(timings),
    }


async def stage_reads(stack: Stack, niks: list[str], args: argparse.Namespace) -> None:
    headers = stack.fleet.headers("admin")
    sample = random.Random(1).sample(niks, 200)
    partner = [stack.url("residents", f"/v1/residents/{n}/ektp-status") for n in sample]
    dashboard = [stack.url("analytics", f"/v1/coverage?area={a}") for a in (REGENCY, "16.02.05")]
    both = await asyncio.gather(
        load(partner, args.readers // 2, args.read_seconds, headers),
        load(dashboard, args.readers // 2, args.read_seconds, headers),
    )
    partner_alone = await load(partner, args.readers, args.read_seconds, headers)
    bare = await bare_route_load(args)
    stack.results["reads"] = {
        "partner_status_with_dashboard": both[0],
        "dashboard_with_partner_status": both[1],
        "partner_status_alone": partner_alone,
        "baseline_bare_fastapi": bare,
        "ratio_partner_to_bare_rps": round(
            partner_alone["requests_per_s"] / bare["requests_per_s"], 2
        ),
    }


BARE_APP = """
from fastapi import FastAPI
app = FastAPI()
@app.get("/v1/residents/{nik}/ektp-status")
async def status(nik: str) -> dict[str, object]:
    return {"nik": nik, "ektp_status": "SUDAH_REKAM", "suket_outstanding": False,
            "last_changed": "2026-11-28"}
"""


async def bare_route_load(args: argparse.Namespace) -> dict[str, Any]:
    folder = ROOT / "var" / "bench"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "bare_app.py").write_text(BARE_APP)
    port = free_port()
    server = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "uvicorn", "bare_app:app", "--port", str(port)),
        *("--log-level", "warning"),
        cwd=folder,
    )
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(100):
                try:
                    await client.get(f"http://127.0.0.1:{port}/v1/residents/1/ektp-status")
                    break
                except httpx.HTTPError:
                    await asyncio.sleep(0.1)
        urls = [f"http://127.0.0.1:{port}/v1/residents/{n:016d}/ektp-status" for n in range(200)]
        return await load(urls, args.readers, args.read_seconds, {})
    finally:
        server.terminate()
        await server.wait()


async def stage_rebuild(stack: Stack) -> None:
    events = await topic_messages(stack)
    started = time.monotonic()
    done = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "jemput.shared.cli", "analytics", "rebuild", "--grace-seconds", "0"],
        env=stack.fleet.processes["analytics"].env,
        capture_output=True,
        text=True,
    )
    seconds = time.monotonic() - started
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    stack.results["rebuild"] = {
        "events_in_topics": events,
        "seconds_with_process_start": round(seconds, 1),
        "events_per_s_with_process_start": round(events / seconds),
        "command_summary": done.stdout.strip().splitlines()[0],
    }


async def raw_kafka(bootstrap: str, count: int) -> dict[str, Any]:
    """Baseline: the same number of ~300-byte keyed messages produced and consumed raw."""
    topic = f"bench-raw-{uuid.uuid4().hex[:8]}"
    value = json.dumps({"nik": "1602010101900001", "pad": "x" * 240}).encode()
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", linger_ms=5, enable_idempotence=True
    )
    await producer.start()
    started = time.monotonic()
    try:
        sends = [
            await producer.send(topic, value=value, key=str(i % 1000).encode())
            for i in range(count)
        ]
        await asyncio.gather(*sends)
    finally:
        await producer.stop()
    produced = time.monotonic() - started
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=topic,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    started = time.monotonic()
    read = 0
    try:
        while read < count:
            batch = await consumer.getmany(timeout_ms=1000, max_records=500)
            read += sum(len(v) for v in batch.values())
            if batch:
                await consumer.commit()
    finally:
        await consumer.stop()
    consumed = time.monotonic() - started
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        await admin.delete_topics([topic])
    finally:
        await admin.close()
    return {
        "messages": count,
        "produce_per_s": round(count / produced),
        "consume_per_s": round(count / consumed),
        "produce_and_consume_per_s": round(count / (produced + consumed)),
    }


# -- the run -------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    memory_kb = next(
        int(line.split()[1])
        for line in Path("/proc/meminfo").read_text().splitlines()
        if line.startswith("MemTotal")
    )
    return {
        "cpus": os.cpu_count(),
        "cpu": model,
        "ram_gb": round(memory_kb / 1024**2, 1),
        "python": platform.python_version(),
    }


def eligible_niks(register: Path) -> list[str]:
    with register.open(newline="") as handle:
        return [row["NIK"] for row in csv.DictReader(handle) if row["STAT_EKTP"] == "BELUM_REKAM"]


def make_register(register: Path) -> None:
    if not register.exists():
        subprocess.run(
            [
                sys.executable,
                "-m",
                "jemput.shared.cli",
                "demo",
                "population",
                "--area",
                REGENCY,
                "--out",
                str(register),
            ],
            check=True,
        )


async def run(args: argparse.Namespace) -> dict[str, Any]:
    register = Path(args.register)
    niks = eligible_niks(register)
    random.Random(2).shuffle(niks)
    niks = niks[: args.recordings]
    namespace = f"load{uuid.uuid4().hex[:6]}."
    databases = {s: f"jemput_load_{s}" for s in SERVICES}
    admin = await asyncpg.connect(args.pg + "postgres")
    try:
        for name in databases.values():
            await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    urls = {
        s: args.pg.replace("postgresql://", "postgresql+asyncpg://") + d
        for s, d in databases.items()
    }
    folder = ROOT / "var" / "bench" / f"system_load-{namespace.rstrip('.')}"
    async with (
        Fleet(folder, args.bootstrap, namespace, urls) as fleet,
        httpx.AsyncClient(timeout=60, headers=fleet.headers("admin")) as client,
    ):
        stack = Stack(fleet, namespace, args.pg, databases, client)
        steps = [
            ("import", lambda: stage_import(stack, register)),
            ("uploads", lambda: stage_uploads(stack, niks, args)),
            ("printing", lambda: stage_printing(stack, niks[: args.prints], 4)),
            ("reads", lambda: stage_reads(stack, niks, args)),
            ("rebuild", lambda: stage_rebuild(stack)),
        ]
        for name, step in steps:
            print(f"-- {name}", file=sys.stderr, flush=True)
            await step()
            print(json.dumps(stack.results[name]), file=sys.stderr, flush=True)
        published = stack.results["uploads"]["recordings"]
        stack.results["baseline_kafka"] = await raw_kafka(args.bootstrap, published)
        uploads = stack.results["uploads"]
        uploads["ratio_to_raw_kafka"] = round(
            uploads["recordings_per_s"]
            / stack.results["baseline_kafka"]["produce_and_consume_per_s"],
            2,
        )
        return {"machine": machine(), "args": vars(args), **stack.results}


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bootstrap", default="127.0.0.1:19292")
    parser.add_argument("--pg", default="postgresql://jemput:jemput@127.0.0.1:25632/")
    parser.add_argument("--register", default=str(ROOT / "var/demo/population-16.02.csv"))
    parser.add_argument("--recordings", type=int, default=40_000)
    parser.add_argument("--teams", type=int, default=8)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument("--prints", type=int, default=2_000)
    parser.add_argument("--readers", type=int, default=32)
    parser.add_argument("--read-seconds", type=float, default=10.0)
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    make_register(Path(args.register))
    report = asyncio.run(run(args))
    out = ROOT / "bench" / "results" / f"system_load-{datetime.now(UTC):%Y%m%dT%H%M%S}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2))
    print(json.dumps(report, indent=2))
    print(f"written: {out}", file=sys.stderr)


if __name__ == "__main__":
    main()
