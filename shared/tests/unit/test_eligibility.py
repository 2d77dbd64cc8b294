from __future__ import annotations

from datetime import date

from jemput.shared.eligibility import adult_cutoff, eligible_from, is_eligible, turns_adult_within


def test_eligible_on_the_17th_birthday_not_the_day_before() -> None:
    born = date(2009, 11, 28)
    assert not is_eligible(birth_date=born, ever_married=False, as_of=date(2026, 11, 27))
    assert is_eligible(birth_date=born, ever_married=False, as_of=date(2026, 11, 28))
    assert eligible_from(birth_date=born, ever_married=False) == date(2026, 11, 28)


def test_married_or_ever_married_is_eligible_at_any_age() -> None:
    assert is_eligible(birth_date=date(2010, 1, 1), ever_married=True, as_of=date(2026, 1, 1))


def test_dead_or_moved_out_is_never_eligible() -> None:
    old = date(1950, 1, 1)
    assert not is_eligible(birth_date=old, ever_married=True, as_of=date(2026, 1, 1), alive=False)
    assert not is_eligible(
        birth_date=old, ever_married=True, as_of=date(2026, 1, 1), domiciled=False
    )


def test_born_on_29_february() -> None:
    born = date(2008, 2, 29)
    assert not is_eligible(birth_date=born, ever_married=False, as_of=date(2025, 2, 28))
    assert is_eligible(birth_date=born, ever_married=False, as_of=date(2025, 3, 1))
    assert adult_cutoff(date(2024, 2, 29)) == date(2007, 2, 28)


def test_turns_adult_within_days() -> None:
    born = date(2009, 12, 10)
    assert turns_adult_within(born, date(2026, 11, 28), 30)
    assert not turns_adult_within(born, date(2026, 11, 28), 7)
    assert not turns_adult_within(born, date(2026, 12, 10), 30)  # already 17 that day
