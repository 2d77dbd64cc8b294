"""The blank-card ledger: every movement an entry with a reason, never a bare counter.

Stock on hand, reserved and available are derived from the entries; an entry is never edited —
a mistake is corrected by a reversing entry that points at the original.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum


class EntryKind(StrEnum):
    RECEIVED = "RECEIVED"  # the ministry's allocation arrived (letter reference, serial range)
    RESERVED = "RESERVED"  # set aside for a recorded resident's print job
    RELEASED = "RELEASED"  # a reservation given back (duplicate found, job dropped)
    CONSUMED = "CONSUMED"  # printed: the reserved blank became a card
    SPOILED = "SPOILED"  # the print failed: the reserved blank is lost
    RETURNED = "RETURNED"  # sent back to the ministry
    TRANSFER_OUT = "TRANSFER_OUT"  # moved to another location (a district office)
    TRANSFER_IN = "TRANSFER_IN"  # arrived from another location
    ADJUSTED = "ADJUSTED"  # a physical count differed (signed quantity)
    REVERSAL = "REVERSAL"  # undoes another entry


# (on hand, reserved) change per unit of quantity for each kind.
_EFFECT: dict[EntryKind, tuple[int, int]] = {
    EntryKind.RECEIVED: (1, 0),
    EntryKind.RESERVED: (0, 1),
    EntryKind.RELEASED: (0, -1),
    EntryKind.CONSUMED: (-1, -1),
    EntryKind.SPOILED: (-1, -1),
    EntryKind.RETURNED: (-1, 0),
    EntryKind.TRANSFER_OUT: (-1, 0),
    EntryKind.TRANSFER_IN: (1, 0),
    EntryKind.ADJUSTED: (1, 0),
}


class LedgerRuleBroken(ValueError):
    """The entry would make stock impossible (negative, or more reserved than on hand)."""


@dataclass(frozen=True, slots=True)
class Entry:
    kind: EntryKind
    quantity: int  # positive, except ADJUSTED which is signed
    location: str
    # For a REVERSAL: the kind of the entry it undoes (and that entry's quantity).
    reverses: EntryKind | None = None

    def effect(self) -> tuple[int, int]:
        if self.kind is EntryKind.REVERSAL:
            if self.reverses is None or self.reverses is EntryKind.REVERSAL:
                raise LedgerRuleBroken("a reversal must name the kind of entry it undoes")
            on_hand, reserved = _EFFECT[self.reverses]
            return -on_hand * self.quantity, -reserved * self.quantity
        if self.kind is not EntryKind.ADJUSTED and self.quantity <= 0:
            raise LedgerRuleBroken(f"{self.kind} needs a positive quantity")
        on_hand, reserved = _EFFECT[self.kind]
        return on_hand * self.quantity, reserved * self.quantity


@dataclass(frozen=True, slots=True)
class Stock:
    on_hand: int = 0
    reserved: int = 0

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved

    def after(self, entry: Entry) -> Stock:
        """The stock after an entry; refuses one that breaks the rules."""
        on_hand, reserved = entry.effect()
        new = Stock(self.on_hand + on_hand, self.reserved + reserved)
        if new.on_hand < 0:
            raise LedgerRuleBroken("stock on hand cannot go below zero")
        if new.reserved < 0:
            raise LedgerRuleBroken("more blanks released or used than were reserved")
        if new.available < 0:
            raise LedgerRuleBroken("no blank available to reserve")
        return new


def stock_of(entries: Iterable[Entry], location: str | None = None) -> Stock:
    """Replay the ledger (for one location, or all) — the reference the stored totals must match."""
    stock = Stock()
    for entry in entries:
        if location is None or entry.location == location:
            stock = stock.after(entry)
    return stock


def count_adjustment(stock: Stock, counted: int, location: str) -> Entry | None:
    """The entry a physical count produces: the difference between counted and on hand."""
    if counted < 0:
        raise LedgerRuleBroken("a count cannot be negative")
    difference = counted - stock.on_hand
    if difference == 0:
        return None
    if counted < stock.reserved:
        raise LedgerRuleBroken("fewer blanks counted than are reserved: release jobs first")
    return Entry(EntryKind.ADJUSTED, difference, location)


def crossed_below(before: Stock, after: Stock, threshold: int) -> bool:
    """Available stock went from at-or-above the threshold to below it (once per crossing)."""
    return before.available >= threshold > after.available
