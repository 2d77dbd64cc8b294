"""The NIK (Nomor Induk Kependudukan), Indonesia's 16-digit personal identity number.

Layout: ``PPRRDD DDMMYY SSSS`` = Kemendagri district code of first registration (province,
regency, district), birth date with 40 added to the day for women, and a serial 0001-9999.
A NIK never changes when its holder moves, so the district says nothing about where they live now.

A NIK is personal data: error messages here never repeat it, and logs should use ``mask_nik``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, WithJsonSchema
from pydantic_core import PydanticCustomError

from jemput.shared.reference.areas import AreaLevel, AreaTable, level_of, load_area_table

__all__ = [
    "FEMALE_DAY_OFFSET",
    "NIK_LENGTH",
    "NIK_PATTERN",
    "Nik",
    "NikError",
    "NikErrorCode",
    "NikInfo",
    "NikText",
    "Sex",
    "make_nik",
    "mask_nik",
    "parse_nik",
]

NIK_LENGTH = 16
# What the OpenAPI documents of every service say of a NIK (the district and the birth date in
# it are checked beyond that: `parse_nik`).
NIK_PATTERN = r"^[0-9]{16}$"
FEMALE_DAY_OFFSET = 40
_REGION_LENGTH = 6
_MAX_SERIAL = 9999
_ASCII_DIGITS = frozenset("0123456789")


class Sex(StrEnum):
    """Sex as the civil register records it (LAKI-LAKI / PEREMPUAN)."""

    MALE = "L"
    FEMALE = "P"


class NikErrorCode(StrEnum):
    LENGTH = "nik_length"
    NOT_DIGITS = "nik_not_digits"
    UNKNOWN_REGION = "nik_unknown_region"
    INVALID_BIRTH_DATE = "nik_invalid_birth_date"
    SERIAL_ZERO = "nik_serial_zero"


class NikError(ValueError):
    """An invalid NIK. ``message`` never contains the NIK, so it is safe to log and return."""

    def __init__(self, code: NikErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class NikInfo:
    nik: str
    province_code: str
    regency_code: str
    district_code: str
    birth_date: date
    sex: Sex
    serial: int

    def __repr__(self) -> str:
        # Keeps the full NIK out of logs and tracebacks that print this object.
        return (
            f"NikInfo(nik={mask_nik(self.nik)!r}, district_code={self.district_code!r}, "
            f"sex={self.sex.value!r})"
        )


def _district_code_of(nik: str) -> str:
    return f"{nik[0:2]}.{nik[2:4]}.{nik[4:6]}"


def _decode_birth_date(day: int, month: int, two_digit_year: int, today: date) -> date:
    """The birth date in 20YY unless that is after ``today`` (or no date), else in 19YY.

    Raises ValueError when it is no date in the chosen century (29 Feb 1900, 31 April).
    """
    try:
        in_this_century: date | None = date(2000 + two_digit_year, month, day)
    except ValueError:
        in_this_century = None
    if in_this_century is not None and in_this_century <= today:
        return in_this_century
    return date(1900 + two_digit_year, month, day)


def parse_nik(value: str, *, today: date | None = None, areas: AreaTable | None = None) -> NikInfo:
    """Check a NIK and decode it; raise NikError naming the first problem found.

    ``today`` decides the century of the two-digit birth year (default: the current date);
    ``areas`` defaults to the bundled Kemendagri table.
    """
    if not _ASCII_DIGITS.issuperset(value):
        raise NikError(NikErrorCode.NOT_DIGITS, "NIK must contain only the digits 0-9")
    if len(value) != NIK_LENGTH:
        raise NikError(
            NikErrorCode.LENGTH, f"NIK must be exactly {NIK_LENGTH} digits (got {len(value)})"
        )

    district_code = _district_code_of(value)
    table = areas if areas is not None else load_area_table()
    district = table.get(district_code)
    if district is None or district.level is not AreaLevel.DISTRICT:
        # A region code is not personal data, so naming it helps the caller without a leak.
        raise NikError(
            NikErrorCode.UNKNOWN_REGION,
            f"district code {district_code} in the NIK is not in the Kemendagri table",
        )

    day_field, month, two_digit_year = int(value[6:8]), int(value[8:10]), int(value[10:12])
    if FEMALE_DAY_OFFSET < day_field <= FEMALE_DAY_OFFSET + 31:
        sex, day = Sex.FEMALE, day_field - FEMALE_DAY_OFFSET
    else:
        sex, day = Sex.MALE, day_field
    if not (1 <= day <= 31 and 1 <= month <= 12):
        raise NikError(NikErrorCode.INVALID_BIRTH_DATE, "the birth date in the NIK is not a date")
    reference_day = today if today is not None else date.today()
    try:
        birth_date = _decode_birth_date(day, month, two_digit_year, reference_day)
    except ValueError:
        raise NikError(
            NikErrorCode.INVALID_BIRTH_DATE, "the birth date in the NIK is not a date"
        ) from None

    serial = int(value[12:16])
    if serial == 0:
        raise NikError(NikErrorCode.SERIAL_ZERO, "the serial number in the NIK must not be 0000")

    return NikInfo(
        nik=value,
        province_code=district_code[:2],
        regency_code=district_code[:5],
        district_code=district_code,
        birth_date=birth_date,
        sex=sex,
        serial=serial,
    )


def make_nik(district_code: str, birth_date: date, sex: Sex, serial: int) -> str:
    """Compose a NIK (for generators and tests); the district's existence is not checked."""
    if level_of(district_code) is not AreaLevel.DISTRICT:
        raise ValueError(f"a NIK needs a district code PP.RR.DD, got {district_code!r}")
    if not 1 <= serial <= _MAX_SERIAL:
        raise ValueError(f"NIK serial must be between 1 and {_MAX_SERIAL}, got {serial}")
    day_field = birth_date.day + (FEMALE_DAY_OFFSET if sex is Sex.FEMALE else 0)
    return (
        f"{district_code.replace('.', '')}"
        f"{day_field:02d}{birth_date.month:02d}{birth_date.year % 100:02d}"
        f"{serial:04d}"
    )


def mask_nik(nik: str) -> str:
    """Keep the region part (not personal on its own) and hide birth date and serial."""
    return nik[:_REGION_LENGTH] + "*" * max(len(nik) - _REGION_LENGTH, 0)


def _validate_nik(value: str) -> str:
    value = value.strip()
    try:
        parse_nik(value)
    except NikError as error:
        raise PydanticCustomError(str(error.code), error.message) from None
    return value


_NIK_SCHEMA = WithJsonSchema({"type": "string", "pattern": NIK_PATTERN})

Nik = Annotated[str, AfterValidator(_validate_nik), _NIK_SCHEMA]
"""A valid NIK as a pydantic field; errors carry ``type`` = the NikError code.

Pydantic still puts the raw input into ``ValidationError`` text and ``errors()[i]["input"]``:
models holding a NIK should set ``ConfigDict(hide_input_in_errors=True)`` before such errors
are logged.
"""

NikText = Annotated[str, _NIK_SCHEMA]
"""A NIK the service answers with (already checked when it came in): documented with the NIK's
pattern, not checked again."""
