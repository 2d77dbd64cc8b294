"""Input types that accept what the API documents and nothing else.

Pydantic's lax mode reads a number as a Unix timestamp for dates and times (`as_of=0` would
mean 1 January 1970); the API takes ISO 8601 text only."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BeforeValidator

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


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
IsoAwareDatetime = Annotated[AwareDatetime, BeforeValidator(_iso_datetime)]
