"""Partner webhooks: subscriptions, fan-out from status changes, signed delivery with retries,
in order, parking and re-arming, against a real HTTP receiver (uvicorn on 127.0.0.1) and a
real database (SQLite and PostgreSQL); once end to end through Kafka."""

from __future__ import annotations

import asyncio
import itertools
import json
import socket
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.residents.adapters.tables import ResidentCreate
from jemput.residents.adapters.webhook_tables import PartnerSubscription, WebhookDelivery
from jemput.residents.domain.model import EktpStatus
from jemput.residents.domain.webhooks import (
    DeliveryState,
    RetryPolicy,
    Watch,
    ip_literal,
    is_internal,
)
from jemput.residents.entrypoints.deliverer import DelivererConfig, WebhookDeliverer
from jemput.residents.entrypoints.http.app import create_app
from jemput.residents.service_layer import registration, subscriptions
from jemput.residents.service_layer.webhook_fan_out import WebhookFanOut
from jemput.residents.service_layer.webhook_targets import (
    InternalAddress,
    Resolver,
    checked_address,
    system_resolver,
)
from jemput.residents.settings import ResidentsSettings
from jemput.shared.db import create_engine
from jemput.shared.events.envelope import CloudEvent
from jemput.shared.events.residents import EktpStatusChangedV1, SuketStatusChangedV1
from jemput.shared.messaging.handlers import EventHandlers, InboundEvent
from jemput.shared.messaging.kafka import make_producer
from jemput.shared.nik import Sex, make_nik
from jemput.shared.testing.apps import app_client
from jemput.shared.testing.auth import shared_issuer
from jemput.shared.testing.fixtures import migrate
from jemput.shared.testing.kafka import read_topic
from jemput.shared.timezone import today_in_office
from jemput.shared.webhooks import verify_signature

VILLAGE = "16.02.05.1001"
OTHER_VILLAGE = "16.02.06.2003"
FAST = DelivererConfig(
    policy=RetryPolicy(max_attempts=100, base_seconds=0.05, cap_seconds=0.2),
    timeout_seconds=2.0,
    poll_interval_seconds=0.05,
    allow_internal_addresses=True,  # the receiver is on 127.0.0.1, as in development
)


def nik_of(serial: int) -> str:
    return make_nik("16.02.05", date(1990, 5, 17), Sex.FEMALE, serial)


async def eventually(check: Callable[[], Awaitable[bool]], seconds: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + seconds
    while not await check():
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)


# ---------------------------------------------------------------------------------------------
# A partner's receiver: a tiny ASGI app served by uvicorn, recording what it gets.


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes

    @property
    def delivery_id(self) -> str:
        return self.headers["x-jemput-delivery"]

    @property
    def json(self) -> dict[str, Any]:
        loaded: dict[str, Any] = json.loads(self.body)
        return loaded

    def verifies(self, secret: str) -> bool:
        return verify_signature(
            secret,
            self.headers["x-jemput-timestamp"],
            self.body,
            self.headers["x-jemput-signature"],
        )


@dataclass
class Receiver:
    """Answers 200 (`failing` False) or 500; `down()` stops the server (connection refused)
    and `up()` starts it again on the same port. `accepted` holds the requests answered 200."""

    port: int = 0
    failing: bool = False
    accepted: list[Received] = field(default_factory=list)
    refused: int = 0
    _server: uvicorn.Server | None = None
    _task: asyncio.Task[None] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        status = 500 if self.failing else 200
        if self.failing:
            self.refused += 1
        else:
            self.accepted.append(Received(headers, body))
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"ok" if status == 200 else b"no"})

    async def up(self) -> None:
        if not self.port:
            with socket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                self.port = probe.getsockname()[1]
        config = uvicorn.Config(
            self, host="127.0.0.1", port=self.port, log_level="warning", lifespan="off"
        )
        self._server = uvicorn.Server(config)
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            assert not self._task.done(), "the receiver did not start"
            await asyncio.sleep(0.01)

    async def down(self) -> None:
        if self._server is not None and self._task is not None:
            self._server.should_exit = True
            await self._task
            self._server = self._task = None


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    partner = Receiver()
    await partner.up()
    try:
        yield partner
    finally:
        await partner.down()


# ---------------------------------------------------------------------------------------------
# The register's side without Kafka: the fan-out as the consumer calls it, and the deliverer.


