"""Audit log of reads and changes of residents' personal data (print jobs, SUKETs), and its
hash-chain head.

Tables from `jemput.shared.audit.tables` (the columns and indexes are described there).

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from collections.abc import Sequence

from alembic import op

from jemput.shared.audit.tables import create_audit_tables, drop_audit_tables

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    create_audit_tables(op)


def downgrade() -> None:
    drop_audit_tables(op)
