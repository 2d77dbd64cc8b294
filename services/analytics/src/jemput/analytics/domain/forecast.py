"""Will the area reach its target, and when? Pure arithmetic on counts and days.

- needed = ⌈share x eligible on the due day⌉: the denominator is taken on the due day, so the
  residents who turn 17 before it are in it already.
- lacking = needed - recorded today (never below 0).
- pace over the last n days = recordings in the n days up to and including today ÷ n (per
  calendar day: weekends and holidays are part of the pace).
- pace needed = lacking ÷ days left, days left = due - today (today's work is in `recorded`).
- reached on = today + ⌈lacking ÷ pace⌉ days at a pace; never (None) at a pace of 0; today when
  nothing is lacking.
- at risk: something is lacking and, at the pace of the last 14 days, it is reached after the
  due day (or never).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta
from fractions import Fraction

SHORT_WINDOW = 14
LONG_WINDOW = 30


@dataclass(frozen=True, slots=True)
class Target:
    share: float
    due: date


@dataclass(frozen=True, slots=True)
class Counts:
    """What the forecast needs of an area, as of `today`."""

    today: date
    eligible: int  # as of today
    eligible_at_due: int  # as of the target's due day
    recorded: int
    recorded_last_short: int  # in the SHORT_WINDOW days up to and including today
    recorded_last_long: int  # in the LONG_WINDOW days up to and including today


@dataclass(frozen=True, slots=True)
class Forecast:
    needed: int
    lacking: int
    days_left: int
    pace_needed: float | None  # None: the due day has come and something is still lacking
    pace_short: float
    pace_long: float
    reached_on_short: date | None
    reached_on_long: date | None
    at_risk: bool


def recordings_needed(share: float, eligible: int) -> int:
    # Exact arithmetic: 0.95 x 1000 must need 950, not 951 through a rounding error.
    return math.ceil(Fraction(str(share)) * eligible)


def pace(recordings: int, days: int) -> float:
    return recordings / days


def pace_needed(lacking: int, today: date, due: date) -> float | None:
    if lacking == 0:
        return 0.0
    days_left = (due - today).days
    return lacking / days_left if days_left > 0 else None


def reached_on(lacking: int, recordings: int, days: int, today: date) -> date | None:
    """At the pace of `recordings` in `days` (in whole numbers, so no rounding error)."""
    if lacking == 0:
        return today
    if recordings <= 0:
        return None
    return today + timedelta(days=math.ceil(Fraction(lacking * days, recordings)))


def forecast(counts: Counts, target: Target) -> Forecast:
    needed = recordings_needed(target.share, counts.eligible_at_due)
    lacking = max(0, needed - counts.recorded)
    short = pace(counts.recorded_last_short, SHORT_WINDOW)
    long = pace(counts.recorded_last_long, LONG_WINDOW)
    on_short = reached_on(lacking, counts.recorded_last_short, SHORT_WINDOW, counts.today)
    return Forecast(
        needed=needed,
        lacking=lacking,
        days_left=max(0, (target.due - counts.today).days),
        pace_needed=pace_needed(lacking, counts.today, target.due),
        pace_short=short,
        pace_long=long,
        reached_on_short=on_short,
        reached_on_long=reached_on(lacking, counts.recorded_last_long, LONG_WINDOW, counts.today),
        at_risk=lacking > 0 and (on_short is None or on_short > target.due),
    )
