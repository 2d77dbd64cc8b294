"""The planner against its rules, and against a naive round-robin on the synthetic OKI
register (327 villages, 10 teams, 20 working days)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest

from jemput.outreach.domain.calendar import WorkingCalendar
from jemput.outreach.domain.model import SessionKind
from jemput.outreach.domain.planner import (
    HomeVisitDemand,
    PlannerRules,
    ScheduledSession,
    TeamDays,
    VillageDemand,
    plan,
    round_robin,
)
from jemput.outreach.domain.travel import TravelTimes
from jemput.outreach.reference import load_holidays, load_travel_times
from jemput.shared.eligibility import eligible_from

NEAR = "16.02.05.1001"  # Kayu Agung, where the office is
NEAR_2 = "16.02.05.1002"
FAR = "16.02.14.2001"  # Air Sugihan, a day's trip by road and boat
TRAVEL = TravelTimes({"16.02.05": 0.25, "16.02.14": 5.0})
RULES = PlannerRules(per_kit_daily_rate=80, turnout=0.6, home_visits_per_day=3, travel=TRAVEL)
DAYS = [date(2026, 12, 1), date(2026, 12, 2), date(2026, 12, 3)]


def team(team_id: str, kits: int, busy: tuple[date, ...] = ()) -> TeamDays:
    serials = tuple(f"{team_id}-K{i}" for i in range(kits))
    return TeamDays(team_id, serials, frozenset(busy))


def visit(request_id: str, village: str, deadline: date) -> HomeVisitDemand:
    return HomeVisitDemand(request_id, village, deadline, datetime(2026, 11, 30, tzinfo=UTC))


def test_teams_go_where_they_record_the_most_and_never_beyond_capacity() -> None:
    result = plan(
        DAYS,
        [team("a", 2), team("b", 1)],
        [VillageDemand(NEAR, 1000), VillageDemand(NEAR_2, 100), VillageDemand(FAR, 5000)],
        RULES,
    )
    for proposal in result.proposals:
        assert proposal.expected_recordings <= proposal.planned_capacity
        assert proposal.planned_capacity == 80 * len(proposal.kit_serials)
        assert proposal.reason
    first_day = [p for p in result.proposals if p.day == DAYS[0]]
    # The big near village first; the far one records half a day's worth at most.
    assert [(p.team_id, p.village_code) for p in first_day] == [("a", NEAR), ("b", NEAR)]
    assert first_day[0].expected_recordings == 160 * 31 // 32  # 15 minutes of travel
    assert all(p.expected_recordings <= 80 for p in result.proposals if p.village_code == FAR)


def test_each_visit_takes_its_recordings_off_the_village() -> None:
    result = plan(DAYS, [team("a", 3)], [VillageDemand(NEAR, 300)], RULES)
    expected = [p.expected_recordings for p in result.proposals]
    # 60 % of who is left turns up each time: 180 of 300, then 72 of 120, then 28 of 48.
    assert expected == [180, 72, 28]
    assert [p.backlog for p in result.proposals] == [300, 120, 48]


def test_residents_becoming_eligible_count_from_their_day() -> None:
    demand = VillageDemand(NEAR, 0, ((DAYS[1], 50),))
    result = plan(DAYS, [team("a", 1)], [demand], RULES)
    assert [(p.day, p.expected_recordings) for p in result.proposals] == [
        (DAYS[1], 30),
        (DAYS[2], 12),
    ]


def test_a_team_without_working_kits_or_already_out_is_not_planned() -> None:
    result = plan(
        DAYS,
        [team("a", 0), team("b", 1, busy=(DAYS[0],))],
        [VillageDemand(NEAR, 1000)],
        RULES,
        scheduled=[ScheduledSession("c", DAYS[1], SessionKind.VILLAGE_DRIVE, NEAR, 80)],
    )
    assert {p.team_id for p in result.proposals} == {"b"}
    assert [p.day for p in result.proposals] == [DAYS[1], DAYS[2]]
    # Team c's session on day 2 takes its expected recordings off the village first.
    assert result.proposals[0].backlog == 1000 - 77


def test_home_visits_come_first_earliest_deadline_first() -> None:
    requests = [
        visit("late-deadline", NEAR_2, DAYS[2]),
        visit("urgent", FAR, DAYS[0]),
        visit("middle", NEAR, DAYS[1]),
    ]
    result = plan(
        DAYS,
        [team("big", 3), team("small", 1)],
        [VillageDemand(NEAR, 5000)],
        RULES,
        home_visits=requests,
    )
    visits = [p for p in result.proposals if p.kind is SessionKind.HOME_VISIT]
    served = {p.home_visits[0].request_id: (p.day, p.team_id) for p in visits}
    # The most urgent gets the first day; home visits take the small team, drives the big one.
    assert served["urgent"] == (DAYS[0], "small")
    assert served["middle"][0] <= DAYS[1]
    assert all(day <= DAYS[2] for day, _ in served.values())
    assert not any(p.late for p in visits)
    assert all(len(p.kit_serials) == 1 for p in visits)
    assert "home visit" in visits[0].reason


def test_home_visits_in_one_village_share_a_session_up_to_a_days_worth() -> None:
    requests = [visit(f"v{i}", NEAR, DAYS[2]) for i in range(4)]
    result = plan(DAYS, [team("a", 1)], [], RULES, home_visits=requests)
    sizes = [len(p.home_visits) for p in result.proposals]
    assert sizes == [3, 1]  # home_visits_per_day = 3


def test_a_home_visit_with_no_free_day_before_its_deadline_is_late_or_unserved() -> None:
    busy_first = team("a", 1, busy=(DAYS[0],))
    late = plan(DAYS, [busy_first], [], RULES, home_visits=[visit("v", NEAR, DAYS[0])])
    assert [(p.day, p.late) for p in late.proposals] == [(DAYS[1], True)]
    assert "after the deadline" in late.proposals[0].reason
    nobody = plan(DAYS, [team("a", 0)], [], RULES, home_visits=[visit("v", NEAR, DAYS[0])])
    assert [v.request_id for v in nobody.unserved_home_visits] == ["v"]


def test_holidays_are_not_planned() -> None:
    calendar = WorkingCalendar(load_holidays())
    days = calendar.working_days(date(2026, 12, 21), date(2026, 12, 31))
    result = plan(days, [team("a", 1)], [VillageDemand(NEAR, 10_000)], RULES)
    planned = {p.day for p in result.proposals}
    assert planned == set(days)
    assert not planned & {date(2026, 12, 24), date(2026, 12, 25), date(2026, 12, 26)}


# ---------------------------------------------------------------------------------------------
# The synthetic OKI register


OKI_TEAM_KITS = (3, 3, 3, 2, 2, 2, 2, 2, 1, 1)  # 10 teams, 21 working kits


def oki_demand(start: date, end: date) -> list[VillageDemand]:
    """Eligible-but-unrecorded residents per village of the synthetic OKI register, as the
    read model's grouped query would give them."""
    from jemput.residents.demo.population import PopulationOptions, generate_households
    from jemput.residents.service_layer.register_file import COLUMNS

    column = {name: i for i, name in enumerate(COLUMNS)}
    waiting: Counter[str] = Counter()
    upcoming: dict[str, Counter[date]] = {}
    _, households = generate_households(PopulationOptions("16.02"))
    for rows in households:
        for row in rows:
            if row[column["STAT_EKTP"]] not in ("BELUM_REKAM", "BELUM_WAJIB"):
                continue
            if row[column["STAT_DOMISILI"]] != "TINGGAL":
                continue
            eligible = eligible_from(
                birth_date=date.fromisoformat(row[column["TGL_LHR"]]),
                ever_married=row[column["STAT_KWN"]] != "BELUM KAWIN",
            )
            village = row[column["KODE_DESA"]]
            if eligible <= start:
                waiting[village] += 1
            elif eligible <= end:
                upcoming.setdefault(village, Counter())[eligible] += 1
    villages = waiting.keys() | upcoming.keys()
    return [
        VillageDemand(v, waiting[v], tuple(sorted(upcoming.get(v, Counter()).items())))
        for v in sorted(villages)
    ]


