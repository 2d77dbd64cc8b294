"""The aggregates' position (`rolled_to`, `version`, `changed_at`) moves from one
`aggregate_state_g<n>` table per generation into the generation's row of
`read_model_generation`: a read then learns the serving generation and its position in one
row read instead of two statements.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from jemput.shared.db.types import UtcDateTime

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

STATE_ID = 1


def _registry() -> sa.TableClause:
    return sa.table(
        "read_model_generation",
        sa.column("generation", sa.Integer()),
        sa.column("rolled_to", sa.Date()),
        sa.column("version", sa.BigInteger()),
        sa.column("changed_at", UtcDateTime()),
    )


def _state(generation: int) -> sa.TableClause:
    return sa.table(
        f"aggregate_state_g{generation}",
        sa.column("id", sa.Integer()),
        sa.column("rolled_to", sa.Date()),
        sa.column("version", sa.BigInteger()),
        sa.column("changed_at", UtcDateTime()),
    )


def _generations(bind: sa.Connection) -> list[int]:
    rows = bind.execute(sa.select(_registry().c.generation))
    return sorted(int(generation) for generation in rows.scalars())


def upgrade() -> None:
    with op.batch_alter_table("read_model_generation") as batch:
        batch.add_column(sa.Column("rolled_to", sa.Date(), nullable=True))
        batch.add_column(sa.Column("version", sa.BigInteger(), nullable=False, server_default="0"))
        batch.add_column(sa.Column("changed_at", UtcDateTime(), nullable=True))
    bind = op.get_bind()
    existing = set(sa.inspect(bind).get_table_names())
    registry = _registry()
    for generation in _generations(bind):
        name = f"aggregate_state_g{generation}"
        if name not in existing:
            continue
        state = _state(generation)
        found = bind.execute(
            sa.select(state.c.rolled_to, state.c.version, state.c.changed_at).where(
                state.c.id == STATE_ID
            )
        ).one_or_none()
        if found is not None:
            bind.execute(
                registry.update()
                .where(registry.c.generation == generation)
                .values(
                    rolled_to=found.rolled_to, version=found.version, changed_at=found.changed_at
                )
            )
        op.drop_table(name)


def downgrade() -> None:
    bind = op.get_bind()
    registry = _registry()
    rows = bind.execute(
        sa.select(
            registry.c.generation, registry.c.rolled_to, registry.c.version, registry.c.changed_at
        )
    ).all()
    for row in rows:
        name = f"aggregate_state_g{row.generation}"
        op.create_table(
            name,
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
            sa.Column("rolled_to", sa.Date(), nullable=False),
            sa.Column("version", sa.BigInteger(), nullable=False, server_default="0"),
            sa.Column("changed_at", UtcDateTime(), nullable=True),
        )
        if row.rolled_to is not None:
            bind.execute(
                _state(row.generation)
                .insert()
                .values(
                    id=STATE_ID,
                    rolled_to=row.rolled_to,
                    version=row.version,
                    changed_at=row.changed_at,
                )
            )
    with op.batch_alter_table("read_model_generation") as batch:
        batch.drop_column("changed_at")
        batch.drop_column("version")
        batch.drop_column("rolled_to")
