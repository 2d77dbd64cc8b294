"""Write ledger entries. Never commits: the caller's transaction holds the entry and the balance.

Each write locks the location's balance row first (`SELECT … FOR UPDATE` on PostgreSQL; on
SQLite the transaction already holds the database write lock), checks the domain rules on the
locked totals, and only then appends the entry — so stock never goes negative however many
operators write at once. Under the same lock each entry also updates the location's daily
snapshot (`daily.py`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.inventory.adapters.tables import LedgerEntry, StockBalance
from jemput.inventory.domain.ledger import (
    Entry,
    EntryKind,
    LedgerRuleBroken,
    Stock,
    crossed_below,
)
from jemput.inventory.service_layer import daily
from jemput.shared.events.inventory import StockChangedV1, StockLowV1
from jemput.shared.messaging.dead_letter import SafeError
from jemput.shared.messaging.outbox import Outbox


class StockRefused(SafeError):
    """The movement would break the ledger's rules (e.g. no blank left)."""


async def locked_balance(session: AsyncSession, location: str) -> StockBalance:
    """The location's balance row, locked for this transaction (created at zero if new)."""
    query = (
        select(StockBalance)
        .where(StockBalance.location == location)
        .with_for_update()
        .execution_options(populate_existing=True)  # never a copy read before the lock
    )
    balance = (await session.exec(query)).first()
    if balance is None:
        # Two first writers of a new location: one inserts, the other waits on it, then locks.
        conn = await session.connection()
        insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        await conn.execute(
            insert(StockBalance)
            .values(location=location, on_hand=0, reserved=0)
            .on_conflict_do_nothing(index_elements=["location"])
        )
        balance = (await session.exec(query)).one()
    return balance


async def balances(session: AsyncSession) -> Sequence[StockBalance]:
    return (await session.exec(select(StockBalance).order_by(col(StockBalance.location)))).all()


async def append(
    session: AsyncSession,
    entry: Entry,
    *,
    actor: str,
    reference: str | None = None,
    job_id: str | None = None,
    serial_from: str | None = None,
    serial_to: str | None = None,
    note: str | None = None,
    reverses_id: int | None = None,
    request_id: str | None = None,
    outbox: Outbox | None = None,
    at: datetime | None = None,
) -> LedgerEntry:
    """Append an entry (recorded now, or `at`); with an outbox, publish the new stock, and
    `stock_low` when available stock falls below the location's threshold."""
    row = LedgerEntry(
        kind=entry.kind,
        quantity=entry.quantity,
        location=entry.location,
        reverses_id=reverses_id,
        reference=reference,
        serial_from=serial_from,
        serial_to=serial_to,
        job_id=job_id,
        request_id=request_id,
        actor=actor,
        note=note,
        recorded_at=at or datetime.now(UTC),
    )
    balance = await locked_balance(session, entry.location)
    await _write(session, balance, [(entry, row)], outbox)
    return row


async def reserve_for(
    session: AsyncSession,
    location: str,
    job_ids: Sequence[str],
    *,
    actor: str,
    outbox: Outbox | None = None,
    at: datetime | None = None,
) -> int:
    """A blank reserved for each job in turn, as far as the available stock goes; returns how
    many jobs got one. One lock and one balance write for them all (a consumer batch's
    recordings), while each entry still publishes the stock after it."""
    balance = await locked_balance(session, location)
    take = min(len(job_ids), max(balance.on_hand - balance.reserved, 0))
    moment = at or datetime.now(UTC)
    entries = [
        (
            Entry(EntryKind.RESERVED, 1, location),
            LedgerEntry(
                kind=EntryKind.RESERVED,
                quantity=1,
                location=location,
                job_id=job_id,
                actor=actor,
                recorded_at=moment,
            ),
        )
        for job_id in job_ids[:take]
    ]
    if entries:
        await _write(session, balance, entries, outbox)
    return take


async def _write(
    session: AsyncSession,
    balance: StockBalance,
    entries: Sequence[tuple[Entry, LedgerEntry]],
    outbox: Outbox | None,
) -> None:
    """Entries of the balance's location, in order, under its lock: each checked against the
    stock the one before left, then all written, with the balance, the day's snapshot and the
    events."""
    stock = Stock(balance.on_hand, balance.reserved)
    changes = []
    events: list[StockChangedV1 | StockLowV1] = []
    for entry, row in entries:
        before = stock
        try:
            stock = stock.after(entry)
        except LedgerRuleBroken as exc:
            raise StockRefused(str(exc)) from exc
        changes.append((entry, stock))
        events.append(
            StockChangedV1(
                location=entry.location,
                entry_kind=str(entry.kind),
                quantity=entry.quantity,
                on_hand=stock.on_hand,
                reserved=stock.reserved,
                at=row.recorded_at,
            )
        )
        if crossed_below(before, stock, balance.low_threshold):
            events.append(
                StockLowV1(
                    location=entry.location,
                    available=stock.available,
                    threshold=balance.low_threshold,
                    at=row.recorded_at,
                )
            )
    opening = Stock(balance.on_hand, balance.reserved)
    session.add_all([row for _, row in entries])
    await session.flush()
    last = entries[-1][1]
    balance.on_hand, balance.reserved, balance.last_entry_id = (
        stock.on_hand,
        stock.reserved,
        last.id,
    )
    session.add(balance)
    await daily.record(session, balance, changes, opening, last.recorded_at)
    if outbox is not None:
        await outbox.add_many(session, events)


async def reverse(
    session: AsyncSession,
    entry_id: int,
    *,
    actor: str,
    note: str,
    outbox: Outbox | None = None,
    at: datetime | None = None,
) -> LedgerEntry:
    """Append the entry that undoes `entry_id` (once: a reversal is never reversed)."""
    original = await session.get(LedgerEntry, entry_id)
    if original is None:
        raise StockRefused("no ledger entry with this id")
    if original.kind is EntryKind.REVERSAL or original.reverses_id is not None:
        raise StockRefused("a correction cannot be reversed; record the movement again")
    await locked_balance(session, original.location)  # one reversal of an entry at a time
    already = await session.exec(
        select(LedgerEntry.id).where(col(LedgerEntry.reverses_id) == entry_id)
    )
    if already.first() is not None:
        raise StockRefused("this entry was reversed already")
    if original.kind is EntryKind.ADJUSTED:
        correction = Entry(EntryKind.ADJUSTED, -original.quantity, original.location)
    else:
        correction = Entry(
            EntryKind.REVERSAL, original.quantity, original.location, reverses=original.kind
        )
    return await append(
        session,
        correction,
        actor=actor,
        note=note,
        reverses_id=entry_id,
        job_id=original.job_id,
        reference=original.reference,
        outbox=outbox,
        at=at,
    )


async def replay(session: AsyncSession, location: str) -> Stock:
    """The stock rebuilt from the entries alone (to check the stored balance against)."""
    result = await session.exec(
        select(LedgerEntry).where(LedgerEntry.location == location).order_by(col(LedgerEntry.id))
    )
    stock = Stock()
    entries: Sequence[LedgerEntry] = result.all()
    kinds = {e.id: e.kind for e in entries}
    for row in entries:
        reverses = kinds.get(row.reverses_id) if row.kind is EntryKind.REVERSAL else None
        stock = stock.after(Entry(row.kind, row.quantity, row.location, reverses=reverses))
    return stock
