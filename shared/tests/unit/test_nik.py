"""Tests of NIK parsing, composition, masking and the pydantic Nik type."""

import random
from datetime import date, timedelta

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from jemput.shared.nik import Nik, NikError, NikInfo, Sex, make_nik, mask_nik, parse_nik
from jemput.shared.reference.areas import load_area_table

TODAY = date(2025, 6, 15)
# Kayu Agung (16.02.05), 15 May 1990, serial 0001.
MALE_NIK = "1602051505900001"
# Lempuing (16.02.13), 15 May 1990 (day 15 + 40), serial 0123.
FEMALE_NIK = "1602135505900123"


def _error_of(value: str, today: date = TODAY) -> NikError:
    with pytest.raises(NikError) as caught:
        parse_nik(value, today=today)
    error = caught.value
    # The message goes to logs and API callers: it must never repeat the NIK.
    if len(value) >= 6:
        assert value not in error.message
        assert value not in str(error)
        assert value[6:] not in error.message
    return error


def test_valid_male_nik():
    info = parse_nik(MALE_NIK, today=TODAY)
    assert info == NikInfo(
        nik=MALE_NIK,
        province_code="16",
        regency_code="16.02",
        district_code="16.02.05",
        birth_date=date(1990, 5, 15),
        sex=Sex.MALE,
        serial=1,
    )


def test_valid_female_nik():
    info = parse_nik(FEMALE_NIK, today=TODAY)
    assert info.sex is Sex.FEMALE
    assert info.birth_date == date(1990, 5, 15)
    assert info.district_code == "16.02.13"
    assert info.regency_code == "16.02"
    assert info.province_code == "16"
    assert info.serial == 123


def test_female_day_41_is_the_first():
    info = parse_nik("1602134101000001", today=TODAY)
    assert info.sex is Sex.FEMALE
    assert info.birth_date == date(2000, 1, 1)


def test_female_day_71_is_the_31st():
    info = parse_nik("1602137112990001", today=TODAY)
    assert info.birth_date == date(1999, 12, 31)
    assert info.sex is Sex.FEMALE


def test_sex_values_follow_the_register():
    assert Sex.MALE == "L"
    assert Sex.FEMALE == "P"


def test_info_repr_masks_the_nik():
    text = repr(parse_nik(MALE_NIK, today=TODAY))
    assert MALE_NIK not in text
    assert "150590" not in text


@pytest.mark.parametrize("value", ["160205150590001", "1"])
def test_too_short(value):
    error = _error_of(value)
    assert error.code == "nik_length"
    assert f"(got {len(value)})" in error.message


def test_too_long():
    error = _error_of(MALE_NIK + "1")
    assert error.code == "nik_length"
    assert "exactly 16 digits (got 17)" in error.message


def test_empty_is_a_length_error():
    assert _error_of("").code == "nik_length"


@pytest.mark.parametrize(
    "value",
    [
        "16020515059000A1",  # right length
        "ABC",  # wrong length: the letters are reported, not the length
        "1602 0515059000",
        "16020515059000011x",
        "160205150590000\u0661",  # an Arabic-Indic digit, which str.isdigit() accepts
        "-602051505900001",
    ],
)
def test_not_digits(value):
    assert _error_of(value).code == "nik_not_digits"


def test_unknown_province():
    error = _error_of("9901011505900001")
    assert error.code == "nik_unknown_region"
    assert "99.01.01" in error.message


def test_known_regency_but_unknown_district():
    # 16.02 (Ogan Komering Ilir) exists, 16.02.01 does not.
    error = _error_of("1602011505900001")
    assert error.code == "nik_unknown_region"
    assert "16.02.01" in error.message


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("1602053205900001", "day 32"),
        ("1602050005900001", "day 00"),
        ("1602054005900001", "day 40 (neither a man's nor a woman's day)"),
        ("1602057205900001", "day 72 (woman's day 32)"),
        ("1602059905900001", "day 99"),
        ("1602051513900001", "month 13"),
        ("1602051500900001", "month 00"),
        ("1602053104900001", "31 April"),
        ("1602057104900001", "31 April, woman"),
        ("1602052902230001", "29 Feb 2023/1923, man"),
        ("1602056902230001", "29 Feb 2023/1923, woman"),
    ],
)
def test_invalid_birth_date(value, why):
    assert _error_of(value).code == "nik_invalid_birth_date", why


def test_29_february_in_a_leap_year():
    assert parse_nik("1602052902240001", today=TODAY).birth_date == date(2024, 2, 29)
    assert parse_nik("1602056902960001", today=TODAY).birth_date == date(1996, 2, 29)
    assert parse_nik("1602056902960001", today=TODAY).sex is Sex.FEMALE


def test_29_february_00_depends_on_the_century():
    # 2000 was a leap year, 1900 was not.
    assert parse_nik("1602052902000001", today=TODAY).birth_date == date(2000, 2, 29)
    error = _error_of("1602052902000001", today=date(2000, 2, 28))
    assert error.code == "nik_invalid_birth_date"


def test_serial_zero():
    assert _error_of("1602051505900000").code == "nik_serial_zero"


def test_serial_9999_is_valid():
    assert parse_nik("1602051505909999", today=TODAY).serial == 9999


def test_checks_run_in_order():
    # Unknown region, bad date and zero serial at once: the region is reported.
    assert _error_of("9901013213900000").code == "nik_unknown_region"
    # Bad date and zero serial: the date is reported.
    assert _error_of("1602053213900000").code == "nik_invalid_birth_date"
    # Wrong length and unknown region: the length is reported.
    assert _error_of("990101150590001").code == "nik_length"