@dataclass
class Webhooks:
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    handlers: EventHandlers
    stop: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)

    async def subscribe(
        self, url: str, *, niks: tuple[str, ...] = (), areas: tuple[str, ...] = ()
    ) -> PartnerSubscription:
        spec = subscriptions.SubscriptionSpec.of(url, niks, areas)
        created = await subscriptions.create(
            self.sessions, client_id="bpjs", spec=spec, idempotency_key=None
        )
        return created.subscription

    async def change(
        self, nik: str, before: str | None, after: str, *, village: str = VILLAGE
    ) -> InboundEvent[Any]:
        """A status change as the consumer applies it: in one transaction."""
        payload = EktpStatusChangedV1(
            nik=nik,
            village_code=village,
            from_status=before,
            to_status=after,
            suket_outstanding=False,
            changed_at=datetime.now(UTC),
        )
        return await self.apply(payload)

    async def apply(self, payload: EktpStatusChangedV1 | SuketStatusChangedV1) -> InboundEvent[Any]:
        """The register's event as the consumer applies it: in one transaction."""
        envelope = CloudEvent(
            id=CloudEvent.new_id(),
            type=payload.event_type,
            source="/jemput/residents",
            time=CloudEvent.new_time(),
            data=payload.model_dump_json().encode(),
            subject=payload.subject(),
        )
        event: InboundEvent[Any] = InboundEvent(envelope, payload, "jemput.residents.v1", 0, 0)
        async with self.sessions() as session, session.begin():
            await self.handlers.apply(session, [event])
        return event

    def deliver(self, config: DelivererConfig = FAST, resolver: Resolver | None = None) -> None:
        deliverer = WebhookDeliverer(self.engine, config, resolver=resolver or system_resolver)
        self.tasks.append(asyncio.create_task(deliverer.run(self.stop)))

    async def deliveries(self, subscription_id: str | None = None) -> list[WebhookDelivery]:
        query = select(WebhookDelivery).order_by(col(WebhookDelivery.seq))
        if subscription_id is not None:
            query = query.where(col(WebhookDelivery.subscription_id) == subscription_id)
        async with self.sessions() as session:
            return list((await session.exec(query)).all())


@pytest.fixture
async def webhooks(database_url: str) -> AsyncIterator[Webhooks]:
    await migrate("residents", database_url)
    engine = create_engine(database_url)
    sessions = async_sessionmaker(engine, class_=AsyncSession, expire_on_commit=False)
    world = Webhooks(engine, sessions, WebhookFanOut().register(EventHandlers()))
    try:
        yield world
    finally:
        world.stop.set()
        await asyncio.gather(*world.tasks)
        await engine.dispose()


async def test_a_delivery_is_signed_and_carries_only_the_change(
    webhooks: Webhooks, receiver: Receiver
) -> None:
    nik = nik_of(1)
    subscription = await webhooks.subscribe(receiver.url, niks=(nik,))
    event = await webhooks.change(nik, "SUDAH_REKAM", "PRINT_READY_RECORD")
    webhooks.deliver()

    async def arrived() -> bool:
        return len(receiver.accepted) == 1

    await eventually(arrived)
    [got] = receiver.accepted
    assert got.verifies(subscription.secret)
    assert got.headers["content-type"] == "application/json"
    assert got.headers["x-jemput-event"] == event.id
    assert got.headers["x-jemput-signature"].startswith("v1=")
    assert got.json == {
        "event_id": event.id,
        "nik": nik,
        "ektp_status": "PRINT_READY_RECORD",
        "previous_status": "SUDAH_REKAM",
        "suket_outstanding": False,
        "changed_at": event.payload.changed_at.isoformat(),
    }
    # Tampered, signed with another secret, or replayed later: refused.
    timestamp, signature = got.headers["x-jemput-timestamp"], got.headers["x-jemput-signature"]
    assert not verify_signature(subscription.secret, timestamp, got.body + b" ", signature)
    assert not verify_signature("another-secret", timestamp, got.body, signature)
    late = time.time() + 301
    assert not verify_signature(subscription.secret, timestamp, got.body, signature, now=late)

    async def recorded() -> bool:
        return (await webhooks.deliveries())[0].state == DeliveryState.DELIVERED

    await eventually(recorded)
    [delivery] = await webhooks.deliveries()
    assert got.delivery_id == delivery.id
    assert (delivery.attempts, delivery.next_attempt_at, delivery.last_error) == (1, None, None)


