"""Re-apply the dead letters of a service once the cause is fixed (a deployed fix, a corrected
reference table): read the service's dead-letter topic from where the last replay stopped, up
to its end at the start of this replay, and apply each message through the service's own
handlers and inbox. An event applied meanwhile is a no-op (the inbox has it); one that fails
again goes back to the dead-letter topic, after the end this replay stops at, with its new
reason. The replay's consumer group remembers how far it got."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient

from jemput.shared.messaging.consumer import IdempotentConsumer
from jemput.shared.messaging.dead_letter import DeadLetters
from jemput.shared.messaging.kafka import ensure_topics, make_producer
from jemput.shared.runtime import ServiceRuntime


class _CountingDeadLetters(DeadLetters):
    sent = 0

    async def send(self, record: ConsumerRecord[Any, Any], reason: str, *, consumer: str) -> None:
        await super().send(record, reason, consumer=consumer)
        self.sent += 1


@dataclass(frozen=True, slots=True)
class ReplayReport:
    read: int
    dead_again: int


def replay_group(runtime: ServiceRuntime) -> str:
    return f"{runtime.settings.consumer_group}.dlq-replay"


async def replay_dead_letters(runtime: ServiceRuntime, *, batch_size: int = 500) -> ReplayReport:
    settings = runtime.settings
    if runtime.handlers is None:
        return ReplayReport(0, 0)
    topic = settings.dead_letter_topic
    bootstrap = settings.kafka_bootstrap_servers
    await ensure_topics(bootstrap, [topic], partitions=settings.kafka_topic_partitions)
    producer = make_producer(bootstrap, client_id=f"jemput-{settings.service_name}-dlq-replay")
    reader = AIOKafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=replay_group(runtime),
        enable_auto_commit=False,
        auto_offset_reset="earliest",
    )
    await producer.start()
    await reader.start()
    dead_letters = _CountingDeadLetters(producer, topic)
    read = 0
    try:
        tps = [TopicPartition(topic, p) for p in await _partitions(bootstrap, topic)]
        reader.assign(tps)
        ends = await reader.end_offsets(tps)
        applier = IdempotentConsumer(
            name=f"{settings.consumer_group}.dlq-replay",
            bootstrap_servers=bootstrap,
            group_id=replay_group(runtime),
            topics=[topic],
            session_factory=runtime.sessions,
            handlers=runtime.handlers,
            dead_letters=dead_letters,
            batch_size=batch_size,
            max_attempts=settings.consumer_max_attempts,
            metrics=runtime.metrics,
        )
        remaining = {tp for tp in tps if await reader.position(tp) < ends[tp]}
        while remaining:
            batches = await reader.getmany(*remaining, timeout_ms=1000, max_records=batch_size)
            records = [
                record
                for tp, items in batches.items()
                for record in items
                if record.offset < ends[tp]  # not what this replay dead-letters again
            ]
            if records:
                await applier.process(records)
                read += len(records)
            offsets = {
                tp: min(items[-1].offset + 1, ends[tp]) for tp, items in batches.items() if items
            }
            if offsets:
                await reader.commit(offsets)
            remaining = {tp for tp in remaining if await reader.position(tp) < ends[tp]}
    finally:
        await reader.stop()
        await producer.stop()
    return ReplayReport(read=read, dead_again=dead_letters.sent)


async def _partitions(bootstrap: str, topic: str) -> list[int]:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        (described,) = await admin.describe_topics([topic])
    finally:
        await admin.close()
    return sorted(int(p["partition"]) for p in described["partitions"])
