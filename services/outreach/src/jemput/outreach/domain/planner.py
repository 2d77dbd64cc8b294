"""The planner: which team goes where on each working day, to record the most residents.

How it decides (docs/outreach.md has the long form):

1. Home visits come first, earliest deadline first. A request joins a home-visit session
   already proposed in its village on a day before its deadline if that session has room;
   otherwise it gets the earliest free team-day before its deadline (the team with the fewest
   working kits, so the big teams stay free for drives). No free day before the deadline: the
   earliest after it, marked late. No free day at all: reported as unserved.
2. Village drives fill the remaining team-days, day by day, the teams with the most working
   kits choosing first. Each team goes where it is expected to record the most:

       expected = min(capacity * share of the day left after travel,
                      turnout * eligible-but-unrecorded residents still waiting)

   and every proposal takes its expected recordings off the village, so the next team (or the
   same team the next day) weighs what is left: big backlogs draw several visits, far villages
   come up once the near ones thin out.

Sessions already scheduled hold their teams and take their expected recordings off their
villages before anything is proposed. A team with no working kit is never sent anywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime

from jemput.outreach.domain.model import SessionKind, planned_capacity
from jemput.outreach.domain.travel import TravelTimes


@dataclass(frozen=True, slots=True)
class PlannerRules:
    per_kit_daily_rate: int
    turnout: float
    home_visits_per_day: int
    travel: TravelTimes


@dataclass(frozen=True, slots=True)
class TeamDays:
    """A team as the planner sees it: its working kits and the days it is already out."""

    team_id: str
    working_kits: tuple[str, ...]
    busy_days: frozenset[date] = frozenset()


@dataclass(frozen=True, slots=True)
class VillageDemand:
    """Eligible-but-unrecorded residents of a village on the plan's first day (`waiting`) and
    those who become eligible on a later day of the plan (`upcoming`: day, count)."""

    village_code: str
    waiting: int
    upcoming: tuple[tuple[date, int], ...] = ()

    @property
    def district_code(self) -> str:
        return self.village_code[:8]

    def eligible_by(self, day: date) -> int:
        return self.waiting + sum(count for on, count in self.upcoming if on <= day)


@dataclass(frozen=True, slots=True)
class HomeVisitDemand:
    request_id: str
    village_code: str
    deadline: date
    requested_at: datetime


@dataclass(frozen=True, slots=True)
class ScheduledSession:
    """A session already on the books in the plan's range (not cancelled)."""

    team_id: str
    day: date
    kind: SessionKind
    village_code: str
    planned_capacity: int


@dataclass(frozen=True, slots=True)
class Proposal:
    day: date
    team_id: str
    kind: SessionKind
    village_code: str
    kit_serials: tuple[str, ...]
    planned_capacity: int
    expected_recordings: int
    # Eligible-but-unrecorded residents of the village still waiting before this session.
    backlog: int
    travel_hours: float
    home_visits: tuple[HomeVisitDemand, ...] = ()
    late: bool = False

    @property
    def earliest_deadline(self) -> date | None:
        return min((hv.deadline for hv in self.home_visits), default=None)

    @property
    def reason(self) -> str:
        trip = f"{self.travel_hours:g} h from the office"
        if self.kind is SessionKind.HOME_VISIT:
            deadline = self.earliest_deadline
            text = (
                f"{len(self.home_visits)} home visit(s), the first due {deadline}; "
                f"home visits are served first, earliest deadline first; {trip}"
            )
            if self.late:
                text += "; after the deadline: no team was free before it"
            return text
        kits = len(self.kit_serials)
        return (
            f"{self.backlog:,} eligible residents not yet recorded in the village; "
            f"expect {self.expected_recordings} recordings ({kits} working kit(s), capacity "
            f"{self.planned_capacity}, {trip})"
        )


