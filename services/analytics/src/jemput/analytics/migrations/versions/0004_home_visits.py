"""Home-visit requests in the read models: `home_visit_g<n>` joins every generation there is.

A database migrated to 0003 before home visits were read has generations without the table (the
active one, and a rebuild's, if one was under way); a fresh database gets it from 0003 already.
The generations' tables are made from the same definition a rebuild uses. Outreach published no
home-visit event before this table existed, so nothing is missing from it: no rebuild needed.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from jemput.analytics.adapters.tables import GENERATION_TABLES, generation_table_name

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BASE = "home_visit"


def _generations() -> list[int]:
    registry = sa.table("read_model_generation", sa.column("generation", sa.Integer()))
    rows = op.get_bind().execute(sa.select(registry.c.generation))
    return sorted(int(generation) for generation in rows.scalars())


def upgrade() -> None:
    columns, indexes = GENERATION_TABLES[BASE]
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    for generation in _generations():
        name = generation_table_name(BASE, generation)
        if name in existing:
            continue
        op.create_table(name, *columns())
        for index_name, index_columns in indexes(name):
            op.create_index(index_name, name, index_columns)


def downgrade() -> None:
    for generation in _generations():
        op.execute(sa.text(f"DROP TABLE IF EXISTS {generation_table_name(BASE, generation)}"))
