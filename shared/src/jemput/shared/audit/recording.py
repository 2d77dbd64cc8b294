"""Write audit entries: one insert inside the caller's transaction, no lock, no hashing.

The entry commits or rolls back with the read or change it describes. A request that ends in an
error rolls its transaction back, so its entry (not_found, denied, refused) goes through
`record_now`. Sealing (the hash chain) happens later, in the background (`sealer.py`).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession

from jemput.shared.audit.entry import AuditEntry
from jemput.shared.audit.tables import (
    CLIENT_ID_LENGTH,
    DETAIL_LENGTH,
    PURPOSE_LENGTH,
    REQUEST_ID_LENGTH,
    audit_log,
)
from jemput.shared.db import core_connection


async def record(db: AsyncSession | AsyncConnection, entry: AuditEntry) -> None:
    """Add one unsealed entry in the transaction of `db` (a route's session or connection)."""
    await record_many(db, [entry])


async def record_many(db: AsyncSession | AsyncConnection, entries: Iterable[AuditEntry]) -> int:
    """Add entries with one executemany (a list endpoint: one entry per NIK returned)."""
    now = datetime.now(UTC)
    request_id = bound_request_id()
    rows = [_row(entry, now, request_id) for entry in entries]
    if rows:
        conn = await core_connection(db)
        await conn.execute(insert(audit_log), rows)
    return len(rows)


async def record_now(engine: AsyncEngine, *entries: AuditEntry) -> int:
    """Add entries in a small transaction of their own, for routes that only read."""
    async with engine.begin() as conn:
        return await record_many(conn, entries)


def _row(entry: AuditEntry, now: datetime, request_id: str | None) -> dict[str, Any]:
    # Free text is clipped to the column: an over-long client id or header must never turn
    # a successful request into an error at commit.
    return {
        "recorded_at": entry.recorded_at or now,
        "client_id": entry.client_id[:CLIENT_ID_LENGTH],
        "purpose": _clip(entry.purpose, PURPOSE_LENGTH),
        "action": entry.action.value,
        "nik": entry.nik,
        "detail": _clip(entry.detail, DETAIL_LENGTH),
        "result": entry.result.value,
        "request_id": _clip(entry.request_id or request_id, REQUEST_ID_LENGTH),
    }


def _clip(text: str | None, length: int) -> str | None:
    return None if text is None else text[:length]


def bound_request_id() -> str | None:
    """The request id the HTTP middleware bound to the logs, so audit entries and logs meet."""
    bound = structlog.contextvars.get_contextvars().get("request_id")
    return str(bound) if bound else None
