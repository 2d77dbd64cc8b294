"""Benchmark: outbox → relay → Kafka → idempotent consumer with inbox, against raw aiokafka.

Jemput path, on PostgreSQL, for `--events` events (default 100,000):

  (a) outbox write  `Outbox.add_many` in transactions of `--outbox-tx` events (default 1,000)
  (b) relay         `OutboxRelay.publish_pending` in a loop until nothing is left
  (c) consume       an `IdempotentConsumer` (inbox + a per-event handler on a small table),
                    from its start until `caught_up()` is true

Baseline on the same broker, in the same run, on a fresh topic with the same partition count:
the very same values, keys and headers (read back from the outbox, untimed) sent by a raw
idempotent acks=all `AIOKafkaProducer` with the relay's settings, then read by a raw
`AIOKafkaConsumer` in a group that commits after every `getmany` batch.

Every measurement runs `--repeat` times (default 3) on fresh tables and a fresh Kafka
namespace; the table shows medians and the ratios Jemput ÷ raw. Results go to
`bench/results/outbox_pipeline-<timestamp>.json`.

    .venv/bin/python bench/outbox_pipeline.py [--events N] [--repeat N] [--partitions N]
        [--database-url URL] [--bootstrap HOST:PORT] [--handler core|orm|none]
        [--relay-batch N] [--consumer-batch N] [--profile DIR]

`--handler` picks what is applied per event: `core` (default) an UPDATE of the resident's
row, INSERT when missing; `orm` the same through `session.get` and attribute changes (the
analytics projections' style); `none` nothing, which leaves the consumer and its inbox.

`--profile DIR` (for a diagnosis, not for figures) wraps each Jemput stage in pyinstrument,
if importable (`.tools/bin/uv run --with pyinstrument ...`), and times every SQL statement by
shape.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import statistics
import sys
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, ClassVar, Literal, cast

import aiokafka
import asyncpg
import sqlalchemy as sa
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from alembic.migration import MigrationContext
from alembic.operations import Operations
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.shared.db import create_engine
from jemput.shared.events.base import EventPayload
from jemput.shared.events.envelope import CloudEvent, Headers
from jemput.shared.logging import configure_logging
from jemput.shared.messaging.consumer import IdempotentConsumer
from jemput.shared.messaging.dead_letter import DeadLetters
from jemput.shared.messaging.handlers import EventHandlers, InboundEvent
from jemput.shared.messaging.kafka import ensure_topics, make_producer
from jemput.shared.messaging.outbox import Outbox
from jemput.shared.messaging.relay import OutboxRelay
from jemput.shared.messaging.tables import (
    create_messaging_tables,
    drop_messaging_tables,
    inbox,
    outbox,
)
from jemput.shared.settings import ServiceSettings

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
DEFAULT_PG_URL = "postgresql+asyncpg://jemput:jemput@127.0.0.1:55432/jemput_bench"
DEFAULT_KAFKA = "127.0.0.1:19092"
SOURCE = "/jemput/bench"

# Wide enough for the tables when the output is a file or a pipe (rich assumes 80 columns).
console = Console(width=None if sys.stdout.isatty() else 120)


# --------------------------------------------------------------------------------------------
# the event, the handler and its table


class ResidentTouchedV1(EventPayload):
    """Shaped like `ResidentRegisteredV1` (same fields, about the same JSON size)."""

    event_type: ClassVar[str] = "jemput.bench.resident_touched.v1"
    producer: ClassVar[str] = "bench"

    nik: str
    n: int
    village_code: str
    birth_date: date
    sex: Literal["L", "P"]
    marital_status: str
    ektp_status: str = "BELUM_REKAM"
    domicile_status: str = "RESIDENT"
    disabled: bool = False
    chronically_ill: bool = False
    mental_illness: bool = False
    suket_outstanding: bool = False

    def partition_key(self) -> str:
        return self.nik


class BenchBase(DeclarativeBase):
    metadata = sa.MetaData()


class TallyRow(BenchBase):
    """The small table the handler applies events to: one row per resident."""

    __tablename__ = "bench_tally"

    nik: Mapped[str] = mapped_column(sa.String(16), primary_key=True)
    village_code: Mapped[str] = mapped_column(sa.String(13))
    applied: Mapped[int]
    last_n: Mapped[int]


bench_metadata = BenchBase.metadata
tally = cast(sa.Table, TallyRow.__table__)

MARITAL = ("BELUM_KAWIN", "KAWIN", "CERAI_HIDUP", "CERAI_MATI")


def make_payloads(count: int, keys: int) -> list[ResidentTouchedV1]:
    """`count` events over `keys` residents, each resident's events numbered 0, 1, 2, ..."""
    niks = [f"3201{(k * 7919) % 10**12:012d}" for k in range(keys)]
    villages = [f"32.01.{(k % 40) + 1:02d}.{(k % 17) + 2001}" for k in range(keys)]
    return [
        ResidentTouchedV1(
            nik=niks[i % keys],
            n=i // keys,
            village_code=villages[i % keys],
            birth_date=date(1950 + (i % keys) % 60, (i % 12) + 1, (i % 28) + 1),
            sex="L" if i % 2 else "P",
            marital_status=MARITAL[i % 4],
            disabled=i % 13 == 0,
        )
        for i in range(count)
    ]


