"""Consume events idempotently: batch → one transaction with the inbox → then commit offsets."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.abc import ConsumerRebalanceListener
from aiokafka.errors import CommitFailedError, IllegalStateError, KafkaError
from pydantic import ValidationError
from sqlalchemy import exc as sa_exc
from sqlalchemy.ext.asyncio import AsyncConnection
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.shared import tracing
from jemput.shared.db import dialect_insert
from jemput.shared.events.envelope import CloudEvent, EnvelopeError
from jemput.shared.faults import CrashPoints
from jemput.shared.messaging.dead_letter import DeadLetters, describe_failure
from jemput.shared.messaging.handlers import EventHandlers, InboundEvent
from jemput.shared.messaging.tables import inbox
from jemput.shared.metrics import MessagingMetrics

log = structlog.get_logger(__name__)
# How often the per-partition lag is exported to /metrics (it costs a position lookup each).
LAG_EXPORT_SECONDS = 1.0

SessionFactory = Callable[[], AsyncSession]


def is_transient(exc: BaseException) -> bool:
    """Outages (database or network down, lock timeouts) are retried forever, never dead-lettered."""
    if isinstance(exc, sa_exc.DBAPIError) and exc.connection_invalidated:
        return True
    return isinstance(
        exc, sa_exc.OperationalError | sa_exc.InterfaceError | OSError | TimeoutError | KafkaError
    )


@dataclass(frozen=True, slots=True)
class _Decoded:
    event: InboundEvent[Any]
    record: ConsumerRecord[Any, Any]


@dataclass(frozen=True, slots=True)
class _Dead:
    record: ConsumerRecord[Any, Any]
    reason: str


class IdempotentConsumer:
    """Reads the topics of the producers its handlers listen to and applies each event once.

    Each batch is applied in one database transaction that also records the applied event ids
    in the inbox; offsets are committed only after that transaction commits. A redelivered
    event (after a crash, a rebalance or a relay retry) finds its id in the inbox and is
    skipped. A batch that fails is retried event by event; an event that still fails after
    `max_attempts` goes to the dead-letter topic with the reason, and the rest go on.
    """

    def __init__(
        self,
        *,
        name: str,
        bootstrap_servers: str,
        group_id: str,
        topics: Sequence[str],
        session_factory: SessionFactory,
        handlers: EventHandlers,
        dead_letters: DeadLetters,
        batch_size: int = 500,
        max_attempts: int = 3,
        retry_delay: float = 0.2,
        crash: CrashPoints | None = None,
        metrics: MessagingMetrics | None = None,
    ) -> None:
        self.name = name
        self._bootstrap = bootstrap_servers
        self._group_id = group_id
        self._topics = list(topics)
        self._session_factory = session_factory
        self._handlers = handlers
        self._dead_letters = dead_letters
        self._batch_size = batch_size
        self._max_attempts = max_attempts
        self._retry_delay = retry_delay
        self._crash = crash or CrashPoints()
        self._metrics = metrics
        self._batch_lock = asyncio.Lock()
        self._consumer: AIOKafkaConsumer | None = None
        self.started = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            group_id=self._group_id,
            client_id=self.name,
            enable_auto_commit=False,
            auto_offset_reset="earliest",
            max_poll_records=self._batch_size,
            # A large batch on a slow database must not get this member thrown out of the group.
            max_poll_interval_ms=600_000,
        )
        consumer.subscribe(self._topics, listener=_FinishBatchFirst(self._batch_lock))
        await _start_with_retry(consumer, stop)
        self._consumer = consumer
        self.started.set()
        lag_exported = 0.0
        try:
            while not stop.is_set():
                batches = await consumer.getmany(timeout_ms=200, max_records=self._batch_size)
                now = asyncio.get_running_loop().time()
                if self._metrics is not None and now - lag_exported >= LAG_EXPORT_SECONDS:
                    lag_exported = now
                    for tp, lag in (await self.lag()).items():
                        self._metrics.consumer_lag.labels(tp.topic, str(tp.partition)).set(lag)
                if not batches:
                    continue
                async with self._batch_lock:
                    applied = await self._process_until_done(
                        [r for records in batches.values() for r in records], stop
                    )
                    if not applied:
                        return  # stopping during an outage: the offsets stay, events come again
                    await self._commit(
                        consumer, {tp: records[-1].offset + 1 for tp, records in batches.items()}
                    )
        finally:
            self._consumer = None
            await consumer.stop()

    async def _commit(self, consumer: AIOKafkaConsumer, offsets: dict[TopicPartition, int]) -> None:
        try:
            await consumer.commit(offsets)
        except (CommitFailedError, IllegalStateError) as exc:
            # Partitions moved to another member: it will read these events again and its
            # inbox check will find them applied already.
            log.warning("consumer.commit_failed", consumer=self.name, error=type(exc).__name__)
        self._crash("consumer.after_offset_commit")

    async def _process_until_done(
        self, records: Sequence[ConsumerRecord[Any, Any]], stop: asyncio.Event
    ) -> bool:
        delay = self._retry_delay
        while True:
            try:
                await self.process(records)
                return True
            except Exception as exc:
                if not is_transient(exc):
                    raise
                log.warning("consumer.outage", consumer=self.name, error=type(exc).__name__)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=delay)
                if stop.is_set():
                    return False
                delay = min(delay * 2, 5.0)

    async def process(self, records: Sequence[ConsumerRecord[Any, Any]]) -> None:
        """Apply one batch of records (public for tests and for the rebuild command)."""
        events, dead = self._decode(records)
        try:
            await self._apply([d.event for d in events])
        except Exception as exc:
            if is_transient(exc):
                raise
            log.warning(
                "consumer.batch_failed",
                consumer=self.name,
                error=type(exc).__name__,
                size=len(events),
            )
            dead.extend(await self._apply_one_by_one(events))
        for item in dead:
            await self._dead_letters.send(item.record, item.reason, consumer=self.name)
            if self._metrics:
                self._metrics.dead_lettered.inc()

    def _decode(
        self, records: Sequence[ConsumerRecord[Any, Any]]
    ) -> tuple[list[_Decoded], list[_Dead]]:
        events: list[_Decoded] = []
        dead: list[_Dead] = []
        for record in records:
            try:
                envelope = CloudEvent.from_kafka(record.headers, record.value)
            except EnvelopeError as exc:
                dead.append(_Dead(record, f"unreadable envelope: {exc}"))
                continue
            if not self._handlers.handles(envelope.type):
                continue  # not ours to apply: other consumers of the topic care about it
            try:
                payload = self._handlers.payload_class(envelope.type).model_validate_json(
                    envelope.data
                )
            except ValidationError as exc:
                dead.append(_Dead(record, describe_failure(exc)))
                continue
            event = InboundEvent(envelope, payload, record.topic, record.partition, record.offset)
            events.append(_Decoded(event, record))
        return events, dead

    async def _apply_one_by_one(self, events: Sequence[_Decoded]) -> list[_Dead]:
        dead: list[_Dead] = []
        for decoded in events:
            for attempt in range(1, self._max_attempts + 1):
                try:
                    await self._apply([decoded.event])
                    break
                except Exception as exc:
                    if is_transient(exc):
                        raise
                    if attempt == self._max_attempts:
                        dead.append(_Dead(decoded.record, describe_failure(exc)))
                    else:
                        await asyncio.sleep(self._retry_delay * attempt)
        return dead

    async def _apply(self, events: Sequence[InboundEvent[Any]]) -> None:
        if not events:
            return
        started = asyncio.get_running_loop().time()
        debugging = logging.getLogger(__name__).isEnabledFor(logging.DEBUG)
        unique: dict[str, InboundEvent[Any]] = {}
        for event in events:
            unique.setdefault(event.id, event)  # the same event twice in one batch counts once
        async with self._session_factory() as session, session.begin():
            claimed = await self._claim(await session.connection(), list(unique))
            fresh = [event for event_id, event in unique.items() if event_id in claimed]
            await self._handlers.apply(session, fresh)
            self._crash("consumer.before_db_commit")
        self._crash("consumer.after_db_commit")
        if self._metrics:
            self._metrics.batch_seconds.observe(asyncio.get_running_loop().time() - started)
            self._metrics.events_duplicate.inc(len(events) - len(fresh))
            for event in fresh:
                self._metrics.events_applied.labels(event.envelope.type).inc()
        if debugging:
            # Follow one event across services by its id and trace (LOG_LEVEL=DEBUG).
            for event in fresh:
                traceparent = event.envelope.extensions.get(tracing.TRACEPARENT)
                log.debug(
                    "event.applied",
                    consumer=self.name,
                    event_id=event.id,
                    event_type=event.envelope.type,
                    trace_id=tracing.trace_id_of(traceparent) if traceparent else None,
                )

    async def _claim(self, conn: AsyncConnection, ids: list[str]) -> set[str]:
        """Insert the batch's ids into the inbox; the ones that were new are the ones to apply.

        One INSERT … ON CONFLICT DO NOTHING RETURNING: its plan cannot go wrong the way a
        lookup of hundreds of ids in a young, unanalysed inbox table can (a sequential scan per
        batch), and it is a single round trip. The rows roll back with the batch if it fails.
        """
        now = datetime.now(UTC)
        statement = (
            dialect_insert(conn, inbox)
            .values([{"consumer": self.name, "event_id": i, "applied_at": now} for i in ids])
            .on_conflict_do_nothing(index_elements=["consumer", "event_id"])
            .returning(inbox.c.event_id)
        )
        return set((await conn.execute(statement)).scalars())

    async def lag(self) -> dict[TopicPartition, int]:
        """Messages not yet read, per assigned partition (for /metrics)."""
        consumer = self._consumer
        if consumer is None:
            return {}
        lags: dict[TopicPartition, int] = {}
        for tp in consumer.assignment():
            highwater = consumer.highwater(tp)
            if highwater is not None:
                lags[tp] = max(highwater - await consumer.position(tp), 0)
        return lags

    async def caught_up(self) -> bool:
        """Every assigned partition applied and committed up to its end (for tests, rebuilds)."""
        consumer = self._consumer
        if consumer is None or not consumer.assignment():
            return False
        tps = list(consumer.assignment())
        ends = await consumer.end_offsets(tps)
        for tp in tps:
            committed = await consumer.committed(tp)
            if (committed or 0) < ends[tp]:
                return False
        return True


class _FinishBatchFirst(ConsumerRebalanceListener):
    """Lets the batch in hand commit before its partitions are handed to another member."""

    def __init__(self, lock: asyncio.Lock) -> None:
        self._lock = lock

    async def on_partitions_revoked(self, revoked: Any) -> None:
        async with self._lock:
            pass

    async def on_partitions_assigned(self, assigned: Any) -> None:
        return None


async def _start_with_retry(consumer: AIOKafkaConsumer, stop: asyncio.Event) -> None:
    delay = 0.5
    while True:
        try:
            await consumer.start()
            return
        except (KafkaError, OSError) as exc:
            log.warning("consumer.kafka_unavailable", error=type(exc).__name__, retry_in=delay)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
            if stop.is_set():
                raise
            delay = min(delay * 2, 5.0)
