"""The event bus on a real Kafka broker and real databases (SQLite and PostgreSQL):
outbox → relay → Kafka → idempotent consumer with inbox, dead letters, replay, rebalance."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, ClassVar

import orjson
import pytest
import sqlalchemy as sa
from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.shared.db import create_engine
from jemput.shared.events.base import EventPayload
from jemput.shared.events.envelope import CloudEvent
from jemput.shared.messaging.consumer import IdempotentConsumer
from jemput.shared.messaging.dead_letter import REASON_HEADER, DeadLetters, SafeError
from jemput.shared.messaging.handlers import EventHandlers, InboundEvent
from jemput.shared.messaging.kafka import ensure_topics, make_producer
from jemput.shared.messaging.outbox import Outbox
from jemput.shared.messaging.relay import OutboxRelay
from jemput.shared.messaging.replay import replay_dead_letters
from jemput.shared.messaging.tables import metadata as messaging_metadata
from jemput.shared.messaging.tables import relay_lock
from jemput.shared.runtime import ServiceRuntime
from jemput.shared.settings import ServiceSettings
from jemput.shared.testing.kafka import read_topic

pytestmark = [pytest.mark.kafka]


class PingV1(EventPayload):
    event_type: ClassVar[str] = "jemput.test.ping.v1"
    producer: ClassVar[str] = "test"
    key: str
    n: int
    fail: bool = False

    def partition_key(self) -> str:
        return self.key


class KeyFailure(SafeError):
    pass


tally_metadata = sa.MetaData()
tally = sa.Table(
    "tally",
    tally_metadata,
    sa.Column("key", sa.String(32), primary_key=True),
    sa.Column("applied", sa.Integer, nullable=False),
    sa.Column("last_n", sa.Integer, nullable=False),
)


async def count_ping(session: AsyncSession, event: InboundEvent[PingV1]) -> None:
    if event.payload.fail:
        raise KeyFailure("this event is marked to fail")
    conn = await session.connection()
    updated = await conn.execute(
        tally.update()
        .where(tally.c.key == event.payload.key)
        .values(applied=tally.c.applied + 1, last_n=event.payload.n)
    )
    if updated.rowcount == 0:
        await conn.execute(
            tally.insert().values(key=event.payload.key, applied=1, last_n=event.payload.n)
        )


@dataclass
class Bus:
    settings: ServiceSettings
    engine: AsyncEngine
    producer: AIOKafkaProducer
    outbox: Outbox

    @property
    def topic(self) -> str:
        return self.settings.topic("test")

    def relay(self, **options: object) -> OutboxRelay:
        return OutboxRelay(self.engine, self.producer, source="/jemput/test", **options)  # type: ignore[arg-type]

    def consumer(
        self,
        *,
        name: str = "tally",
        group: str | None = None,
        batch_size: int = 100,
        handlers: EventHandlers | None = None,
    ) -> IdempotentConsumer:
        if handlers is None:
            handlers = EventHandlers()
            handlers.add(PingV1, count_ping)
        from sqlalchemy.ext.asyncio import async_sessionmaker

        return IdempotentConsumer(
            name=self.settings.kafka_namespace + name,
            bootstrap_servers=self.settings.kafka_bootstrap_servers,
            group_id=group or self.settings.kafka_namespace + name,
            topics=[self.topic],
            session_factory=async_sessionmaker(
                self.engine, class_=AsyncSession, expire_on_commit=False
            ),
            handlers=handlers,
            dead_letters=DeadLetters(self.producer, self.settings.dead_letter_topic),
            batch_size=batch_size,
            retry_delay=0.01,
        )

    async def add(self, payloads: list[PingV1]) -> None:
        async with self.engine.begin() as conn:
            await self.outbox.add_many(conn, payloads)

    async def tallies(self) -> dict[str, tuple[int, int]]:
        async with self.engine.connect() as conn:
            rows = (await conn.execute(sa.select(tally))).all()
        return {r.key: (r.applied, r.last_n) for r in rows}

    async def drain(self) -> None:
        relay = self.relay()
        while await relay.publish_pending():
            pass


@pytest.fixture
async def bus(database_url: str, kafka_bootstrap: str, kafka_namespace: str) -> AsyncIterator[Bus]:
    settings = ServiceSettings(
        service_name="test",
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_namespace=kafka_namespace,
    )
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await conn.run_sync(messaging_metadata.create_all)
        await conn.run_sync(tally_metadata.create_all)
        await conn.execute(relay_lock.insert().values(id=1))
    await ensure_topics(
        kafka_bootstrap, [settings.topic("test"), settings.dead_letter_topic], partitions=3
    )
    producer = make_producer(kafka_bootstrap, client_id="test")
    await producer.start()
    try:
        yield Bus(
            settings, engine, producer, Outbox(source="/jemput/test", topic_for=settings.topic)
        )
    finally:
        await producer.stop()
        await engine.dispose()


async def until(predicate: Any, *, seconds: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await predicate():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.05)


class Running:
    """A consumer running in the background until the block ends."""

    def __init__(self, consumer: IdempotentConsumer) -> None:
        self.consumer = consumer
        self.stop = asyncio.Event()
        self.task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> IdempotentConsumer:
        self.task = asyncio.create_task(self.consumer.run(self.stop))
        return self.consumer

    async def __aexit__(self, *exc: object) -> None:
        self.stop.set()
        assert self.task is not None
        await asyncio.wait_for(self.task, 30)


def pings(keys: int, per_key: int, *, start: int = 0) -> list[PingV1]:
    return [PingV1(key=f"k{k}", n=n) for n in range(start, start + per_key) for k in range(keys)]


async def test_relay_retry_is_applied_once(bus: Bus) -> None:
    """A relay that published but crashed before marking rows sent publishes them again;
    the inbox drops the copies."""
    await bus.add(pings(10, 20))
    await bus.drain()
    async with bus.engine.begin() as conn:  # what a crash before the mark leaves behind
        await conn.execute(sa.text("UPDATE outbox SET sent_at = NULL"))
    await bus.drain()
    await bus.add([PingV1(key="last", n=0)])
    await bus.drain()
    assert len(await read_topic(bus.settings.kafka_bootstrap_servers, bus.topic, expect=401)) == 401

    async with Running(bus.consumer()) as consumer:
        await until(consumer.caught_up)
    tallies = await bus.tallies()
    assert sum(applied for applied, _ in tallies.values()) == 201
    assert all(applied == 20 for key, (applied, _) in tallies.items() if key != "last")


async def test_two_relays_publish_each_row_once_and_in_order(bus: Bus) -> None:
    await bus.add(pings(25, 80))
    stop = asyncio.Event()
    relays = [bus.relay(batch_size=100), bus.relay(batch_size=100)]
    tasks = [asyncio.create_task(r.run(stop)) for r in relays]

    async def empty() -> bool:
        return (await relays[0].backlog())[0] == 0

    await until(empty)
    stop.set()
    await asyncio.gather(*tasks)
    records = await read_topic(bus.settings.kafka_bootstrap_servers, bus.topic, expect=2000)
    ids = [dict(r.headers)["ce_id"] for r in records]
    assert len(ids) == 2000
    assert len(set(ids)) == 2000
    by_key: dict[bytes, list[int]] = {}
    for record in records:
        by_key.setdefault(record.key or b"", []).append(orjson.loads(record.value)["n"])
    assert all(ns == sorted(ns) for ns in by_key.values())  # each key's events in order


async def test_poison_messages_go_to_dead_letters_and_the_rest_is_applied(bus: Bus) -> None:
    good = CloudEvent(
        id="good-1",
        type=PingV1.event_type,
        source="/test",
        time=CloudEvent.new_time(),
        data=PingV1(key="1602055705900012", n=1).model_dump_json().encode(),
    )
    await bus.producer.send_and_wait(bus.topic, good.data, key=b"a", headers=good.headers())
    # 1. no CloudEvents headers at all
    await bus.producer.send_and_wait(bus.topic, b'{"key": "x"}', key=b"a")
    # 2. a known type whose payload misses a field (the NIK-like value must not leak)
    bad_payload = CloudEvent(
        id="bad-2",
        type=PingV1.event_type,
        source="/test",
        time=CloudEvent.new_time(),
        data=b'{"key": "1602055705900012"}',
    )
    await bus.producer.send_and_wait(
        bus.topic, bad_payload.data, key=b"a", headers=bad_payload.headers()
    )
    # 3. not JSON at all
    not_json = CloudEvent(
        id="bad-3", type=PingV1.event_type, source="/test", time=CloudEvent.new_time(), data=b"{"
    )
    await bus.producer.send_and_wait(bus.topic, not_json.data, key=b"a", headers=not_json.headers())
    # 4. the handler refuses it every time
    await bus.add([PingV1(key="poison", n=1, fail=True), PingV1(key="after", n=2)])
    await bus.drain()

    async with Running(bus.consumer()) as consumer:
        await until(consumer.caught_up)
    tallies = await bus.tallies()
    assert set(tallies) == {"1602055705900012", "after"}
    dead = await read_topic(
        bus.settings.kafka_bootstrap_servers, bus.settings.dead_letter_topic, expect=4
    )
    # Partitions interleave, so the dead letters come in no fixed order: look them up by id.
    by_id = {dict(r.headers).get("ce_id", b"").decode(): dict(r.headers) for r in dead}
    reasons = {i: h[REASON_HEADER].decode() for i, h in by_id.items()}
    assert len(dead) == 4
    assert reasons[""].startswith("unreadable envelope: missing CloudEvents headers")
    assert reasons["bad-2"] == "payload does not match PingV1: n: missing"
    assert "json_invalid" in reasons["bad-3"]
    poisoned = [i for i in reasons if i not in ("", "bad-2", "bad-3")]
    assert [reasons[i] for i in poisoned] == ["KeyFailure: this event is marked to fail"]
    assert not any("1602055705900012" in r for r in reasons.values())
    headers = by_id[poisoned[0]]
    assert headers["jemput_dlq_original_topic"].decode() == bus.topic
    assert headers["jemput_dlq_consumer"].decode().endswith("tally")
    assert int(headers["jemput_dlq_original_offset"]) >= 0


async def test_replay_from_offset_zero_changes_nothing(bus: Bus) -> None:
    await bus.add(pings(5, 40))
    await bus.drain()

    async def all_applied() -> bool:
        return sum(a for a, _ in (await bus.tallies()).values()) == 200

    async with Running(bus.consumer()):
        await until(all_applied)
    before = await bus.tallies()
    # A new consumer group starts at offset 0 and reads everything again, into the same inbox.
    replay = bus.consumer(group=bus.settings.kafka_namespace + "replay")
    async with Running(replay):
        await until(replay.caught_up)
    assert await bus.tallies() == before


async def test_rebalance_to_a_second_member_applies_each_event_once(bus: Bus) -> None:
    await bus.add(pings(30, 50))
    await bus.drain()
    first = bus.consumer(batch_size=50)
    second = bus.consumer(batch_size=50)

    async def all_applied() -> bool:
        return sum(a for a, _ in (await bus.tallies()).values()) == 1500

    async with Running(first):
        await until(lambda: _some_applied(bus))
        async with Running(second):  # joining moves partitions in the middle of the stream
            await bus.add(pings(30, 50, start=50))
            await bus.drain()

            async def all_3000() -> bool:
                return sum(a for a, _ in (await bus.tallies()).values()) == 3000

            await until(all_3000, seconds=60)
    tallies = await bus.tallies()
    assert all(applied == 100 and last == 99 for applied, last in tallies.values())


async def _some_applied(bus: Bus) -> bool:
    return bool(await bus.tallies())


async def test_dead_letters_are_applied_again_once_the_cause_is_fixed(bus: Bus) -> None:
    broken = {"k-broken", "k-still"}

    async def flaky_ping(session: AsyncSession, event: InboundEvent[PingV1]) -> None:
        if event.payload.key in broken:
            raise KeyFailure("a reference table lacks this key")
        await count_ping(session, event)

    handlers = EventHandlers()
    handlers.add(PingV1, flaky_ping)
    await bus.add([PingV1(key=k, n=1) for k in ("k-ok", "k-broken", "k-still")])
    await bus.drain()
    async with Running(bus.consumer(handlers=handlers)) as consumer:
        await until(consumer.caught_up)
    assert set(await bus.tallies()) == {"k-ok"}

    broken.discard("k-broken")  # the fix is deployed for one of the two
    runtime = ServiceRuntime(settings=bus.settings, engine=bus.engine, handlers=handlers)
    first = await replay_dead_letters(runtime)
    assert (first.read, first.dead_again) == (2, 1)
    assert await bus.tallies() == {"k-ok": (1, 1), "k-broken": (1, 1)}

    # The one that failed again waits for the next replay; the applied one is not read again.
    second = await replay_dead_letters(runtime)
    assert (second.read, second.dead_again) == (1, 1)
    broken.clear()
    third = await replay_dead_letters(runtime)
    assert (third.read, third.dead_again) == (1, 0)
    assert await bus.tallies() == {"k-ok": (1, 1), "k-broken": (1, 1), "k-still": (1, 1)}
    assert (await replay_dead_letters(runtime)).read == 0