class Applied:
    """Counts handler calls, for the progress bar only."""

    def __init__(self) -> None:
        self.count = 0


Handler = Callable[[AsyncSession, InboundEvent[Any]], Awaitable[None]]
HANDLERS = ("core", "orm", "none")


def tally_handler(kind: str, applied: Applied) -> Handler:
    """`core`: UPDATE, INSERT when no row (the default); `orm`: `session.get` and attribute
    changes, like the analytics projections; `none`: nothing, to isolate consumer + inbox."""

    async def core(session: AsyncSession, event: InboundEvent[ResidentTouchedV1]) -> None:
        payload = event.payload
        conn = await session.connection()
        updated = await conn.execute(
            tally.update()
            .where(tally.c.nik == payload.nik)
            .values(applied=tally.c.applied + 1, last_n=payload.n)
        )
        if updated.rowcount == 0:
            await conn.execute(
                tally.insert().values(
                    nik=payload.nik, village_code=payload.village_code, applied=1, last_n=payload.n
                )
            )
        applied.count += 1

    async def orm(session: AsyncSession, event: InboundEvent[ResidentTouchedV1]) -> None:
        payload = event.payload
        row = await session.get(TallyRow, payload.nik)
        if row is None:
            row = TallyRow(nik=payload.nik, village_code=payload.village_code, applied=0)
            session.add(row)
        row.applied += 1
        row.last_n = payload.n
        applied.count += 1

    async def none(session: AsyncSession, event: InboundEvent[ResidentTouchedV1]) -> None:
        applied.count += 1

    return {"core": core, "orm": orm, "none": none}[kind]


# --------------------------------------------------------------------------------------------
# results


@dataclass
class Repeat:
    """Seconds per stage of one repeat."""

    outbox_write: float
    relay: float
    consume: float
    raw_produce: float
    raw_consume: float
    load_before: float
    load_after: float

    @property
    def jemput_end_to_end(self) -> float:
        return self.relay + self.consume

    @property
    def jemput_full(self) -> float:
        return self.outbox_write + self.relay + self.consume

    @property
    def raw_end_to_end(self) -> float:
        return self.raw_produce + self.raw_consume

    def seconds(self) -> dict[str, float]:
        return {
            "outbox_write": self.outbox_write,
            "relay": self.relay,
            "consume": self.consume,
            "jemput_end_to_end": self.jemput_end_to_end,
            "jemput_full": self.jemput_full,
            "raw_produce": self.raw_produce,
            "raw_consume": self.raw_consume,
            "raw_end_to_end": self.raw_end_to_end,
        }


@dataclass
class SqlStats:
    """Wall time between before/after_cursor_execute, by statement shape (profiling only)."""

    by_shape: dict[str, list[float]] = field(default_factory=dict)

    def add(self, statement: str, seconds: float) -> None:
        shape = re.sub(r"\s+", " ", statement).strip()
        shape = re.sub(r"\(\$\d+(?:::[A-Z ]+)?(?:, \$\d+(?:::[A-Z ]+)?)*\)", "(...)", shape)
        shape = re.sub(r"\$\d+", "?", shape)
        self.by_shape.setdefault(shape[:110], []).append(seconds)

    def rows(self) -> list[dict[str, Any]]:
        rows = [
            {
                "statement": shape,
                "count": len(times),
                "seconds": sum(times),
                "median_ms": statistics.median(times) * 1000,
                "max_ms": max(times) * 1000,
            }
            for shape, times in self.by_shape.items()
        ]
        return sorted(rows, key=lambda r: -r["seconds"])


