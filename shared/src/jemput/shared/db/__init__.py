"""Async database helpers shared by the services (SQLite and PostgreSQL)."""

from jemput.shared.db.engine import (
    core_connection,
    create_engine,
    dialect_insert,
    is_postgres,
    is_sqlite,
    read_only,
)

__all__ = [
    "core_connection",
    "create_engine",
    "dialect_insert",
    "is_postgres",
    "is_sqlite",
    "read_only",
]