async def test_a_suket_change_is_delivered_as_its_own_kind(
    webhooks: Webhooks, receiver: Receiver
) -> None:
    """A change of the SUKET flag alone is not a status change: its body says so (`type`) and
    names the unchanged status, with no previous one."""
    nik = nik_of(2)
    await webhooks.subscribe(receiver.url, areas=("16.02.05",))
    event = await webhooks.apply(
        SuketStatusChangedV1(
            nik=nik,
            village_code=VILLAGE,
            suket_outstanding=True,
            changed_at=datetime.now(UTC),
            ektp_status="SUDAH_REKAM",
        )
    )
    webhooks.deliver()

    async def arrived() -> bool:
        return len(receiver.accepted) == 1

    await eventually(arrived)
    [got] = receiver.accepted
    assert got.headers["x-jemput-event"] == event.id
    assert got.json == {
        "event_id": event.id,
        "type": "suket_status_changed",
        "nik": nik,
        "ektp_status": "SUDAH_REKAM",
        "suket_outstanding": True,
        "changed_at": event.payload.changed_at.isoformat(),
    }


async def test_a_receiver_down_for_a_while_gets_every_change_in_order(
    webhooks: Webhooks, receiver: Receiver
) -> None:
    subscription = await webhooks.subscribe(receiver.url, areas=("16.02.05",))
    receiver.failing = True
    steps = ["BELUM_REKAM", "SUDAH_REKAM", "PRINT_READY_RECORD", "CARD_PRINTED", "CARD_ISSUED"]
    events = []
    for serial in (1, 2):
        for before, after in itertools.pairwise(steps):
            events.append(await webhooks.change(nik_of(serial), before, after))
    webhooks.deliver()

    async def refused_a_few() -> bool:
        return receiver.refused >= 3

    await eventually(refused_a_few)
    await receiver.down()  # and then not even reachable
    await asyncio.sleep(0.5)
    receiver.failing = False
    await receiver.up()

    async def all_arrived() -> bool:
        return len(receiver.accepted) >= len(events)

    await eventually(all_arrived)
    assert [r.headers["x-jemput-event"] for r in receiver.accepted] == [e.id for e in events]
    assert all(r.verifies(subscription.secret) for r in receiver.accepted)
    first = (await webhooks.deliveries())[0]
    assert first.attempts > 1  # it was the one that waited for the receiver


async def test_parked_after_the_last_attempt_and_later_changes_still_go_out(
    webhooks: Webhooks, receiver: Receiver
) -> None:
    nik = nik_of(3)
    subscription = await webhooks.subscribe(receiver.url, niks=(nik,))
    receiver.failing = True
    await webhooks.change(nik, "BELUM_REKAM", "SUDAH_REKAM")
    webhooks.deliver(
        DelivererConfig(
            policy=RetryPolicy(max_attempts=3, base_seconds=0.05, cap_seconds=0.1),
            poll_interval_seconds=0.05,
            allow_internal_addresses=True,
        )
    )

    async def parked() -> bool:
        return (await webhooks.deliveries())[0].state == DeliveryState.PARKED

    await eventually(parked)
    [delivery] = await webhooks.deliveries()
    assert (delivery.attempts, delivery.last_error, delivery.next_attempt_at) == (
        3,
        "HTTP 500",
        None,
    )
    assert receiver.refused == 3
    # A parked delivery does not hold the subscription's later ones back.
    receiver.failing = False
    later = await webhooks.change(nik, "SUDAH_REKAM", "PRINT_READY_RECORD")

    async def later_arrived() -> bool:
        return len(receiver.accepted) == 1

    await eventually(later_arrived)
    assert receiver.accepted[0].headers["x-jemput-event"] == later.id
    # Re-armed, the parked one goes out with its own, unchanged id.
    async with webhooks.sessions() as session, session.begin():
        await subscriptions.rearm(session, subscription, delivery.id)

    async def rearmed_arrived() -> bool:
        return len(receiver.accepted) == 2

    await eventually(rearmed_arrived)
    assert receiver.accepted[1].delivery_id == delivery.id


async def test_a_redelivery_carries_the_same_delivery_id(
    webhooks: Webhooks, receiver: Receiver
) -> None:
    nik = nik_of(4)
    subscription = await webhooks.subscribe(receiver.url, niks=(nik,))
    await webhooks.change(nik, "BELUM_REKAM", "SUDAH_REKAM")
    webhooks.deliver()

    async def delivered() -> bool:
        return (await webhooks.deliveries())[0].state == DeliveryState.DELIVERED

    await eventually(delivered)
    [delivery] = await webhooks.deliveries()
    async with webhooks.sessions() as session, session.begin():
        await subscriptions.rearm(session, subscription, delivery.id)

    async def twice() -> bool:
        return len(receiver.accepted) == 2

    await eventually(twice)
    first, second = receiver.accepted
    assert first.delivery_id == second.delivery_id == delivery.id
    assert first.body == second.body
    assert second.verifies(subscription.secret)