# --------------------------------------------------------------------------------------------
# setup


async def ensure_database(url: str) -> None:
    """Create the benchmark database if it does not exist (on the server's `postgres` db)."""
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
        exists = await conn.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", parsed.database
        )
        if not exists:
            await conn.execute(f'CREATE DATABASE "{parsed.database}"')
    finally:
        await conn.close()


async def fresh_tables(engine: AsyncEngine) -> None:
    """Drop and recreate the messaging tables with the services' migration step, and the tally."""

    def rebuild(sync_conn: sa.Connection) -> None:
        op = Operations(MigrationContext.configure(sync_conn))
        existing = set(sa.inspect(sync_conn).get_table_names())
        if {"outbox", "inbox", "outbox_relay_lock"} <= existing:
            drop_messaging_tables(op)
        bench_metadata.drop_all(sync_conn)
        create_messaging_tables(op)
        bench_metadata.create_all(sync_conn)

    async with engine.begin() as conn:
        await conn.run_sync(rebuild)


@dataclass
class Namespace:
    """One repeat's Kafka names: nothing is shared between repeats or runs."""

    prefix: str
    settings: ServiceSettings

    @classmethod
    def new(cls, bootstrap: str, partitions: int) -> Namespace:
        prefix = f"bench{uuid.uuid4().hex[:8]}."
        settings = ServiceSettings(
            service_name="bench",
            kafka_bootstrap_servers=bootstrap,
            kafka_namespace=prefix,
            kafka_topic_partitions=partitions,
        )
        return cls(prefix, settings)

    @property
    def topic(self) -> str:
        return self.settings.topic("bench")

    @property
    def raw_topic(self) -> str:
        return f"{self.prefix}raw.v1"

    @property
    def topics(self) -> list[str]:
        return [self.topic, self.raw_topic, self.settings.dead_letter_topic]


# --------------------------------------------------------------------------------------------
# timing helpers


def load_average() -> float:
    return os.getloadavg()[0]


