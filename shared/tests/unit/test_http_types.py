"""Dates and times are ISO 8601 text: numbers are not read as Unix timestamps."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from pydantic import TypeAdapter, ValidationError

from jemput.shared.http.types import IsoAwareDatetime, IsoDate


@pytest.mark.parametrize("value", [0, 0.5, "0", "20261128", "28-11-2026", True, None])
def test_dates_are_iso_text_only(value: object) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(IsoDate).validate_python(value)


def test_an_iso_date_is_read() -> None:
    assert TypeAdapter(IsoDate).validate_python("2026-11-28") == date(2026, 11, 28)
    assert TypeAdapter(IsoDate).validate_python(date(2026, 11, 28)) == date(2026, 11, 28)


@pytest.mark.parametrize(
    "value", [0, 1764288000, "1764288000", "2026-11-28T10:00:00", "2026-11-28"]
)
def test_times_are_iso_text_with_a_zone_only(value: object) -> None:
    with pytest.raises(ValidationError):
        TypeAdapter(IsoAwareDatetime).validate_python(value)


def test_an_iso_time_with_a_zone_is_read() -> None:
    read = TypeAdapter(IsoAwareDatetime).validate_python("2026-11-28T17:00:00+07:00")
    assert read == datetime(2026, 11, 28, 10, 0, tzinfo=UTC)