async def test_non_matching_subscriptions_get_nothing(
    webhooks: Webhooks, receiver: Receiver
) -> None:
    watched, other = nik_of(5), nik_of(6)
    await webhooks.subscribe(receiver.url, niks=(watched,))
    await webhooks.subscribe(receiver.url, areas=("16.02.06",))
    await webhooks.subscribe(receiver.url, areas=("16.02.0",))  # a prefix, not a parent area
    gone = await webhooks.subscribe(receiver.url, niks=(other,))
    async with webhooks.sessions() as session, session.begin():
        await subscriptions.deactivate(session, gone)
    await webhooks.change(other, "BELUM_REKAM", "SUDAH_REKAM", village=VILLAGE)
    assert await webhooks.deliveries() == []
    # The area subscription hears of the resident in its area, and of nobody else.
    await webhooks.change(other, "SUDAH_REKAM", "DUPLICATE", village=OTHER_VILLAGE)
    assert [d.payload["ektp_status"] for d in await webhooks.deliveries()] == ["DUPLICATE"]


async def test_a_subscription_hears_only_of_changes_after_it_was_made(
    webhooks: Webhooks, receiver: Receiver
) -> None:
    nik = nik_of(7)
    before = await webhooks.change(nik, "BELUM_REKAM", "SUDAH_REKAM")
    await asyncio.sleep(0.01)
    await webhooks.subscribe(receiver.url, niks=(nik,))
    async with webhooks.sessions() as session, session.begin():
        await webhooks.handlers.apply(session, [before])  # the topic read again from the start
    assert await webhooks.deliveries() == []


def test_the_watch_and_the_backoff() -> None:
    watch = Watch.of(["1602055705900012"], ["16.02.06", "16.03"])
    assert watch.covers("1602055705900012", "16.01.01.1001")
    assert watch.covers("1602055705900099", "16.02.06.2001")
    assert not watch.covers("1602055705900099", "16.02.061.2001")
    policy = RetryPolicy(max_attempts=12, base_seconds=5, cap_seconds=3600)
    assert [policy.delay(n, rand=lambda: 1.0) for n in (1, 2, 3)] == [5, 10, 20]
    assert policy.delay(20, rand=lambda: 1.0) == 3600
    assert policy.delay(1, rand=lambda: 0.0) == 2.5  # the jitter takes at most half
    assert not policy.gives_up_after(11) and policy.gives_up_after(12)


def test_verify_signature_accepts_any_of_several_signatures_and_refuses_garbage() -> None:
    from jemput.shared.webhooks import sign

    now = 1_800_000_000
    body = b'{"a":1}'
    good = sign("s3cret", now, body)
    assert verify_signature("s3cret", str(now), body, f"v1=00, {good}", now=now + 10)
    assert not verify_signature("s3cret", "not-a-time", body, good, now=now)
    assert not verify_signature("s3cret", now + 301, body, sign("s3cret", now + 301, body), now=now)


def test_webhook_urls_are_https_except_to_this_machine_in_development() -> None:
    def code(url: str, local: bool = True) -> str | None:
        problem = subscriptions.url_problem(url, allow_local_http=local)
        return None if problem is None else problem.code

    assert code("https://bpjs.example/hooks/jemput") is None
    assert code("http://127.0.0.1:9000/hook") is None
    assert code("http://localhost/hook") is None
    assert code("http://127.0.0.1:9000/hook", local=False) == "url_not_https"
    assert code("http://bpjs.example/hook") == "url_not_https"
    assert code("ftp://bpjs.example/hook") == "url_not_https"
    assert code("https://user:pw@bpjs.example/hook") == "url_credentials"
    assert code("https:///nohost") == "url_invalid"
    assert code("https://bpjs.example:99999/hook") == "url_invalid"


# ---------------------------------------------------------------------------------------------
# Internal addresses: refused at subscription and at each delivery outside development.

# Every form of an internal address a URL can carry, as the host of a URL.
INTERNAL_HOSTS = [
    "127.0.0.1",
    "10.1.2.3",
    "192.168.1.10",
    "172.16.0.1",
    "169.254.169.254",  # the cloud metadata service
    "0.0.0.0",
    "[::1]",
    "[fe80::1]",
    "[::ffff:127.0.0.1]",  # IPv4-mapped IPv6
    "2130706433",  # 127.0.0.1 as one decimal number
    "0x7f000001",  # and in hex
    "0177.0.0.1",  # octal
    "127.1",  # short form
    "localhost",  # a name resolving to 127.0.0.1
    "partner.test",  # a name the test resolver maps to 127.0.0.1
]
TEST_NAMES = {"partner.test": ["127.0.0.1"], "public.test": ["93.184.215.14"]}


