"""Partner subscriptions: create (idempotently), read, deactivate; their deliveries: list and
re-arm. A subscription belongs to the client that made it; other clients never see it."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from sqlalchemy import and_, or_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.residents.adapters.webhook_tables import PartnerSubscription, WebhookDelivery
from jemput.residents.domain.webhooks import DeliveryState
from jemput.residents.service_layer.webhook_targets import (
    InternalAddress,
    Resolver,
    checked_address,
)
from jemput.shared.db import core_connection
from jemput.shared.http.problems import FieldProblem, ProblemError

LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
DEFAULT_PORTS = {"http": 80, "https": 443}
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SubscriptionSpec:
    """What a partner asks for, normalised: the same request always has the same digest."""

    url: str
    niks: tuple[str, ...]
    areas: tuple[str, ...]

    @classmethod
    def of(cls, url: str, niks: Sequence[str], areas: Sequence[str]) -> SubscriptionSpec:
        return cls(url, tuple(sorted(set(niks))), tuple(sorted(set(areas))))

    def digest(self) -> str:
        canonical = json.dumps([self.url, self.niks, self.areas], separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Created:
    subscription: PartnerSubscription
    replayed: bool  # an earlier request with the same Idempotency-Key made it


def url_problem(url: str, *, allow_local_http: bool) -> FieldProblem | None:
    """Deliveries carry NIKs: only over TLS, except to this machine while developing."""
    parts = urlsplit(url)
    if parts.username is not None or parts.password is not None:
        return FieldProblem(
            field="url", code="url_credentials", reason="url must not carry credentials"
        )
    if not parts.hostname:
        return FieldProblem(field="url", code="url_invalid", reason="url needs a host")
    try:
        parts.port  # noqa: B018 (reading it checks it)
    except ValueError:
        return FieldProblem(field="url", code="url_invalid", reason="url has an invalid port")
    if parts.fragment:
        return FieldProblem(field="url", code="url_invalid", reason="url must have no fragment")
    if parts.scheme == "https":
        return None
    if parts.scheme == "http" and allow_local_http and parts.hostname in LOCAL_HOSTS:
        return None
    return FieldProblem(
        field="url",
        code="url_not_https",
        reason="url must be https"
        + (" (or http to 127.0.0.1 / localhost)" if allow_local_http else ""),
    )


async def address_problem(
    url: str, *, resolver: Resolver, allow_internal: bool
) -> FieldProblem | None:
    """A URL (already passing `url_problem`) whose host is, or resolves to, an internal
    address. A name that does not resolve now is accepted: each delivery checks again."""
    if allow_internal:
        return None
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        await checked_address(
            host, parts.port or DEFAULT_PORTS[parts.scheme], resolver=resolver, allow_internal=False
        )
    except InternalAddress:
        return FieldProblem(
            field="url",
            code="url_internal_address",
            reason="url must not point at a loopback, private, link-local or other internal "
            "address",
        )
    except OSError:
        return None
    return None


async def create(
    sessions: async_sessionmaker[AsyncSession],
    *,
    client_id: str,
    spec: SubscriptionSpec,
    idempotency_key: str | None,
) -> Created:
    """A new subscription with a new secret; or, for an Idempotency-Key seen before from this
    client, the subscription that key made (409 if the body differs)."""
    digest = spec.digest()
    if idempotency_key is not None:
        earlier = await _by_key(sessions, client_id, idempotency_key)
        if earlier is not None:
            return _replay(earlier, digest)
    subscription = PartnerSubscription(
        id=str(uuid.uuid4()),
        client_id=client_id,
        url=spec.url,
        secret=secrets.token_urlsafe(32),
        niks=list(spec.niks),
        areas=list(spec.areas),
        idempotency_key=idempotency_key,
        request_digest=digest,
    )
    try:
        async with sessions() as session, session.begin():
            session.add(subscription)
    except IntegrityError:
        # The same key sent twice at once: the other request's insert won; answer with it.
        twin = await _by_key(sessions, client_id, idempotency_key) if idempotency_key else None
        if twin is None:
            raise
        return _replay(twin, digest)
    return Created(subscription, replayed=False)


def _replay(earlier: PartnerSubscription, digest: str) -> Created:
    if earlier.request_digest != digest:
        raise ProblemError(
            409,
            "Idempotency-Key reused",
            "This Idempotency-Key was used for a different subscription request; use a new key "
            "for a new subscription.",
        )
    return Created(earlier, replayed=True)


async def _by_key(
    sessions: async_sessionmaker[AsyncSession], client_id: str, key: str
) -> PartnerSubscription | None:
    async with sessions() as session:
        query = select(PartnerSubscription).where(
            col(PartnerSubscription.client_id) == client_id,
            col(PartnerSubscription.idempotency_key) == key,
        )
        return (await session.exec(query)).first()


async def owned(session: AsyncSession, client_id: str, subscription_id: str) -> PartnerSubscription:
    """The client's subscription, or 404 (also for another client's: its existence is not
    disclosed)."""
    subscription = await session.get(PartnerSubscription, subscription_id)
    if subscription is None or subscription.client_id != client_id:
        raise ProblemError(404, "Not Found", "No such subscription.")
    return subscription


def subscription_sort_key(subscription: PartnerSubscription) -> tuple[int, str]:
    """(microseconds since 1970, id): creation order, exact, and ints survive a page token."""
    since = subscription.created_at - EPOCH
    return (since // timedelta(microseconds=1), subscription.id)


async def list_owned(
    session: AsyncSession, client_id: str, *, after: tuple[int, str] | None, limit: int
) -> list[PartnerSubscription]:
    """The client's subscriptions in creation order, after a page key."""
    query = select(PartnerSubscription).where(col(PartnerSubscription.client_id) == client_id)
    if after is not None:
        created_at = EPOCH + timedelta(microseconds=after[0])
        query = query.where(
            or_(
                col(PartnerSubscription.created_at) > created_at,
                and_(
                    col(PartnerSubscription.created_at) == created_at,
                    col(PartnerSubscription.id) > after[1],
                ),
            )
        )
    query = query.order_by(col(PartnerSubscription.created_at), col(PartnerSubscription.id))
    return list((await session.exec(query.limit(limit))).all())