class Profiling:
    """Optional per-stage pyinstrument profiles and SQL statement timings."""

    def __init__(self, directory: Path | None) -> None:
        self.directory = directory
        self.sql: dict[str, SqlStats] = {}
        self._current: SqlStats | None = None
        self._started: dict[int, float] = {}
        self._pyinstrument: Any = None
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)
            try:
                import pyinstrument  # type: ignore[import-not-found, unused-ignore]

                self._pyinstrument = pyinstrument
            except ImportError:
                console.print(
                    "[yellow]pyinstrument is not installed: SQL timings only "
                    "(run with `.tools/bin/uv run --with pyinstrument ...`)"
                )

    def attach(self, engine: AsyncEngine) -> None:
        if self.directory is None:
            return

        @sa.event.listens_for(engine.sync_engine, "before_cursor_execute")
        def _before(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
            self._started[id(cursor)] = time.perf_counter()

        @sa.event.listens_for(engine.sync_engine, "after_cursor_execute")
        def _after(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
            started = self._started.pop(id(cursor), None)
            if started is not None and self._current is not None:
                self._current.add(statement, time.perf_counter() - started)

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        if self.directory is None:
            yield
            return
        self._current = self.sql.setdefault(name, SqlStats())
        profiler = None
        if self._pyinstrument is not None:
            # async_mode="disabled": sample the whole thread, whatever task runs (the consumer
            # runs in its own task); time in the event loop's select() is time spent waiting.
            profiler = self._pyinstrument.Profiler(interval=0.001, async_mode="disabled")
            profiler.start()
        try:
            yield
        finally:
            if profiler is not None:
                profiler.stop()
                (self.directory / f"{name}.txt").write_text(
                    profiler.output_text(unicode=True, color=False, show_all=False)
                )
                (self.directory / f"{name}.html").write_text(profiler.output_html())
            self._current = None

    def report(self, events: int) -> None:
        if self.directory is None:
            return
        for name, stats in self.sql.items():
            table = Table(title=f"SQL in stage {name} (wall time incl. driver round trip)")
            table.add_column("statement")
            table.add_column("count", justify="right")
            table.add_column("total s", justify="right")
            table.add_column("median ms", justify="right")
            table.add_column("max ms", justify="right")
            table.add_column("µs / event", justify="right")
            for row in stats.rows()[:8]:
                table.add_row(
                    row["statement"],
                    f"{row['count']:,}",
                    f"{row['seconds']:.2f}",
                    f"{row['median_ms']:.2f}",
                    f"{row['max_ms']:.1f}",
                    f"{row['seconds'] / events * 1e6:.0f}",
                )
            console.print(table)
        dump = {name: stats.rows() for name, stats in self.sql.items()}
        assert self.directory is not None
        (self.directory / "sql.json").write_text(json.dumps(dump, indent=2))
        console.print(f"profiles and SQL timings in {self.directory}")


def progress() -> Progress:
    return Progress(
        SpinnerColumn(),
        TextColumn("{task.description:<34}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        refresh_per_second=4,
    )


# --------------------------------------------------------------------------------------------
# the Jemput path


async def stage_outbox_write(
    engine: AsyncEngine,
    payloads: Sequence[ResidentTouchedV1],
    outbox_writer: Outbox,
    tx_size: int,
    bar: Progress,
    task: TaskID,
) -> float:
    started = time.perf_counter()
    for start in range(0, len(payloads), tx_size):
        async with engine.begin() as conn:
            await outbox_writer.add_many(conn, payloads[start : start + tx_size])
        bar.update(task, completed=min(start + tx_size, len(payloads)))
    return time.perf_counter() - started


async def stage_relay(
    engine: AsyncEngine,
    producer: AIOKafkaProducer,
    events: int,
    batch_size: int,
    bar: Progress,
    task: TaskID,
) -> float:
    relay = OutboxRelay(engine, producer, source=SOURCE, batch_size=batch_size)
    published = 0
    started = time.perf_counter()
    while batch := await relay.publish_pending():
        published += batch
        bar.update(task, completed=published)
    elapsed = time.perf_counter() - started
    if published != events:
        raise RuntimeError(f"the relay published {published} events, expected {events}")
    return elapsed


async def stage_consume(
    engine: AsyncEngine,
    producer: AIOKafkaProducer,
    ns: Namespace,
    events: int,
    handler: str,
    batch_size: int,
    bar: Progress,
    task: TaskID,
) -> float:
    applied = Applied()
    handlers = EventHandlers()
    handlers.add(ResidentTouchedV1, tally_handler(handler, applied))
    consumer = IdempotentConsumer(
        name=f"{ns.prefix}bench-tally",
        bootstrap_servers=ns.settings.kafka_bootstrap_servers,
        group_id=f"{ns.prefix}bench-tally",
        topics=[ns.topic],
        session_factory=async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False),
        handlers=handlers,
        dead_letters=DeadLetters(producer, ns.settings.dead_letter_topic),
        batch_size=batch_size,
    )
    stop = asyncio.Event()
    started = time.perf_counter()
    running = asyncio.create_task(consumer.run(stop))
    try:
        while not await consumer.caught_up():
            if running.done():
                running.result()  # raises what stopped the consumer
                raise RuntimeError("the consumer stopped before it caught up")
            bar.update(task, completed=applied.count)
            await asyncio.sleep(0.05)
        elapsed = time.perf_counter() - started
    finally:
        stop.set()
        await asyncio.wait_for(running, 60)
    async with engine.connect() as conn:
        total = await conn.scalar(sa.select(sa.func.sum(tally.c.applied)))
        in_inbox = await conn.scalar(sa.select(sa.func.count()).select_from(inbox))
    if handler == "none":
        total = applied.count
    if total != events or in_inbox != events:
        raise RuntimeError(f"applied {total} events with {in_inbox} inbox rows, expected {events}")
    return elapsed


# --------------------------------------------------------------------------------------------
# the raw baseline


@dataclass(frozen=True, slots=True)
class Message:
    key: bytes
    value: bytes
    headers: Headers


async def messages_from_outbox(engine: AsyncEngine) -> list[Message]:
    """What the relay sent (same values, keys and headers), read back untimed."""
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(outbox).order_by(outbox.c.id))).all()
    messages = []
    for row in rows:
        occurred = (
            row.occurred_at if row.occurred_at.tzinfo else row.occurred_at.replace(tzinfo=UTC)
        )
        event = CloudEvent(
            id=row.event_id,
            type=row.event_type,
            source=SOURCE,
            time=occurred,
            data=row.payload,
            subject=row.subject,
            extensions=row.extensions or {},
        )
        messages.append(Message(row.partition_key.encode(), row.payload, event.headers()))
    return messages


