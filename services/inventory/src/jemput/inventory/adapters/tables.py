"""The inventory database: the ledger (append-only) and the per-location balance it keeps."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlmodel import Field, SQLModel

from jemput.inventory.domain.ledger import EntryKind
from jemput.shared.db.types import StrEnumType, UtcDateTime


def _now() -> datetime:
    return datetime.now(UTC)


class LedgerEntry(SQLModel, table=True):
    """One movement of blank cards. Never updated or deleted: corrections are reversals."""

    __tablename__ = "ledger_entry"

    id: int | None = Field(default=None, primary_key=True)
    kind: EntryKind = Field(sa_type=StrEnumType(EntryKind, 16))
    quantity: int
    location: str = Field(max_length=20, index=True)
    reverses_id: int | None = Field(default=None, foreign_key="ledger_entry.id")
    # The ministry's allocation letter and serial range (RECEIVED), the print job (RESERVED,
    # RELEASED, CONSUMED, SPOILED), the card serial (CONSUMED), the counter (ADJUSTED).
    reference: str | None = Field(default=None, max_length=100)
    serial_from: str | None = Field(default=None, max_length=30)
    serial_to: str | None = Field(default=None, max_length=30)
    job_id: str | None = Field(default=None, max_length=36, index=True)
    actor: str = Field(max_length=100)
    note: str | None = Field(default=None, max_length=300)
    recorded_at: datetime = Field(default_factory=_now, sa_type=UtcDateTime())


class StockBalance(SQLModel, table=True):
    """Running totals per location, updated in the same transaction as each entry.

    Its row is what concurrent writers lock: two operators taking the last blank at once
    queue on it, and the second finds none left.
    """

    __tablename__ = "stock_balance"

    location: str = Field(primary_key=True, max_length=20)
    on_hand: int = 0
    reserved: int = 0
    last_entry_id: int | None = None
    # Below this many available blanks the location publishes `stock_low` (once per crossing).
    low_threshold: int = 100


class PrintJob(SQLModel, table=True):
    """A resident's card on its way: created by a recording, printable once the national
    system clears it (print-ready) and a blank is reserved for it."""

    __tablename__ = "print_job"

    id: str = Field(primary_key=True, max_length=36)
    nik: str = Field(max_length=16, index=True)
    village_code: str | None = Field(default=None, max_length=13)
    recorded_at: datetime = Field(sa_type=UtcDateTime())
    location: str = Field(default="office", max_length=20)
    state: str = Field(default="OPEN", max_length=10)  # OPEN, PRINTED, ISSUED, DROPPED
    has_blank: bool = False
    print_ready: bool = False
    card_serial: str | None = Field(default=None, max_length=30)
    printed_at: datetime | None = Field(default=None, sa_type=UtcDateTime())
    issued_at: datetime | None = Field(default=None, sa_type=UtcDateTime())


class Suket(SQLModel, table=True):
    """A temporary certificate given instead of a card while no blank is available."""

    __tablename__ = "suket"

    number: str = Field(primary_key=True, max_length=40)
    nik: str = Field(max_length=16, index=True)
    job_id: str = Field(max_length=36)
    issued_at: datetime = Field(sa_type=UtcDateTime())
    valid_until: datetime = Field(sa_type=UtcDateTime())
    cleared_at: datetime | None = Field(default=None, sa_type=UtcDateTime())
