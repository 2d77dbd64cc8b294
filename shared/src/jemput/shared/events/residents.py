"""Events the residents service publishes on `jemput.residents.v1`, keyed by NIK.

PII stays home: NIK, area codes and the attributes consumers need (birth date, sex, marital
state, vulnerability flags), never names, family card numbers or street addresses.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import ClassVar, Literal

from jemput.shared.events.base import EventPayload

Sex = Literal["L", "P"]
MaritalStatus = Literal["BELUM_KAWIN", "KAWIN", "CERAI_HIDUP", "CERAI_MATI"]


class ResidentEvent(EventPayload):
    producer: ClassVar[str] = "residents"
    nik: str

    def partition_key(self) -> str:
        return self.nik


class ResidentSnapshot(ResidentEvent):
    """What consumers may know of a resident; registered and changed carry all of it."""

    village_code: str
    birth_date: date
    sex: Sex
    marital_status: MaritalStatus
    ektp_status: str = "BELUM_REKAM"
    domicile_status: Literal["RESIDENT", "MOVED_OUT", "DECEASED"] = "RESIDENT"
    disabled: bool = False
    chronically_ill: bool = False
    mental_illness: bool = False
    suket_outstanding: bool = False
    # When the resident was recorded (set from SUDAH_REKAM on, absent before): consumers order
    # the print queue and the recording pace by it. Optional, so v1 events without it still
    # parse.
    recorded_at: datetime | None = None


class ResidentRegisteredV1(ResidentSnapshot):
    event_type: ClassVar[str] = "jemput.residents.resident_registered.v1"


class ResidentChangedV1(ResidentSnapshot):
    """A register correction or update (address within the regency, marital status, flags)."""

    event_type: ClassVar[str] = "jemput.residents.resident_changed.v1"


class ResidentMovedOutV1(ResidentEvent):
    event_type: ClassVar[str] = "jemput.residents.resident_moved_out.v1"
    village_code: str
    moved_on: date


class ResidentDiedV1(ResidentEvent):
    event_type: ClassVar[str] = "jemput.residents.resident_died.v1"
    village_code: str
    died_on: date


class EktpStatusChangedV1(ResidentEvent):
    """Every change of a resident's e-KTP status, and only a change: `from_status` is never
    `to_status` (what partner notifications are made from). `suket_outstanding` is the flag at
    the moment; a change of the flag alone is `SuketStatusChangedV1`."""

    event_type: ClassVar[str] = "jemput.residents.ektp_status_changed.v1"
    village_code: str
    from_status: str | None
    to_status: str
    suket_outstanding: bool
    changed_at: datetime


class SuketStatusChangedV1(ResidentEvent):
    """The resident's SUKET flag changed: a SUKET was issued (true), or the card was handed
    over or the SUKET revoked (false). `ektp_status` is the status at the moment (unchanged by
    this event)."""

    event_type: ClassVar[str] = "jemput.residents.suket_status_changed.v1"
    village_code: str
    suket_outstanding: bool
    changed_at: datetime
    ektp_status: str | None = None


class PrintReadyV1(ResidentEvent):
    """The national system cleared the recording: the card may be printed."""

    event_type: ClassVar[str] = "jemput.residents.print_ready.v1"
    village_code: str  # the resident's own village (a print job's village)
    decided_at: datetime
    # The resident's recording (a job this result starts takes its place in the queue by it).
    recorded_at: datetime | None = None


class DuplicateFlaggedV1(ResidentEvent):
    """The national de-duplication found a match: re-record or adjudicate."""

    event_type: ClassVar[str] = "jemput.residents.duplicate_flagged.v1"
    village_code: str
    decided_at: datetime


ALL: tuple[type[EventPayload], ...] = (
    ResidentRegisteredV1,
    ResidentChangedV1,
    ResidentMovedOutV1,
    ResidentDiedV1,
    EktpStatusChangedV1,
    SuketStatusChangedV1,
    PrintReadyV1,
    DuplicateFlaggedV1,
)