async def raw_produce(
    producer: AIOKafkaProducer, topic: str, messages: Sequence[Message], bar: Progress, task: TaskID
) -> float:
    started = time.perf_counter()
    deliveries = []
    for i, message in enumerate(messages, 1):
        deliveries.append(
            await producer.send(
                topic, value=message.value, key=message.key, headers=message.headers
            )
        )
        if i % 1000 == 0:
            bar.update(task, completed=i)
    await asyncio.gather(*deliveries)
    return time.perf_counter() - started


async def raw_consume(
    bootstrap: str,
    topic: str,
    group: str,
    events: int,
    batch_size: int,
    bar: Progress,
    task: TaskID,
) -> float:
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        group_id=group,
        client_id=group,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        max_poll_records=batch_size,
        max_poll_interval_ms=600_000,
    )
    received = 0
    started = time.perf_counter()
    await consumer.start()
    try:
        while received < events:
            batches = await consumer.getmany(timeout_ms=200, max_records=batch_size)
            if not batches:
                continue
            received += sum(len(records) for records in batches.values())
            offsets: dict[TopicPartition, int] = {
                tp: records[-1].offset + 1 for tp, records in batches.items()
            }
            await consumer.commit(offsets)
            bar.update(task, completed=received)
        elapsed = time.perf_counter() - started
    finally:
        await consumer.stop()
    if received != events:
        raise RuntimeError(f"the raw consumer read {received} messages, expected {events}")
    return elapsed


# --------------------------------------------------------------------------------------------
# one repeat


@asynccontextmanager
async def started_producer(bootstrap: str, client_id: str) -> AsyncIterator[AIOKafkaProducer]:
    producer = make_producer(bootstrap, client_id=client_id)
    await producer.start()
    try:
        yield producer
    finally:
        await producer.stop()


async def one_repeat(
    args: argparse.Namespace,
    engine: AsyncEngine,
    payloads: Sequence[ResidentTouchedV1],
    profiling: Profiling,
    label: str,
) -> Repeat:
    events = len(payloads)
    ns = Namespace.new(args.bootstrap, args.partitions)
    await fresh_tables(engine)
    await ensure_topics(args.bootstrap, ns.topics, partitions=args.partitions)
    load_before = load_average()
    outbox_writer = Outbox(source=SOURCE, topic_for=ns.settings.topic)
    with progress() as bar:
        async with started_producer(args.bootstrap, f"{ns.prefix}relay") as producer:
            task = bar.add_task(f"{label} (a) outbox write", total=events)
            with profiling.stage("a_outbox_write"):
                t_write = await stage_outbox_write(
                    engine, payloads, outbox_writer, args.outbox_tx, bar, task
                )
            task = bar.add_task(f"{label} (b) relay publish", total=events)
            with profiling.stage("b_relay"):
                t_relay = await stage_relay(engine, producer, events, args.relay_batch, bar, task)
            task = bar.add_task(f"{label} (c) consume + inbox", total=events)
            with profiling.stage("c_consume"):
                t_consume = await stage_consume(
                    engine, producer, ns, events, args.handler, args.consumer_batch, bar, task
                )

        messages = await messages_from_outbox(engine)
        async with started_producer(args.bootstrap, f"{ns.prefix}raw") as producer:
            task = bar.add_task(f"{label} raw produce", total=events)
            t_raw_produce = await raw_produce(producer, ns.raw_topic, messages, bar, task)
        task = bar.add_task(f"{label} raw consume", total=events)
        t_raw_consume = await raw_consume(
            args.bootstrap,
            ns.raw_topic,
            f"{ns.prefix}raw-group",
            events,
            args.consumer_batch,
            bar,
            task,
        )
    return Repeat(
        outbox_write=t_write,
        relay=t_relay,
        consume=t_consume,
        raw_produce=t_raw_produce,
        raw_consume=t_raw_consume,
        load_before=load_before,
        load_after=load_average(),
    )