@dataclass(frozen=True, slots=True)
class Plan:
    proposals: tuple[Proposal, ...]
    unserved_home_visits: tuple[HomeVisitDemand, ...] = ()

    @property
    def expected_recordings(self) -> int:
        return sum(p.expected_recordings for p in self.proposals)


@dataclass(slots=True)
class _Board:
    """The state a plan is built on: which teams are free each day and what each village has
    left after the sessions placed so far."""

    days: list[date]
    teams: dict[str, TeamDays]
    villages: dict[str, VillageDemand]
    rules: PlannerRules
    taken: dict[str, int] = field(default_factory=dict)
    busy: set[tuple[str, date]] = field(default_factory=set)

    def free_teams(self, day: date) -> list[TeamDays]:
        """Teams with a working kit and no session on `day`, the best-equipped first."""
        free = [
            team
            for team in self.teams.values()
            if team.working_kits
            and day not in team.busy_days
            and (team.team_id, day) not in self.busy
        ]
        return sorted(free, key=lambda t: (-len(t.working_kits), t.team_id))

    def left(self, village_code: str, day: date) -> int:
        village = self.villages.get(village_code)
        if village is None:
            return 0
        return max(village.eligible_by(day) - self.taken.get(village_code, 0), 0)

    def take(self, village_code: str, count: int) -> None:
        self.taken[village_code] = self.taken.get(village_code, 0) + count

    def drive_capacity(self, kits: int, village_code: str) -> int:
        capacity = planned_capacity(kits, self.rules.per_kit_daily_rate)
        return int(capacity * self.rules.travel.recording_share(village_code[:8]))

    def expected_drive(self, kits: int, village_code: str, day: date) -> int:
        waiting = self.left(village_code, day)
        return min(self.drive_capacity(kits, village_code), int(self.rules.turnout * waiting))

    def hours(self, village_code: str) -> float:
        return self.rules.travel.to_district(village_code[:8])


def plan(
    days: Sequence[date],
    teams: Iterable[TeamDays],
    villages: Iterable[VillageDemand],
    rules: PlannerRules,
    *,
    home_visits: Iterable[HomeVisitDemand] = (),
    scheduled: Iterable[ScheduledSession] = (),
) -> Plan:
    """Propose sessions on `days` (working days, in order)."""
    board = _board(days, teams, villages, rules, scheduled)
    visits, unserved = _place_home_visits(board, home_visits)
    drives = _place_drives(board)
    ordered = sorted([*visits, *drives], key=lambda p: (p.day, p.team_id))
    return Plan(tuple(ordered), tuple(unserved))


def round_robin(
    days: Sequence[date],
    teams: Iterable[TeamDays],
    villages: Iterable[VillageDemand],
    rules: PlannerRules,
    *,
    scheduled: Iterable[ScheduledSession] = (),
) -> Plan:
    """The naive baseline: every free team-day goes to the next village in code order, round
    and round, valued with the same expectation as the planner's proposals."""
    board = _board(days, teams, villages, rules, scheduled)
    order = sorted(board.villages)
    proposals = []
    turn = 0
    for day in board.days:
        for team in sorted(board.free_teams(day), key=lambda t: t.team_id):
            if not order:
                break
            code = order[turn % len(order)]
            turn += 1
            proposals.append(_drive(board, team, code, day))
    return Plan(tuple(proposals))


def _board(
    days: Sequence[date],
    teams: Iterable[TeamDays],
    villages: Iterable[VillageDemand],
    rules: PlannerRules,
    scheduled: Iterable[ScheduledSession],
) -> _Board:
    board = _Board(
        days=sorted(days),
        teams={team.team_id: team for team in teams},
        villages={village.village_code: village for village in villages},
        rules=rules,
    )
    for session in sorted(scheduled, key=lambda s: s.day):
        board.busy.add((session.team_id, session.day))
        if session.kind in (SessionKind.VILLAGE_DRIVE, SessionKind.SCHOOL_DRIVE):
            waiting = board.left(session.village_code, session.day)
            share = rules.travel.recording_share(session.village_code[:8])
            expected = min(int(session.planned_capacity * share), int(rules.turnout * waiting))
            board.take(session.village_code, expected)
    return board


