"""Benchmark: recordings through the inventory print pipeline (reserve → print → issue), events
included, against raw aiokafka moving the same messages.

Jemput path, on PostgreSQL, for `--recordings` residents (default 100,000), each repeat on a
fresh, migrated inventory database and a fresh Kafka namespace, with as many blanks received
up front (one receipt, its serial range):

  (0) feed     `recording_captured.v1` and `print_ready.v1` for every resident produced to the
               outreach and residents topics (what those services' relays would send)
  (1) consume  the inventory consumer (`IdempotentConsumer` with the service's handlers, batch
               `--consumer-batch`) from its start until caught up: a print job per recording,
               a blank reserved for each (ledger entry, balance, daily snapshot,
               `stock_changed` in the outbox), then printable
  (2) print    `print_queue.print_card` once per job, one transaction each (as one HTTP
               request would), by `--operators` concurrent operators: blank consumed, serial
               used, `card_printed` and `stock_changed` in the outbox
  (3) issue    `print_queue.issue_card` once per job, one transaction each, same operators:
               `card_issued` in the outbox
  (4) relay    `OutboxRelay.publish_pending` until the outbox is empty (every event above)

Baseline in the same repeat on fresh topics with the same partition count: the same messages
— the values, keys and headers of (0), and of (4) read back from the outbox untimed — sent by
a raw `AIOKafkaProducer` made by `make_producer` (the relay's settings), and the messages of
(0) read back by a raw `AIOKafkaConsumer` in a group committing after every `getmany`.

Reported: jobs per second of the whole path, (0)+(1)+(2)+(3)+(4), and of each stage; the
baseline as recordings per second; the ratio. Medians of `--repeat` (default 1: a 100,000 run
takes many minutes on a small machine). Results go to `bench/results/print_pipeline-<time>.json`.

    .venv/bin/python bench/print_pipeline.py [--recordings N] [--repeat N] [--operators N]
        [--partitions N] [--consumer-batch N] [--relay-batch N]
        [--database-url URL] [--bootstrap HOST:PORT] [--no-warm-up]

`--database-url` names a PostgreSQL database that is dropped and created again for each repeat
(default `postgresql+asyncpg://jemput:jemput@127.0.0.1:55432/jemput_bench_print`).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiokafka
import asyncpg
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from rich.console import Console
from rich.table import Table
from sqlalchemy.engine import make_url
from sqlmodel import col, func, select

from jemput.inventory.adapters.tables import PrintJob, UsedBlank
from jemput.inventory.bootstrap import bootstrap
from jemput.inventory.domain.ledger import Stock
from jemput.inventory.service_layer import ledger, print_queue
from jemput.inventory.settings import InventorySettings
from jemput.shared.db.migrations import upgrade_to_head_async
from jemput.shared.events.base import EventPayload
from jemput.shared.events.envelope import CloudEvent, Headers
from jemput.shared.events.outreach import RecordingCapturedV1
from jemput.shared.events.residents import PrintReadyV1
from jemput.shared.logging import configure_logging
from jemput.shared.messaging.consumer import IdempotentConsumer
from jemput.shared.messaging.dead_letter import DeadLetters
from jemput.shared.messaging.kafka import ensure_topics, make_producer
from jemput.shared.messaging.relay import OutboxRelay
from jemput.shared.messaging.tables import outbox
from jemput.shared.runtime import ServiceRuntime
from jemput.shared.testing.fixtures import migrations_dir
from jemput.shared.testing.kafka import delete_topics

BENCH_DIR = Path(__file__).resolve().parent
RESULTS_DIR = BENCH_DIR / "results"
DEFAULT_PG_URL = "postgresql+asyncpg://jemput:jemput@127.0.0.1:55432/jemput_bench_print"
DEFAULT_KAFKA = "127.0.0.1:19092"
OFFICE = "office"
SERIAL_PREFIX = "BENCH-"

console = Console(width=None if sys.stdout.isatty() else 120)


@dataclass(frozen=True, slots=True)
class Message:
    topic: str
    key: bytes
    value: bytes
    headers: Headers


@dataclass
class Repeat:
    """Seconds per stage of one repeat, and what the pipeline sent out."""

    feed: float
    consume: float
    print: float
    issue: float
    relay: float
    raw_produce: float
    raw_consume: float
    events_in: int
    events_out: int
    load_before: float
    load_after: float

    @property
    def jemput(self) -> float:
        return self.feed + self.consume + self.print + self.issue + self.relay

    @property
    def raw(self) -> float:
        return self.raw_produce + self.raw_consume

    def seconds(self) -> dict[str, float]:
        return {
            "feed": self.feed,
            "consume": self.consume,
            "print": self.print,
            "issue": self.issue,
            "relay": self.relay,
            "jemput": self.jemput,
            "raw_produce": self.raw_produce,
            "raw_consume": self.raw_consume,
            "raw": self.raw,
        }


def serial(number: int) -> str:
    return f"{SERIAL_PREFIX}{number:07d}"


def in_events(recordings: int) -> list[EventPayload]:
    """A recording and its print-ready result for each resident (NIKs unique per resident)."""
    start = datetime(2026, 11, 2, 1, 0, tzinfo=UTC)
    payloads: list[EventPayload] = []
    for number in range(recordings):
        resident = f"16020{number:011d}"
        at = start + timedelta(seconds=number)
        payloads.append(
            RecordingCapturedV1(
                recording_id=f"bench-{number}",
                nik=resident,
                captured_at=at,
                village_code="16.02.05.1001",
            )
        )
        payloads.append(
            PrintReadyV1(nik=resident, village_code="16.02.05.1001", decided_at=at + timedelta(1))
        )
    return payloads


def as_messages(payloads: Sequence[EventPayload], settings: InventorySettings) -> list[Message]:
    messages = []
    for payload in payloads:
        event = CloudEvent(
            id=CloudEvent.new_id(),
            type=payload.event_type,
            source=f"/jemput/{payload.producer}",
            time=datetime.now(UTC),
            data=payload.model_dump_json().encode(),
            subject=payload.subject(),
        )
        messages.append(
            Message(
                settings.topic(payload.producer),
                payload.partition_key().encode(),
                event.data,
                event.headers(),
            )
        )
    return messages


# --------------------------------------------------------------------------------------------
# setup


async def fresh_database(url: str) -> None:
    parsed = make_url(url)
    if not parsed.drivername.startswith("postgresql"):
        raise SystemExit(f"--database-url must be a postgresql+asyncpg:// URL, got {url!r}")
    conn = await asyncpg.connect(
        user=parsed.username,
        password=parsed.password,
        host=parsed.host or "127.0.0.1",
        port=parsed.port or 5432,
        database="postgres",
    )
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{parsed.database}" WITH (FORCE)')
        await conn.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        await conn.close()
    await upgrade_to_head_async(migrations_dir("inventory"), url)


@asynccontextmanager
async def started_producer(
    bootstrap_servers: str, client_id: str
) -> AsyncIterator[AIOKafkaProducer]:
    producer = make_producer(bootstrap_servers, client_id=client_id)
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


async def receive_all_blanks(runtime: ServiceRuntime, count: int) -> None:
    async with runtime.sessions() as session, session.begin():
        await print_queue.receive_blanks(
            session,
            runtime.outbox,
            quantity=count,
            location=OFFICE,
            reference="B-470/BENCH/2026",
            serial_from=serial(1),
            serial_to=serial(count),
            actor="bench",
        )


# --------------------------------------------------------------------------------------------
# the stages


async def produce(
    producer: AIOKafkaProducer, messages: Sequence[Message], topic: str | None
) -> float:
    """Send all, then await every delivery (to `topic`, or each message's own)."""
    started = time.perf_counter()
    deliveries = [
        await producer.send(topic or m.topic, value=m.value, key=m.key, headers=m.headers)
        for m in messages
    ]
    await asyncio.gather(*deliveries)
    return time.perf_counter() - started


async def consume(runtime: ServiceRuntime, producer: AIOKafkaProducer, jobs: int) -> float:
    settings = runtime.settings
    assert runtime.handlers is not None
    consumer = IdempotentConsumer(
        name=settings.consumer_group,
        bootstrap_servers=settings.kafka_bootstrap_servers,
        group_id=settings.consumer_group,
        topics=runtime.consumed_topics(),
        session_factory=runtime.sessions,
        handlers=runtime.handlers,
        dead_letters=DeadLetters(producer, settings.dead_letter_topic),
        batch_size=settings.consumer_batch_size,
    )
    stop = asyncio.Event()
    started = time.perf_counter()
    running = asyncio.create_task(consumer.run(stop))
    try:
        while not await consumer.caught_up():
            if running.done():
                running.result()
                raise RuntimeError("the consumer stopped before it caught up")
            await asyncio.sleep(0.1)
        elapsed = time.perf_counter() - started
    finally:
        stop.set()
        await asyncio.wait_for(running, 60)
    async with runtime.sessions() as session:
        ready = await session.exec(
            select(func.count())
            .select_from(PrintJob)
            .where(col(PrintJob.has_blank).is_(True), col(PrintJob.print_ready).is_(True))
        )
        if ready.one() != jobs:
            raise RuntimeError("not every recording became a printable job with a blank")
    return elapsed


async def by_operators(
    job_ids: Sequence[str], operators: int, work: Callable[[int, str], Awaitable[None]]
) -> float:
    """`work(index, job_id)` for every job, `operators` at a time, one transaction each."""
    queue = iter(enumerate(job_ids))

    async def operator() -> None:
        for index, job_id in queue:
            await work(index, job_id)

    started = time.perf_counter()
    await asyncio.gather(*(operator() for _ in range(operators)))
    return time.perf_counter() - started


async def print_all(runtime: ServiceRuntime, job_ids: Sequence[str], operators: int) -> float:
    async def one(index: int, job_id: str) -> None:
        async with runtime.sessions() as session, session.begin():
            await print_queue.print_card(
                session,
                runtime.outbox,
                job_id=job_id,
                card_serial=serial(index + 1),
                at=datetime.now(UTC),
                actor="operator",
            )

    return await by_operators(job_ids, operators, one)


async def issue_all(runtime: ServiceRuntime, job_ids: Sequence[str], operators: int) -> float:
    async def one(_: int, job_id: str) -> None:
        async with runtime.sessions() as session, session.begin():
            await print_queue.issue_card(
                session, runtime.outbox, job_id=job_id, at=datetime.now(UTC), actor="operator"
            )

    return await by_operators(job_ids, operators, one)


async def relay_all(runtime: ServiceRuntime, producer: AIOKafkaProducer) -> tuple[float, int]:
    relay = OutboxRelay(
        runtime.engine,
        producer,
        source=runtime.source,
        batch_size=runtime.settings.relay_batch_size,
    )
    published = 0
    started = time.perf_counter()
    while batch := await relay.publish_pending():
        published += batch
    return time.perf_counter() - started, published


async def raw_consume(
    bootstrap_servers: str, topics: list[str], group: str, count: int, batch: int
) -> float:
    consumer = AIOKafkaConsumer(
        *topics,
        bootstrap_servers=bootstrap_servers,
        group_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=batch,
        max_poll_interval_ms=600_000,
    )
    received = 0
    started = time.perf_counter()
    await consumer.start()
    try:
        while received < count:
            batches = await consumer.getmany(timeout_ms=200, max_records=batch)
            received += sum(len(records) for records in batches.values())
            if batches:
                offsets: dict[TopicPartition, int] = {
                    tp: records[-1].offset + 1 for tp, records in batches.items()
                }
                await consumer.commit(offsets)
        return time.perf_counter() - started
    finally:
        await consumer.stop()


async def outgoing_messages(runtime: ServiceRuntime) -> list[Message]:
    """What the relay sent (same values, keys and headers), read back untimed."""
    async with runtime.engine.connect() as conn:
        rows = (await conn.execute(sa.select(outbox).order_by(outbox.c.id))).all()
    messages = []
    for row in rows:
        occurred = (
            row.occurred_at if row.occurred_at.tzinfo else row.occurred_at.replace(tzinfo=UTC)
        )
        event = CloudEvent(
            id=row.event_id,
            type=row.event_type,
            source=runtime.source,
            time=occurred,
            data=row.payload,
            subject=row.subject,
            extensions=row.extensions or {},
        )
        messages.append(
            Message(row.topic, row.partition_key.encode(), row.payload, event.headers())
        )
    return messages


async def check_the_books(runtime: ServiceRuntime, jobs: int) -> None:
    """Every job issued, every blank used once, the ledger and the balance agree at zero."""
    async with runtime.sessions() as session:
        issued = await session.exec(
            select(func.count()).select_from(PrintJob).where(PrintJob.state == "ISSUED")
        )
        used = await session.exec(select(func.count()).select_from(UsedBlank))
        replayed = await ledger.replay(session, OFFICE)
        unsent = await session.exec(
            select(func.count()).select_from(outbox).where(outbox.c.sent_at.is_(None))
        )
        counts = (issued.one(), used.one(), unsent.one())
    if counts != (jobs, jobs, 0) or replayed != Stock(0, 0):
        raise RuntimeError(f"issued, used, unsent = {counts}; ledger replay {replayed}")


# --------------------------------------------------------------------------------------------
# one repeat


def load_average() -> float:
    return os.getloadavg()[0]


async def one_repeat(
    args: argparse.Namespace, payloads: Sequence[EventPayload], label: str
) -> Repeat:
    jobs = args.recordings
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    settings = InventorySettings(
        database_url=args.database_url,
        kafka_bootstrap_servers=args.bootstrap,
        kafka_namespace=prefix,
        kafka_topic_partitions=args.partitions,
        consumer_batch_size=args.consumer_batch,
        relay_batch_size=args.relay_batch,
        database_pool_size=max(args.operators, 5),
    )
    await fresh_database(args.database_url)
    runtime = bootstrap(settings)
    raw_in, raw_out = f"{prefix}raw-in.v1", f"{prefix}raw-out.v1"
    topics = [
        settings.topic("inventory"),
        *runtime.consumed_topics(),
        settings.dead_letter_topic,
        raw_in,
        raw_out,
    ]
    await ensure_topics(args.bootstrap, topics, partitions=args.partitions)
    incoming = as_messages(payloads, settings)
    load_before = load_average()
    try:
        await receive_all_blanks(runtime, jobs)
        async with started_producer(args.bootstrap, f"{prefix}feed") as producer:
            t_feed = await produce(producer, incoming, None)
        console.print(f"{label} (0) feed {t_feed:.1f}s")
        async with started_producer(args.bootstrap, f"{prefix}inventory") as producer:
            t_consume = await consume(runtime, producer, jobs)
            console.print(f"{label} (1) consume {t_consume:.1f}s")
            async with runtime.sessions() as session:
                job_ids = list(
                    (
                        await session.exec(
                            select(PrintJob.id).order_by(
                                col(PrintJob.recorded_at), col(PrintJob.id)
                            )
                        )
                    ).all()
                )
            t_print = await print_all(runtime, job_ids, args.operators)
            console.print(f"{label} (2) print {t_print:.1f}s")
            t_issue = await issue_all(runtime, job_ids, args.operators)
            console.print(f"{label} (3) issue {t_issue:.1f}s")
            t_relay, published = await relay_all(runtime, producer)
            console.print(f"{label} (4) relay {t_relay:.1f}s ({published:,} events)")
        await check_the_books(runtime, jobs)
        outgoing = await outgoing_messages(runtime)
        async with started_producer(args.bootstrap, f"{prefix}raw") as producer:
            t_raw_in = await produce(producer, incoming, raw_in)
            t_raw_out = await produce(producer, outgoing, raw_out)
        t_raw_consume = await raw_consume(
            args.bootstrap, [raw_in], f"{prefix}raw-group", len(incoming), args.consumer_batch
        )
    finally:
        await runtime.engine.dispose()
        await delete_topics(args.bootstrap, prefix)  # a broker keeping them all runs out of files
    return Repeat(
        feed=t_feed,
        consume=t_consume,
        print=t_print,
        issue=t_issue,
        relay=t_relay,
        raw_produce=t_raw_in + t_raw_out,
        raw_consume=t_raw_consume,
        events_in=len(incoming),
        events_out=published,
        load_before=load_before,
        load_after=load_average(),
    )


async def warm_up(args: argparse.Namespace) -> None:
    """Untimed: a small raw round trip so the first repeat does not meet a cold broker JVM."""
    prefix = f"bench{uuid.uuid4().hex[:8]}."
    settings = InventorySettings(kafka_namespace=prefix)
    topic = f"{prefix}warm-up.v1"
    await ensure_topics(args.bootstrap, [topic], partitions=args.partitions)
    messages = as_messages(in_events(5000), settings)
    try:
        async with started_producer(args.bootstrap, f"{prefix}warm-up") as producer:
            await produce(producer, messages, topic)
        await raw_consume(
            args.bootstrap, [topic], f"{prefix}warm-up", len(messages), args.consumer_batch
        )
    finally:
        await delete_topics(args.bootstrap, prefix)


# --------------------------------------------------------------------------------------------
# report


STAGES = [
    ("feed", "(0) feed: recordings and print-ready in"),
    ("consume", "(1) consume: job + reserve"),
    ("print", "(2) print"),
    ("issue", "(3) issue"),
    ("relay", "(4) relay: events out"),
    ("jemput", "(0)-(4) reserve → print → issue"),
    ("raw_produce", "raw produce, in + out messages"),
    ("raw_consume", "raw consume, in messages"),
    ("raw", "raw produce + consume"),
]


def summarise(repeats: Sequence[Repeat], jobs: int) -> dict[str, Any]:
    per_stage = {key: [r.seconds()[key] for r in repeats] for key, _ in STAGES}
    medians = {key: statistics.median(values) for key, values in per_stage.items()}
    rates = {key: jobs / seconds for key, seconds in medians.items()}
    return {
        "seconds": per_stage,
        "median_seconds": medians,
        "median_jobs_per_second": rates,
        "ratio_jemput_to_raw": rates["jemput"] / rates["raw"],
    }


def print_table(
    summary: dict[str, Any], args: argparse.Namespace, repeats: Sequence[Repeat]
) -> None:
    table = Table(
        title=f"Print pipeline: {args.recordings:,} recordings, median of {args.repeat}; "
        f"{args.operators} operators, consumer batch {args.consumer_batch:,}, relay batch "
        f"{args.relay_batch:,}; {repeats[0].events_in:,} events in, {repeats[0].events_out:,} out"
    )
    table.add_column("stage")
    table.add_column("median s", justify="right")
    table.add_column("min-max s", justify="right")
    table.add_column("jobs/s", justify="right")
    for key, label in STAGES:
        seconds = summary["seconds"][key]
        table.add_row(
            label,
            f"{summary['median_seconds'][key]:.1f}",
            f"{min(seconds):.1f}-{max(seconds):.1f}",
            f"{summary['median_jobs_per_second'][key]:,.0f}",
            end_section=key in ("relay", "jemput"),
        )
    console.print(table)
    console.print(f"Jemput ÷ raw (jobs/s): {summary['ratio_jemput_to_raw']:.3f}")


# --------------------------------------------------------------------------------------------
# main


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--recordings", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--operators", type=int, default=4, help="concurrent print/issue workers")
    parser.add_argument("--partitions", type=int, default=3, help="of every topic (default 3)")
    parser.add_argument("--consumer-batch", type=int, default=500)
    parser.add_argument("--relay-batch", type=int, default=5000)
    parser.add_argument(
        "--database-url", default=os.environ.get("JEMPUT_BENCH_PRINT_PG_URL", DEFAULT_PG_URL)
    )
    parser.add_argument("--bootstrap", default=os.environ.get("JEMPUT_BENCH_KAFKA", DEFAULT_KAFKA))
    parser.add_argument("--no-warm-up", dest="warm_up", action="store_false")
    args = parser.parse_args(argv)
    for name in (
        "recordings",
        "repeat",
        "operators",
        "partitions",
        "consumer_batch",
        "relay_batch",
    ):
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    if args.recordings > 9_999_999:
        parser.error("--recordings must be below 10,000,000 (the serials have 7 digits)")
    return args


