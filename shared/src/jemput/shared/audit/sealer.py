"""Seal audit entries into the hash chain, in the background, one sealer at a time."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import structlog
from prometheus_client import CollectorRegistry, Counter, Gauge
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from jemput.shared.audit.chain import CHAIN_COLUMNS, ChainFields, SealedLink, link
from jemput.shared.audit.tables import audit_chain_head, audit_log
from jemput.shared.db import read_only

log = structlog.get_logger(__name__)


class AuditMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.sealed = Counter(
            "jemput_audit_sealed", "Audit entries sealed into the hash chain", registry=registry
        )
        # Unsealed entries are not yet tamper-evident: a growing backlog means no sealer runs.
        self.unsealed = Gauge(
            "jemput_audit_unsealed", "Audit entries waiting for the sealer", registry=registry
        )


class AuditSealer:
    """Gives unsealed audit entries their sequence, prev_hash and entry_hash, in id order.

    Each batch is one transaction that first updates the single row of `audit_chain_head` (a
    row lock on PostgreSQL, the database write lock on SQLite): a second sealer waits for the
    first to commit and then continues from the head it left, so the chain never forks, and it
    survives restarts because its state is in the database. Requests never take this lock;
    they only insert unsealed rows.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        *,
        batch_size: int = 5000,
        poll_interval: float = 1.0,
        metrics: AuditMetrics | None = None,
    ) -> None:
        self._engine = engine
        self._batch_size = batch_size
        self._poll_interval = poll_interval
        self._metrics = metrics

    async def seal_pending(self) -> int:
        """Seal one batch; returns how many entries were sealed."""
        if not await self._anything_unsealed():
            return 0  # no write transaction (on SQLite, no write lock) while idle
        async with self._engine.begin() as conn:
            head = (
                await conn.execute(
                    update(audit_chain_head)
                    .where(audit_chain_head.c.id == 1)
                    .values(updated_at=datetime.now(UTC))
                    .returning(audit_chain_head.c.last_sequence, audit_chain_head.c.last_hash)
                )
            ).one_or_none()
            if head is None:
                raise RuntimeError("audit_chain_head has no row 1: run the migrations")
            rows = (
                await conn.execute(
                    select(audit_log.c.id, *CHAIN_COLUMNS)
                    .where(audit_log.c.sequence.is_(None))
                    .order_by(audit_log.c.id)
                    .limit(self._batch_size)
                )
            ).all()
            if not rows:
                return 0
            entries = [(row[0], ChainFields(*row[1:])) for row in rows]
            # Hashing thousands of entries is CPU work: off the event loop.
            links = await asyncio.to_thread(link, entries, head.last_sequence, head.last_hash)
            await _store(conn, links)
        if self._metrics:
            self._metrics.sealed.inc(len(links))
        return len(links)

    async def seal_all(self) -> int:
        """Seal until nothing is left (entries recorded meanwhile included)."""
        total = 0
        while sealed := await self.seal_pending():
            total += sealed
        return total

    async def unsealed_count(self) -> int:
        async with read_only(self._engine).connect() as conn:
            count = await conn.scalar(
                select(func.count()).select_from(audit_log).where(audit_log.c.sequence.is_(None))
            )
        return int(count or 0)

    async def run(self, stop: asyncio.Event) -> None:
        """Seal until `stop` is set; back off while the database is unavailable."""
        failures = 0
        while not stop.is_set():
            try:
                sealed = await self.seal_pending()
                failures = 0
                if sealed < self._batch_size:
                    if self._metrics:
                        self._metrics.unsealed.set(await self.unsealed_count())
                    await _wait(stop, self._poll_interval)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the sealer must outlive outages; it logs and retries
                failures += 1
                delay = min(0.5 * 2**failures, 10.0)
                log.warning("audit.seal_failed", error=type(exc).__name__, retry_in=delay)
                await _wait(stop, delay)

    async def _anything_unsealed(self) -> bool:
        async with read_only(self._engine).connect() as conn:
            found = await conn.scalar(
                select(audit_log.c.id).where(audit_log.c.sequence.is_(None)).limit(1)
            )
        return found is not None


async def _store(conn: AsyncConnection, links: list[SealedLink]) -> None:
    """The batch's chain columns and the new head, in the sealing transaction."""
    await conn.execute(
        update(audit_log)
        .where(audit_log.c.id == bindparam("b_id"))
        .values(
            sequence=bindparam("b_sequence"),
            prev_hash=bindparam("b_prev_hash"),
            entry_hash=bindparam("b_entry_hash"),
        ),
        [
            {
                "b_id": item.id,
                "b_sequence": item.sequence,
                "b_prev_hash": item.prev_hash,
                "b_entry_hash": item.entry_hash,
            }
            for item in links
        ],
    )
    last = links[-1]
    await conn.execute(
        update(audit_chain_head)
        .where(audit_chain_head.c.id == 1)
        .values(last_sequence=last.sequence, last_hash=last.entry_hash)
    )


async def _wait(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
