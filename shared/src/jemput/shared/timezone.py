"""Dates as the office lives them: South Sumatra is on WIB (UTC+7)."""

from __future__ import annotations

from datetime import date, datetime
from zoneinfo import ZoneInfo

OFFICE_TIMEZONE = "Asia/Jakarta"


def today_in_office() -> date:
    return datetime.now(ZoneInfo(OFFICE_TIMEZONE)).date()