async def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging(level="WARNING", json=False)
    started_at = datetime.now(UTC)
    payloads = in_events(args.recordings)
    console.print(
        f"[bold]print pipeline[/]: {args.recordings:,} recordings, {args.operators} operators, "
        f"{args.partitions} partitions, {args.repeat} repeat(s); Kafka at {args.bootstrap}; "
        f"{os.cpu_count()} CPUs, load {load_average():.2f}"
    )
    if args.warm_up:
        await warm_up(args)
    repeats = []
    for i in range(args.repeat):
        repeat = await one_repeat(args, payloads, f"[{i + 1}/{args.repeat}]")
        repeats.append(repeat)
        console.print(
            f"repeat {i + 1}: "
            + ", ".join(f"{k} {v:.1f}s" for k, v in repeat.seconds().items())
            + f"; load {repeat.load_before:.2f}→{repeat.load_after:.2f}"
        )
    summary = summarise(repeats, args.recordings)
    print_table(summary, args, repeats)
    result = {
        "benchmark": "print_pipeline",
        "started_at": started_at.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "config": {
            "recordings": args.recordings,
            "repeat": args.repeat,
            "operators": args.operators,
            "partitions": args.partitions,
            "consumer_batch": args.consumer_batch,
            "relay_batch": args.relay_batch,
            "database_url": make_url(args.database_url).render_as_string(hide_password=True),
            "bootstrap": args.bootstrap,
            "warm_up": args.warm_up,
        },
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "aiokafka": aiokafka.__version__,
            "sqlalchemy": sa.__version__,
            "asyncpg": asyncpg.__version__,
        },
        "repeats": [{**asdict(r), **r.seconds()} for r in repeats],
        **summary,
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"print_pipeline-{started_at.strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(result, indent=2))
    console.print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
