"""Working days: weekends, the bundled national holidays and collective leave, office
closures; and the bundled reference tables."""

from __future__ import annotations

from datetime import date

from jemput.outreach.domain.calendar import (
    DateStatus,
    DayOffKind,
    HolidayKind,
    WorkingCalendar,
)
from jemput.outreach.reference import load_holidays, load_travel_times
from jemput.shared.reference.areas import load_area_table


def calendar(**closures: str) -> WorkingCalendar:
    return WorkingCalendar(load_holidays(), {date.fromisoformat(d): r for d, r in closures.items()})


def test_2026_is_the_published_skb_list() -> None:
    holidays = [h for h in load_holidays().values() if h.day.year == 2026]
    kinds = [h.kind for h in holidays]
    # SKB 3 Menteri 2026: 17 national holidays and 8 collective leave days.
    assert kinds.count(HolidayKind.NATIONAL_HOLIDAY) == 17
    assert kinds.count(HolidayKind.COLLECTIVE_LEAVE) == 8
    assert all(h.status is DateStatus.OFFICIAL for h in holidays)


def test_2027_is_listed_but_not_confirmed() -> None:
    holidays = [h for h in load_holidays().values() if h.day.year == 2027]
    assert holidays and all(h.status is not DateStatus.OFFICIAL for h in holidays)
    assert calendar().covers(2027)
    assert not calendar().covers(2028)
    assert calendar().uncovered_years(date(2027, 12, 1), date(2028, 1, 31)) == [2028]


def test_weekends_holidays_collective_leave_and_closures_are_not_working_days() -> None:
    cal = calendar(**{"2026-12-03": "Rapat koordinasi kabupaten"})
    assert cal.is_working_day(date(2026, 12, 1))  # a Tuesday
    saturday = cal.day_off(date(2026, 12, 5))
    assert saturday is not None and saturday.kind is DayOffKind.WEEKEND
    christmas = cal.day_off(date(2026, 12, 25))
    assert christmas is not None and christmas.kind is DayOffKind.NATIONAL_HOLIDAY
    assert "Kelahiran Yesus Kristus" in christmas.describe()
    leave = cal.day_off(date(2026, 12, 24))
    assert leave is not None and leave.kind is DayOffKind.COLLECTIVE_LEAVE
    closed = cal.day_off(date(2026, 12, 3))
    assert closed is not None and closed.kind is DayOffKind.OFFICE_CLOSURE
    assert "Rapat koordinasi" in closed.describe()


def test_working_days_of_a_range() -> None:
    days = calendar().working_days(date(2026, 12, 21), date(2027, 1, 1))
    assert days == [
        date(2026, 12, 21),
        date(2026, 12, 22),
        date(2026, 12, 23),
        # 24 collective leave, 25 Christmas, 26-27 weekend
        date(2026, 12, 28),
        date(2026, 12, 29),
        date(2026, 12, 30),
        date(2026, 12, 31),
        # 1 January: New Year
    ]


def test_estimated_holidays_are_named_for_warnings() -> None:
    estimated = calendar().estimated_holidays(date(2027, 3, 1), date(2027, 3, 31))
    assert date(2027, 3, 10) in {h.day for h in estimated}  # Idul Fitri 1448, an estimate


def test_travel_table_covers_every_oki_district() -> None:
    travel = load_travel_times(None, "16.02")
    districts = {a.code for a in load_area_table().districts_of("16.02")}
    assert set(travel.hours) == districts
    assert len(districts) == 18
    assert travel.to_district("16.02.05") < travel.to_district("16.02.14")
    # Beyond half a day a team stays overnight: travel never costs more than half the day.
    assert travel.recording_share("16.02.14") == 0.5