def test_century_same_year_later_month_is_last_century():
    # Born "01-07-25" seen on 15 June 2025: 1 July 2025 is in the future, so 1925.
    assert parse_nik("1602050107250001", today=TODAY).birth_date == date(1925, 7, 1)


def test_century_same_year_earlier_month_is_this_century():
    assert parse_nik("1602050106250001", today=TODAY).birth_date == date(2025, 6, 1)


def test_century_born_today_is_this_century():
    assert parse_nik("1602051506250001", today=TODAY).birth_date == date(2025, 6, 15)
    assert parse_nik("1602051606250001", today=TODAY).birth_date == date(1925, 6, 16)


def test_century_later_year_is_last_century():
    assert parse_nik("1602050101260001", today=TODAY).birth_date == date(1926, 1, 1)
    assert parse_nik("1602050101260001", today=date(2026, 1, 1)).birth_date == date(2026, 1, 1)


def test_parse_defaults_to_the_real_today():
    # A two-digit year of 00 is always 2000 now (the default today is after 2000).
    assert parse_nik("1602050101000001").birth_date == date(2000, 1, 1)


def test_parse_uses_the_given_area_table():
    from jemput.shared.reference.areas import AreaTable

    small = AreaTable.from_rows([("16", "S"), ("16.02", "OKI"), ("16.02.01", "Imaginary")])
    assert parse_nik("1602011505900001", today=TODAY, areas=small).district_code == "16.02.01"
    with pytest.raises(NikError) as caught:
        parse_nik(MALE_NIK, today=TODAY, areas=small)
    assert caught.value.code == "nik_unknown_region"


def test_make_nik_male_and_female():
    assert make_nik("16.02.05", date(1990, 5, 15), Sex.MALE, 1) == MALE_NIK
    assert make_nik("16.02.13", date(1990, 5, 15), Sex.FEMALE, 123) == FEMALE_NIK


@pytest.mark.parametrize("serial", [0, -1, 10_000])
def test_make_nik_rejects_serial_out_of_range(serial):
    with pytest.raises(ValueError, match="serial"):
        make_nik("16.02.05", date(1990, 5, 15), Sex.MALE, serial)


@pytest.mark.parametrize("district", ["16.02", "16", "16.02.05.2001", "16.2.05", "160205", ""])
def test_make_nik_rejects_a_non_district_code(district):
    with pytest.raises(ValueError):
        make_nik(district, date(1990, 5, 15), Sex.MALE, 1)


def test_make_and_parse_round_trip():
    rng = random.Random(20250615)
    districts = [area.code for area in load_area_table().districts_of("16.02")]
    # Only dates within the last 100 years survive the two-digit year.
    earliest = date(TODAY.year - 99, 1, 1)
    span_days = (TODAY - earliest).days
    for _ in range(48):
        district = rng.choice(districts)
        birth_date = earliest + timedelta(days=rng.randint(0, span_days))
        sex = rng.choice([Sex.MALE, Sex.FEMALE])
        serial = rng.randint(1, 9999)
        nik = make_nik(district, birth_date, sex, serial)
        assert len(nik) == 16
        assert nik.isdigit()
        info = parse_nik(nik, today=TODAY)
        assert (info.district_code, info.birth_date, info.sex, info.serial) == (
            district,
            birth_date,
            sex,
            serial,
        )


def test_mask_nik_hides_birth_date_and_serial():
    masked = mask_nik(MALE_NIK)
    assert masked == "160205**********"
    assert len(masked) == len(MALE_NIK)
    assert "150590" not in masked
    assert "0001" not in masked
    assert mask_nik(FEMALE_NIK) == "160213**********"


def test_mask_nik_on_odd_input_never_shows_more_than_six_characters():
    assert mask_nik("12345") == "12345"
    assert mask_nik("1602051505") == "160205****"
    assert mask_nik("") == ""


class _Resident(BaseModel):
    nik: Nik


class _PrivateResident(BaseModel):
    # How models holding a NIK should be configured so str(ValidationError) does not echo it.
    model_config = ConfigDict(hide_input_in_errors=True)

    nik: Nik


def test_pydantic_nik_accepts_and_strips():
    assert _Resident(nik=MALE_NIK).nik == MALE_NIK
    assert _Resident(nik=f"  {FEMALE_NIK}\n").nik == FEMALE_NIK


@pytest.mark.parametrize(
    ("value", "error_type"),
    [
        ("160205150590001", "nik_length"),
        (MALE_NIK + "0", "nik_length"),
        ("16020515059000A1", "nik_not_digits"),
        ("9901011505900001", "nik_unknown_region"),
        ("1602011505900001", "nik_unknown_region"),
        ("1602053205900001", "nik_invalid_birth_date"),
        ("1602051505900000", "nik_serial_zero"),
    ],
)
def test_pydantic_nik_error_type(value, error_type):
    with pytest.raises(ValidationError) as caught:
        _Resident(nik=value)
    errors = caught.value.errors()
    assert len(errors) == 1
    assert errors[0]["type"] == error_type
    assert errors[0]["loc"] == ("nik",)
    assert value not in errors[0]["msg"]


def test_pydantic_nik_rejects_non_strings():
    with pytest.raises(ValidationError) as caught:
        _Resident.model_validate({"nik": 1602051505900001})
    assert caught.value.errors()[0]["type"] == "string_type"


def test_pydantic_nik_error_text_can_hide_the_input():
    with pytest.raises(ValidationError) as caught:
        _PrivateResident(nik="1602051505900000")
    assert "1602051505900000" not in str(caught.value)
    assert caught.value.errors()[0]["type"] == "nik_serial_zero"
