"""Group commit of audit entries for routes that only read.

A read must not answer before its audit entry is stored, but one transaction per read would
make the log the bottleneck of the partner status API (on SQLite every write transaction is
serialised). Requests hand their entries to the writer and wait; the writer stores everything
waiting in one transaction and then releases them all.
"""

from __future__ import annotations

import asyncio
import dataclasses

import structlog
from sqlalchemy.ext.asyncio import AsyncEngine

from jemput.shared.audit.entry import AuditEntry
from jemput.shared.audit.recording import bound_request_id, record_now

log = structlog.get_logger(__name__)

MAX_BATCH = 2000  # entries per transaction; more wait for the next one


class AuditWriter:
    def __init__(self, engine: AsyncEngine) -> None:
        self._engine = engine
        self._waiting: list[tuple[list[AuditEntry], asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._running = False

    async def write(self, *entries: AuditEntry) -> None:
        """Returns once the entries are committed; raises if they could not be."""
        if not entries:
            return
        stamped = _stamped(entries)
        if not self._running:
            await record_now(self._engine, *stamped)
            return
        await self._enqueue(stamped)

    def submit(self, *entries: AuditEntry) -> None:
        """Store the entries soon, without waiting: for refusals of changes, whose own
        transaction (on SQLite, the database's write lock) is still open and will roll back."""
        if not entries or not self._running:
            if entries:
                log.warning("audit.writer_stopped", entries=len(entries))
            return
        waiting = asyncio.ensure_future(self._enqueue(_stamped(entries)))
        waiting.add_done_callback(_log_failure)

    def _enqueue(self, entries: list[AuditEntry]) -> asyncio.Future[None]:
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((entries, done))
        self._wake.set()
        return done

    async def run(self, stop: asyncio.Event) -> None:
        self._running = True
        stopping = asyncio.create_task(stop.wait())
        try:
            while True:
                if not self._waiting:
                    if stop.is_set():
                        return
                    woken = asyncio.create_task(self._wake.wait())
                    await asyncio.wait({woken, stopping}, return_when=asyncio.FIRST_COMPLETED)
                    woken.cancel()
                self._wake.clear()
                await self._write_waiting()
        finally:
            self._running = False
            stopping.cancel()
            await self._write_waiting()  # nobody is left waiting on a stopped writer

    async def _write_waiting(self) -> None:
        batch: list[tuple[list[AuditEntry], asyncio.Future[None]]] = []
        count = 0
        while self._waiting and count < MAX_BATCH:
            item = self._waiting.pop(0)
            batch.append(item)
            count += len(item[0])
        if not batch:
            return
        try:
            await record_now(self._engine, *(e for entries, _ in batch for e in entries))
        except Exception as exc:  # every waiting request learns it; none answers unaudited
            log.error("audit.write_failed", error=type(exc).__name__, entries=count)
            for _, done in batch:
                if not done.done():
                    done.set_exception(AuditUnavailable())
            return
        for _, done in batch:
            if not done.done():
                done.set_result(None)


def _stamped(entries: tuple[AuditEntry, ...]) -> list[AuditEntry]:
    # The request id is bound to the request's context, which the writer's task lacks.
    request_id = bound_request_id()
    return [
        e if e.request_id is not None else dataclasses.replace(e, request_id=request_id)
        for e in entries
    ]


def _log_failure(done: asyncio.Future[None]) -> None:
    if not done.cancelled() and done.exception() is not None:
        log.error("audit.refusal_not_recorded")


class AuditUnavailable(Exception):
    """The audit log could not be written: the access must not happen unrecorded."""
