"""Partner webhook subscriptions and their deliveries.

`partner_subscription` is what a partner system (health insurance, a bank, the election
commission) watches: a list of NIKs and/or Kemendagri area codes, and the URL its changes are
POSTed to. `secret` signs every delivery (HMAC-SHA256), so it is stored retrievable, not
hashed: protect this database like a secret store. `idempotency_key` + `request_digest` make a
resent `POST /v1/subscriptions` return the subscription it created the first time.

`webhook_delivery` is one event for one subscription, written in the consumer's transaction (the
inbox makes it exactly-once; the unique (subscription_id, event_id) is the second guard) and
sent by the deliverer until the partner answers 2xx or it is parked (`next_attempt_at` is set
while it is pending, null once delivered, parked or cancelled). `seq` is the insertion
order: deliveries of a subscription go out in that order. `id` is the stable public id a
receiver sees on every retry (`X-Jemput-Delivery`).

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-01
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from jemput.shared.db.types import UtcDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "partner_subscription",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("client_id", sa.String(100), nullable=False),
        sa.Column("url", sa.String(2048), nullable=False),
        sa.Column("secret", sa.String(64), nullable=False),
        sa.Column("niks", sa.JSON(), nullable=False),
        sa.Column("areas", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("idempotency_key", sa.String(200), nullable=True),
        sa.Column("request_digest", sa.String(64), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("deactivated_at", UtcDateTime(), nullable=True),
        sa.UniqueConstraint("client_id", "idempotency_key", name="uq_partner_subscription_key"),
    )
    op.create_index(
        "ix_partner_subscription_client", "partner_subscription", ["client_id", "created_at"]
    )
    op.create_index("ix_partner_subscription_active", "partner_subscription", ["active"])
    op.create_table(
        "webhook_delivery",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("id", sa.String(36), nullable=False, unique=True),
        sa.Column("subscription_id", sa.String(36), nullable=False),
        sa.Column("event_id", sa.String(64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UtcDateTime(), nullable=True),
        sa.Column("last_error", sa.String(200), nullable=True),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("delivered_at", UtcDateTime(), nullable=True),
        sa.UniqueConstraint("subscription_id", "event_id", name="uq_webhook_delivery_event"),
    )
    # The deliverer's scan: due pending deliveries, oldest first.
    op.create_index(
        "ix_webhook_delivery_due", "webhook_delivery", ["state", "next_attempt_at", "seq"]
    )
    # A subscription's deliveries in order: its list page and the "earlier one pending?" check.
    op.create_index(
        "ix_webhook_delivery_subscription", "webhook_delivery", ["subscription_id", "state", "seq"]
    )


def downgrade() -> None:
    op.drop_table("webhook_delivery")
    op.drop_table("partner_subscription")
