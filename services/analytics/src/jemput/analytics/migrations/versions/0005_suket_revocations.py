"""Revoked SUKETs in the read models: every generation's `resident_g<n>` gets the columns of
inventory's latest SUKET and its latest revocation (a duplicate's SUKET is revoked).

A fresh database gets them from 0003 already (the same definition a rebuild uses). Inventory
revoked no SUKET before these columns existed, so nothing is missing from them: no rebuild
needed.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from jemput.analytics.adapters.tables import GENERATION_TABLES, generation_table_name

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BASE = "resident"
COLUMNS = ("suket_at", "suket_revoked_on", "suket_revoked_at")


def _generations() -> list[int]:
    registry = sa.table("read_model_generation", sa.column("generation", sa.Integer()))
    rows = op.get_bind().execute(sa.select(registry.c.generation))
    return sorted(int(generation) for generation in rows.scalars())


def upgrade() -> None:
    columns = {c.name: c for c in GENERATION_TABLES[BASE][0]() if c.name in COLUMNS}
    inspector = sa.inspect(op.get_bind())
    existing = set(inspector.get_table_names())
    for generation in _generations():
        name = generation_table_name(BASE, generation)
        if name not in existing:
            continue
        present = {c["name"] for c in inspector.get_columns(name)}
        with op.batch_alter_table(name) as table:
            for column in COLUMNS:
                if column not in present:
                    table.add_column(columns[column])


def downgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    for generation in _generations():
        name = generation_table_name(BASE, generation)
        if name in existing:
            with op.batch_alter_table(name) as table:
                for column in reversed(COLUMNS):
                    table.drop_column(column)
