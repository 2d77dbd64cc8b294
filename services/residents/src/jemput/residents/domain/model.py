"""The resident as the register knows them; rules that need no framework."""

from __future__ import annotations

from datetime import date
from enum import StrEnum

ELDERLY_AGE = 60


class MaritalStatus(StrEnum):
    BELUM_KAWIN = "BELUM_KAWIN"
    KAWIN = "KAWIN"
    CERAI_HIDUP = "CERAI_HIDUP"
    CERAI_MATI = "CERAI_MATI"

    @property
    def ever_married(self) -> bool:
        return self is not MaritalStatus.BELUM_KAWIN


class EktpStatus(StrEnum):
    """The e-KTP status vocabulary of Indonesian village systems, in lifecycle order."""

    BELUM_WAJIB = "BELUM_WAJIB"
    BELUM_REKAM = "BELUM_REKAM"
    SUDAH_REKAM = "SUDAH_REKAM"
    PRINT_READY_RECORD = "PRINT_READY_RECORD"
    CARD_PRINTED = "CARD_PRINTED"
    CARD_ISSUED = "CARD_ISSUED"
    DUPLICATE = "DUPLICATE"


class DomicileStatus(StrEnum):
    RESIDENT = "RESIDENT"
    MOVED_OUT = "MOVED_OUT"
    DECEASED = "DECEASED"


def age_on(birth_date: date, day: date) -> int:
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def is_elderly(birth_date: date, day: date) -> bool:
    return age_on(birth_date, day) >= ELDERLY_AGE
