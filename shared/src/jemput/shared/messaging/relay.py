"""Publish outbox rows to Kafka, in order, at least once; the consumers' inbox makes it once."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from datetime import UTC, datetime, timedelta

import structlog
from aiokafka import AIOKafkaProducer
from sqlalchemy import BigInteger, any_, bindparam, delete, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncEngine

from jemput.shared.db import is_postgres
from jemput.shared.events.envelope import CloudEvent
from jemput.shared.faults import CrashPoints
from jemput.shared.messaging.tables import outbox, relay_lock
from jemput.shared.metrics import MessagingMetrics

log = structlog.get_logger(__name__)


class OutboxRelay:
    """Moves unsent outbox rows to Kafka and marks them sent.

    One relay works at a time per database: each batch first updates the single row of
    `outbox_relay_lock`, a row lock on PostgreSQL and the database write lock on SQLite, so a
    second relay waits instead of publishing the same rows, and events leave in id order. On
    PostgreSQL the rows are also read `FOR UPDATE SKIP LOCKED`. A crash after publishing and
    before marking leaves the rows unsent: they are published again, and consumers drop the
    duplicates by event id.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        producer: AIOKafkaProducer,
        *,
        source: str,
        batch_size: int = 1000,
        poll_interval: float = 0.05,
        retention: timedelta = timedelta(days=1),
        crash: CrashPoints | None = None,
        metrics: MessagingMetrics | None = None,
    ) -> None:
        self._engine = engine
        self._producer = producer
        self._source = source
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._retention = retention
        self._crash = crash or CrashPoints()
        self._metrics = metrics
        self._holder = f"{socket.gethostname()}:{id(self)}"
        self._last_purge = datetime.min.replace(tzinfo=UTC)
        self._last_gauges = datetime.min.replace(tzinfo=UTC)

    async def publish_pending(self) -> int:
        """Publish one batch; returns how many rows were published."""
        async with self._engine.begin() as conn:
            now = datetime.now(UTC)
            locked = await conn.execute(
                update(relay_lock)
                .where(relay_lock.c.id == 1)
                .values(holder=self._holder, heartbeat_at=now)
            )
            if locked.rowcount != 1:
                raise RuntimeError("outbox_relay_lock has no row 1: run the migrations")
            query = (
                select(
                    outbox.c.id,
                    outbox.c.event_id,
                    outbox.c.topic,
                    outbox.c.partition_key,
                    outbox.c.event_type,
                    outbox.c.subject,
                    outbox.c.occurred_at,
                    outbox.c.payload,
                    outbox.c.extensions,
                )
                .where(outbox.c.sent_at.is_(None))
                .order_by(outbox.c.id)
                .limit(self._batch_size)
            )
            if is_postgres(self._engine):
                query = query.with_for_update(skip_locked=True)
            rows = (await conn.execute(query)).all()
            if not rows:
                return 0
            deliveries = []
            for row in rows:
                event = CloudEvent(
                    id=row.event_id,
                    type=row.event_type,
                    source=self._source,
                    time=_aware(row.occurred_at),
                    data=row.payload,
                    subject=row.subject,
                    extensions=row.extensions or {},
                )
                deliveries.append(
                    await self._producer.send(
                        row.topic,
                        value=row.payload,
                        key=row.partition_key.encode(),
                        headers=event.headers(),
                    )
                )
            await asyncio.gather(*deliveries)
            self._crash("relay.after_publish")
            ids = [row.id for row in rows]
            sent = update(outbox).values(sent_at=datetime.now(UTC))
            if is_postgres(self._engine):
                # One array parameter: the statement is compiled once, not once per batch size.
                await conn.execute(
                    sent.where(outbox.c.id == any_(bindparam("ids", type_=ARRAY(BigInteger)))),
                    {"ids": ids},
                )
            else:
                await conn.execute(sent.where(outbox.c.id.in_(ids)))
        if self._metrics:
            self._metrics.outbox_published.inc(len(rows))
        return len(rows)

    async def purge_sent(self) -> int:
        """Delete rows published longer ago than the retention (kept meanwhile for inspection)."""
        cutoff = datetime.now(UTC) - self._retention
        async with self._engine.begin() as conn:
            result = await conn.execute(
                delete(outbox).where(outbox.c.sent_at.is_not(None), outbox.c.sent_at < cutoff)
            )
        return int(result.rowcount or 0)

    async def backlog(self) -> tuple[int, float]:
        """Unsent rows and the age in seconds of the oldest one."""
        async with self._engine.connect() as conn:
            count, oldest = (
                await conn.execute(
                    select(func.count(), func.min(outbox.c.occurred_at)).where(
                        outbox.c.sent_at.is_(None)
                    )
                )
            ).one()
        age = (datetime.now(UTC) - _aware(oldest)).total_seconds() if oldest else 0.0
        return int(count), age

    async def run(self, stop: asyncio.Event) -> None:
        """Publish until `stop` is set; back off while Kafka or the database is unavailable."""
        failures = 0
        while not stop.is_set():
            try:
                published = await self.publish_pending()
                failures = 0
                if published < self._batch_size:
                    await self._idle()
                    await _wait(stop, self._poll_interval)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the relay must outlive outages; it logs and retries
                failures += 1
                delay = min(0.2 * 2**failures, 5.0)
                log.warning("outbox.relay_failed", error=type(exc).__name__, retry_in=delay)
                await _wait(stop, delay)

    async def _idle(self) -> None:
        now = datetime.now(UTC)
        if now - self._last_purge > timedelta(minutes=1):
            self._last_purge = now
            await self.purge_sent()
        if self._metrics and now - self._last_gauges > timedelta(seconds=5):
            self._last_gauges = now
            count, age = await self.backlog()
            self._metrics.outbox_backlog.set(count)
            self._metrics.outbox_oldest_age.set(age)


def _aware(value: datetime) -> datetime:
    # SQLite returns naive datetimes for timezone-aware columns; they were stored as UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