@dataclass
class FakeResolver:
    """Answers TEST_NAMES, asks the system for the rest; counts the questions."""

    names: dict[str, list[str]] = field(default_factory=lambda: dict(TEST_NAMES))
    asked: list[str] = field(default_factory=list)

    async def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        if host == "broken.test":
            raise RuntimeError("a resolver failing in an unexpected way")
        if host in self.names:
            return self.names[host]
        return await system_resolver(host, port)


def test_internal_addresses_are_recognised_in_every_literal_form() -> None:
    for host in INTERNAL_HOSTS[:-2]:
        address = ip_literal(host.strip("[]"))
        assert address is not None and is_internal(address), host
    assert str(ip_literal("2130706433")) == str(ip_literal("0x7f000001")) == "127.0.0.1"
    assert str(ip_literal("0177.0.0.1")) == str(ip_literal("127.1")) == "127.0.0.1"
    assert ip_literal("bpjs.example") is None and ip_literal("1.2.3.4.5") is None
    for public in ("93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c", "8.8.8.8"):
        address = ip_literal(public)
        assert address is not None and not is_internal(address), public


async def test_a_name_is_checked_on_every_address_it_resolves_to() -> None:
    resolver = FakeResolver()
    resolver.names["mixed.test"] = ["93.184.215.14", "10.0.0.7"]  # one public, one internal
    for host in ("localhost", "partner.test", "mixed.test"):
        with pytest.raises(InternalAddress):
            await checked_address(host, 443, resolver=resolver, allow_internal=False)
    public = await checked_address("public.test", 443, resolver=resolver, allow_internal=False)
    assert str(public) == "93.184.215.14"
    # In development a local receiver is fine.
    local = await checked_address("partner.test", 80, resolver=resolver, allow_internal=True)
    assert str(local) == "127.0.0.1"
    problem = await subscriptions.address_problem(
        "https://partner.test/hook", resolver=resolver, allow_internal=False
    )
    assert problem is not None and problem.code == "url_internal_address"
    # A name that does not resolve now is accepted: every delivery checks it again.
    assert (
        await subscriptions.address_problem(
            "https://bpjs.invalid/hook", resolver=resolver, allow_internal=False
        )
        is None
    )


ONE_ATTEMPT = DelivererConfig(
    policy=RetryPolicy(max_attempts=1), poll_interval_seconds=0.05, timeout_seconds=2.0
)


async def test_a_delivery_to_an_internal_address_is_refused_and_recorded_not_sent(
    webhooks: Webhooks, receiver: Receiver
) -> None:
    """Subscriptions made while internal receivers were allowed (or a name that resolved
    elsewhere then), delivered outside development: every form is refused after resolution,
    recorded as a failed delivery, and nothing reaches the receiver."""
    nik = nik_of(10)
    made = {
        host: await webhooks.subscribe(f"http://{host}:{receiver.port}/hook", niks=(nik,))
        for host in INTERNAL_HOSTS
    }
    await webhooks.change(nik, "BELUM_REKAM", "SUDAH_REKAM")
    resolver = FakeResolver()
    webhooks.deliver(ONE_ATTEMPT, resolver)

    async def all_parked() -> bool:
        rows = await webhooks.deliveries()
        return len(rows) == len(made) and all(d.state == DeliveryState.PARKED for d in rows)

    await eventually(all_parked)
    for host, subscription in made.items():
        [delivery] = await webhooks.deliveries(subscription.id)
        assert (delivery.attempts, delivery.last_error) == (1, "internal address"), host
    assert receiver.accepted == [] and receiver.refused == 0
    assert {"localhost", "partner.test"} <= set(resolver.asked)


async def test_a_delivery_connects_to_the_address_it_resolved_and_survives_failures(
    webhooks: Webhooks, receiver: Receiver
) -> None:
    """`partner.test` exists only in the test resolver: the delivery reaches the receiver only
    because it connects to the address resolved (once) and checked, naming the host in the
    Host header. A resolver failing oddly fails that delivery, not the deliverer."""
    nik = nik_of(11)
    broken = await webhooks.subscribe(f"http://broken.test:{receiver.port}/hook", niks=(nik,))
    pinned = await webhooks.subscribe(f"http://partner.test:{receiver.port}/hook", niks=(nik,))
    await webhooks.change(nik, "BELUM_REKAM", "SUDAH_REKAM")
    resolver = FakeResolver()
    webhooks.deliver(
        DelivererConfig(
            policy=RetryPolicy(max_attempts=1),
            poll_interval_seconds=0.05,
            allow_internal_addresses=True,  # development
        ),
        resolver,
    )

    async def arrived() -> bool:
        return len(receiver.accepted) == 1

    await eventually(arrived)
    [got] = receiver.accepted
    assert got.headers["host"] == f"partner.test:{receiver.port}"
    assert got.verifies(pinned.secret)

    async def broken_parked() -> bool:
        rows = await webhooks.deliveries(broken.id)
        return bool(rows) and rows[0].state == DeliveryState.PARKED

    await eventually(broken_parked)
    [failed] = await webhooks.deliveries(broken.id)
    assert failed.last_error == "RuntimeError"
    assert resolver.asked.count("partner.test") == 1
    # Still running: a later change goes out.
    await webhooks.change(nik, "SUDAH_REKAM", "PRINT_READY_RECORD")

    async def second() -> bool:
        return len(receiver.accepted) == 2

    await eventually(second)


