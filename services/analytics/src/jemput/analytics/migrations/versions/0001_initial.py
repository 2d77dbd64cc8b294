"""Resident facts read model, outbox and inbox.

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
        "resident_fact",
        sa.Column("nik", sa.String(16), primary_key=True),
        sa.Column("village_code", sa.String(13), nullable=False),
        sa.Column("district_code", sa.String(8), nullable=False),
        sa.Column("regency_code", sa.String(5), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("ever_married", sa.Boolean(), nullable=False),
        sa.Column("alive", sa.Boolean(), nullable=False),
        sa.Column("domiciled", sa.Boolean(), nullable=False),
        sa.Column("recorded", sa.Boolean(), nullable=False),
    )
    op.create_index("ix_resident_fact_regency", "resident_fact", ["regency_code", "district_code"])
    op.create_index("ix_resident_fact_district", "resident_fact", ["district_code", "village_code"])


def downgrade() -> None:
    op.drop_table("resident_fact")
    drop_messaging_tables(op)
