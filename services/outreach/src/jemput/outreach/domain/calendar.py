"""Which days a team can go out: not weekends, national holidays, collective leave or days the
office declared closed."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum


class HolidayKind(StrEnum):
    NATIONAL_HOLIDAY = "national_holiday"
    COLLECTIVE_LEAVE = "collective_leave"


class DateStatus(StrEnum):
    OFFICIAL = "official"  # published in the year's SKB 3 Menteri
    FIXED = "fixed"  # fixed by law or computed exactly; the SKB is not out yet
    ESTIMATE = "estimate"  # a lunar date the government has not decided yet


@dataclass(frozen=True, slots=True)
class Holiday:
    day: date
    name: str
    kind: HolidayKind
    status: DateStatus = DateStatus.OFFICIAL


class DayOffKind(StrEnum):
    WEEKEND = "weekend"
    NATIONAL_HOLIDAY = "national_holiday"
    COLLECTIVE_LEAVE = "collective_leave"
    OFFICE_CLOSURE = "office_closure"


@dataclass(frozen=True, slots=True)
class DayOff:
    day: date
    kind: DayOffKind
    name: str

    def describe(self) -> str:
        what = {
            DayOffKind.WEEKEND: "a weekend",
            DayOffKind.NATIONAL_HOLIDAY: "a national holiday",
            DayOffKind.COLLECTIVE_LEAVE: "a collective leave day (cuti bersama)",
            DayOffKind.OFFICE_CLOSURE: "a declared office closure",
        }[self.kind]
        return f"{self.day.isoformat()} is {what}: {self.name}"


SATURDAY = 5


@dataclass(frozen=True, slots=True)
class WorkingCalendar:
    holidays: Mapping[date, Holiday]
    # Days the office declared closed, with the reason.
    closures: Mapping[date, str] = field(default_factory=dict)

    def day_off(self, day: date) -> DayOff | None:
        """Why no team goes out on `day`, or None on a working day. A closure names its own
        reason; a holiday on a weekend is still reported as the holiday."""
        if day in self.closures:
            return DayOff(day, DayOffKind.OFFICE_CLOSURE, self.closures[day])
        holiday = self.holidays.get(day)
        if holiday is not None:
            return DayOff(day, DayOffKind(holiday.kind.value), holiday.name)
        if day.weekday() >= SATURDAY:
            return DayOff(day, DayOffKind.WEEKEND, day.strftime("%A"))
        return None

    def is_working_day(self, day: date) -> bool:
        return self.day_off(day) is None

    def working_days(self, start: date, end: date) -> list[date]:
        return [day for day in _days(start, end) if self.is_working_day(day)]

    def days_off(self, start: date, end: date) -> list[DayOff]:
        return [off for day in _days(start, end) if (off := self.day_off(day)) is not None]

    def covers(self, year: int) -> bool:
        """The holiday table lists this year: without it, a working day cannot be told."""
        return any(day.year == year for day in self.holidays)

    def uncovered_years(self, start: date, end: date) -> list[int]:
        return [year for year in range(start.year, end.year + 1) if not self.covers(year)]

    def estimated_holidays(self, start: date, end: date) -> list[Holiday]:
        """Holidays in the range whose date the government has not confirmed yet."""
        return [
            holiday
            for day, holiday in sorted(self.holidays.items())
            if start <= day <= end and holiday.status is not DateStatus.OFFICIAL
        ]

    def with_closures(self, closures: Mapping[date, str]) -> WorkingCalendar:
        return WorkingCalendar(self.holidays, {**self.closures, **closures})


def _days(start: date, end: date) -> Iterator[date]:
    day = start
    while day <= end:
        yield day
        day += timedelta(days=1)
