"""Reading a topic back in tests."""

from __future__ import annotations

import asyncio
import socket

from aiokafka import AIOKafkaConsumer, ConsumerRecord, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import KafkaError


def reachable(address: str) -> bool:
    host, _, port = address.split(",")[0].rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=1):
            return True
    except OSError:
        return False


async def read_topic(
    bootstrap: str, topic: str, *, expect: int | None = None, wait_seconds: float = 10.0
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every message on the topic from offset 0 (waits until `expect` arrived, if given)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    await consumer.start()
    try:
        deadline = asyncio.get_running_loop().time() + wait_seconds
        partitions: set[int] | None = None
        while partitions is None:
            partitions = consumer.partitions_for_topic(topic)
            if partitions is None:
                if asyncio.get_running_loop().time() > deadline:
                    return []
                await consumer._client.force_metadata_update()
                await asyncio.sleep(0.1)
        tps = [TopicPartition(topic, p) for p in sorted(partitions)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        records: list[ConsumerRecord[bytes, bytes]] = []
        while True:
            end = await consumer.end_offsets(tps)
            batch = await consumer.getmany(*tps, timeout_ms=200)
            for items in batch.values():
                records.extend(items)
            positions = [await consumer.position(tp) for tp in tps]
            caught_up = all(pos >= end[tp] for pos, tp in zip(positions, tps, strict=True))
            enough = expect is None or len(records) >= expect
            if (caught_up and enough) or asyncio.get_running_loop().time() > deadline:
                return records
    finally:
        await consumer.stop()


async def delete_topics(bootstrap: str, prefix: str) -> None:
    """Delete every topic whose name starts with `prefix`; quietly nothing without a broker."""
    if not await asyncio.to_thread(reachable, bootstrap):
        return
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    try:
        await admin.start()
        doomed = [t for t in await admin.list_topics() if t.startswith(prefix)]
        if doomed:
            await admin.delete_topics(doomed)
    except KafkaError:
        pass  # the broker is going away: the next start wipes it anyway
    finally:
        await admin.close()
