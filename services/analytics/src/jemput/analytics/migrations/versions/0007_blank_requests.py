"""inventory's requests to the ministry in the read models: every generation gets
`blank_request_g<n>` (the same definition a rebuild uses; a fresh database has it from 0003).

Requests made before this revision are not in it until the next `jemput analytics rebuild`
replays inventory's topic: the migration cannot read Kafka.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from jemput.analytics.adapters.tables import GENERATION_TABLES, generation_table_name

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BASE = "blank_request"


def _generations() -> list[int]:
    registry = sa.table("read_model_generation", sa.column("generation", sa.Integer()))
    rows = op.get_bind().execute(sa.select(registry.c.generation))
    return sorted(int(generation) for generation in rows.scalars())


def upgrade() -> None:
    existing = set(sa.inspect(op.get_bind()).get_table_names())
    columns, indexes = GENERATION_TABLES[BASE]
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
