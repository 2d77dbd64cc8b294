"""The daily stock snapshot, kept as the ledger is written.

Each entry updates its location's row for the office day in the same transaction, under the
balance lock the entry already holds, so the row can never disagree with the ledger and no
scheduled job has to run at midnight. A day without entries has no row: its stock is the close
of the last row before it, which is also how any past date is answered (`as_of`).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

import sqlalchemy as sa
from sqlalchemy import or_
from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.inventory.adapters.tables import LedgerEntry, StockBalance, StockDay
from jemput.inventory.domain.daily import DayFigures, day_of_entry, replay_days
from jemput.inventory.domain.ledger import Entry, EntryKind, Stock


async def record(
    session: AsyncSession,
    balance: StockBalance,
    changes: Sequence[tuple[Entry, Stock]],
    before: Stock,
    at: datetime,
) -> StockDay:
    """Count new entries (each with the stock after it) on their day. The caller holds the
    location's balance lock. A location's first day opens with its first entry (the empty
    stock before is no stock-out)."""
    opening = before if balance.last_day else changes[0][1]
    row = await _day_row(session, balance, opening, at)
    figures = _figures(row)
    for entry, after in changes:
        figures = figures.after(entry, after)
    _store(row, figures)
    session.add(row)
    return row


async def count_suket(
    session: AsyncSession,
    balance: StockBalance,
    at: datetime,
    *,
    printed: bool = False,
    count: int = 1,
) -> None:
    """SUKETs issued (or, `printed`, cards printed for SUKET holders) at the location. The
    caller holds the balance lock."""
    stock = Stock(balance.on_hand, balance.reserved)
    row = await _day_row(session, balance, stock, at)
    if printed:
        row.suket_prints += count
    else:
        row.sukets_issued += count
    session.add(row)


async def _day_row(
    session: AsyncSession, balance: StockBalance, opening: Stock, at: datetime
) -> StockDay:
    day = day_of_entry(at, balance.last_day)
    if balance.last_day == day:
        query = (
            select(StockDay)
            .where(StockDay.location == balance.location, StockDay.day == day)
            .execution_options(populate_existing=True)
        )
        found = (await session.exec(query)).first()
        if found is not None:
            return found
    balance.last_day = day
    session.add(balance)
    row = StockDay(
        location=balance.location,
        day=day,
        on_hand=opening.on_hand,
        reserved=opening.reserved,
        min_available=opening.available,
    )
    session.add(row)
    return row


def _figures(row: StockDay) -> DayFigures:
    return DayFigures(
        on_hand=row.on_hand,
        reserved=row.reserved,
        min_available=row.min_available,
        received=row.received,
        consumed=row.consumed,
        spoiled=row.spoiled,
    )


def _store(row: StockDay, figures: DayFigures) -> None:
    row.on_hand, row.reserved = figures.on_hand, figures.reserved
    row.min_available = figures.min_available
    row.received, row.consumed, row.spoiled = figures.received, figures.consumed, figures.spoiled


async def as_of(session: AsyncSession, day: date) -> dict[str, StockDay]:
    """Each location's snapshot at the close of `day`: its latest row on or before it."""
    latest = (
        select(StockDay.location, func.max(StockDay.day).label("day"))
        .where(col(StockDay.day) <= day)
        .group_by(col(StockDay.location))
        .subquery()
    )
    query = select(StockDay).join(
        latest,
        (col(StockDay.location) == latest.c.location) & (col(StockDay.day) == latest.c.day),
    )
    return {row.location: row for row in (await session.exec(query)).all()}


@dataclass(frozen=True, slots=True)
class DayRow:
    """The figures of one snapshot row the forecast reads."""

    day: date
    on_hand: int
    reserved: int
    min_available: int
    consumed: int
    spoiled: int
    sukets_issued: int
    suket_prints: int


@functools.cache
def _window_query() -> sa.Select[date, int, int, int, int, int, int, int]:
    # Built once: making the expression cost more than running it (a profile of the forecast).
    location = sa.bindparam("location", type_=sa.String())
    first = sa.bindparam("first", type_=sa.Date())
    last = sa.bindparam("last", type_=sa.Date())
    before = (
        select(func.max(StockDay.day))
        .where(StockDay.location == location, col(StockDay.day) < first)
        .scalar_subquery()
    )
    return (
        sa.select(
            col(StockDay.day),
            col(StockDay.on_hand),
            col(StockDay.reserved),
            col(StockDay.min_available),
            col(StockDay.consumed),
            col(StockDay.spoiled),
            col(StockDay.sukets_issued),
            col(StockDay.suket_prints),
        )
        .where(
            col(StockDay.location) == location,
            col(StockDay.day) <= last,
            or_(col(StockDay.day) >= first, col(StockDay.day) == before),
        )
        .order_by(col(StockDay.day))
    )


async def window(session: AsyncSession, location: str, first: date, last: date) -> list[DayRow]:
    """In one query, in day order: the last row before `first` if there is one (its close is
    the stock on the days before the range's first row), then the rows of `first`..`last`.
    Plain rows, not ORM objects: the forecast reads up to a window's worth on each request."""
    conn = await session.connection()
    found = await conn.execute(
        _window_query(), {"location": location, "first": first, "last": last}
    )
    return [DayRow(*row) for row in found.all()]


async def replay(session: AsyncSession, location: str) -> dict[date, DayFigures]:
    """The location's rows rebuilt from the ledger alone (to check the kept ones against)."""
    result = await session.exec(select(LedgerEntry).order_by(col(LedgerEntry.id)))
    rows = result.all()
    kinds = {row.id: row.kind for row in rows}
    entries = [
        (
            Entry(
                row.kind,
                row.quantity,
                row.location,
                reverses=kinds.get(row.reverses_id) if row.kind is EntryKind.REVERSAL else None,
            ),
            row.recorded_at.astimezone(UTC),
        )
        for row in rows
    ]
    return {day: figures for (loc, day), figures in replay_days(entries).items() if loc == location}
