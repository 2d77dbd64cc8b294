"""Residents register, outbox and inbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from jemput.shared.messaging.tables import create_messaging_tables, drop_messaging_tables

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_messaging_tables(op)
    op.create_table(
        "resident",
        sa.Column("nik", sa.String(16), primary_key=True),
        sa.Column("kk", sa.String(16), nullable=True),
        sa.Column("full_name", sa.String(200), nullable=False),
        sa.Column("birth_place", sa.String(100), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(1), nullable=False),
        sa.Column("marital_status", sa.String(16), nullable=False),
        sa.Column("village_code", sa.String(13), nullable=False),
        sa.Column("domicile_status", sa.String(16), nullable=False),
        sa.Column("ektp_status", sa.String(24), nullable=False),
        sa.Column("suket_outstanding", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_resident_village_code", "resident", ["village_code"])
    op.create_index("ix_resident_kk", "resident", ["kk"])


def downgrade() -> None:
    op.drop_table("resident")
    drop_messaging_tables(op)
