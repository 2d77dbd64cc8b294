"""Per-area aggregates in the read models: `area_change_g<n>`, `area_total_g<n>` and
`aggregate_state_g<n>` join every generation, and the serving generations' aggregates are
computed from their residents' facts (`service_layer/aggregates`), so that coverage reads them
from the first request on.

A fresh database gets the tables from 0003 already (the same definition a rebuild uses); a
generation a rebuild is still filling (`building`) is left without aggregates: the rebuild
computes them before it switches.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-03
"""

from collections.abc import Sequence
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

from jemput.analytics.adapters.tables import (
    GENERATION_TABLES,
    generation_table_name,
    read_model_tables,
)
from jemput.analytics.service_layer.aggregates import (
    BUILD_PAGE,
    accumulate_statement,
    facts_of,
    rows_of,
)
from jemput.shared.db.types import UtcDateTime
from jemput.shared.timezone import today_in_office

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BASES = ("area_change", "area_total")
STATE_ID = 1


def _state_table(generation: int, metadata: sa.MetaData | None = None) -> sa.Table:
    # As this revision made it; 0008 moves the position into `read_model_generation`.
    return sa.Table(
        f"aggregate_state_g{generation}",
        metadata or sa.MetaData(),
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("rolled_to", sa.Date(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("changed_at", UtcDateTime(), nullable=True),
    )


def _generations() -> list[tuple[int, str]]:
    registry = sa.table(
        "read_model_generation", sa.column("generation", sa.Integer()), sa.column("state")
    )
    rows = op.get_bind().execute(sa.select(registry.c.generation, registry.c.state))
    return sorted((int(generation), str(state)) for generation, state in rows.all())


def _build(bind: sa.Connection, generation: int) -> None:
    # The same pass as `aggregates.build`, on the migration's (blocking) connection.
    tables, state = read_model_tables(generation), _state_table(generation)
    if bind.execute(sa.select(state.c.id)).first() is not None:
        return
    today, after = today_in_office(), ""
    r = tables.resident.c
    while True:
        page = (
            bind.execute(
                sa.select(tables.resident)
                .where(r.nik > after, r.village_code.is_not(None))
                .order_by(r.nik)
                .limit(BUILD_PAGE)
            )
            .mappings()
            .all()
        )
        if not page:
            break
        change_rows, total_rows = rows_of((facts_of(dict(row)) for row in page), today)
        if change_rows:
            bind.execute(
                accumulate_statement(bind, tables.area_change, ("area_code", "day")), change_rows
            )
            bind.execute(accumulate_statement(bind, tables.area_total, ("area_code",)), total_rows)
        after = page[-1]["nik"]
    bind.execute(
        state.insert().values(id=STATE_ID, rolled_to=today, version=0, changed_at=datetime.now(UTC))
    )


def upgrade() -> None:
    bind = op.get_bind()
    existing = set(sa.inspect(bind).get_table_names())
    for generation, state in _generations():
        for base in BASES:
            name = generation_table_name(base, generation)
            if name in existing:
                continue
            columns, indexes = GENERATION_TABLES[base]
            op.create_table(name, *columns())
            for index_name, index_columns in indexes(name):
                op.create_index(index_name, name, index_columns)
        if f"aggregate_state_g{generation}" not in existing:
            _state_table(generation).create(bind)
        if state != "building":
            _build(bind, generation)


def downgrade() -> None:
    for generation, _ in _generations():
        op.execute(sa.text(f"DROP TABLE IF EXISTS aggregate_state_g{generation}"))
        for base in reversed(BASES):
            op.execute(sa.text(f"DROP TABLE IF EXISTS {generation_table_name(base, generation)}"))
