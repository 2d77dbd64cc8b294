"""Blank-card ledger and stock balances.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from jemput.shared.db.types import UtcDateTime

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ledger_entry",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("location", sa.String(20), nullable=False),
        sa.Column(
            "reverses_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            sa.ForeignKey("ledger_entry.id"),
            nullable=True,
            unique=True,  # an entry is reversed at most once
        ),
        sa.Column("reference", sa.String(100), nullable=True),
        sa.Column("serial_from", sa.String(30), nullable=True),
        sa.Column("serial_to", sa.String(30), nullable=True),
        sa.Column("job_id", sa.String(36), nullable=True),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("note", sa.String(300), nullable=True),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_ledger_entry_location", "ledger_entry", ["location", "id"])
    op.create_index("ix_ledger_entry_job", "ledger_entry", ["job_id"])
    op.create_table(
        "stock_balance",
        sa.Column("location", sa.String(20), primary_key=True),
        sa.Column("on_hand", sa.Integer(), nullable=False),
        sa.Column("reserved", sa.Integer(), nullable=False),
        sa.Column("last_entry_id", sa.BigInteger(), nullable=True),
        sa.Column("low_threshold", sa.Integer(), nullable=False, server_default="100"),
        sa.CheckConstraint(
            "on_hand >= 0 AND reserved >= 0 AND reserved <= on_hand", name="stock_possible"
        ),
    )


def downgrade() -> None:
    op.drop_table("stock_balance")
    op.drop_table("ledger_entry")
