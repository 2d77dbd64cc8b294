"""Recordings that arrive before their resident.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table("early_recording", sa.Column("nik", sa.String(16), primary_key=True))


def downgrade() -> None:
    op.drop_table("early_recording")
