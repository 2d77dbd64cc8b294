"""A SUKET can be revoked: its holder was flagged a duplicate by the national de-duplication.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from jemput.shared.db.types import UtcDateTime

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("suket") as table:
        table.add_column(sa.Column("revoked_at", UtcDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("suket") as table:
        table.drop_column("revoked_at")
