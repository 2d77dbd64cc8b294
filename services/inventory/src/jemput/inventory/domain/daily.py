"""The daily stock snapshot: per location and office day (WIB), the stock at the day's close,
the lowest available stock during the day, and what was received, consumed and spoiled.

The service keeps it as it writes the ledger (see `service_layer/daily.py`); `replay_days`
rebuilds it from the entries alone, the reference the kept rows must equal. A day without any
entry has no row: its stock is the close of the last day before it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime
from zoneinfo import ZoneInfo

from jemput.inventory.domain.ledger import Entry, EntryKind, Stock
from jemput.shared.timezone import OFFICE_TIMEZONE, office_day

_OFFICE_ZONE = ZoneInfo(OFFICE_TIMEZONE)


@dataclass(frozen=True, slots=True)
class DayFigures:
    on_hand: int
    reserved: int
    min_available: int  # the lowest available stock of the day, its opening included
    received: int = 0
    consumed: int = 0  # printed
    spoiled: int = 0

    @classmethod
    def opening(cls, stock: Stock) -> DayFigures:
        return cls(stock.on_hand, stock.reserved, stock.available)

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    def after(self, entry: Entry, stock: Stock) -> DayFigures:
        """The day's figures once `entry` left the location at `stock`. A reversal counts
        against the kind it undoes, on the day it is made."""
        kind, sign = entry.kind, 1
        if kind is EntryKind.REVERSAL and entry.reverses is not None:
            kind, sign = entry.reverses, -1
        moved = {
            EntryKind.RECEIVED: "received",
            EntryKind.CONSUMED: "consumed",
            EntryKind.SPOILED: "spoiled",
        }.get(kind)
        figures = replace(
            self,
            on_hand=stock.on_hand,
            reserved=stock.reserved,
            min_available=min(self.min_available, stock.available),
        )
        if moved is not None:
            figures = replace(figures, **{moved: getattr(figures, moved) + sign * entry.quantity})
        return figures


def day_of_entry(moment: datetime, last_day: date | None) -> date:
    """The office day an entry counts on: its own, or the location's latest day if that is
    later (a clock a little behind another replica's never reopens a closed day)."""
    day = office_day(moment)
    return day if last_day is None or day > last_day else last_day


def replay_days(
    entries: Iterable[tuple[Entry, datetime]],
) -> dict[tuple[str, date], DayFigures]:
    """The snapshot rows the ledger implies, from its entries in order with their times."""
    stocks: dict[str, Stock] = {}
    last_days: dict[str, date] = {}
    days: dict[tuple[str, date], DayFigures] = {}
    for entry, moment in entries:
        before = stocks.get(entry.location, Stock())
        after = before.after(entry)
        last_day = last_days.get(entry.location)
        day = day_of_entry(moment, last_day)
        last_days[entry.location] = day
        key = (entry.location, day)
        # A location's first day opens with its first entry: the empty stock before it is
        # no stock-out.
        figures = days.get(key) or DayFigures.opening(before if last_day else after)
        days[key] = figures.after(entry, after)
        stocks[entry.location] = after
    return days
