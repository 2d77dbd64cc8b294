"""The e-KTP lifecycle without a database: every transition a request may or may not ask for,
and the status the facts lead to whatever order they arrive in."""

from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta

import pytest

from jemput.residents.domain.model import EktpStatus, age_on, is_elderly
from jemput.residents.domain.status import ALLOWED, Milestones, TransitionRefused, check_transition
from jemput.shared.eligibility import adult_cutoff, turns_adult_within

S = EktpStatus
PAIRS = list(itertools.product(S, S))


def test_every_status_has_its_allowed_transitions() -> None:
    assert set(ALLOWED) == set(S)


@pytest.mark.parametrize(
    ("current", "wanted"),
    [p for p in PAIRS if p[1] in ALLOWED[p[0]]],
    ids=lambda s: str(s),
)
def test_allowed_transition_passes(current: EktpStatus, wanted: EktpStatus) -> None:
    check_transition(current, wanted)


@pytest.mark.parametrize(
    ("current", "wanted"),
    [p for p in PAIRS if p[1] not in ALLOWED[p[0]]],
    ids=lambda s: str(s),
)
def test_other_transition_is_refused(current: EktpStatus, wanted: EktpStatus) -> None:
    with pytest.raises(TransitionRefused) as refused:
        check_transition(current, wanted)
    assert (refused.value.current, refused.value.wanted) == (current, wanted)
    assert str(current) in str(refused.value) and str(wanted) in str(refused.value)


def test_the_refusals_the_office_relies_on() -> None:
    # A print-ready result for someone never recorded, a print before clearance, going back.
    for current, wanted in [
        (S.BELUM_REKAM, S.PRINT_READY_RECORD),
        (S.BELUM_WAJIB, S.DUPLICATE),
        (S.SUDAH_REKAM, S.CARD_PRINTED),
        (S.DUPLICATE, S.CARD_PRINTED),
        (S.PRINT_READY_RECORD, S.DUPLICATE),
        (S.CARD_PRINTED, S.SUDAH_REKAM),
        (S.CARD_ISSUED, S.BELUM_REKAM),
    ]:
        with pytest.raises(TransitionRefused):
            check_transition(current, wanted)


ADULT = date(1990, 5, 17)
T0 = datetime(2026, 1, 10, 8, 0, tzinfo=UTC)


def at(hours: int) -> datetime:
    return T0 + timedelta(hours=hours)


def final_status(facts: list[tuple[EktpStatus, datetime]], *, birth_date: date = ADULT) -> S:
    milestones = Milestones()
    for status, moment in facts:
        milestones = milestones.with_fact(status, moment)
    return milestones.status(birth_date=birth_date, ever_married=False, as_of=date(2026, 2, 1))


OUT_OF_ORDER = [
    # printed, recorded and print-ready, in every order → printed
    (
        [(S.CARD_PRINTED, at(3)), (S.SUDAH_REKAM, at(1)), (S.PRINT_READY_RECORD, at(2))],
        S.CARD_PRINTED,
    ),
    # issued before printed → issued
    ([(S.CARD_ISSUED, at(4)), (S.CARD_PRINTED, at(3))], S.CARD_ISSUED),
    # flagged duplicate, then re-recorded → recorded (waiting for de-duplication again)
    ([(S.SUDAH_REKAM, at(1)), (S.DUPLICATE, at(2)), (S.SUDAH_REKAM, at(3))], S.SUDAH_REKAM),
    # flagged duplicate, then adjudicated as the same person → print-ready
    (
        [(S.SUDAH_REKAM, at(1)), (S.DUPLICATE, at(2)), (S.PRINT_READY_RECORD, at(3))],
        S.PRINT_READY_RECORD,
    ),
    # recorded, flagged duplicate (no re-recording yet) → duplicate
    ([(S.SUDAH_REKAM, at(1)), (S.DUPLICATE, at(2))], S.DUPLICATE),
    # the whole way
    (
        [
            (S.SUDAH_REKAM, at(1)),
            (S.PRINT_READY_RECORD, at(2)),
            (S.CARD_PRINTED, at(3)),
            (S.CARD_ISSUED, at(4)),
        ],
        S.CARD_ISSUED,
    ),
]


@pytest.mark.parametrize(("facts", "expected"), OUT_OF_ORDER)
def test_facts_in_any_order_end_in_the_same_status(
    facts: list[tuple[EktpStatus, datetime]], expected: EktpStatus
) -> None:
    for order in itertools.permutations(facts):
        assert final_status(list(order)) == expected, order


def test_a_repeated_fact_changes_nothing() -> None:
    facts = [(S.SUDAH_REKAM, at(1)), (S.PRINT_READY_RECORD, at(2))]
    assert final_status(facts + facts) == S.PRINT_READY_RECORD


def test_without_milestones_eligibility_decides_on_the_17th_birthday() -> None:
    born = date(2009, 3, 15)
    nothing = Milestones()
    day_before = nothing.status(birth_date=born, ever_married=False, as_of=date(2026, 3, 14))
    birthday_17 = nothing.status(birth_date=born, ever_married=False, as_of=date(2026, 3, 15))
    married = nothing.status(birth_date=born, ever_married=True, as_of=date(2026, 3, 14))
    assert (day_before, birthday_17, married) == (S.BELUM_WAJIB, S.BELUM_REKAM, S.BELUM_REKAM)


# The search turns age conditions into birth-date ranges; they must agree with the age rules,
# 29 February included.
BIRTH_DATES = [date(2008, 2, 20) + timedelta(days=d) for d in range(20)] + [
    date(2007, 2, 27) + timedelta(days=d) for d in range(4)
]
AS_OF_DATES = [
    date(year, month, day)
    for year in (2024, 2025, 2026)
    for month, day in ((2, 27), (2, 28), (2, 29), (3, 1), (3, 2))
    if not (month == 2 and day == 29 and year != 2024)
]


def test_birth_date_ranges_agree_with_ages() -> None:
    for born, as_of in itertools.product(BIRTH_DATES, AS_OF_DATES):
        assert (born <= adult_cutoff(as_of)) == (age_on(born, as_of) >= 17), (born, as_of)
        for days in (1, 3, 30):
            in_range = adult_cutoff(as_of) < born <= adult_cutoff(as_of + timedelta(days=days))
            assert in_range == turns_adult_within(born, as_of, days), (born, as_of, days)
    elderly_born = [date(1964, 2, 20) + timedelta(days=d) for d in range(20)] + [
        date(1965, 2, 27) + timedelta(days=d) for d in range(4)
    ]
    for born, as_of in itertools.product(elderly_born, AS_OF_DATES):
        assert (born <= adult_cutoff(as_of, 60)) == is_elderly(born, as_of), (born, as_of)
