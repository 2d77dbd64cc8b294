"""Build async engines that behave the same on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import Table, event
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection, Dialect, Engine
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.pool import NullPool

# A pooled connection idle this long is pinged before use: it may have been cut (a database
# restart, a proxy's idle timeout). A busy connection is not: a ping on every checkout was a
# round trip on every request, and a cut busy connection fails once, after which SQLAlchemy
# discards the whole pool (its disconnect handling).
IDLE_PING_SECONDS = 1.0


def is_sqlite(engine: AsyncEngine | Engine) -> bool:
    return engine.dialect.name == "sqlite"


def is_postgres(engine: AsyncEngine | Engine) -> bool:
    return engine.dialect.name == "postgresql"


def dialect_insert(conn: AsyncConnection | Connection, table: Table) -> Any:
    """An INSERT with the dialect's ON CONFLICT clauses (PostgreSQL or SQLite)."""
    return (postgresql_insert if is_postgres(conn.engine) else sqlite_insert)(table)


def create_engine(url: str, *, pool_size: int = 10) -> AsyncEngine:
    """An async engine; SQLite gets WAL, a busy timeout and real foreign keys.

    SQLite allows one writer at a time: WAL lets readers go on while the writer writes, and the
    busy timeout makes a second writer wait instead of failing at once.
    """
    if url.startswith("sqlite"):
        path = url.split(":///", 1)[-1]
        if path and path != ":memory:":
            from pathlib import Path

            Path(path).parent.mkdir(parents=True, exist_ok=True)
        # Pooled: a new connection is a thread, the open and four PRAGMAs, which cost more than
        # most reads (5 ms of a 9 ms forecast). In-memory databases exist per connection.
        if path == ":memory:" or not path:
            engine = create_async_engine(url, poolclass=NullPool, connect_args={"timeout": 30})
        else:
            engine = create_async_engine(
                url, pool_size=pool_size, max_overflow=pool_size, connect_args={"timeout": 30}
            )
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
        return engine
    engine = create_async_engine(
        url, pool_size=pool_size, max_overflow=pool_size, pool_recycle=1800
    )
    event.listen(engine.sync_engine, "checkin", _note_checkin)
    event.listen(engine.sync_engine, "checkout", _idle_pinger(engine.dialect))
    return engine


def _note_checkin(_dbapi_connection: Any, record: Any) -> None:
    if record is not None:
        record.info["checked_in_at"] = time.monotonic()


def _idle_pinger(dialect: Dialect) -> Callable[[Any, Any, Any], None]:
    def ping_if_idle(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        checked_in_at = record.info.get("checked_in_at")
        if checked_in_at is None or time.monotonic() - checked_in_at < IDLE_PING_SECONDS:
            return  # new, or busy a moment ago
        try:
            alive = dialect.do_ping(dbapi_connection)
        except Exception as exc:  # the driver's own error for a dead socket
            raise DisconnectionError("the pooled connection is gone") from exc
        if not alive:
            raise DisconnectionError("the pooled connection is gone")

    return ping_if_idle


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy, not the driver, decide when a transaction begins (see _sqlite_on_begin).
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_on_begin(conn: Any) -> None:
    # BEGIN IMMEDIATE takes the write lock up front: two writers queue instead of one failing
    # with "database is locked" halfway through (SQLite's single-writer rule). Read-only work
    # asks for a deferred BEGIN with `read_only(engine)` so readers never wait for writers.
    mode = conn.get_execution_options().get("sqlite_begin", "IMMEDIATE")
    conn.exec_driver_sql(f"BEGIN {mode}")


def read_only(engine: AsyncEngine) -> AsyncEngine:
    """The same engine, for work that only reads: no write lock on SQLite (a deferred BEGIN,
    one snapshot for the transaction). On PostgreSQL no transaction at all: at READ COMMITTED
    each statement takes its own snapshot inside a transaction too, so BEGIN and ROLLBACK
    were two round trips that bought nothing."""
    if is_sqlite(engine):
        return engine.execution_options(sqlite_begin="DEFERRED")
    return engine.execution_options(isolation_level="AUTOCOMMIT")


async def core_connection(db: AsyncSession | AsyncConnection) -> AsyncConnection:
    """The connection under a session's transaction, for Core statements (bulk inserts)."""
    if isinstance(db, AsyncConnection):
        return db
    return await db.connection()