# ---------------------------------------------------------------------------------------------
# The HTTP API


def fast_settings(database_url: str, kafka_bootstrap: str, namespace: str, **extra: Any) -> Any:
    return ResidentsSettings(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_namespace=namespace,
        webhook_backoff_base_seconds=0.05,
        webhook_backoff_cap_seconds=0.2,
        webhook_poll_interval_seconds=0.05,
        **extra,
    )


@pytest.fixture
async def api(
    database_url: str, kafka_bootstrap: str, kafka_namespace: str
) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    await migrate("residents", database_url)
    settings = fast_settings(
        database_url,
        kafka_bootstrap,
        kafka_namespace,
        relay_enabled=False,
        consumer_enabled=False,
        webhook_max_attempts=2,
    )
    async with app_client(create_app, settings) as (client, app):
        yield client, app


def partner(client_id: str) -> dict[str, str]:
    return shared_issuer().headers("residents:subscribe", client_id=client_id)


async def test_creating_a_subscription_is_idempotent(
    api: tuple[httpx.AsyncClient, FastAPI],
) -> None:
    client, _ = api
    body = {"url": "https://bpjs.example/hook", "niks": [nik_of(1)], "areas": ["16.02.05"]}
    key = {"Idempotency-Key": "bpjs-2026-12-01-1", **partner("bpjs")}
    first = await client.post("/v1/subscriptions", json=body, headers=key)
    assert first.status_code == 201, first.text
    created = first.json()
    assert len(created["secret"]) >= 43  # 32 random bytes
    again = await client.post("/v1/subscriptions", json=body, headers=key)
    assert again.status_code == 200  # a replay creates nothing
    assert again.json() == created
    assert again.headers["idempotent-replayed"] == "true"
    changed = await client.post(
        "/v1/subscriptions", json={**body, "areas": ["16.02.06"]}, headers=key
    )
    assert changed.status_code == 409
    assert changed.headers["content-type"] == "application/problem+json"
    # The key is the client's own: another partner using it gets its own subscription.
    other = await client.post(
        "/v1/subscriptions",
        json=body,
        headers={"Idempotency-Key": "bpjs-2026-12-01-1", **partner("bank")},
    )
    assert other.status_code == 201 and other.json()["id"] != created["id"]
    # Without a key, each request is a new subscription.
    plain = [
        (await client.post("/v1/subscriptions", json=body, headers=partner("bpjs"))).json()["id"]
        for _ in range(2)
    ]
    assert len({created["id"], *plain}) == 3
    listed = (await client.get("/v1/subscriptions", headers=partner("bpjs"))).json()["items"]
    assert [s["id"] for s in listed] == [created["id"], *plain]
    assert all("secret" not in s for s in listed)


async def test_bad_subscriptions_are_refused_without_echoing_the_input(
    api: tuple[httpx.AsyncClient, FastAPI],
) -> None:
    client, _ = api
    cases = [
        ({"url": "http://bpjs.example/hook", "areas": ["16.02"]}, "url"),
        ({"url": "https://bpjs.example/hook"}, "body"),
        ({"url": "https://bpjs.example/hook", "niks": ["16020557059000"]}, "niks.0"),
        ({"url": "https://bpjs.example/hook", "areas": ["16-02"]}, "areas.0"),
    ]
    for body, where in cases:
        answer = await client.post("/v1/subscriptions", json=body, headers=partner("bpjs"))
        assert answer.status_code == 422, body
        assert where in [e["field"] for e in answer.json()["errors"]]
        assert "16020557059000" not in answer.text
    assert (await client.get("/v1/subscriptions", headers=partner("bpjs"))).json()["items"] == []


