"""Read the bundled holiday table and a travel-time table (bundled or the office's own).

Both are small files read once when the app is built, never at import."""

from __future__ import annotations

import csv
import io
from datetime import date
from importlib import resources
from pathlib import Path

from jemput.outreach.domain.calendar import DateStatus, Holiday, HolidayKind
from jemput.outreach.domain.travel import TravelTimes
from jemput.shared.reference.areas import AreaLevel, load_area_table

_PACKAGE = "jemput.outreach.reference"
HOLIDAYS_FILE = "holidays.csv"
TRAVEL_TIMES_FILE = "travel_times.csv"


class ReferenceDataError(ValueError):
    """A reference file is malformed; the message names the file and line."""


def load_holidays() -> dict[date, Holiday]:
    text = resources.files(_PACKAGE).joinpath(HOLIDAYS_FILE).read_text(encoding="utf-8")
    holidays: dict[date, Holiday] = {}
    for line, row in _rows(text, HOLIDAYS_FILE, ["date", "name", "kind", "status"]):
        try:
            holiday = Holiday(
                day=date.fromisoformat(row["date"]),
                name=row["name"].strip(),
                kind=HolidayKind(row["kind"]),
                status=DateStatus(row["status"]),
            )
        except ValueError as exc:
            raise ReferenceDataError(f"{HOLIDAYS_FILE} line {line}: {exc}") from None
        if holiday.day in holidays:
            raise ReferenceDataError(f"{HOLIDAYS_FILE} line {line}: {holiday.day} listed twice")
        holidays[holiday.day] = holiday
    return holidays


def load_travel_times(path: Path | None, regency_code: str) -> TravelTimes:
    """The office's file if given, else the bundled OKI estimate. Every district must be a
    district of the regency."""
    if path is None:
        name = TRAVEL_TIMES_FILE
        text = resources.files(_PACKAGE).joinpath(TRAVEL_TIMES_FILE).read_text(encoding="utf-8")
    else:
        name = str(path)
        text = path.read_text(encoding="utf-8")
    areas = load_area_table()
    hours: dict[str, float] = {}
    for line, row in _rows(text, name, ["district_code", "hours"]):
        code = row["district_code"].strip()
        area = areas.get(code)
        if area is None or area.level is not AreaLevel.DISTRICT:
            raise ReferenceDataError(f"{name} line {line}: {code!r} is not a district code")
        if not code.startswith(regency_code + "."):
            raise ReferenceDataError(f"{name} line {line}: {code} is outside {regency_code}")
        try:
            value = float(row["hours"])
        except ValueError:
            raise ReferenceDataError(f"{name} line {line}: hours is not a number") from None
        if not 0 <= value <= 48:
            raise ReferenceDataError(f"{name} line {line}: hours must be between 0 and 48")
        hours[code] = value
    if not hours:
        raise ReferenceDataError(f"{name}: no districts")
    return TravelTimes(hours)


def _rows(text: str, name: str, required: list[str]) -> list[tuple[int, dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text))
    missing = [column for column in required if column not in (reader.fieldnames or [])]
    if missing:
        raise ReferenceDataError(f"{name}: missing column(s) {', '.join(missing)}")
    return [(index + 2, row) for index, row in enumerate(reader)]
