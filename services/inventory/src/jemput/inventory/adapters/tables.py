"""The inventory database: the ledger (append-only), the per-location balance and daily
snapshot it keeps, received serial ranges and used blanks, print jobs, SUKETs, residents'
villages, requests to the ministry and the answers of idempotent requests."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlmodel import Field, SQLModel

from jemput.inventory.domain.ledger import EntryKind
from jemput.shared.db.types import StrEnumType, UtcDateTime

# Below this many available blanks a location publishes `stock_low` (the migration's default).
DEFAULT_LOW_THRESHOLD = 100


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
    # A receipt answering a request to the ministry (RECEIVED).
    request_id: str | None = Field(default=None, max_length=32, index=True)
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
    # The office day of the latest entry: the snapshot row that entries now count on.
    last_day: date | None = None
    # Below this many available blanks the location publishes `stock_low` (once per crossing).
    low_threshold: int = DEFAULT_LOW_THRESHOLD


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
    """A temporary certificate given instead of a card while no blank is available. It ends
    cleared (the card was handed over) or revoked (its holder was flagged a duplicate)."""

    __tablename__ = "suket"

    number: str = Field(primary_key=True, max_length=40)
    nik: str = Field(max_length=16, index=True)
    job_id: str = Field(max_length=36)
    issued_at: datetime = Field(sa_type=UtcDateTime())
    valid_until: datetime = Field(sa_type=UtcDateTime())
    cleared_at: datetime | None = Field(default=None, sa_type=UtcDateTime())
    revoked_at: datetime | None = Field(default=None, sa_type=UtcDateTime())


class OwedCount(SQLModel, table=True):
    """Cards owed per location beyond the reserved blanks, for the forecast: kept by the print
    queue in the transaction that changes a job or a SUKET (see `service_layer/owed.py`), so
    reading them never counts jobs or SUKETs."""

    __tablename__ = "owed_count"

    location: str = Field(primary_key=True, max_length=20)
    # Open print-ready jobs without a blank whose resident holds no outstanding SUKET.
    print_ready_backlog: int = 0
    # Open jobs without a blank whose resident holds an outstanding SUKET.
    sukets_waiting_for_blank: int = 0
    # SUKETs outstanding (`queries.outstanding`) of the location's jobs, in any state.
    sukets_outstanding: int = 0


class StockDay(SQLModel, table=True):
    """The daily snapshot of one location, kept with each entry (see `domain/daily.py`)."""

    __tablename__ = "stock_day"

    location: str = Field(primary_key=True, max_length=20)
    day: date = Field(primary_key=True)
    on_hand: int  # at the day's close (or now, for today)
    reserved: int
    min_available: int
    received: int = 0
    consumed: int = 0
    spoiled: int = 0
    # Residents turned away with a SUKET, and cards printed for SUKET holders (demand that
    # was already counted on the day of their SUKET): the forecast's stock-out correction.
    sukets_issued: int = 0
    suket_prints: int = 0


class BlankBatch(SQLModel, table=True):
    """The serial range of one receipt (its RECEIVED entry): ranges never overlap, and only
    received serials can become cards."""

    __tablename__ = "blank_batch"

    entry_id: int = Field(primary_key=True, foreign_key="ledger_entry.id")
    prefix: str = Field(max_length=30)
    digits: int
    first_number: int
    last_number: int
    # The receipt was reversed (entered by mistake): its serials are free again.
    voided: bool = False


class UsedBlank(SQLModel, table=True):
    """A blank that became a card or was spoiled; the key makes it happen once."""

    __tablename__ = "used_blank"

    serial: str = Field(primary_key=True, max_length=30)
    job_id: str = Field(max_length=36)
    kind: EntryKind = Field(sa_type=StrEnumType(EntryKind, 16))
    entry_id: int


class BlankRequest(SQLModel, table=True):
    """A request to the ministry for blanks, with the figures it was based on; receipts that
    name it (`LedgerEntry.request_id`) follow it to receipt."""

    __tablename__ = "blank_request"

    id: str = Field(primary_key=True, max_length=32)
    location: str = Field(max_length=20)
    quantity: int
    suggested_quantity: int
    daily_demand: float
    available: int
    print_ready_backlog: int
    sukets_outstanding: int
    reorder_point: int
    lead_time_days: int
    signed_by: str = Field(max_length=100)
    note: str | None = Field(default=None, max_length=500)
    created_by: str = Field(max_length=100)
    created_at: datetime = Field(default_factory=_now, sa_type=UtcDateTime())


class ResidentVillage(SQLModel, table=True):
    """Each resident's own village, from the register's snapshot events: a print job takes it,
    never the village of the session that recorded the resident."""

    __tablename__ = "resident_village"

    nik: str = Field(primary_key=True, max_length=16)
    village_code: str = Field(max_length=13)


class IdempotentRequest(SQLModel, table=True):
    """The answer given to a write sent with an `Idempotency-Key`, replayed to a resend."""

    __tablename__ = "idempotent_request"

    client_id: str = Field(primary_key=True, max_length=100)
    key: str = Field(primary_key=True, max_length=200)
    request_digest: str = Field(max_length=64)
    status_code: int = 0
    response_body: str = ""
    created_at: datetime = Field(default_factory=_now, sa_type=UtcDateTime())
