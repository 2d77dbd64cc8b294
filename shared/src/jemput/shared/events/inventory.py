"""Events the inventory service publishes on `jemput.inventory.v1` about a resident's card."""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar

from jemput.shared.events.base import EventPayload


class CardEvent(EventPayload):
    producer: ClassVar[str] = "inventory"
    nik: str

    def partition_key(self) -> str:
        return self.nik


class CardPrintedV1(CardEvent):
    event_type: ClassVar[str] = "jemput.inventory.card_printed.v1"
    job_id: str
    blank_serial: str | None = None
    location: str = "office"
    printed_at: datetime
    # The job held a SUKET when printed: the resident's demand for a blank was counted on the
    # day of the SUKET, so demand figures leave this print out. Absent in events published
    # before the field existed.
    suket_holder: bool | None = None


class CardSpoiledV1(CardEvent):
    """A print failed: the blank is lost and the job waits for another print."""

    event_type: ClassVar[str] = "jemput.inventory.card_spoiled.v1"
    job_id: str
    blank_serial: str
    location: str = "office"
    spoiled_at: datetime


class CardIssuedV1(CardEvent):
    """The printed card was handed to the resident (clears an outstanding SUKET)."""

    event_type: ClassVar[str] = "jemput.inventory.card_issued.v1"
    job_id: str
    issued_at: datetime


class SuketIssuedV1(CardEvent):
    """No blank was available: the resident got a temporary certificate (SUKET)."""

    event_type: ClassVar[str] = "jemput.inventory.suket_issued.v1"
    suket_number: str
    issued_at: datetime  # the recording's moment: the SUKET's date and validity start there
    valid_until: date
    # Where the resident's demand for a blank is counted (the print queue's location); the
    # envelope's time is the moment it was counted.
    location: str = "office"


class SuketRevokedV1(CardEvent):
    """The SUKET no longer stands: its holder was flagged a duplicate by the national
    de-duplication (not cleared as one identity), and the print job was dropped."""

    event_type: ClassVar[str] = "jemput.inventory.suket_revoked.v1"
    suket_number: str
    revoked_at: datetime
    reason: str = "duplicate"


class StockEvent(EventPayload):
    """Events about the blank stock of one location, keyed by the location."""

    producer: ClassVar[str] = "inventory"
    location: str

    def partition_key(self) -> str:
        return self.location


class StockLowV1(StockEvent):
    """Available blanks fell below the threshold (published once per crossing)."""

    event_type: ClassVar[str] = "jemput.inventory.stock_low.v1"
    available: int
    threshold: int
    at: datetime


class StockChangedV1(StockEvent):
    """The stock after a ledger entry (for read models: on hand, reserved, available)."""

    event_type: ClassVar[str] = "jemput.inventory.stock_changed.v1"
    entry_kind: str
    quantity: int
    on_hand: int
    reserved: int
    at: datetime


class BlanksRequestedV1(StockEvent):
    """The office asked the ministry for blanks (`location`: where they are to be delivered)."""

    event_type: ClassVar[str] = "jemput.inventory.blanks_requested.v1"
    request_id: str
    quantity: int
    suggested_quantity: int
    daily_demand: float
    available: int
    requested_at: datetime


ALL: tuple[type[EventPayload], ...] = (
    CardPrintedV1,
    CardSpoiledV1,
    CardIssuedV1,
    SuketIssuedV1,
    SuketRevokedV1,
    StockLowV1,
    StockChangedV1,
    BlanksRequestedV1,
)
