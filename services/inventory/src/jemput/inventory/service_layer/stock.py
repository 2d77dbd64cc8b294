"""Stock movements staff make by hand — transfers between locations, returns to the ministry,
physical counts, reversals of mistaken entries — and the stock per location, now or at the close of a past day.

Receipts are in `print_queue.receive_blanks` (they serve waiting jobs). Functions never commit.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.inventory.adapters.tables import BlankBatch, LedgerEntry, StockBalance
from jemput.inventory.domain.ledger import (
    Entry,
    EntryKind,
    LedgerRuleBroken,
    Stock,
    count_adjustment,
)
from jemput.inventory.service_layer import daily, ledger, print_queue
from jemput.inventory.service_layer.ledger import StockRefused
from jemput.inventory.service_layer.problems import not_found
from jemput.shared.events.inventory import StockLowV1
from jemput.shared.messaging.outbox import Outbox

# Made and undone by the print queue only: reversing one by hand would part the ledger from
# the jobs (a blank reserved for a job that no longer has it).
PRINT_QUEUE_KINDS = frozenset(
    {EntryKind.RESERVED, EntryKind.RELEASED, EntryKind.CONSUMED, EntryKind.SPOILED}
)
TRANSFER_KINDS = (EntryKind.TRANSFER_OUT, EntryKind.TRANSFER_IN)


@dataclass(frozen=True, slots=True)
class LocationStock:
    location: str
    on_hand: int
    reserved: int
    low_threshold: int

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


async def current(session: AsyncSession) -> list[LocationStock]:
    return [_of(balance) for balance in await ledger.balances(session)]


async def at_close_of(session: AsyncSession, day: date) -> list[LocationStock]:
    """Every known location's stock at the close of `day` (zero before its first entry)."""
    closes = await daily.as_of(session, day)
    stocks = []
    for balance in await ledger.balances(session):
        row = closes.get(balance.location)
        on_hand, reserved = (row.on_hand, row.reserved) if row is not None else (0, 0)
        stocks.append(LocationStock(balance.location, on_hand, reserved, balance.low_threshold))
    return stocks


def _of(balance: StockBalance) -> LocationStock:
    return LocationStock(balance.location, balance.on_hand, balance.reserved, balance.low_threshold)


async def set_low_threshold(
    session: AsyncSession, outbox: Outbox, *, location: str, threshold: int, at: datetime
) -> LocationStock:
    """The level under which `stock_low` is published for the location. A new threshold that
    puts the available stock below it, where the old one did not, is a crossing too: the
    office hears of it now rather than at the next movement."""
    balance = await ledger.locked_balance(session, location)
    available = balance.on_hand - balance.reserved
    was_low = available < balance.low_threshold
    balance.low_threshold = threshold
    session.add(balance)
    if not was_low and available < threshold:
        await outbox.add(
            session,
            StockLowV1(location=location, available=available, threshold=threshold, at=at),
        )
    await session.flush()
    return _of(balance)


@dataclass(frozen=True, slots=True)
class Transfer:
    reference: str
    sent: LedgerEntry
    received: LedgerEntry
    served: int  # waiting jobs at the destination that got a blank


async def transfer(
    session: AsyncSession,
    outbox: Outbox,
    *,
    source: str,
    destination: str,
    quantity: int,
    note: str | None,
    actor: str,
    at: datetime,
) -> Transfer:
    if source == destination:
        raise StockRefused("a transfer needs two different locations")
    # Both balances, always in the same order: two opposite transfers never deadlock.
    for location in sorted((source, destination)):
        await ledger.locked_balance(session, location)
    reference = f"TRF-{uuid.uuid4().hex[:12].upper()}"
    sent = await ledger.append(
        session,
        Entry(EntryKind.TRANSFER_OUT, quantity, source),
        actor=actor,
        reference=reference,
        note=note,
        outbox=outbox,
        at=at,
    )
    received = await ledger.append(
        session,
        Entry(EntryKind.TRANSFER_IN, quantity, destination),
        actor=actor,
        reference=reference,
        note=note,
        outbox=outbox,
        at=at,
    )
    await session.flush()
    served = await print_queue.serve_waiting(session, outbox, destination, actor=actor, at=at)
    return Transfer(reference, sent, received, served)


