"""Residents register, status history, import jobs, outbox and inbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from jemput.shared.db.types import UtcDateTime
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
        sa.Column("kk", sa.String(16), nullable=False),
        sa.Column("full_name", sa.String(200), nullable=False),
        sa.Column("birth_place", sa.String(100), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("birth_date_corrected", sa.Boolean(), nullable=False),
        sa.Column("sex", sa.String(1), nullable=False),
        sa.Column("marital_status", sa.String(16), nullable=False),
        sa.Column("village_code", sa.String(13), nullable=False),
        sa.Column("district_code", sa.String(8), nullable=False),
        sa.Column("rt", sa.String(3), nullable=True),
        sa.Column("rw", sa.String(3), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("chronically_ill", sa.Boolean(), nullable=False),
        sa.Column("mental_illness", sa.Boolean(), nullable=False),
        sa.Column("domicile_status", sa.String(16), nullable=False),
        sa.Column("ektp_status", sa.String(24), nullable=False),
        sa.Column("suket_outstanding", sa.Boolean(), nullable=False),
        sa.Column("recorded_at", UtcDateTime(), nullable=True),
        sa.Column("duplicate_at", UtcDateTime(), nullable=True),
        sa.Column("print_ready_at", UtcDateTime(), nullable=True),
        sa.Column("printed_at", UtcDateTime(), nullable=True),
        sa.Column("issued_at", UtcDateTime(), nullable=True),
        sa.Column("status_changed_at", UtcDateTime(), nullable=False),
        sa.Column("record_digest", sa.String(32), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
    )
    op.create_index("ix_resident_kk", "resident", ["kk"])
    op.create_index("ix_resident_village", "resident", ["village_code", "ektp_status"])
    op.create_index("ix_resident_district", "resident", ["district_code", "ektp_status"])
    op.create_index("ix_resident_birth_date", "resident", ["birth_date"])
    op.create_index("ix_resident_full_name", "resident", ["full_name"])
    op.create_table(
        "resident_status_change",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("nik", sa.String(16), nullable=False),
        sa.Column("from_status", sa.String(24), nullable=True),
        sa.Column("to_status", sa.String(24), nullable=False),
        sa.Column("changed_at", UtcDateTime(), nullable=False),
        sa.Column("cause", sa.String(40), nullable=False),
        sa.Column("cause_id", sa.String(64), nullable=True),
        sa.Column("actor", sa.String(100), nullable=False),
    )
    op.create_index("ix_resident_status_change_nik", "resident_status_change", ["nik", "id"])
    op.create_table(
        "import_job",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("file_name", sa.String(255), nullable=False),
        sa.Column("file_format", sa.String(8), nullable=False),
        sa.Column("total_rows", sa.Integer(), nullable=True),
        sa.Column("processed_rows", sa.Integer(), nullable=False),
        sa.Column("created", sa.Integer(), nullable=False),
        sa.Column("updated", sa.Integer(), nullable=False),
        sa.Column("unchanged", sa.Integer(), nullable=False),
        sa.Column("rejected", sa.Integer(), nullable=False),
        sa.Column("error_summary", sa.String(500), nullable=True),
        sa.Column("started_at", UtcDateTime(), nullable=False),
        sa.Column("finished_at", UtcDateTime(), nullable=True),
    )
    op.create_table(
        "import_error",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("job_id", sa.String(36), nullable=False),
        sa.Column("line", sa.Integer(), nullable=False),
        sa.Column("field", sa.String(40), nullable=False),
        sa.Column("code", sa.String(60), nullable=False),
        sa.Column("reason", sa.String(300), nullable=False),
    )
    op.create_index("ix_import_error_job", "import_error", ["job_id", "line"])


def downgrade() -> None:
    op.drop_table("import_error")
    op.drop_table("import_job")
    op.drop_table("resident_status_change")
    op.drop_table("resident")
    drop_messaging_tables(op)
