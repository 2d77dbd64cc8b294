"""What a running service owns — engine, producer, relay, consumer, audit sealer — and their
start and stop.

Each service's `bootstrap` module builds one `ServiceRuntime`; nothing here runs at import.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import structlog
from aiokafka import AIOKafkaProducer
from prometheus_client import CollectorRegistry
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.shared.audit.sealer import AuditMetrics, AuditSealer
from jemput.shared.audit.writer import AuditWriter
from jemput.shared.db import create_engine, is_postgres, read_only
from jemput.shared.faults import CrashPoints
from jemput.shared.messaging.consumer import IdempotentConsumer
from jemput.shared.messaging.dead_letter import DeadLetters
from jemput.shared.messaging.handlers import EventHandlers
from jemput.shared.messaging.kafka import ensure_topics, make_producer
from jemput.shared.messaging.outbox import Outbox
from jemput.shared.messaging.relay import OutboxRelay
from jemput.shared.metrics import MessagingMetrics
from jemput.shared.settings import ServiceSettings

log = structlog.get_logger(__name__)

Worker = Callable[[asyncio.Event], Coroutine[Any, Any, None]]


@dataclass
class ServiceRuntime:
    settings: ServiceSettings
    engine: AsyncEngine
    handlers: EventHandlers | None = None
    registry: CollectorRegistry = field(default_factory=CollectorRegistry)
    relay_enabled: bool | None = None
    consumer_enabled: bool | None = None
    # Seal the audit log in the background; only services whose database has it turn it on.
    audit_enabled: bool = False
    # The service's own background loops (residents: partner webhooks), each given the stop
    # event. They need only the database, so they start with the service, not after Kafka.
    workers: list[Worker] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.metrics = MessagingMetrics(self.registry)
        self.crash = CrashPoints(self.settings.crash_at)
        self.sessions = async_sessionmaker(self.engine, class_=AsyncSession, expire_on_commit=False)
        self.read_sessions = async_sessionmaker(
            read_only(self.engine), class_=AsyncSession, expire_on_commit=False
        )
        self.outbox = Outbox(source=self.source, topic_for=self.settings.topic)
        self.producer: AIOKafkaProducer | None = None
        self.relay: OutboxRelay | None = None
        self.consumer: IdempotentConsumer | None = None
        self.audit_sealer: AuditSealer | None = None
        # Reads wait for their audit entries in a shared transaction (group commit). The writer
        # has its own small pool: the reads hold their session's connection while they wait,
        # so a writer drawing from their pool starved as soon as every connection was a
        # waiting read, and all of them stood still until the pool timed out.
        self._audit_engine = (
            create_engine(self.engine.url.render_as_string(hide_password=False), pool_size=1)
            if is_postgres(self.engine)
            else self.engine
        )
        self.audit_writer = AuditWriter(self._audit_engine)
        self.kafka_ready = asyncio.Event()
        self._stop = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        if self.relay_enabled is None:
            self.relay_enabled = self.settings.relay_enabled
        if self.consumer_enabled is None:
            self.consumer_enabled = self.settings.consumer_enabled and self.handlers is not None

    @classmethod
    def from_settings(
        cls,
        settings: ServiceSettings,
        handlers: EventHandlers | None = None,
        *,
        relay_enabled: bool | None = None,
        consumer_enabled: bool | None = None,
        audit_enabled: bool = False,
    ) -> ServiceRuntime:
        engine = create_engine(settings.database_url, pool_size=settings.database_pool_size)
        return cls(
            settings=settings,
            engine=engine,
            handlers=handlers,
            relay_enabled=relay_enabled,
            consumer_enabled=consumer_enabled,
            audit_enabled=audit_enabled,
        )

    @property
    def source(self) -> str:
        return f"/jemput/{self.settings.service_name}"

    def consumed_topics(self) -> list[str]:
        if self.handlers is None:
            return []
        return sorted(self.settings.topic(p) for p in self.handlers.topics_producers)

    async def start(self) -> None:
        """Returns at once; Kafka is connected in the background so HTTP serves during outages
        (writes wait safely in the outbox)."""
        self._tasks.append(asyncio.create_task(self._run_kafka_side(), name="kafka-side"))
        if self.audit_enabled:
            # The database alone: audit entries are sealed even while Kafka is away.
            self.audit_sealer = AuditSealer(self.engine, metrics=AuditMetrics(self.registry))
            self.spawn(self.audit_sealer.run(self._stop), name="audit-sealer")
            self.spawn(self.audit_writer.run(self._stop), name="audit-writer")
        for worker in self.workers:
            self.spawn(worker(self._stop), name=getattr(worker, "__qualname__", "worker"))

    def spawn(self, work: Coroutine[Any, Any, None], *, name: str) -> None:
        """Run background work (an import job) that the service's stop waits for."""
        self._tasks.append(asyncio.create_task(work, name=name))

    async def stop(self) -> None:
        self._stop.set()
        for task in self._tasks:
            try:
                await asyncio.wait_for(task, timeout=15)
            except (TimeoutError, asyncio.CancelledError):
                task.cancel()
            except Exception as exc:
                log.warning("runtime.task_failed", task=task.get_name(), error=type(exc).__name__)
        self._tasks.clear()
        if self.producer is not None:
            await self.producer.stop()
            self.producer = None
        if self._audit_engine is not self.engine:
            await self._audit_engine.dispose()
        await self.engine.dispose()

    async def _run_kafka_side(self) -> None:
        settings = self.settings
        topics = [settings.topic(settings.service_name), *self.consumed_topics()]
        if self.consumer_enabled:
            topics.append(settings.dead_letter_topic)
        await self._retry(
            lambda: ensure_topics(
                settings.kafka_bootstrap_servers, topics, partitions=settings.kafka_topic_partitions
            )
        )
        producer = make_producer(
            settings.kafka_bootstrap_servers, client_id=f"jemput-{settings.service_name}"
        )
        await self._retry(producer.start)
        self.producer = producer
        workers = []
        if self.relay_enabled:
            self.relay = OutboxRelay(
                self.engine,
                producer,
                source=self.source,
                batch_size=settings.relay_batch_size,
                poll_interval=settings.relay_poll_interval_seconds,
                crash=self.crash,
                metrics=self.metrics,
            )
            workers.append(self.relay.run(self._stop))
        if self.consumer_enabled and self.handlers is not None:
            self.consumer = IdempotentConsumer(
                name=settings.consumer_group,
                bootstrap_servers=settings.kafka_bootstrap_servers,
                group_id=settings.consumer_group,
                topics=self.consumed_topics(),
                session_factory=self.sessions,
                handlers=self.handlers,
                dead_letters=DeadLetters(producer, settings.dead_letter_topic),
                batch_size=settings.consumer_batch_size,
                max_attempts=settings.consumer_max_attempts,
                crash=self.crash,
                metrics=self.metrics,
            )
            workers.append(self._consumer_then_ready(self.consumer))
        else:
            self.kafka_ready.set()
        await asyncio.gather(*workers)

    async def _consumer_then_ready(self, consumer: IdempotentConsumer) -> None:
        async def mark_ready() -> None:
            await consumer.started.wait()
            self.kafka_ready.set()

        marker = asyncio.create_task(mark_ready())
        try:
            await consumer.run(self._stop)
        finally:
            marker.cancel()

    async def _retry(self, start: Callable[[], Awaitable[object]]) -> None:
        delay = 0.5
        while not self._stop.is_set():
            try:
                # A connection attempt to a broker that is away can take the client's whole
                # request timeout; a stop must not wait for it.
                if await self._unless_stopped(start()):
                    return
                break
            except Exception as exc:
                log.warning("runtime.kafka_unavailable", error=type(exc).__name__, retry_in=delay)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), timeout=delay)
                delay = min(delay * 2, 5.0)
        raise asyncio.CancelledError

    async def _unless_stopped(self, work: Awaitable[object]) -> bool:
        """Runs `work` unless the runtime stops first (then cancels it and returns False)."""
        attempt = asyncio.ensure_future(work)
        stopping = asyncio.ensure_future(self._stop.wait())
        try:
            await asyncio.wait({attempt, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
        if not attempt.done():
            attempt.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await attempt
            return False
        attempt.result()
        return True

    async def readiness(self) -> dict[str, str]:
        checks: dict[str, str] = {}
        try:
            async with self.engine.connect() as conn:
                await asyncio.wait_for(conn.execute(text("SELECT 1")), timeout=2)
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = type(exc).__name__
        producer = self.producer
        if producer is None:
            checks["kafka"] = "connecting"
        else:
            try:
                await asyncio.wait_for(producer.client.fetch_all_metadata(), timeout=2)
                checks["kafka"] = "ok"
            except Exception as exc:
                checks["kafka"] = type(exc).__name__
        return checks


@contextlib.asynccontextmanager
async def running(runtime: ServiceRuntime) -> AsyncIterator[ServiceRuntime]:
    await runtime.start()
    try:
        yield runtime
    finally:
        await runtime.stop()
