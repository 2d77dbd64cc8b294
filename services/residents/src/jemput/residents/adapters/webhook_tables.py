"""Partner subscriptions and their webhook deliveries (migration 0003 describes the columns)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from jemput.residents.domain.webhooks import DeliveryState
from jemput.shared.db.types import StrEnumType, UtcDateTime


def _now() -> datetime:
    return datetime.now(UTC)


def _utc(**options: Any) -> Any:
    return Field(sa_type=UtcDateTime(), **options)


class PartnerSubscription(SQLModel, table=True):
    __tablename__ = "partner_subscription"
    __table_args__ = (
        sa.UniqueConstraint("client_id", "idempotency_key", name="uq_partner_subscription_key"),
        sa.Index("ix_partner_subscription_client", "client_id", "created_at"),
        sa.Index("ix_partner_subscription_active", "active"),
    )

    id: str = Field(primary_key=True, max_length=36)
    client_id: str = Field(max_length=100)
    url: str = Field(max_length=2048)
    # Kept in clear, not hashed: every delivery is signed with it. Whoever reads this table can
    # forge notifications to the partner, so the database is protected like a secret store.
    secret: str = Field(max_length=64)
    niks: list[str] = Field(default_factory=list, sa_type=sa.JSON())
    areas: list[str] = Field(default_factory=list, sa_type=sa.JSON())
    active: bool = True
    # A resent create with the same key returns this subscription (if the body is the same).
    idempotency_key: str | None = Field(default=None, max_length=200)
    request_digest: str | None = Field(default=None, max_length=64)
    created_at: datetime = _utc(default_factory=_now)
    deactivated_at: datetime | None = _utc(default=None)


class WebhookDelivery(SQLModel, table=True):
    __tablename__ = "webhook_delivery"
    __table_args__ = (
        # The fan-out's second guard against one event making two deliveries.
        sa.UniqueConstraint("subscription_id", "event_id", name="uq_webhook_delivery_event"),
        sa.Index("ix_webhook_delivery_due", "state", "next_attempt_at", "seq"),
        sa.Index("ix_webhook_delivery_subscription", "subscription_id", "state", "seq"),
    )

    # Insertion order, which is event order within a subscription: deliveries go out in it.
    seq: int | None = Field(
        default=None,
        primary_key=True,
        sa_type=sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
    )
    # The public id, the same on every retry (`X-Jemput-Delivery`).
    id: str = Field(max_length=36, unique=True)
    subscription_id: str = Field(max_length=36)
    event_id: str = Field(max_length=64)
    payload: dict[str, Any] = Field(sa_type=sa.JSON())
    state: DeliveryState = Field(
        default=DeliveryState.PENDING, sa_type=StrEnumType(DeliveryState, 16)
    )
    attempts: int = 0
    next_attempt_at: datetime | None = _utc(default=None)
    # An HTTP status or an exception class, never a response body (it could hold anything).
    last_error: str | None = Field(default=None, max_length=200)
    created_at: datetime = _utc(default_factory=_now)
    delivered_at: datetime | None = _utc(default=None)
