"""The ledger in a real database (SQLite and PostgreSQL): stored balances always equal a replay
of the entries, and concurrent operators can never take the same last blank."""

from __future__ import annotations

import asyncio
import random

import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.inventory.domain.ledger import Entry, EntryKind, Stock
from jemput.inventory.service_layer import ledger
from jemput.shared.db import create_engine
from jemput.shared.testing.fixtures import migrate

K = EntryKind
OFFICE = "office"


async def balance(engine: object, location: str) -> Stock:
    async with AsyncSession(engine) as session:  # type: ignore[arg-type]
        row = await ledger.locked_balance(session, location)
        return Stock(row.on_hand, row.reserved)


async def test_balances_equal_the_replayed_ledger_after_every_kind(database_url: str) -> None:
    await migrate("inventory", database_url)
    engine = create_engine(database_url)
    rng = random.Random(3)
    ids: list[int] = []
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        await ledger.append(
            session,
            Entry(K.RECEIVED, 500, OFFICE),
            actor="t",
            reference="B-1/2026",
            serial_from="A000001",
            serial_to="A000500",
        )
    for step in range(300):
        kind = rng.choice([k for k in K if k not in (K.REVERSAL, K.RECEIVED)] + [K.RECEIVED])
        quantity = rng.randint(-3, 3) or 1 if kind is K.ADJUSTED else rng.randint(1, 8)
        try:
            async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
                row = await ledger.append(session, Entry(kind, quantity, OFFICE), actor="t")
                ids.append(row.id or 0)
        except ledger.StockRefused:
            continue
        if step % 25 == 0 and ids:
            try:
                async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
                    await ledger.reverse(session, ids[-1], actor="t", note="salah catat")
            except ledger.StockRefused:
                pass
        async with AsyncSession(engine) as session:
            replayed = await ledger.replay(session, OFFICE)
        assert replayed == await balance(engine, OFFICE)
    await engine.dispose()


async def test_a_reversal_happens_once(database_url: str) -> None:
    await migrate("inventory", database_url)
    engine = create_engine(database_url)
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        received = await ledger.append(session, Entry(K.RECEIVED, 10, OFFICE), actor="t")
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        await ledger.reverse(session, received.id or 0, actor="t", note="bukan alokasi kita")
    with pytest.raises(ledger.StockRefused):
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            await ledger.reverse(session, received.id or 0, actor="t", note="lagi")
    assert await balance(engine, OFFICE) == Stock(0, 0)
    await engine.dispose()


@pytest.mark.parametrize("attempt", range(10))
async def test_two_operators_reserving_the_last_blank(database_url: str, attempt: int) -> None:
    """Many concurrent transactions race for 3 blanks: exactly 3 win, the rest are refused."""
    await migrate("inventory", database_url)
    engine = create_engine(database_url)
    async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
        await ledger.append(session, Entry(K.RECEIVED, 3, OFFICE), actor="t")

    async def take(operator: int) -> bool:
        try:
            async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
                await ledger.append(
                    session,
                    Entry(K.RESERVED, 1, OFFICE),
                    actor=f"op{operator}",
                    job_id=f"job{operator}",
                )
                await asyncio.sleep(0)  # let the others run while this transaction is open
            return True
        except ledger.StockRefused:
            return False

    results = await asyncio.gather(*(take(i) for i in range(8)))
    assert sum(results) == 3
    assert await balance(engine, OFFICE) == Stock(3, 3)
    async with AsyncSession(engine) as session:
        replayed = await ledger.replay(session, OFFICE)
    assert replayed == Stock(3, 3)
    await engine.dispose()


async def test_stock_low_once_per_crossing(database_url: str) -> None:
    import sqlalchemy as sa

    from jemput.shared.messaging.outbox import Outbox
    from jemput.shared.messaging.tables import outbox as outbox_table

    await migrate("inventory", database_url)
    engine = create_engine(database_url)
    box = Outbox(source="/jemput/inventory", topic_for=lambda s: f"jemput.{s}.v1")
    steps = [(K.RECEIVED, 101), (K.RESERVED, 1), (K.RESERVED, 1), (K.RESERVED, 1)]
    steps += [(K.RECEIVED, 10), (K.RESERVED, 10), (K.RELEASED, 5)]
    for kind, quantity in steps:
        async with AsyncSession(engine, expire_on_commit=False) as session, session.begin():
            await ledger.append(session, Entry(kind, quantity, OFFICE), actor="t", outbox=box)
    async with engine.connect() as conn:
        types = (
            (await conn.execute(sa.select(outbox_table.c.event_type).order_by(outbox_table.c.id)))
            .scalars()
            .all()
        )
    await engine.dispose()
    low = [t for t in types if t.endswith("stock_low.v1")]
    # Available: 101, 100, 99 (crossed), 98, 108, 98 (crossed again), 103.
    assert len(low) == 2
    assert types.count("jemput.inventory.stock_changed.v1") == len(steps)