async def warm_up(args: argparse.Namespace, payloads: Sequence[ResidentTouchedV1]) -> None:
    """Untimed: a small raw round trip so the first repeat does not meet a cold broker JVM."""
    ns = Namespace.new(args.bootstrap, args.partitions)
    await ensure_topics(args.bootstrap, [ns.raw_topic], partitions=args.partitions)
    messages = [
        Message(p.partition_key().encode(), p.model_dump_json().encode(), []) for p in payloads
    ]
    with progress() as bar:
        async with started_producer(args.bootstrap, f"{ns.prefix}warmup") as producer:
            task = bar.add_task("warm-up produce", total=len(messages))
            await raw_produce(producer, ns.raw_topic, messages, bar, task)
        task = bar.add_task("warm-up consume", total=len(messages))
        await raw_consume(
            args.bootstrap,
            ns.raw_topic,
            f"{ns.prefix}warmup",
            len(messages),
            args.consumer_batch,
            bar,
            task,
        )


# --------------------------------------------------------------------------------------------
# report


STAGES: list[tuple[str, str, str | None]] = [
    # (key, label, the raw key it is compared with)
    ("outbox_write", "(a) outbox write (add_many)", None),
    ("relay", "(b) relay", "raw_produce"),
    ("consume", "(c) consume + inbox + handler", "raw_consume"),
    ("jemput_end_to_end", "(b)+(c) end-to-end", "raw_end_to_end"),
    ("jemput_full", "(a)+(b)+(c)", "raw_end_to_end"),
    ("raw_produce", "raw produce", None),
    ("raw_consume", "raw consume, commit per batch", None),
    ("raw_end_to_end", "raw produce + consume", None),
]


def summarise(repeats: Sequence[Repeat], events: int) -> dict[str, Any]:
    per_stage = {key: [r.seconds()[key] for r in repeats] for key, _, _ in STAGES}
    medians = {key: statistics.median(values) for key, values in per_stage.items()}
    rates = {key: events / seconds for key, seconds in medians.items()}
    ratios = {key: rates[key] / rates[raw] for key, _, raw in STAGES if raw is not None}
    return {
        "seconds": per_stage,
        "median_seconds": medians,
        "median_events_per_second": rates,
        "ratios_vs_raw": ratios,
    }


def print_table(summary: dict[str, Any], args: argparse.Namespace) -> None:
    table = Table(
        title=f"Outbox pipeline: {args.events:,} events, median of {args.repeat}; outbox tx "
        f"{args.outbox_tx:,}, relay batch {args.relay_batch:,}, consumer batch "
        f"{args.consumer_batch:,}, handler {args.handler}"
    )
    table.add_column("stage")
    table.add_column("median s", justify="right")
    table.add_column("min-max s", justify="right")
    table.add_column("events/s", justify="right")
    table.add_column("Jemput ÷ raw (events/s)", justify="right")
    for key, label, raw in STAGES:
        seconds = summary["seconds"][key]
        ratio = summary["ratios_vs_raw"].get(key)
        table.add_row(
            label,
            f"{summary['median_seconds'][key]:.2f}",
            f"{min(seconds):.2f}-{max(seconds):.2f}",
            f"{summary['median_events_per_second'][key]:,.0f}",
            f"{ratio:.3f} of {raw.replace('_', ' ')}" if ratio is not None and raw else "",
            end_section=key == "jemput_full",
        )
    console.print(table)


async def server_info(engine: AsyncEngine) -> dict[str, str]:
    async with engine.connect() as conn:
        version = str(await conn.scalar(sa.text("SHOW server_version")))
        settings = {
            name: str(await conn.scalar(sa.text(f"SHOW {name}")))
            for name in ("fsync", "synchronous_commit", "shared_buffers")
        }
    pom = (REPO_ROOT / "deploy/kafka/pom.xml").read_text()
    kafka = re.search(r"<kafka\.version>(.*?)</kafka\.version>", pom)
    return {
        "postgresql": version,
        **{f"postgresql_{k}": v for k, v in settings.items()},
        "kafka_broker": kafka.group(1) if kafka else "unknown",
    }


