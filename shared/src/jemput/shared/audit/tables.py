"""The audit log and its chain head, the same in every service database that audits.

Plain SQLAlchemy Core tables on their own metadata (like `messaging/tables.py`): a service's
Alembic history creates them with `create_audit_tables`.

`audit_log` is append-only. A request inserts its row unsealed (`sequence`, `prev_hash` and
`entry_hash` NULL), which costs one insert and no lock; the sealer later gives rows their place in
the hash chain. `audit_chain_head` has one row: the last sealed sequence and its hash. Sealers
update it first in their transaction, so one sealer works at a time and the chain never forks.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from jemput.shared.db.types import UtcDateTime

# SQLite only auto-increments an INTEGER PRIMARY KEY; PostgreSQL gets a BIGINT identity.
BigIntId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# Column widths; `recording.py` clips free text to them so an audit row never fails a request.
CLIENT_ID_LENGTH = 128
PURPOSE_LENGTH = 200
ACTION_LENGTH = 64
NIK_LENGTH = 16
DETAIL_LENGTH = 300
RESULT_LENGTH = 32
REQUEST_ID_LENGTH = 64
HASH_LENGTH = 64  # SHA-256, hex

metadata = sa.MetaData()


def _audit_log_columns() -> list[sa.Column[Any]]:
    # A function, not a list: a Column belongs to one Table, and the migration needs its own.
    return [
        sa.Column("id", BigIntId, primary_key=True, autoincrement=True),
        sa.Column("recorded_at", UtcDateTime(), nullable=False),
        sa.Column("client_id", sa.String(CLIENT_ID_LENGTH), nullable=False),
        sa.Column("purpose", sa.String(PURPOSE_LENGTH), nullable=True),
        sa.Column("action", sa.String(ACTION_LENGTH), nullable=False),
        sa.Column("nik", sa.String(NIK_LENGTH), nullable=True),
        sa.Column("detail", sa.String(DETAIL_LENGTH), nullable=True),
        sa.Column("result", sa.String(RESULT_LENGTH), nullable=False),
        sa.Column("request_id", sa.String(REQUEST_ID_LENGTH), nullable=True),
        sa.Column("sequence", sa.BigInteger(), nullable=True),
        sa.Column("prev_hash", sa.String(HASH_LENGTH), nullable=True),
        sa.Column("entry_hash", sa.String(HASH_LENGTH), nullable=True),
    ]


def _chain_head_columns() -> list[sa.Column[Any]]:
    return [
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("last_sequence", sa.BigInteger(), nullable=False),
        sa.Column("last_hash", sa.String(HASH_LENGTH), nullable=False),
        sa.Column("updated_at", UtcDateTime(), nullable=True),
    ]


def _audit_log_indexes() -> list[tuple[str, list[str], dict[str, Any]]]:
    """(name, columns, options) of every index, shared by the metadata and the migration."""
    unsealed = sa.text("sequence IS NULL")
    return [
        # The chain position: unique, so two sealers can never give out the same sequence.
        ("ix_audit_log_sequence", ["sequence"], {"unique": True}),
        # The sealer only looks for unsealed rows in id order; a partial index keeps that cheap
        # however long the sealed log grows.
        (
            "ix_audit_log_unsealed",
            ["id"],
            {"postgresql_where": unsealed, "sqlite_where": unsealed},
        ),
        # Auditors ask "who read this NIK" and "what did this client read", newest first.
        ("ix_audit_log_nik", ["nik", "id"], {}),
        ("ix_audit_log_client", ["client_id", "id"], {}),
        ("ix_audit_log_recorded_at", ["recorded_at"], {}),
    ]


audit_log = sa.Table(
    "audit_log",
    metadata,
    *_audit_log_columns(),
    *(sa.Index(name, *columns, **options) for name, columns, options in _audit_log_indexes()),
)
audit_chain_head = sa.Table("audit_chain_head", metadata, *_chain_head_columns())

# The prev_hash of the first entry: no entry came before it.
GENESIS_HASH = "0" * HASH_LENGTH
HEAD_ROW = {"id": 1, "last_sequence": 0, "last_hash": GENESIS_HASH, "updated_at": None}


def create_audit_tables(op: Any) -> None:
    """Alembic `upgrade` step. The columns are the runtime tables' own: a change to them needs a
    new migration step, not an edit."""
    op.create_table("audit_log", *_audit_log_columns())
    for name, columns, options in _audit_log_indexes():
        op.create_index(name, "audit_log", columns, **options)
    op.create_table("audit_chain_head", *_chain_head_columns())
    op.bulk_insert(audit_chain_head, [HEAD_ROW])


def drop_audit_tables(op: Any) -> None:
    op.drop_table("audit_chain_head")
    for name, _columns, _options in reversed(_audit_log_indexes()):
        op.drop_index(name, table_name="audit_log")
    op.drop_table("audit_log")


async def create_audit_tables_now(conn: AsyncConnection) -> None:
    """The tables and the head row without Alembic (tests, scratch databases)."""
    await conn.run_sync(metadata.create_all)
    await conn.execute(sa.insert(audit_chain_head).values(**HEAD_ROW))
