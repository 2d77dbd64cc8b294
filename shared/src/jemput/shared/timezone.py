"""Dates as the office lives them: South Sumatra is on WIB (UTC+7)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

OFFICE_TIMEZONE = "Asia/Jakarta"
_OFFICE_ZONE = ZoneInfo(OFFICE_TIMEZONE)


def today_in_office() -> date:
    return datetime.now(_OFFICE_ZONE).date()


def office_day(moment: datetime) -> date:
    """The date at the office (WIB) of an aware timestamp."""
    return moment.astimezone(_OFFICE_ZONE).date()


def office_day_start(day: date) -> datetime:
    """The first instant (in UTC) of a day at the office: a day known without its time."""
    return datetime.combine(day, time(), _OFFICE_ZONE).astimezone(UTC)