async def return_blanks(
    session: AsyncSession,
    outbox: Outbox,
    *,
    location: str,
    quantity: int,
    reference: str,
    note: str | None,
    actor: str,
    at: datetime,
) -> LedgerEntry:
    """Blanks sent back to the ministry (damaged in delivery, recalled, a wrong series): a
    RETURNED entry under the ministry's reference. Only available blanks go (reserved ones
    are promised to recorded residents)."""
    balance = await ledger.locked_balance(session, location)
    if quantity > balance.on_hand - balance.reserved:
        raise StockRefused(
            f"{location} has {balance.on_hand - balance.reserved} blanks available; "
            f"{quantity} cannot be returned"
        )
    return await ledger.append(
        session,
        Entry(EntryKind.RETURNED, quantity, location),
        actor=actor,
        reference=reference,
        note=note,
        outbox=outbox,
        at=at,
    )


@dataclass(frozen=True, slots=True)
class Count:
    location: str
    counted: int
    on_hand_before: int
    entry: LedgerEntry  # the adjustment (quantity 0 when the count agreed)
    served: int

    @property
    def difference(self) -> int:
        return self.counted - self.on_hand_before


async def count(
    session: AsyncSession,
    outbox: Outbox,
    *,
    location: str,
    counted: int,
    counter: str,
    note: str | None,
    actor: str,
    at: datetime,
) -> Count:
    """A physical count: the difference from the stock on hand becomes an adjustment in the
    counter's name. A count that agrees is recorded too, as an adjustment of zero."""
    balance = await ledger.locked_balance(session, location)
    before = Stock(balance.on_hand, balance.reserved)
    try:
        adjustment = count_adjustment(before, counted, location)
    except LedgerRuleBroken as exc:
        raise StockRefused(str(exc)) from None
    entry = await ledger.append(
        session,
        adjustment or Entry(EntryKind.ADJUSTED, 0, location),
        actor=actor,
        reference=counter,
        note=note,
        outbox=outbox,
        at=at,
    )
    served = 0
    if counted > before.on_hand:
        await session.flush()
        served = await print_queue.serve_waiting(session, outbox, location, actor=actor, at=at)
    return Count(location, counted, before.on_hand, entry, served)


@dataclass(frozen=True, slots=True)
class Reversal:
    entries: list[LedgerEntry]  # the reversing entries: two for a transfer, one otherwise
    served: int


async def reverse(
    session: AsyncSession,
    outbox: Outbox,
    *,
    entry_id: int,
    note: str,
    actor: str,
    at: datetime,
) -> Reversal:
    """Undo an entry made by mistake with a reversing entry that points at it. A transfer is
    undone at both ends; a receipt's serials are free again."""
    original = await session.get(LedgerEntry, entry_id)
    if original is None:
        raise not_found("ledger entry")
    if original.kind in PRINT_QUEUE_KINDS:
        raise StockRefused(
            "entries of print jobs are corrected through the print queue (spoil, duplicate), "
            "not reversed by hand"
        )
    originals = [original]
    if original.kind in TRANSFER_KINDS:
        originals += await _other_end(session, original)
    for location in sorted({entry.location for entry in originals}):
        await ledger.locked_balance(session, location)
    reversals = []
    for entry in originals:
        assert entry.id is not None
        reversals.append(
            await ledger.reverse(session, entry.id, actor=actor, note=note, outbox=outbox, at=at)
        )
    if original.kind is EntryKind.RECEIVED:
        batch = await session.get(BlankBatch, entry_id)
        if batch is not None:
            batch.voided = True
            session.add(batch)
    await session.flush()
    served = 0
    for location in sorted({entry.location for entry in originals}):
        served += await print_queue.serve_waiting(session, outbox, location, actor=actor, at=at)
    return Reversal(reversals, served)


async def _other_end(session: AsyncSession, entry: LedgerEntry) -> Sequence[LedgerEntry]:
    other = (
        EntryKind.TRANSFER_IN if entry.kind is EntryKind.TRANSFER_OUT else EntryKind.TRANSFER_OUT
    )
    result = await session.exec(
        select(LedgerEntry).where(
            LedgerEntry.reference == entry.reference,
            LedgerEntry.kind == other,
            col(LedgerEntry.reverses_id).is_(None),
            LedgerEntry.id != entry.id,
        )
    )
    return result.all()
