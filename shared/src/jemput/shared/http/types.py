"""Input types that accept what the API documents and nothing else.

Pydantic's lax mode reads a number as a Unix timestamp for dates and times (`as_of=0` would
mean 1 January 1970); the API takes ISO 8601 text only."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator, GetJsonSchemaHandler
from pydantic.json_schema import JsonSchemaValue
from pydantic_core import CoreSchema, PydanticCustomError

# Dates outside these are typing mistakes; refusing them keeps date arithmetic in range.
EARLIEST = date(2000, 1, 1)
LATEST = date(2199, 12, 31)

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}")


def _iso_date(value: Any) -> Any:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.match(value):
        return value
    raise ValueError("expected a date as YYYY-MM-DD")


def _iso_datetime(value: Any) -> Any:
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATETIME.match(value):
        return value
    raise ValueError("expected a date and time in ISO 8601 with a time zone")


def year_range_pattern(earliest: date, latest: date) -> str | None:
    """The years from `earliest` to `latest` as a pattern of ISO dates and times, when they are
    whole centuries (1 January to 31 December, as EARLIEST and LATEST are): JSON Schema has no
    bounds for dates, so the document states them this way."""
    whole = (earliest.month, earliest.day, latest.month, latest.day) == (1, 1, 12, 31)
    if not whole or earliest.year % 100 or latest.year % 100 != 99:
        return None
    centuries = "|".join(f"{c:02d}" for c in range(earliest.year // 100, latest.year // 100 + 1))
    return f"^({centuries})[0-9]{{2}}-"


class _DocumentedBounds:
    """Puts a date field's `ge`/`le` into its JSON schema (as `year_range_pattern`)."""

    @classmethod
    def __get_pydantic_json_schema__(
        cls, schema: CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        found = handler(schema)
        inner: Any = schema.get("schema", schema)
        earliest, latest = inner.get("ge"), inner.get("le")
        if isinstance(earliest, date) and isinstance(latest, date):
            pattern = year_range_pattern(earliest, latest)
            if pattern is not None:
                found = {**found, "pattern": pattern}
        return found


IsoDate = Annotated[date, BeforeValidator(_iso_date), _DocumentedBounds]


def _whole_number(value: Any) -> Any:
    # JSON Schema's integer is any number without a fraction (5.0 too); text and booleans are
    # not numbers.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise PydanticCustomError("int_type", "Input should be a valid integer")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


WholeNumber = Annotated[int, BeforeValidator(_whole_number)]
"""An integer as JSON Schema means it: 5 and 5.0, never "5", true or 5.5."""
IsoAwareDatetime = Annotated[AwareDatetime, BeforeValidator(_iso_datetime)]
