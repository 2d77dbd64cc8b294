"""Outbox, inbox and relay-lock tables, the same in every service database.

Plain SQLAlchemy Core tables on their own metadata: each service's Alembic history creates them
with `create_messaging_tables` in its first migration.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigIntId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

metadata = sa.MetaData()


def _outbox_columns() -> list[sa.Column[Any]]:
    # A function, not a list: a Column belongs to one Table, and the migration needs its own.
    return [
        sa.Column("id", BigIntId, primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("topic", sa.String(255), nullable=False),
        sa.Column("partition_key", sa.String(255), nullable=False),
        sa.Column("event_type", sa.String(255), nullable=False),
        sa.Column("subject", sa.String(255), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("payload", sa.LargeBinary(), nullable=False),
        sa.Column("extensions", sa.JSON(), nullable=True),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
    ]


def _inbox_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("consumer", sa.String(255), primary_key=True),
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
    ]


def _relay_lock_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("holder", sa.String(255), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
    ]


outbox = sa.Table("outbox", metadata, *_outbox_columns())
inbox = sa.Table("inbox", metadata, *_inbox_columns())
relay_lock = sa.Table("outbox_relay_lock", metadata, *_relay_lock_columns())


def create_messaging_tables(op: Any) -> None:
    """Alembic `upgrade` step of each service's first migration. The columns are the runtime
    tables' own: a change to them needs a new migration step in every service, not an edit."""
    op.create_table("outbox", *_outbox_columns())
    # The relay only ever looks for unsent rows in id order; a partial index keeps that cheap
    # however many sent rows wait for the purge.
    op.create_index(
        "ix_outbox_unsent",
        "outbox",
        ["id"],
        postgresql_where=sa.text("sent_at IS NULL"),
        sqlite_where=sa.text("sent_at IS NULL"),
    )
    op.create_table("inbox", *_inbox_columns())
    op.create_table("outbox_relay_lock", *_relay_lock_columns())
    op.bulk_insert(relay_lock, [{"id": 1, "holder": None, "heartbeat_at": None}])


def drop_messaging_tables(op: Any) -> None:
    op.drop_table("outbox_relay_lock")
    op.drop_table("inbox")
    op.drop_index("ix_outbox_unsent", table_name="outbox")
    op.drop_table("outbox")