async def deactivate(session: AsyncSession, subscription: PartnerSubscription) -> None:
    """No more deliveries: the pending ones are cancelled (kept, to be seen in the list)."""
    if not subscription.active:
        return
    subscription.active = False
    subscription.deactivated_at = datetime.now(UTC)
    session.add(subscription)
    await (await core_connection(session)).execute(
        update(WebhookDelivery)
        .where(
            col(WebhookDelivery.subscription_id) == subscription.id,
            col(WebhookDelivery.state) == DeliveryState.PENDING,
        )
        .values(state=DeliveryState.CANCELLED, next_attempt_at=None)
    )


async def list_deliveries(
    session: AsyncSession,
    subscription_id: str,
    *,
    state: DeliveryState | None,
    before_seq: int | None,
    limit: int,
) -> list[WebhookDelivery]:
    """Newest first: what a partner checking on its deliveries wants to see."""
    query = select(WebhookDelivery).where(col(WebhookDelivery.subscription_id) == subscription_id)
    if state is not None:
        query = query.where(col(WebhookDelivery.state) == state)
    if before_seq is not None:
        query = query.where(col(WebhookDelivery.seq) < before_seq)
    query = query.order_by(col(WebhookDelivery.seq).desc()).limit(limit)
    return list((await session.exec(query)).all())


async def rearm(
    session: AsyncSession, subscription: PartnerSubscription, delivery_id: str
) -> WebhookDelivery:
    """Send a parked delivery again (a fresh set of attempts), or a delivered one once more
    (a partner that lost it). It keeps its id: the receiver can tell it is the same one."""
    query = (
        select(WebhookDelivery)
        .where(
            col(WebhookDelivery.id) == delivery_id,
            col(WebhookDelivery.subscription_id) == subscription.id,
        )
        .with_for_update()
    )
    delivery = (await session.exec(query)).first()
    if delivery is None:
        raise ProblemError(404, "Not Found", "No such delivery in this subscription.")
    if not subscription.active:
        raise ProblemError(409, "Conflict", "The subscription is deactivated.")
    if delivery.state not in (DeliveryState.PARKED, DeliveryState.DELIVERED):
        raise ProblemError(
            409,
            "Conflict",
            f"The delivery is {delivery.state}; only parked or delivered ones can be re-armed.",
        )
    delivery.state = DeliveryState.PENDING
    delivery.attempts = 0
    delivery.next_attempt_at = datetime.now(UTC)
    session.add(delivery)
    await session.flush()
    return delivery
