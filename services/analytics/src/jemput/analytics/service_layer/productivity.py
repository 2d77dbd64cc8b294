"""Outreach productivity over a range of days: sessions, recordings per team-day and per
working kit-day, per team, kit and session.

A team-day is a team out on a day (a completed session, or recordings that day); a working
kit-day is a kit booked for a completed session (outreach books working kits only) or
recording that day. Home-visit deadlines cannot be told from the events yet: outreach publishes
no event about home-visit requests, so `home_visit_deadlines_met` stays None.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import func, select
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
    home_visit_deadlines_met: int | None = None

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
    )
