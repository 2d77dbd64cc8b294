"""The forecast against hand calculations written out here."""

from __future__ import annotations

from datetime import date

import pytest

from jemput.analytics.domain.forecast import Counts, Target, forecast, recordings_needed

TODAY = date(2026, 11, 28)
YEAR_END = Target(share=0.95, due=date(2026, 12, 31))


def test_on_track_by_hand() -> None:
    # 1,010 eligible on 31 December (ten turn 17 in December): 0.95 x 1,010 = 959.5 → 960.
    # 960 - 900 recorded = 60 lacking. 28 Nov → 31 Dec is 2 + 31 = 33 days: 60 / 33 = 1.818…/day.
    # Last 14 days: 84 recordings = 6/day → ⌈60 / 6⌉ = 10 days → 8 December.
    # Last 30 days: 150 recordings = 5/day → ⌈60 / 5⌉ = 12 days → 10 December.
    got = forecast(Counts(TODAY, 1000, 1010, 900, 84, 150), YEAR_END)
    assert got.needed == 960
    assert got.lacking == 60
    assert got.days_left == 33
    assert got.pace_needed == pytest.approx(60 / 33)
    assert (got.pace_short, got.pace_long) == (6.0, 5.0)
    assert got.reached_on_short == date(2026, 12, 8)
    assert got.reached_on_long == date(2026, 12, 10)
    assert got.at_risk is False


def test_behind_by_hand() -> None:
    # 0.95 x 2,000 = 1,900 needed, 1,500 recorded: 400 lacking; 400 / 33 = 12.12…/day needed.
    # 14 days: 70 = 5/day → 80 days: 28 Nov + 2 (30 Nov) + 31 (31 Dec) + 31 (31 Jan) + 16
    # → 16 February 2027.
    # 30 days: 90 = 3/day → ⌈400 / 3⌉ = 134 days: … + 28 (28 Feb, 92) + 31 (31 Mar, 123) + 11
    # → 11 April 2027.
    got = forecast(Counts(TODAY, 2000, 2000, 1500, 70, 90), YEAR_END)
    assert (got.needed, got.lacking) == (1900, 400)
    assert got.pace_needed == pytest.approx(12.1212, abs=1e-4)
    assert got.reached_on_short == date(2027, 2, 16)
    assert got.reached_on_long == date(2027, 4, 11)
    assert got.at_risk is True


def test_no_recent_recordings_never_reaches_it() -> None:
    got = forecast(Counts(TODAY, 100, 100, 10, 0, 3), YEAR_END)
    assert got.reached_on_short is None
    # 95 - 10 = 85 lacking at 3 / 30 = 0.1/day: 850 days. 28 Nov 2026 + 365 = 28 Nov 2027,
    # + 366 (29 Feb 2028) = 28 Nov 2028 (731), + 33 = 31 Dec (764), + 31 = 31 Jan 2029 (795),
    # + 28 = 28 Feb (823), + 27 → 27 March 2029.
    assert got.reached_on_long == date(2029, 3, 27)
    assert got.at_risk is True


def test_reached_already() -> None:
    got = forecast(Counts(TODAY, 100, 100, 96, 0, 0), YEAR_END)
    assert (got.lacking, got.pace_needed, got.reached_on_short, got.at_risk) == (
        0,
        0.0,
        TODAY,
        False,
    )


def test_after_the_due_day_no_pace_can_make_it() -> None:
    got = forecast(Counts(date(2027, 1, 5), 100, 100, 90, 14, 30), YEAR_END)
    assert got.lacking == 5
    assert got.days_left == 0
    assert got.pace_needed is None
    assert got.at_risk is True


def test_needed_is_exact() -> None:
    assert recordings_needed(0.95, 1000) == 950  # not 951 through floating point
    assert recordings_needed(0.95, 1) == 1
    assert recordings_needed(0.95, 0) == 0
