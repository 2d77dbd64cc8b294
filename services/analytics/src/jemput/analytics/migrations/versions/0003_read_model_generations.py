"""Read models in generations (rebuildable from the topics), dated milestones per resident,
recordings, sessions, stock, and coverage targets.

The facts of `resident_fact` and `early_recording` move into generation 1 with their
milestones undated (the old tables did not keep days); run `jemput analytics rebuild` to get
the days back from the topics.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from jemput.analytics.adapters.tables import GENERATION_TABLES, generation_table_name
from jemput.analytics.domain.resident_facts import UNDATED
from jemput.shared.db.types import UtcDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

FIRST = 1


def upgrade() -> None:
    generations = op.create_table(
        "read_model_generation",
        sa.Column("generation", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_at", UtcDateTime(), nullable=False),
        sa.Column("activated_at", UtcDateTime(), nullable=True),
    )
    op.create_table(
        "coverage_target",
        sa.Column("area_code", sa.String(13), primary_key=True),
        sa.Column("share", sa.Float(), nullable=False),
        sa.Column("due", sa.Date(), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=False),
        sa.Column("updated_by", sa.String(255), nullable=False),
    )
    for base, (columns, indexes) in GENERATION_TABLES.items():
        name = generation_table_name(base, FIRST)
        op.create_table(name, *columns())
        for index_name, index_columns in indexes(name):
            op.create_index(index_name, name, index_columns)

    old = sa.table(
        "resident_fact",
        sa.column("nik"),
        sa.column("village_code"),
        sa.column("district_code"),
        sa.column("regency_code"),
        sa.column("birth_date"),
        sa.column("ever_married"),
        sa.column("alive", sa.Boolean()),
        sa.column("domiciled", sa.Boolean()),
        sa.column("recorded", sa.Boolean()),
    )
    early = sa.table("early_recording", sa.column("nik"))
    resident = sa.table(
        generation_table_name("resident", FIRST),
        *(sa.column(c) for c in ("nik", "village_code", "district_code", "regency_code")),
        *(sa.column(c) for c in ("birth_date", "ever_married", "left_on", "recorded_on")),
    )
    undated = sa.literal(UNDATED, sa.Date())
    op.execute(
        resident.insert().from_select(
            [
                "nik",
                "village_code",
                "district_code",
                "regency_code",
                "birth_date",
                "ever_married",
                "left_on",
                "recorded_on",
            ],
            sa.select(
                old.c.nik,
                old.c.village_code,
                old.c.district_code,
                old.c.regency_code,
                old.c.birth_date,
                old.c.ever_married,
                sa.case((sa.and_(old.c.alive, old.c.domiciled), None), else_=undated),
                sa.case((old.c.recorded, undated), else_=None),
            ),
        )
    )
    op.execute(
        resident.insert().from_select(
            ["nik", "recorded_on"],
            sa.select(early.c.nik, undated).where(early.c.nik.not_in(sa.select(old.c.nik))),
        )
    )
    op.drop_table("early_recording")
    op.drop_table("resident_fact")
    op.bulk_insert(
        generations,
        [{"generation": FIRST, "state": "active", "created_at": datetime.now(UTC)}],
    )


def downgrade() -> None:
    for base in reversed(GENERATION_TABLES):
        op.execute(
            sa.text(f"DROP TABLE IF EXISTS {generation_table_name(base, FIRST)}")
        )  # later generations are made by rebuilds, outside the migrations
    op.drop_table("coverage_target")
    op.drop_table("read_model_generation")
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
    op.create_table("early_recording", sa.Column("nik", sa.String(16), primary_key=True))