async def test_subscriptions_are_paged_private_and_deactivated(
    api: tuple[httpx.AsyncClient, FastAPI],
) -> None:
    client, _ = api
    ids = []
    for serial in range(3):
        body = {"url": "https://bank.example/hook", "niks": [nik_of(serial + 1)]}
        ids.append(
            (await client.post("/v1/subscriptions", json=body, headers=partner("bank"))).json()[
                "id"
            ]
        )
    page = (await client.get("/v1/subscriptions?page_size=2", headers=partner("bank"))).json()
    assert [s["id"] for s in page["items"]] == ids[:2]
    rest = (
        await client.get(
            f"/v1/subscriptions?page_size=2&page_token={page['next_page_token']}",
            headers=partner("bank"),
        )
    ).json()
    assert [s["id"] for s in rest["items"]] == ids[2:] and rest["next_page_token"] is None
    bad = await client.get("/v1/subscriptions?page_token=bm9wZQ", headers=partner("bank"))
    assert bad.status_code == 422
    # Another partner sees none of them.
    assert (
        await client.get(f"/v1/subscriptions/{ids[0]}", headers=partner("kpu"))
    ).status_code == 404
    assert (
        await client.delete(f"/v1/subscriptions/{ids[0]}", headers=partner("kpu"))
    ).status_code == 404
    assert (
        await client.get(f"/v1/subscriptions/{ids[0]}/deliveries", headers=partner("kpu"))
    ).status_code == 404
    assert (await client.get("/v1/subscriptions", headers=partner("kpu"))).json()["items"] == []
    for _ in range(2):  # twice: deactivating is idempotent
        gone = await client.delete(f"/v1/subscriptions/{ids[0]}", headers=partner("bank"))
        assert gone.status_code == 204
    read = (await client.get(f"/v1/subscriptions/{ids[0]}", headers=partner("bank"))).json()
    assert read["active"] is False and read["deactivated_at"] is not None


async def test_the_retry_endpoint_re_arms_a_parked_delivery(
    api: tuple[httpx.AsyncClient, FastAPI], receiver: Receiver
) -> None:
    client, app = api
    nik = nik_of(8)
    body = {"url": receiver.url, "niks": [nik]}
    created = (await client.post("/v1/subscriptions", json=body, headers=partner("bpjs"))).json()
    deliveries_url = f"/v1/subscriptions/{created['id']}/deliveries"
    receiver.failing = True
    world = Webhooks(
        app.state.runtime.engine,
        app.state.runtime.sessions,
        WebhookFanOut().register(EventHandlers()),
    )
    await world.change(nik, "SUDAH_REKAM", "PRINT_READY_RECORD")

    async def parked() -> bool:
        items = (await client.get(deliveries_url, headers=partner("bpjs"))).json()["items"]
        return bool(items) and items[0]["state"] == "parked"

    await eventually(parked)
    [delivery] = (await client.get(deliveries_url, headers=partner("bpjs"))).json()["items"]
    assert (delivery["attempts"], delivery["last_error"]) == (2, "HTTP 500")
    assert delivery["next_attempt_at"] is None
    assert delivery["payload"]["ektp_status"] == "PRINT_READY_RECORD"
    receiver.failing = False
    retry_url = f"{deliveries_url}/{delivery['id']}/retry"
    rearmed = await client.post(retry_url, headers=partner("bpjs"))
    assert rearmed.status_code == 202, rearmed.text
    assert (rearmed.json()["state"], rearmed.json()["attempts"]) == ("pending", 0)

    async def delivered() -> bool:
        items = (await client.get(deliveries_url, headers=partner("bpjs"))).json()["items"]
        return items[0]["state"] == "delivered"

    await eventually(delivered)
    assert [r.delivery_id for r in receiver.accepted] == [delivery["id"]]
    assert receiver.accepted[0].verifies(created["secret"])
    assert (await client.post(retry_url, headers=partner("kpu"))).status_code == 404
    await client.delete(f"/v1/subscriptions/{created['id']}", headers=partner("bpjs"))
    assert (await client.post(retry_url, headers=partner("bpjs"))).status_code == 409


# ---------------------------------------------------------------------------------------------
# End to end through Kafka: HTTP subscription, a national result, the signed delivery.


