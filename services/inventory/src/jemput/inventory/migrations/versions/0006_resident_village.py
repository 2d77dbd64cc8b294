"""Residents' own villages, kept from the register's snapshot events (a print job's village).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "resident_village",
        sa.Column("nik", sa.String(16), primary_key=True),
        sa.Column("village_code", sa.String(13), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("resident_village")