# --------------------------------------------------------------------------------------------
# main


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--partitions", type=int, default=3, help="of every topic (default 3)")
    parser.add_argument("--keys", type=int, default=1000, help="distinct residents (tally rows)")
    parser.add_argument("--outbox-tx", type=int, default=1000, help="events per outbox write tx")
    parser.add_argument("--relay-batch", type=int, default=1000, help="OutboxRelay batch_size")
    parser.add_argument(
        "--consumer-batch", type=int, default=500, help="consumer batch size (both consumers)"
    )
    parser.add_argument(
        "--handler", choices=HANDLERS, default="core", help="what the handler does (default core)"
    )
    parser.add_argument(
        "--database-url", default=os.environ.get("JEMPUT_BENCH_PG_URL", DEFAULT_PG_URL)
    )
    parser.add_argument("--bootstrap", default=os.environ.get("JEMPUT_BENCH_KAFKA", DEFAULT_KAFKA))
    parser.add_argument("--no-warm-up", dest="warm_up", action="store_false")
    parser.add_argument(
        "--profile", type=Path, default=None, help="write per-stage profiles into this folder"
    )
    args = parser.parse_args(argv)
    sizes = ("events", "repeat", "partitions", "keys", "outbox_tx", "relay_batch", "consumer_batch")
    for name in sizes:
        if getattr(args, name) < 1:
            parser.error(f"--{name.replace('_', '-')} must be at least 1")
    return args


async def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    configure_logging(level="WARNING", json=False)
    await ensure_database(args.database_url)
    engine = create_engine(args.database_url)
    profiling = Profiling(args.profile)
    profiling.attach(engine)
    started_at = datetime.now(UTC)
    try:
        info = await server_info(engine)
        payloads = make_payloads(args.events, args.keys)
        sizes = [len(p.model_dump_json()) for p in payloads[: min(len(payloads), 10_000)]]
        console.print(
            f"[bold]outbox pipeline[/]: {args.events:,} events ({statistics.mean(sizes):.0f} B "
            f"JSON each), {args.partitions} partitions, {args.repeat} repeat(s); "
            f"PostgreSQL {info['postgresql']} (fsync={info['postgresql_fsync']}), "
            f"Kafka {info['kafka_broker']} at {args.bootstrap}; {os.cpu_count()} CPUs, "
            f"load {load_average():.2f}"
        )
        if args.warm_up:
            await warm_up(args, payloads[: min(len(payloads), 10_000)])
        repeats: list[Repeat] = []
        for i in range(args.repeat):
            repeat = await one_repeat(args, engine, payloads, profiling, f"[{i + 1}/{args.repeat}]")
            repeats.append(repeat)
            console.print(
                f"repeat {i + 1}: "
                + ", ".join(f"{k} {v:.2f}s" for k, v in repeat.seconds().items())
                + f"; load {repeat.load_before:.2f}→{repeat.load_after:.2f}"
            )
    finally:
        await engine.dispose()

    summary = summarise(repeats, args.events)
    print_table(summary, args)
    profiling.report(args.events)
    result = {
        "benchmark": "outbox_pipeline",
        "started_at": started_at.isoformat(),
        "finished_at": datetime.now(UTC).isoformat(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "config": {
            "events": args.events,
            "repeat": args.repeat,
            "partitions": args.partitions,
            "keys": args.keys,
            "outbox_tx": args.outbox_tx,
            "relay_batch": args.relay_batch,
            "consumer_batch": args.consumer_batch,
            "handler": args.handler,
            "payload_json_bytes_mean": statistics.mean(sizes),
            "database_url": make_url(args.database_url).render_as_string(hide_password=True),
            "bootstrap": args.bootstrap,
            "warm_up": args.warm_up,
            "profiling": args.profile is not None,
        },
        "machine": {
            "cpus": os.cpu_count(),
            "platform": platform.platform(),
            "python": platform.python_version(),
            "aiokafka": aiokafka.__version__,
            "sqlalchemy": sa.__version__,
            "asyncpg": asyncpg.__version__,
            **info,
        },
        "repeats": [{**asdict(r), **r.seconds()} for r in repeats],
        **summary,
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    out = RESULTS_DIR / f"outbox_pipeline-{started_at.strftime('%Y%m%dT%H%M%SZ')}.json"
    out.write_text(json.dumps(result, indent=2))
    console.print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