@pytest.mark.kafka
async def test_a_status_change_reaches_the_partner_through_kafka_once(
    database_url: str, kafka_bootstrap: str, kafka_namespace: str, receiver: Receiver
) -> None:
    await migrate("residents", database_url)
    settings = fast_settings(database_url, kafka_bootstrap, kafka_namespace, consumer_batch_size=50)
    async with app_client(create_app, settings) as (client, app):
        runtime = app.state.runtime
        nik = nik_of(9)
        async with runtime.sessions() as session, session.begin():
            data = ResidentCreate.model_validate(
                {
                    "nik": nik,
                    "kk": "1602050101200001",
                    "full_name": "SITI AMINAH",
                    "birth_date": date(1990, 5, 17),
                    "sex": "P",
                    "marital_status": "KAWIN",
                    "village_code": VILLAGE,
                    "ektp_status": EktpStatus.SUDAH_REKAM,
                }
            )
            await registration.create(
                session, runtime.outbox, data, regency_code="16.02", today=today_in_office()
            )
        await asyncio.sleep(0.01)  # the registration's own change predates the subscription
        body = {"url": receiver.url, "niks": [nik]}
        created = (
            await client.post("/v1/subscriptions", json=body, headers=partner("bpjs"))
        ).json()
        result = {"results": [{"nik": nik, "result": "PRINT_READY_RECORD"}]}
        answer = await client.post("/v1/central-results", json=result)
        assert answer.json()["results"][0]["outcome"] == "applied"

        async def arrived() -> bool:
            return len(receiver.accepted) == 1

        await eventually(arrived, seconds=60)
        [got] = receiver.accepted
        assert got.verifies(created["secret"])
        assert (got.json["nik"], got.json["previous_status"], got.json["ektp_status"]) == (
            nik,
            "SUDAH_REKAM",
            "PRINT_READY_RECORD",
        )
        # The same event on the topic again (a relay retry, say): the inbox drops it.
        topic = settings.topic("residents")
        records = await read_topic(kafka_bootstrap, topic)
        [record] = [
            r
            for r in records
            if dict(r.headers).get("ce_id") == got.headers["x-jemput-event"].encode()
        ]
        producer = make_producer(kafka_bootstrap, client_id="test-replay")
        await producer.start()
        try:
            await producer.send_and_wait(
                topic, record.value, key=record.key, headers=list(record.headers)
            )
        finally:
            await producer.stop()

        async def caught_up() -> bool:
            return await runtime.consumer.caught_up()

        await eventually(caught_up, seconds=60)
        await asyncio.sleep(0.3)  # a second delivery would have gone out by now
        assert len(receiver.accepted) == 1
        deliveries = (
            await client.get(
                f"/v1/subscriptions/{created['id']}/deliveries", headers=partner("bpjs")
            )
        ).json()["items"]
        assert [d["state"] for d in deliveries] == ["delivered"]
        assert deliveries[0]["id"] == got.delivery_id


async def test_a_client_limited_to_areas_watches_only_inside_them(
    api: tuple[httpx.AsyncClient, FastAPI],
) -> None:
    client, _ = api
    district = shared_issuer().headers("residents:subscribe", client_id="kec", areas=["16.02.05"])
    url = "https://kec.example/hook"
    inside = {"url": url, "areas": ["16.02.05.1001"]}
    assert (
        await client.post("/v1/subscriptions", json=inside, headers=district)
    ).status_code == 201
    for body in ({"url": url, "areas": ["16.02"]}, {"url": url, "niks": [nik_of(1)]}):
        refused = await client.post("/v1/subscriptions", json=body, headers=district)
        assert refused.status_code == 403, body


async def test_internal_webhook_urls_are_refused_at_subscription_outside_development(
    database_url: str, kafka_bootstrap: str, kafka_namespace: str
) -> None:
    await migrate("residents", database_url)
    issuer = shared_issuer()
    settings = fast_settings(
        database_url,
        kafka_bootstrap,
        kafka_namespace,
        relay_enabled=False,
        consumer_enabled=False,
        webhooks_enabled=False,
        environment="production",
        auth_public_key_file=issuer.public_key_file,
        auth_issuer="jemput-test",
    )
    async with app_client(create_app, settings) as (client, _):
        for host in INTERNAL_HOSTS[:-1]:  # partner.test is only known to the test resolver
            body = {"url": f"https://{host}/hook", "areas": ["16.02"]}
            refused = await client.post("/v1/subscriptions", json=body, headers=partner("bpjs"))
            assert refused.status_code == 422, (host, refused.text)
            assert refused.headers["content-type"] == "application/problem+json"
            [error] = refused.json()["errors"]
            assert (error["field"], error["code"]) == ("url", "url_internal_address"), host
        # Plain http to this machine is refused too (it was allowed in development only).
        local = {"url": "http://127.0.0.1:9000/hook", "areas": ["16.02"]}
        answer = await client.post("/v1/subscriptions", json=local, headers=partner("bpjs"))
        assert answer.json()["errors"][0]["code"] == "url_not_https"
        public = {"url": "https://bpjs.example/hook", "areas": ["16.02"]}
        accepted = await client.post("/v1/subscriptions", json=public, headers=partner("bpjs"))
        assert accepted.status_code == 201, accepted.text