def _place_home_visits(
    board: _Board, requests: Iterable[HomeVisitDemand]
) -> tuple[list[Proposal], list[HomeVisitDemand]]:
    by_village: dict[str, list[Proposal]] = {}
    unserved: list[HomeVisitDemand] = []
    for request in sorted(requests, key=lambda r: (r.deadline, r.requested_at, r.request_id)):
        joined = _join_home_visit(board, by_village.get(request.village_code, []), request)
        if joined:
            continue
        slot = _home_visit_slot(board)
        if slot is None:
            unserved.append(request)
            continue
        day, team = slot
        board.busy.add((team.team_id, day))
        kit = team.working_kits[:1]
        proposal = Proposal(
            day=day,
            team_id=team.team_id,
            kind=SessionKind.HOME_VISIT,
            village_code=request.village_code,
            kit_serials=kit,
            planned_capacity=planned_capacity(len(kit), board.rules.per_kit_daily_rate),
            expected_recordings=1,
            backlog=board.left(request.village_code, day),
            travel_hours=board.hours(request.village_code),
            home_visits=(request,),
            late=day > request.deadline,
        )
        board.take(request.village_code, 1)
        by_village.setdefault(request.village_code, []).append(proposal)
    placed = [p for proposals in by_village.values() for p in proposals]
    return placed, unserved


def _join_home_visit(board: _Board, proposals: list[Proposal], request: HomeVisitDemand) -> bool:
    """Add the request to a home-visit proposal of its village that has room. Requests come
    earliest deadline first and each proposal took the earliest free day, so no free day comes
    sooner than one already proposed."""
    for index, proposal in enumerate(proposals):
        if len(proposal.home_visits) >= board.rules.home_visits_per_day:
            continue
        visits = (*proposal.home_visits, request)
        proposals[index] = replace(
            proposal,
            home_visits=visits,
            expected_recordings=len(visits),
            late=proposal.late or proposal.day > request.deadline,
        )
        board.take(request.village_code, 1)
        return True
    return False


def _home_visit_slot(board: _Board) -> tuple[date, TeamDays] | None:
    """The earliest free team-day, with the team that has the fewest working kits."""
    for day in board.days:
        free = board.free_teams(day)
        if free:
            return day, min(free, key=lambda t: (len(t.working_kits), t.team_id))
    return None


def _place_drives(board: _Board) -> list[Proposal]:
    proposals = []
    for day in board.days:
        for team in board.free_teams(day):
            best = _best_village(board, team, day)
            if best is None:
                continue
            proposals.append(_drive(board, team, best, day))
    return proposals


def _best_village(board: _Board, team: TeamDays, day: date) -> str | None:
    kits = len(team.working_kits)
    best: tuple[int, float, int, str] | None = None
    for code in board.villages:
        expected = board.expected_drive(kits, code, day)
        if expected <= 0:
            continue
        # Most recordings; then the shorter trip, the bigger backlog, the lower code.
        key = (-expected, board.hours(code), -board.left(code, day), code)
        if best is None or key < best:
            best = key
    return None if best is None else best[3]


def _drive(board: _Board, team: TeamDays, village_code: str, day: date) -> Proposal:
    backlog = board.left(village_code, day)
    expected = board.expected_drive(len(team.working_kits), village_code, day)
    board.busy.add((team.team_id, day))
    board.take(village_code, expected)
    return Proposal(
        day=day,
        team_id=team.team_id,
        kind=SessionKind.VILLAGE_DRIVE,
        village_code=village_code,
        kit_serials=team.working_kits,
        planned_capacity=planned_capacity(len(team.working_kits), board.rules.per_kit_daily_rate),
        expected_recordings=expected,
        backlog=backlog,
        travel_hours=board.hours(village_code),
    )
