"""The audit log on real databases (SQLite and PostgreSQL): recording inside transactions,
sealing into the hash chain (also with two sealers at once), verification that catches edited
and deleted entries, the auditors' search, and the runtime's background sealer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
import structlog
from asgi_lifespan import LifespanManager
from fastapi import Depends
from prometheus_client import CollectorRegistry
from sqlalchemy.ext.asyncio import AsyncEngine

from jemput.shared.audit import (
    Anchor,
    AuditAction,
    AuditEntry,
    AuditMetrics,
    AuditRecord,
    AuditResult,
    AuditSealer,
    ChainProblem,
    record,
    record_many,
    record_now,
    search,
    verify_chain,
)
from jemput.shared.audit.chain import ChainFields, entry_hash
from jemput.shared.audit.http import audit_router
from jemput.shared.audit.tables import audit_chain_head, audit_log, create_audit_tables_now
from jemput.shared.db import create_engine, read_only
from jemput.shared.http.problems import ProblemError
from jemput.shared.http.service_app import service_app
from jemput.shared.runtime import ServiceRuntime
from jemput.shared.security import Scope, require_scope
from jemput.shared.settings import ServiceSettings
from jemput.shared.testing.auth import shared_issuer

NIK = "1602055705900012"
OTHER_NIK = "1602050101900003"


def nik(n: int) -> str:
    return f"16020501019{n:05d}"


def read(n: int, *, client: str = "bpjs", result: AuditResult = AuditResult.OK) -> AuditEntry:
    return AuditEntry(
        client_id=client,
        action=AuditAction.RESIDENT_STATUS_READ,
        result=result,
        nik=nik(n),
        purpose="verifikasi kepesertaan",
        request_id=f"req-{n}",
    )


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await create_audit_tables_now(conn)
    try:
        yield engine
    finally:
        await engine.dispose()


async def sealed_log(engine: AsyncEngine, count: int) -> None:
    await record_now(engine, *(read(n) for n in range(1, count + 1)))
    assert await AuditSealer(engine).seal_all() == count


async def execute(engine: AsyncEngine, statement: str, **params: object) -> None:
    async with engine.begin() as conn:
        await conn.execute(sa.text(statement), params)


async def chain_positions(engine: AsyncEngine) -> list[tuple[int, int | None]]:
    async with engine.connect() as conn:
        rows = await conn.execute(
            sa.select(audit_log.c.id, audit_log.c.sequence).order_by(audit_log.c.id)
        )
        return [(row.id, row.sequence) for row in rows]


async def test_entries_recorded_concurrently_are_sealed_and_verify(engine: AsyncEngine) -> None:
    async def caller(task: int) -> None:
        for n in range(10):
            await record_now(engine, read(task * 100 + n, client=f"client-{task}"))

    await asyncio.gather(*(caller(task) for task in range(8)))
    report = await verify_chain(engine)
    assert report.intact and report.checked == 0 and report.unsealed == 80

    assert await AuditSealer(engine, batch_size=30).seal_all() == 80
    progress: list[tuple[int, int]] = []
    report = await verify_chain(engine, batch_size=25, on_progress=lambda *p: progress.append(p))
    assert report.intact, report
    assert (report.checked, report.head_sequence, report.unsealed) == (80, 80, 0)
    assert progress == [(25, 80), (50, 80), (75, 80), (80, 80)]
    assert sorted(seq or 0 for _, seq in await chain_positions(engine)) == list(range(1, 81))


async def test_unsealed_entries_are_sealed_in_id_order(engine: AsyncEngine) -> None:
    sealer = AuditSealer(engine, batch_size=4)
    await record_now(engine, *(read(n) for n in range(6)))
    assert await sealer.seal_pending() == 4
    await record_now(engine, *(read(n) for n in range(6, 9)))
    assert await sealer.seal_all() == 5
    positions = await chain_positions(engine)
    assert [seq for _, seq in positions] == list(range(1, 10))
    assert (await verify_chain(engine)).intact


async def test_an_entry_commits_or_rolls_back_with_the_transaction_it_describes(
    engine: AsyncEngine,
) -> None:
    with pytest.raises(RuntimeError):
        async with engine.begin() as conn:
            await record(conn, read(1))
            raise RuntimeError("the route failed")
    async with engine.begin() as conn:
        assert await record_many(conn, [read(n) for n in range(2, 7)]) == 5
    assert sorted(r.nik or "" for r in await search_all(engine)) == [nik(n) for n in range(2, 7)]


async def test_request_id_and_clipping(engine: AsyncEngine) -> None:
    structlog.contextvars.bind_contextvars(request_id="r" * 100)
    try:
        await record_now(
            engine,
            AuditEntry(
                client_id="c" * 300,
                action=AuditAction.RESIDENT_READ,
                result=AuditResult.NOT_FOUND,
                nik=NIK,
                detail="d" * 1000,
            ),
        )
    finally:
        structlog.contextvars.unbind_contextvars("request_id")
    (entry,) = await search_all(engine)
    assert entry.request_id == "r" * 64 and len(entry.client_id) == 128
    assert entry.detail == "d" * 300 and entry.result == "not_found" and not entry.sealed
    with pytest.raises(ValueError, match="16 digits"):
        AuditEntry(client_id="x", action=AuditAction.RESIDENT_READ, result=AuditResult.OK, nik="1")


@pytest.mark.parametrize(
    ("column", "value"),
    [("client_id", "someone-else"), ("nik", OTHER_NIK), ("result", "ok2"), ("purpose", None)],
)
async def test_an_edited_entry_is_named(engine: AsyncEngine, column: str, value: object) -> None:
    await sealed_log(engine, 10)
    await execute(engine, f"UPDATE audit_log SET {column} = :v WHERE sequence = 5", v=value)
    report = await verify_chain(engine)
    assert (report.problem, report.broken_at, report.checked) == (
        ChainProblem.ENTRY_ALTERED,
        5,
        4,
    )


async def test_a_moved_time_is_caught(engine: AsyncEngine) -> None:
    await sealed_log(engine, 10)
    async with engine.begin() as conn:
        moved: datetime = (
            await conn.execute(sa.select(audit_log.c.recorded_at).where(audit_log.c.sequence == 3))
        ).scalar_one()
        await conn.execute(
            audit_log.update()
            .where(audit_log.c.sequence == 3)
            .values(recorded_at=moved - timedelta(microseconds=1))
        )
    report = await verify_chain(engine)
    assert (report.problem, report.broken_at) == (ChainProblem.ENTRY_ALTERED, 3)


async def test_an_edit_with_a_recomputed_hash_breaks_the_next_link(engine: AsyncEngine) -> None:
    await sealed_log(engine, 10)
    async with engine.begin() as conn:
        row = (await conn.execute(sa.select(audit_log).where(audit_log.c.sequence == 5))).one()
        fields = ChainFields(*(getattr(row, name) for name in ChainFields._fields))
        forged = fields._replace(client_id="someone-else")
        await conn.execute(
            audit_log.update()
            .where(audit_log.c.sequence == 5)
            .values(client_id="someone-else", entry_hash=entry_hash(5, row.prev_hash, forged))
        )
    report = await verify_chain(engine)
    assert (report.problem, report.broken_at) == (ChainProblem.LINK_BROKEN, 6)


async def test_a_deleted_entry_leaves_a_gap(engine: AsyncEngine) -> None:
    await sealed_log(engine, 10)
    await execute(engine, "DELETE FROM audit_log WHERE sequence = 5")
    report = await verify_chain(engine, batch_size=3)
    assert (report.problem, report.broken_at, report.checked) == (
        ChainProblem.ENTRY_MISSING,
        5,
        4,
    )


async def test_a_deleted_last_entry_no_longer_matches_the_head(engine: AsyncEngine) -> None:
    await sealed_log(engine, 10)
    await execute(engine, "DELETE FROM audit_log WHERE sequence = 10")
    report = await verify_chain(engine)
    assert (report.problem, report.broken_at, report.checked) == (
        ChainProblem.TAIL_MISSING,
        10,
        9,
    )


async def test_an_anchor_catches_a_deleted_tail_with_a_rewound_head(engine: AsyncEngine) -> None:
    """The documented limit: deleting the end and moving the head back goes unnoticed by the
    chain alone. A head noted down earlier (an anchor) catches it."""
    await sealed_log(engine, 10)
    async with engine.connect() as conn:
        noted = Anchor(10, str(await conn.scalar(sa.select(audit_chain_head.c.last_hash))))
        ninth = str(
            await conn.scalar(sa.select(audit_log.c.entry_hash).where(audit_log.c.sequence == 9))
        )
    await execute(engine, "DELETE FROM audit_log WHERE sequence = 10")
    await execute(engine, "UPDATE audit_chain_head SET last_sequence = 9, last_hash = :h", h=ninth)
    assert (await verify_chain(engine)).intact
    report = await verify_chain(engine, anchors=[noted])
    assert (report.problem, report.broken_at) == (ChainProblem.ANCHOR_MISMATCH, 10)
    assert (await verify_chain(engine, anchors=[Anchor(9, ninth)])).intact
    assert Anchor.parse(f" 10:{noted.entry_hash.upper()} ") == noted
    for bad in ("10", "x:" + "a" * 64, "10:" + "g" * 64, "10:abc"):
        with pytest.raises(ValueError):
            Anchor.parse(bad)


async def test_an_entry_slipped_in_after_the_head_is_caught(engine: AsyncEngine) -> None:
    await sealed_log(engine, 3)
    await record_now(engine, read(4))
    await execute(
        engine,
        "UPDATE audit_log SET sequence = 4, prev_hash = :h, entry_hash = :h WHERE sequence IS NULL",
        h="f" * 64,
    )
    report = await verify_chain(engine)
    assert (report.problem, report.broken_at) == (ChainProblem.AFTER_HEAD, 4)


async def test_a_missing_head_row_is_reported(engine: AsyncEngine) -> None:
    await sealed_log(engine, 2)
    await execute(engine, "DELETE FROM audit_chain_head")
    assert (await verify_chain(engine)).problem is ChainProblem.HEAD_MISSING
    await record_now(engine, read(3))
    with pytest.raises(RuntimeError, match="audit_chain_head"):
        await AuditSealer(engine).seal_pending()


async def test_two_sealers_at_once_make_one_unbroken_chain(database_url: str) -> None:
    """Separate engines (as two processes would have) seal while callers keep recording."""
    engines = [create_engine(database_url) for _ in range(3)]
    writer, first, second = engines
    async with writer.begin() as conn:
        await create_audit_tables_now(conn)
    stop = asyncio.Event()
    metrics = [AuditMetrics(CollectorRegistry()) for _ in range(2)]
    sealers = [
        AuditSealer(e, batch_size=7, poll_interval=0.005, metrics=m)
        for e, m in zip((first, second), metrics, strict=True)
    ]
    running = [asyncio.create_task(s.run(stop)) for s in sealers]

    async def caller(task: int) -> None:
        for n in range(40):
            await record_now(writer, read(task * 1000 + n))
            if n % 10 == 0:
                # Sealing passes racing each other head-on, not only through the loops.
                await asyncio.gather(*(s.seal_pending() for s in sealers))

    try:
        await asyncio.gather(*(caller(task) for task in range(5)))
    finally:
        stop.set()
        await asyncio.gather(*running)
    await sealers[0].seal_all()
    assert all(m.sealed._value.get() > 0 for m in metrics)  # both sealers took turns
    report = await verify_chain(writer)
    assert report.intact, report
    assert (report.checked, report.unsealed) == (200, 0)
    assert sorted(seq or 0 for _, seq in await chain_positions(writer)) == list(range(1, 201))
    for e in engines:
        await e.dispose()


async def search_all(engine: AsyncEngine, **filters: Any) -> list[AuditRecord]:
    async with read_only(engine).connect() as conn:
        page = await search(conn, page_size=500, **filters)
    return page.items


async def test_search_filters_newest_first(engine: AsyncEngine) -> None:
    start = datetime(2026, 12, 1, 8, tzinfo=UTC)
    entries = [
        AuditEntry(
            client_id=("bpjs", "dinsos")[n % 2],
            action=(AuditAction.RESIDENT_STATUS_READ, AuditAction.RESIDENT_READ)[n % 3 == 0],
            result=AuditResult.OK,
            nik=(NIK, OTHER_NIK)[n % 4 == 0],
            recorded_at=start + timedelta(minutes=n),
        )
        for n in range(12)
    ]
    await record_now(engine, *entries[:6])
    await AuditSealer(engine).seal_all()
    await record_now(engine, *entries[6:])  # unsealed ones are found too

    everything = await search_all(engine)
    assert [r.recorded_at for r in everything] == [e.recorded_at for e in reversed(entries)]
    assert [r.sealed for r in everything] == [False] * 6 + [True] * 6
    assert {r.nik for r in await search_all(engine, nik=OTHER_NIK)} == {OTHER_NIK}
    assert len(await search_all(engine, nik=OTHER_NIK)) == 3
    assert len(await search_all(engine, client_id="dinsos")) == 6
    assert len(await search_all(engine, action=AuditAction.RESIDENT_READ)) == 4
    window = await search_all(
        engine, from_=start + timedelta(minutes=3), to=start + timedelta(minutes=7)
    )
    assert [r.recorded_at.minute for r in window] == [6, 5, 4, 3]
    combined = await search_all(engine, nik=NIK, client_id="bpjs", action=AuditAction.RESIDENT_READ)
    assert [r.recorded_at.minute for r in combined] == [6]


async def test_search_pages_with_a_cursor(engine: AsyncEngine) -> None:
    await record_now(engine, *(read(n) for n in range(11)))
    seen: list[int] = []
    token = None
    async with read_only(engine).connect() as conn:
        while True:
            page = await search(conn, client_id="bpjs", page_size=4, page_token=token)
            seen.extend(r.id for r in page.items)
            await record_now(engine, read(99))  # newer entries never shift older pages
            token = page.next_page_token
            if token is None:
                break
        assert len(seen) == 11 and seen == sorted(seen, reverse=True)
        with pytest.raises(ProblemError):
            await search(conn, page_token="bm90LWEtdG9rZW4")


async def test_the_runtime_seals_in_the_background_and_serves_auditors(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(database_url)
    async with engine.begin() as conn:
        await create_audit_tables_now(conn)
    await engine.dispose()
    settings = shared_issuer().configure(ServiceSettings(database_url=database_url))
    runtime = ServiceRuntime.from_settings(settings, audit_enabled=True)

    async def no_kafka() -> None:
        """The sealer needs the database only; this test has no broker."""

    monkeypatch.setattr(runtime, "_run_kafka_side", no_kafka)
    app = service_app(
        title="t", description="t", settings=settings, runtime_factory=lambda: runtime
    )
    app.include_router(audit_router(dependencies=[Depends(require_scope(Scope.AUDIT_READ))]))
    async with LifespanManager(app) as manager:
        await record_now(runtime.engine, read(1), read(2))
        for _ in range(100):
            if await AuditSealer(runtime.engine).unsealed_count() == 0:
                break
            await asyncio.sleep(0.05)
        transport = httpx.ASGITransport(app=manager.app)
        auditor = shared_issuer().headers("audit:read")
        async with httpx.AsyncClient(
            transport=transport, base_url="http://t", headers=auditor
        ) as client:
            answer = await client.get("/v1/audit/entries", params={"nik": nik(2), "page_size": 1})
            assert answer.status_code == 200, answer.text
            body = answer.json()
            assert [item["sequence"] for item in body["items"]] == [2]
            assert body["items"][0]["sealed"] is True and body["next_page_token"] is None
            bad = await client.get(
                "/v1/audit/entries",
                params={"from": "2026-12-02T00:00:00+07:00", "to": "2026-12-01T00:00:00+07:00"},
            )
            assert bad.status_code == 422
            assert bad.headers["content-type"] == "application/problem+json"
    engine = create_engine(database_url)
    try:
        report = await verify_chain(engine)
    finally:
        await engine.dispose()
    assert report.intact and report.checked == 2
