"""Dates and times are ISO 8601 text: numbers are not read as Unix timestamps. A date's bounds
are in its JSON schema (as a pattern on the year), and counts are integers as JSON Schema means
them: 5.0 is 5, "5" and true are not numbers."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any

import pytest
from fastapi import FastAPI, Query
from pydantic import BaseModel, Field, TypeAdapter, ValidationError

from jemput.shared.http.openapi import document_problems
from jemput.shared.http.types import EARLIEST, LATEST, IsoAwareDatetime, IsoDate, WholeNumber


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


class Dated(BaseModel):
    day: IsoDate = Field(ge=EARLIEST, le=LATEST)
    count: WholeNumber = Field(ge=0)
    days: WholeNumber | None = Field(default=None, ge=1, le=60)


@pytest.mark.parametrize(("value", "read"), [(5, 5), (5.0, 5), (0, 0)])
def test_whole_numbers_are_integers_as_json_schema_means_them(value: Any, read: int) -> None:
    assert Dated(day=date(2026, 1, 1), count=value).count == read


@pytest.mark.parametrize("value", ["5", True, 5.5, None])
def test_text_booleans_and_fractions_are_not_whole_numbers(value: Any) -> None:
    with pytest.raises(ValidationError):
        Dated(day=date(2026, 1, 1), count=value)


def test_a_dates_bounds_are_in_its_schema_as_in_a_query() -> None:
    app = FastAPI()
    document_problems(app)

    @app.post("/days")
    async def days(
        body: Dated, as_of: Annotated[IsoDate | None, Query(ge=EARLIEST, le=LATEST)] = None
    ) -> None:
        return None

    schema: dict[str, Any] = app.openapi()
    field = schema["components"]["schemas"]["Dated"]["properties"]["day"]
    (parameter,) = schema["paths"]["/days"]["post"]["parameters"]
    query = parameter["schema"]["anyOf"][0]
    span = schema["components"]["schemas"]["Dated"]["properties"]["days"]["anyOf"][0]
    assert (span["minimum"], span["maximum"]) == (1, 60)  # JSON Schema's words, not pydantic's
    assert not {"ge", "le"} & set(span)
    for documented in (field, query):
        assert documented["pattern"] == "^(20|21)[0-9]{2}-"
        assert "ge" not in documented and "le" not in documented
        assert re.search(documented["pattern"], "2199-12-31")
        assert not re.search(documented["pattern"], "1999-12-31")
