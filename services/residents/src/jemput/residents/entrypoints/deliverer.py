"""The background worker that POSTs pending webhook deliveries to partners, signed.

A round claims the due deliveries, sends them concurrently (one per subscription), and records
each outcome. Claiming and recording are short transactions; the HTTP calls happen between
them, outside any transaction, so a slow partner never holds a lock (on SQLite, the database's
write lock). A claim leases a delivery by moving its `next_attempt_at` past the HTTP timeout:
if the process dies mid-call, the lease runs out and the delivery is tried again, with the
same `X-Jemput-Delivery` id (at least once; the receiver recognises the duplicate).

Order: a subscription's deliveries go out in `seq` order. Only the oldest pending delivery of
a subscription can be claimed, and it stays pending (leased) while in flight, so a later one
waits until it is delivered or parked. Parked deliveries do not hold the later ones back.

Addresses: outside development and test, every attempt resolves the URL's host, refuses it
(a failed attempt, nothing sent) when it is or resolves to an internal address, and connects to
the address it checked (`webhook_targets`).

Several workers: on PostgreSQL the claim reads `FOR UPDATE SKIP LOCKED`, so replicas share the
work without sending a delivery twice. On SQLite run one worker (one process): the database is
a local file of that process anyway.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import structlog
from prometheus_client import CollectorRegistry, Counter
from sqlalchemy import Table, exists, select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from jemput.residents.adapters.webhook_tables import PartnerSubscription, WebhookDelivery
from jemput.residents.domain.webhooks import DeliveryState, RetryPolicy
from jemput.residents.service_layer.subscriptions import DEFAULT_PORTS
from jemput.residents.service_layer.webhook_targets import (
    InternalAddress,
    Resolver,
    checked_address,
    system_resolver,
)
from jemput.shared.db import is_postgres
from jemput.shared.webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    TIMESTAMP_HEADER,
    sign,
)

log = structlog.get_logger(__name__)

deliveries: Table = WebhookDelivery.__table__  # type: ignore[attr-defined]
subscriptions: Table = PartnerSubscription.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True, slots=True)
class _Claimed:
    seq: int
    id: str
    event_id: str
    payload: dict[str, Any]
    attempts: int
    subscription_id: str
    url: str
    secret: str


@dataclass(frozen=True, slots=True)
class DelivererConfig:
    policy: RetryPolicy = field(default_factory=RetryPolicy)
    timeout_seconds: float = 10.0
    poll_interval_seconds: float = 1.0
    batch_size: int = 50
    # Development and test only: receivers on loopback, private or other internal addresses.
    allow_internal_addresses: bool = False

    @property
    def lease(self) -> timedelta:
        # Well past the HTTP timeout: a delivery in flight is never claimed a second time.
        return timedelta(seconds=self.timeout_seconds * 3 + 5)


class DeliveryMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.attempts = Counter(
            "jemput_webhook_attempts",
            "Webhook delivery attempts by outcome (delivered, failed, parked)",
            ["outcome"],
            registry=registry,
        )


class WebhookDeliverer:
    def __init__(
        self,
        engine: AsyncEngine,
        config: DelivererConfig | None = None,
        *,
        metrics: DeliveryMetrics | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        resolver: Resolver = system_resolver,
    ) -> None:
        self._engine = engine
        self._config = config or DelivererConfig()
        self._metrics = metrics
        self._transport = transport
        self._resolver = resolver

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set; outages of the database are logged and waited out."""
        failures = 0
        async with self._client() as client:
            while not stop.is_set():
                try:
                    sent = await self.deliver_due(client)
                    failures = 0
                except asyncio.CancelledError:
                    raise
                except Exception as exc:  # the worker must outlive database outages
                    failures += 1
                    delay = min(0.2 * 2**failures, 5.0)
                    log.warning("webhooks.round_failed", error=type(exc).__name__, retry_in=delay)
                    await _wait(stop, delay)
                    continue
                if not sent:
                    # Something sent: the next delivery of that subscription may be due now.
                    await _wait(stop, self._config.poll_interval_seconds)

    def _client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            timeout=self._config.timeout_seconds,
            # A redirect is not an answer: the partner registers the URL it serves.
            follow_redirects=False,
            transport=self._transport,
            headers={"User-Agent": "jemput-webhooks/1"},
            # Requests go to the checked address (see `_pinned`); the pool keys connections by
            # address, so a kept-alive TLS connection made for one partner's name could carry
            # another partner's request to the same address. One connection per delivery.
            limits=httpx.Limits(max_keepalive_connections=0),
        )

    async def deliver_due(self, client: httpx.AsyncClient) -> int:
        """One round: claim, send, record. Returns how many deliveries were attempted."""
        claimed = await self._claim()
        if claimed:
            await asyncio.gather(*(self._deliver(client, item) for item in claimed))
        return len(claimed)

    async def _claim(self) -> list[_Claimed]:
        now = datetime.now(UTC)
        earlier = deliveries.alias("earlier")
        query = (
            select(
                deliveries.c.seq,
                deliveries.c.id,
                deliveries.c.event_id,
                deliveries.c.payload,
                deliveries.c.attempts,
                deliveries.c.subscription_id,
                subscriptions.c.url,
                subscriptions.c.secret,
            )
            .join(subscriptions, subscriptions.c.id == deliveries.c.subscription_id)
            .where(
                deliveries.c.state == DeliveryState.PENDING,
                deliveries.c.next_attempt_at <= now,
                ~exists().where(
                    earlier.c.subscription_id == deliveries.c.subscription_id,
                    earlier.c.state == DeliveryState.PENDING,
                    earlier.c.seq < deliveries.c.seq,
                ),
            )
            .order_by(deliveries.c.seq)
            .limit(self._config.batch_size)
        )
        if is_postgres(self._engine):
            query = query.with_for_update(of=deliveries, skip_locked=True)
        async with self._engine.begin() as conn:
            rows = (await conn.execute(query)).all()
            if not rows:
                return []
            await conn.execute(
                update(deliveries)
                .where(deliveries.c.seq.in_([row.seq for row in rows]))
                .values(next_attempt_at=now + self._config.lease)
            )
        return [_Claimed(**row._mapping) for row in rows]

    async def _deliver(self, client: httpx.AsyncClient, item: _Claimed) -> None:
        body = json.dumps(item.payload, separators=(",", ":"), ensure_ascii=False).encode()
        # Signed per attempt: a retry an hour later still passes the receiver's freshness check.
        timestamp = int(time.time())
        headers = {
            "Content-Type": "application/json",
            DELIVERY_HEADER: item.id,
            EVENT_HEADER: item.event_id,
            TIMESTAMP_HEADER: str(timestamp),
            SIGNATURE_HEADER: sign(item.secret, timestamp, body),
        }
        error: str | None = None
        try:
            request = await self._pinned(client, item.url, body, headers)
            response = await client.send(request)
            if not response.is_success:
                error = f"HTTP {response.status_code}"
        except InternalAddress:
            error = "internal address"  # refused, never sent
        except Exception as exc:  # a partner's URL or answer never stops the worker
            error = type(exc).__name__
        await self._record(item, error)

    async def _pinned(
        self, client: httpx.AsyncClient, url: str, body: bytes, headers: dict[str, str]
    ) -> httpx.Request:
        """The POST to the address the URL's host was checked to resolve to, with the name in
        the Host header and, over TLS, in the SNI (so the certificate is checked against the
        name). Resolving once and connecting to what was checked closes DNS rebinding."""
        # Checked as the resolver reads the host, before any client parses it its own way.
        parts = urlsplit(url)
        address = await checked_address(
            parts.hostname or "",
            parts.port or DEFAULT_PORTS[parts.scheme],
            resolver=self._resolver,
            allow_internal=self._config.allow_internal_addresses,
        )
        target = httpx.URL(url)
        host = target.raw_host.decode("ascii")
        extensions = {"sni_hostname": host} if target.scheme == "https" else {}
        return client.build_request(
            "POST",
            target.copy_with(host=str(address)),
            content=body,
            headers={**headers, "Host": target.netloc.decode("ascii")},
            extensions=extensions,
        )

    async def _record(self, item: _Claimed, error: str | None) -> None:
        now = datetime.now(UTC)
        attempts = item.attempts + 1
        values: dict[str, Any]
        if error is None:
            outcome = "delivered"
            values = {
                "state": DeliveryState.DELIVERED,
                "delivered_at": now,
                "next_attempt_at": None,
                "last_error": None,
            }
        elif self._config.policy.gives_up_after(attempts):
            outcome = "parked"
            values = {"state": DeliveryState.PARKED, "next_attempt_at": None, "last_error": error}
        else:
            outcome = "failed"
            retry_in = self._config.policy.delay(attempts)
            values = {"next_attempt_at": now + timedelta(seconds=retry_in), "last_error": error}
        async with self._engine.begin() as conn:
            # Only while still pending: a subscription deactivated meanwhile cancelled it.
            await conn.execute(
                update(deliveries)
                .where(
                    deliveries.c.seq == item.seq,
                    deliveries.c.state == DeliveryState.PENDING,
                )
                .values(attempts=attempts, **values)
            )
        if self._metrics:
            self._metrics.attempts.labels(outcome).inc()
        if error is not None:
            # Never the URL (it may carry a partner's token) nor the payload (a NIK).
            log.warning(
                "webhooks.delivery_failed",
                subscription_id=item.subscription_id,
                delivery_id=item.id,
                attempts=attempts,
                error=error,
                outcome=outcome,
            )


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
