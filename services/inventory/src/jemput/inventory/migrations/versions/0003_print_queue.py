"""Print queue and SUKETs.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
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
        "print_job",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("nik", sa.String(16), nullable=False),
        sa.Column("village_code", sa.String(13), nullable=True),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.Column("location", sa.String(20), nullable=False),
        sa.Column("state", sa.String(10), nullable=False),
        sa.Column("has_blank", sa.Boolean(), nullable=False),
        sa.Column("print_ready", sa.Boolean(), nullable=False),
        sa.Column("card_serial", sa.String(30), nullable=True),
        sa.Column("printed_at", UtcDateTime(), nullable=True),
        sa.Column("issued_at", UtcDateTime(), nullable=True),
    )
    op.create_index("ix_print_job_nik", "print_job", ["nik"])
    # Waiting jobs take arriving blanks in order of recording.
    op.create_index("ix_print_job_waiting", "print_job", ["state", "has_blank", "recorded_at"])
    op.create_table(
        "suket",
        sa.Column("number", sa.String(40), primary_key=True),
        sa.Column("nik", sa.String(16), nullable=False),
        sa.Column("job_id", sa.String(36), nullable=False),
        sa.Column("issued_at", UtcDateTime(), nullable=False),
        sa.Column("valid_until", UtcDateTime(), nullable=False),
        sa.Column("cleared_at", UtcDateTime(), nullable=True),
    )
    op.create_index("ix_suket_nik", "suket", ["nik"])


def downgrade() -> None:
    op.drop_table("suket")
    op.drop_table("print_job")