@pytest.mark.slow
def test_on_the_oki_register_the_planner_beats_round_robin() -> None:
    calendar = WorkingCalendar(load_holidays())
    days = calendar.working_days(date(2026, 12, 1), date(2027, 1, 31))[:20]
    assert len(days) == 20
    villages = oki_demand(days[0], days[-1])
    assert len(villages) == 327
    teams = [team(f"tim-{i + 1:02d}", kits) for i, kits in enumerate(OKI_TEAM_KITS)]
    rules = PlannerRules(
        per_kit_daily_rate=80,
        turnout=0.6,
        home_visits_per_day=8,
        travel=load_travel_times(None, "16.02"),
    )
    planned = plan(days, teams, villages, rules)
    baseline = round_robin(days, teams, villages, rules)
    print(
        f"\nOKI, 10 teams, 20 working days: planner {planned.expected_recordings} expected "
        f"recordings, round-robin {baseline.expected_recordings}"
    )
    assert len(planned.proposals) == len(baseline.proposals) == 200
    assert planned.expected_recordings > baseline.expected_recordings
    capacity = sum(OKI_TEAM_KITS) * 80 * len(days)
    assert planned.expected_recordings <= capacity
    for proposal in planned.proposals:
        assert proposal.expected_recordings <= proposal.planned_capacity


def test_round_robin_is_the_naive_cycle() -> None:
    villages = [VillageDemand(NEAR, 100), VillageDemand(NEAR_2, 100), VillageDemand(FAR, 100)]
    result = round_robin(DAYS, [team("a", 1), team("b", 1)], villages, RULES)
    assert [p.village_code for p in result.proposals] == [NEAR, NEAR_2, FAR, NEAR, NEAR_2, FAR]
    assert result.proposals[-1].day == DAYS[2]
    assert all(p.day - DAYS[0] < timedelta(days=3) for p in result.proposals)
