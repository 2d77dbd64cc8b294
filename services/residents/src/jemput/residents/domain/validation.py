"""Rules for the fields of a resident record, shared by every way a record enters: the API's
request body and the register file's rows refuse the same values with the same codes.

Each rule takes the raw text and the name the caller knows the field by (the API field or the
register column), and returns the stored form or raises `FieldInvalid`.
"""

from __future__ import annotations

from datetime import date

# Codes for values whose type or vocabulary is wrong (each entry path parses its own form).
MISSING = "missing"
TOO_LONG = "too_long"
KK_FORMAT = "kk_format"
INVALID_RT = "invalid_rt"
INVALID_RW = "invalid_rw"
INVALID_DATE = "invalid_date"
INVALID_SEX = "invalid_sex"
INVALID_MARITAL_STATUS = "invalid_marital_status"
INVALID_FLAG = "invalid_flag"
INVALID_STATUS = "invalid_status"
UNKNOWN_VILLAGE = "unknown_village"
# Codes for a recording day that contradicts the rest of the record.
RECORDING_DAY_IN_FUTURE = "recording_day_in_future"
RECORDING_DAY_BEFORE_BIRTH = "recording_day_before_birth"
RECORDING_DAY_NOT_RECORDED = "recording_day_without_recording"

FULL_NAME_MAX = 200
BIRTH_PLACE_MAX = 100
_DIGITS = frozenset("0123456789")


class FieldInvalid(ValueError):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def _words(value: str) -> str:
    return " ".join(value.split())


def kk(value: str, name: str = "kk") -> str:
    value = value.strip()
    if not value:
        raise FieldInvalid(MISSING, f"{name} is required")
    if len(value) != 16 or not _DIGITS.issuperset(value):
        raise FieldInvalid(KK_FORMAT, f"{name} must be exactly 16 digits")
    return value


def full_name(value: str, name: str = "full_name") -> str:
    """Runs of white space become one space; a name of only spaces is no name."""
    value = _words(value)
    if not value:
        raise FieldInvalid(MISSING, f"{name} is required")
    if len(value) > FULL_NAME_MAX:
        raise FieldInvalid(TOO_LONG, f"{name} is longer than {FULL_NAME_MAX} characters")
    return value


def birth_place(value: str | None, name: str = "birth_place") -> str | None:
    value = _words(value or "")
    if len(value) > BIRTH_PLACE_MAX:
        raise FieldInvalid(TOO_LONG, f"{name} is longer than {BIRTH_PLACE_MAX} characters")
    return value or None


def _neighbourhood(value: str | None, name: str, code: str) -> str | None:
    """None when absent, else the register's 3-digit form ('1' → '001')."""
    value = (value or "").strip()
    if not value:
        return None
    if len(value) > 3 or not _DIGITS.issuperset(value):
        raise FieldInvalid(code, f"{name} must be 1 to 3 digits")
    return value.zfill(3)


def rt(value: str | None, name: str = "rt") -> str | None:
    return _neighbourhood(value, name, INVALID_RT)


def rw(value: str | None, name: str = "rw") -> str | None:
    return _neighbourhood(value, name, INVALID_RW)


def recording_day(
    value: date, name: str = "recorded_on", *, birth_date: date, recorded: bool, today: date
) -> date:
    """The day a resident was recorded, given with a status that says they were (`recorded`):
    not after today (the office's day) and not before the birth date."""
    if not recorded:
        raise FieldInvalid(
            RECORDING_DAY_NOT_RECORDED,
            f"{name} is given but the e-KTP status says the resident is not recorded",
        )
    if value > today:
        raise FieldInvalid(RECORDING_DAY_IN_FUTURE, f"{name} is after today ({today})")
    if value < birth_date:
        raise FieldInvalid(RECORDING_DAY_BEFORE_BIRTH, f"{name} is before the birth date")
    return value
