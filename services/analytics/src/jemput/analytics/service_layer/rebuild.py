"""Rebuild the read models from the topics, from offset 0, while the active ones keep serving.

1. A new generation of empty tables is created (state `building`).
2. Every partition of the topics analytics reads is replayed from its first offset up to the
   end it had when the rebuild started, into the new generation, batch by batch.
3. The per-area aggregates are computed from the replayed residents' facts, set-based (during
   the replay the projections leave them alone), and the new generation becomes the active one: HTTP reads and the service's consumer use it
   from their next transaction on.
4. A last pass reads again up to the ends the topics have *after* the switch, so the events the
   service's consumer applied to the old generation meanwhile are in the new one too (applying
   an event twice changes nothing, see `projections`).
5. After a grace period for requests still reading them, the old generation's tables go.

No consumer group is used: the replay reads partitions by assignment and commits nothing, so
the service's own consumer group and offsets are untouched.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import structlog
from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.analytics.adapters.tables import ReadModelTables
from jemput.analytics.service_layer import aggregates, generations
from jemput.analytics.service_layer.projections import handlers
from jemput.shared.events.envelope import CloudEvent, EnvelopeError
from jemput.shared.messaging.handlers import EventHandlers, InboundEvent
from jemput.shared.settings import ServiceSettings
from jemput.shared.timezone import today_in_office

log = structlog.get_logger(__name__)

Progress = Callable[[int, int], None]  # (records read, records to read)


@dataclass(frozen=True, slots=True)
class RebuildResult:
    generation: int
    replaced: int | None
    records_read: int
    events_applied: int
    unreadable: int
    seconds: float  # the replay and the switch, without the grace period

    @property
    def events_per_second(self) -> float:
        return self.records_read / self.seconds if self.seconds > 0 else 0.0


class _Replay:
    """Reads the topics by assignment and applies their events to one generation."""

    def __init__(
        self,
        consumer: AIOKafkaConsumer,
        engine: AsyncEngine,
        registry: EventHandlers,
        batch_size: int,
    ) -> None:
        self.consumer = consumer
        self.engine = engine
        self.registry = registry
        self.batch_size = batch_size
        self.read = self.applied = self.unreadable = 0

    async def until(self, ends: dict[TopicPartition, int], progress: Progress | None) -> None:
        total = sum(ends.values())
        while True:
            positions = {tp: await self.consumer.position(tp) for tp in ends}
            if all(positions[tp] >= end for tp, end in ends.items()):
                return
            batches = await self.consumer.getmany(timeout_ms=500, max_records=self.batch_size)
            records = [
                record
                for tp, items in batches.items()
                for record in items
                if tp in ends and record.offset < ends[tp]
            ]
            if records:
                await self._apply(records)
            if progress is not None:
                progress(self.read, total)

    async def _apply(self, records: list[ConsumerRecord[Any, Any]]) -> None:
        events: list[InboundEvent[Any]] = []
        for record in records:
            self.read += 1
            try:
                envelope = CloudEvent.from_kafka(record.headers, record.value)
                if not self.registry.handles(envelope.type):
                    continue
                payload = self.registry.payload_class(envelope.type).model_validate_json(
                    envelope.data
                )
            except (EnvelopeError, ValidationError):
                # The service's consumer sent it to the dead-letter topic already.
                self.unreadable += 1
                continue
            events.append(
                InboundEvent(envelope, payload, record.topic, record.partition, record.offset)
            )
        if not events:
            return
        async with AsyncSession(self.engine, expire_on_commit=False) as session, session.begin():
            await self.registry.apply(session, events)
        self.applied += len(events)


def consumed_topics(settings: ServiceSettings) -> list[str]:
    return sorted(settings.topic(p) for p in handlers().topics_producers)


async def _partitions(consumer: AIOKafkaConsumer, topics: list[str]) -> list[TopicPartition]:
    await consumer._client.force_metadata_update()
    found = []
    for topic in topics:
        for partition in sorted(consumer.partitions_for_topic(topic) or ()):
            found.append(TopicPartition(topic, partition))
    return found


async def rebuild(
    engine: AsyncEngine,
    settings: ServiceSettings,
    *,
    batch_size: int = 2000,
    grace_seconds: float = 5.0,
    keep_old: bool = False,
    progress: Progress | None = None,
) -> RebuildResult:
    started = time.perf_counter()
    async with engine.begin() as conn:
        for stale in await _unfinished(conn):
            await generations.drop_generation(conn, stale)
        tables = await generations.start_generation(conn)

    async def fixed(_conn: AsyncConnection) -> ReadModelTables:
        return tables

    consumer = AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap_servers,
        client_id=f"jemput-{settings.service_name}-rebuild",
        enable_auto_commit=False,
        max_poll_records=batch_size,
    )
    await consumer.start()
    try:
        partitions = await _partitions(consumer, consumed_topics(settings))
        replay = _Replay(consumer, engine, handlers(fixed), batch_size)
        if partitions:
            consumer.assign(partitions)
            await consumer.seek_to_beginning(*partitions)
            await replay.until(await consumer.end_offsets(partitions), progress)
        async with engine.begin() as conn:
            # The aggregates from the replayed facts in one pass (the replay left them alone,
            # see `aggregates`), then the switch, with no write in between.
            await generations.lock_for_writing(conn, tables.generation)
            await aggregates.build(conn, tables, today_in_office())
            replaced = await generations.activate(conn, tables.generation)
        log.info("analytics.rebuild.switched", generation=tables.generation, replaced=replaced)
        if partitions:
            await replay.until(await consumer.end_offsets(partitions), progress)
    finally:
        await consumer.stop()
    seconds = time.perf_counter() - started
    if replaced is not None and not keep_old:
        await asyncio.sleep(grace_seconds)
        async with engine.begin() as conn:
            await generations.drop_generation(conn, replaced)
    result = RebuildResult(
        generation=tables.generation,
        replaced=replaced,
        records_read=replay.read,
        events_applied=replay.applied,
        unreadable=replay.unreadable,
        seconds=seconds,
    )
    log.info(
        "analytics.rebuild.done",
        generation=result.generation,
        records=result.records_read,
        seconds=round(result.seconds, 2),
    )
    return result


async def _unfinished(conn: AsyncConnection) -> list[int]:
    """Generations a rebuild started and never switched to (it was stopped)."""
    registry = generations.registry_table()
    rows = await conn.execute(
        select(registry.c.generation).where(registry.c.state == generations.BUILDING)
    )
    return [int(g) for g in rows.scalars()]
