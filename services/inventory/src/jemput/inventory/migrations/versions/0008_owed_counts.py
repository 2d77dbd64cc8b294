"""The cards owed per location kept as counts (`owed_count`), SUKETs found by their job, and
SUKETs of each status listed by expiry from their own (partial) index.

The forecast counted every waiting job and, for each, looked for an outstanding SUKET of its
job; with no index on `suket.job_id` SQLite scanned the whole table each time (98-116 s once
~40,000 SUKETs were outstanding). The print queue now keeps the counts in the transaction that
changes a job or a SUKET; this revision computes them once from the jobs and SUKETs there are.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OUTSTANDING = "cleared_at IS NULL AND revoked_at IS NULL"  # as queries.outstanding() writes it


def upgrade() -> None:
    # The SUKET of a job: the print queue asks it of every job it moves.
    op.create_index("ix_suket_job_id", "suket", ["job_id"])
    # `/v1/sukets?status=outstanding|expired` in expiry order, without walking the cleared ones.
    op.create_index(
        "ix_suket_outstanding",
        "suket",
        ["valid_until", "number"],
        sqlite_where=sa.text(OUTSTANDING),
        postgresql_where=sa.text(OUTSTANDING),
    )
    # Cleared and revoked ones likewise: revoked SUKETs are few, and would otherwise be
    # looked for through every SUKET in expiry order.
    for name, condition in (
        ("ix_suket_cleared", "cleared_at IS NOT NULL"),
        ("ix_suket_revoked", "revoked_at IS NOT NULL"),
    ):
        op.create_index(
            name,
            "suket",
            ["valid_until", "number"],
            sqlite_where=sa.text(condition),
            postgresql_where=sa.text(condition),
        )
    op.create_table(
        "owed_count",
        sa.Column("location", sa.String(20), primary_key=True),
        sa.Column("print_ready_backlog", sa.Integer(), nullable=False),
        sa.Column("sukets_waiting_for_blank", sa.Integer(), nullable=False),
        sa.Column("sukets_outstanding", sa.Integer(), nullable=False),
    )
    holds = (
        "EXISTS (SELECT 1 FROM suket s WHERE s.job_id = j.id "
        "AND s.cleared_at IS NULL AND s.revoked_at IS NULL)"
    )
    op.execute(
        "INSERT INTO owed_count "
        "(location, print_ready_backlog, sukets_waiting_for_blank, sukets_outstanding) "
        "SELECT location, SUM(backlog), SUM(waiting), SUM(outstanding) FROM ("
        f" SELECT j.location AS location,"
        f" CASE WHEN j.print_ready = true AND NOT {holds} THEN 1 ELSE 0 END AS backlog,"
        f" CASE WHEN {holds} THEN 1 ELSE 0 END AS waiting,"
        " 0 AS outstanding"
        " FROM print_job j WHERE j.state = 'OPEN' AND j.has_blank = false"
        " UNION ALL"
        " SELECT j.location, 0, 0, 1 FROM suket s JOIN print_job j ON j.id = s.job_id"
        " WHERE s.cleared_at IS NULL AND s.revoked_at IS NULL"
        ") AS owed GROUP BY location"
    )


def downgrade() -> None:
    op.drop_table("owed_count")
    op.drop_index("ix_suket_revoked", "suket")
    op.drop_index("ix_suket_cleared", "suket")
    op.drop_index("ix_suket_outstanding", "suket")
    op.drop_index("ix_suket_job_id", "suket")
