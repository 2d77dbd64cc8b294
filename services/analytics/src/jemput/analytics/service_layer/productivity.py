"""Outreach productivity over a range of days: sessions, recordings per team-day and per
working kit-day, and home-visit deadlines met, per team, kit and session.

A team-day is a team out on a day (a completed session, or recordings that day); a working
kit-day is a kit booked for a completed session (outreach books working kits only) or
recording that day. Home visits count by their deadline: of the requests due in the range, a
deadline is met when the request closed, with whatever outcome, on or before its deadline (office
days, WIB); closed after it, it was late; not closed and its deadline gone by (before `today`),
it is open past its deadline. A closed request counts for the team, kit and session that served
it, when known.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncConnection

from jemput.analytics.adapters.tables import ReadModelTables
from jemput.analytics.service_layer.generations import active_tables
from jemput.shared.reference.areas import Area


def _per(recordings: int, days: int) -> float | None:
    return recordings / days if days else None


@dataclass(slots=True)
class UnitProductivity:
    """A team or a kit."""

    key: str
    recordings: int = 0
    days: set[date] = field(default_factory=set)
    sessions: int = 0
    home_visit_deadlines_met: int = 0
    home_visits_closed_late: int = 0

    @property
    def per_day(self) -> float | None:
        return _per(self.recordings, len(self.days))


@dataclass(frozen=True, slots=True)
class SessionProductivity:
    session_id: str
    day: date
    kind: str
    village_code: str
    team_id: str
    state: str
    kit_serials: tuple[str, ...]
    planned_capacity: int | None
    recordings: int  # recordings uploaded for the session
    reported_recorded: int | None  # what the team reported at close-out
    home_visit_deadlines_met: int = 0


@dataclass(frozen=True, slots=True)
class HomeVisitDeadlines:
    """The home-visit requests due in a range of days, by how they fared."""

    due: int = 0
    met: int = 0
    closed_late: int = 0
    open_past_deadline: int = 0

    @property
    def open_not_yet_due(self) -> int:
        return self.due - self.met - self.closed_late - self.open_past_deadline


@dataclass(frozen=True, slots=True)
class ProductivityReport:
    area: Area
    first: date
    last: date
    sessions_scheduled: int
    sessions_completed: int
    sessions_cancelled: int
    recordings: int
    team_days: int
    kit_days: int
    teams: list[UnitProductivity]
    kits: list[UnitProductivity]
    sessions: list[SessionProductivity]
    home_visit_sessions: int
    home_visits: HomeVisitDeadlines

    @property
    def per_team_day(self) -> float | None:
        return _per(self.recordings, self.team_days)

    @property
    def per_kit_day(self) -> float | None:
        return _per(self.recordings, self.kit_days)


async def productivity(
    conn: AsyncConnection,
    area: Area,
    first: date,
    last: date,
    *,
    today: date,
    tables: ReadModelTables | None = None,
) -> ProductivityReport:
    tables = tables or await active_tables(conn)
    rec, ses = tables.recording.c, tables.session.c
    in_area = area.code + "."
    session_rows = (
        await conn.execute(
            select(tables.session)
            .where(ses.day >= first, ses.day <= last)
            .where((ses.village_code == area.code) | ses.village_code.startswith(in_area))
            .order_by(ses.day, ses.session_id)
        )
    ).all()
    where = func.coalesce(rec.village_code, ses.village_code)
    recording_rows = (
        await conn.execute(
            select(
                func.coalesce(rec.team_id, ses.team_id),
                rec.kit_serial,
                rec.session_id,
                rec.captured_on,
                func.count(),
            )
            .select_from(
                tables.recording.outerjoin(tables.session, rec.session_id == ses.session_id)
            )
            .where(rec.captured_on >= first, rec.captured_on <= last)
            .where((where == area.code) | where.startswith(in_area))
            .group_by(
                func.coalesce(rec.team_id, ses.team_id),
                rec.kit_serial,
                rec.session_id,
                rec.captured_on,
            )
        )
    ).all()

    teams: dict[str, UnitProductivity] = {}
    kits: dict[str, UnitProductivity] = {}
    per_session: dict[str, int] = defaultdict(int)
    total = 0
    for team_id, kit_serial, session_id, day, count in recording_rows:
        total += count
        if session_id:
            per_session[session_id] += count
        if team_id:
            team = teams.setdefault(team_id, UnitProductivity(team_id))
            team.recordings += count
            team.days.add(day)
        if kit_serial:
            kit = kits.setdefault(kit_serial, UnitProductivity(kit_serial))
            kit.recordings += count
            kit.days.add(day)
    visits, met_in_session = await _home_visits(conn, tables, area, first, last, today, teams, kits)
    sessions: list[SessionProductivity] = []
    for row in session_rows:
        serials = tuple((row.kit_serials or "").split())
        if row.state == "completed":
            team = teams.setdefault(row.team_id, UnitProductivity(row.team_id))
            team.days.add(row.day)
            team.sessions += 1
            for serial in serials:
                kit = kits.setdefault(serial, UnitProductivity(serial))
                kit.days.add(row.day)
                kit.sessions += 1
        sessions.append(
            SessionProductivity(
                session_id=row.session_id,
                day=row.day,
                kind=row.kind,
                village_code=row.village_code,
                team_id=row.team_id,
                state=row.state,
                kit_serials=serials,
                planned_capacity=row.planned_capacity,
                recordings=per_session.get(row.session_id, 0),
                reported_recorded=row.reported_recorded,
                home_visit_deadlines_met=met_in_session.get(row.session_id, 0),
            )
        )
    states = [s.state for s in sessions]
    return ProductivityReport(
        area=area,
        first=first,
        last=last,
        sessions_scheduled=len(states),
        sessions_completed=states.count("completed"),
        sessions_cancelled=states.count("cancelled"),
        recordings=total,
        team_days=sum(len(t.days) for t in teams.values()),
        kit_days=sum(len(k.days) for k in kits.values()),
        teams=sorted(teams.values(), key=lambda t: t.key),
        kits=sorted(kits.values(), key=lambda k: k.key),
        sessions=sessions,
        home_visit_sessions=sum(
            1 for s in sessions if s.kind == "home_visit" and s.state == "completed"
        ),
        home_visits=visits,
    )


_MET, _LATE, _PAST_DEADLINE, _NOT_YET_DUE = "met", "late", "past_deadline", "not_yet_due"


async def _home_visits(
    conn: AsyncConnection,
    tables: ReadModelTables,
    area: Area,
    first: date,
    last: date,
    today: date,
    teams: dict[str, UnitProductivity],
    kits: dict[str, UnitProductivity],
) -> tuple[HomeVisitDeadlines, dict[str, int]]:
    """The requests due in the range, counted overall and onto the teams and kits that served
    them; returns the counts and the deadlines met per session."""
    hv = tables.home_visit.c
    fared = case(
        (hv.closed_on.is_(None) & (hv.deadline < today), _PAST_DEADLINE),
        (hv.closed_on.is_(None), _NOT_YET_DUE),
        (hv.closed_on <= hv.deadline, _MET),
        else_=_LATE,
    )
    rows = await conn.execute(
        select(fared, hv.team_id, hv.kit_serial, hv.session_id, func.count())
        .where(hv.deadline >= first, hv.deadline <= last)
        .where((hv.village_code == area.code) | hv.village_code.startswith(area.code + "."))
        .group_by(fared, hv.team_id, hv.kit_serial, hv.session_id)
    )
    counts: dict[str, int] = defaultdict(int)
    per_session: dict[str, int] = defaultdict(int)
    for how, team_id, kit_serial, session_id, count in rows:
        counts[how] += count
        if how not in (_MET, _LATE):
            continue
        for key, units in ((team_id, teams), (kit_serial, kits)):
            if key:
                unit = units.setdefault(key, UnitProductivity(key))
                if how == _MET:
                    unit.home_visit_deadlines_met += count
                else:
                    unit.home_visits_closed_late += count
        if session_id and how == _MET:
            per_session[session_id] += count
    deadlines = HomeVisitDeadlines(
        due=sum(counts.values()),
        met=counts[_MET],
        closed_late=counts[_LATE],
        open_past_deadline=counts[_PAST_DEADLINE],
    )
    return deadlines, per_session
