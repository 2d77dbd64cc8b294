"""Who must hold an e-KTP ("wajib KTP"): 17 or older, or married or ever married; alive and
domiciled in the regency. Eligibility moves with time, so it is always asked as of a date."""

from __future__ import annotations

from datetime import date, timedelta

ADULT_AGE = 17


def adult_cutoff(as_of: date, age: int = ADULT_AGE) -> date:
    """The latest birth date of someone who is `age` or older on `as_of`.

    Someone born on 29 February has the birthday on 1 March in other years, so on 28 February of
    a non-leap year they are not yet of age.
    """
    try:
        return as_of.replace(year=as_of.year - age)
    except ValueError:  # as_of is 29 February; that year minus `age` has no 29 February
        return date(as_of.year - age, 2, 28)


def birthday(birth_date: date, age: int) -> date:
    """The date someone turns `age` (29 February → 1 March in non-leap years)."""
    try:
        return birth_date.replace(year=birth_date.year + age)
    except ValueError:
        return date(birth_date.year + age, 3, 1)


def is_eligible(
    *, birth_date: date, ever_married: bool, as_of: date, alive: bool = True, domiciled: bool = True
) -> bool:
    if not (alive and domiciled):
        return False
    return ever_married or birth_date <= adult_cutoff(as_of)


def eligible_from(*, birth_date: date, ever_married: bool) -> date:
    """The first day of eligibility by age or marriage status alone."""
    if ever_married:
        return birth_date
    return birthday(birth_date, ADULT_AGE)


def turns_adult_within(birth_date: date, as_of: date, days: int) -> bool:
    """Turns 17 in the next `days` days (the list outreach needs before school drives)."""
    return as_of < birthday(birth_date, ADULT_AGE) <= as_of + timedelta(days=days)
