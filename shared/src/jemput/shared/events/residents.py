"""Events the residents service publishes on `jemput.residents.v1`.

PII stays home: NIK, area codes and the attributes consumers need (birth date, sex, marital
state), never names or street addresses.
"""

from __future__ import annotations

from datetime import date
from typing import ClassVar, Literal

from jemput.shared.events.base import EventPayload

Sex = Literal["L", "P"]
MaritalStatus = Literal["BELUM_KAWIN", "KAWIN", "CERAI_HIDUP", "CERAI_MATI"]


class ResidentEvent(EventPayload):
    producer: ClassVar[str] = "residents"
    nik: str

    def partition_key(self) -> str:
        return self.nik


class ResidentRegisteredV1(ResidentEvent):
    event_type: ClassVar[str] = "jemput.residents.resident_registered.v1"

    village_code: str
    birth_date: date
    sex: Sex
    marital_status: MaritalStatus
    ektp_status: str = "BELUM_REKAM"


ALL: tuple[type[EventPayload], ...] = (ResidentRegisteredV1,)
