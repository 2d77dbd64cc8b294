"""Teams and their recording kits. A kit belongs to one team at a time, and a kit that is
not working takes its team's capacity (and that of the sessions it is booked for) down.

Functions here never commit: the caller's unit of work does."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.outreach.adapters.tables import Kit, OutreachSession, SessionKit, Team
from jemput.outreach.domain.model import KitCondition, SessionStatus, planned_capacity
from jemput.outreach.service_layer.areas import base_problem
from jemput.outreach.service_layer.problems import (
    conflict,
    field,
    flush_or_conflict,
    invalid,
    not_found,
)


@dataclass(frozen=True, slots=True)
class TeamSpec:
    name: str
    members: tuple[str, ...]
    base_code: str


async def create_team(
    session: AsyncSession, spec: TeamSpec, *, regency_code: str
) -> tuple[Team, bool]:
    """Create; returns (team, created). The same team again (same name, members and base)
    returns the stored one; another team under a taken name is a conflict."""
    problem = base_problem("base_code", spec.base_code, regency_code)
    if problem:
        raise invalid(problem)
    existing = (await session.exec(select(Team).where(Team.name == spec.name))).first()
    if existing is not None:
        if tuple(existing.members) == spec.members and existing.base_code == spec.base_code:
            return existing, False
        raise conflict("A team with this name already exists.", "team-exists")
    team = Team(
        id=uuid.uuid4().hex, name=spec.name, members=list(spec.members), base_code=spec.base_code
    )
    session.add(team)
    await flush_or_conflict(session, "A team with this name already exists.")
    return team, True


async def get_team(session: AsyncSession, team_id: str) -> Team:
    team = await session.get(Team, team_id)
    if team is None:
        raise not_found("team")
    return team


async def list_teams(session: AsyncSession, *, limit: int, after: str | None) -> Sequence[Team]:
    query = select(Team).order_by(col(Team.name)).limit(limit)
    if after is not None:
        query = query.where(col(Team.name) > after)
    return (await session.exec(query)).all()


async def kits_of(session: AsyncSession, team_ids: Iterable[str]) -> dict[str, list[Kit]]:
    wanted = sorted(set(team_ids))
    kits: dict[str, list[Kit]] = {team_id: [] for team_id in wanted}
    if not wanted:
        return kits
    query = select(Kit).where(col(Kit.team_id).in_(wanted)).order_by(col(Kit.serial))
    for kit in await session.exec(query):
        kits[str(kit.team_id)].append(kit)
    return kits


def daily_capacity(kits: Iterable[Kit], per_kit_daily_rate: int) -> int:
    working = sum(1 for kit in kits if kit.condition is KitCondition.WORKING)
    return planned_capacity(working, per_kit_daily_rate)


@dataclass(frozen=True, slots=True)
class KitSpec:
    serial: str
    team_id: str | None
    condition: KitCondition
    note: str | None


async def create_kit(session: AsyncSession, spec: KitSpec) -> tuple[Kit, bool]:
    """Register; returns (kit, created). The same kit again returns the stored one; another
    kit under a registered serial is a conflict (change a kit with PATCH)."""
    if spec.team_id is not None and await session.get(Team, spec.team_id) is None:
        raise invalid(field("team_id", "unknown_team", "no team with this id"))
    existing = await session.get(Kit, spec.serial)
    if existing is not None:
        same = (existing.team_id, existing.condition, existing.note) == (
            spec.team_id,
            spec.condition,
            spec.note,
        )
        if same:
            return existing, False
        raise conflict("A kit with this serial is already registered.", "kit-exists")
    kit = Kit(serial=spec.serial, team_id=spec.team_id, condition=spec.condition, note=spec.note)
    session.add(kit)
    await flush_or_conflict(session, "A kit with this serial is already registered.")
    return kit, True


@dataclass(frozen=True, slots=True)
class KitChange:
    """What a PATCH changes; fields not given keep their value (`team_id` may be set to None
    to take the kit off its team)."""

    team_id: str | None = None
    team_given: bool = False
    condition: KitCondition | None = None
    note: str | None = None
    note_given: bool = False


async def change_kit(session: AsyncSession, serial: str, change: KitChange, *, today: date) -> Kit:
    kit = await session.get(Kit, serial, with_for_update=True)
    if kit is None:
        raise not_found("kit")
    if change.team_given and change.team_id != kit.team_id:
        if change.team_id is not None and await session.get(Team, change.team_id) is None:
            raise invalid(field("team_id", "unknown_team", "no team with this id"))
        # Sessions already scheduled keep the kit on their days: there it stays with its
        # former team, and the new team cannot book it (a kit is in one place a day).
        kit.team_id = change.team_id
    if change.condition is not None:
        kit.condition = change.condition
    if change.note_given:
        kit.note = change.note
    kit.updated_at = datetime.now(UTC)
    session.add(kit)
    await session.flush()
    if change.condition is not None:
        await recompute_capacities(session, [serial], today=today)
    return kit


async def sessions_holding(
    session: AsyncSession, serials: Sequence[str], *, today: date
) -> Sequence[OutreachSession]:
    """Sessions from `today` on, planned or under way, that hold any of these kits."""
    query = (
        select(OutreachSession)
        .join(SessionKit, col(SessionKit.session_id) == col(OutreachSession.id))
        .where(col(SessionKit.kit_serial).in_(serials))
        .where(col(SessionKit.released).is_(False))
        .where(col(OutreachSession.day) >= today)
        .where(col(OutreachSession.status).in_([SessionStatus.PLANNED, SessionStatus.IN_PROGRESS]))
    )
    return (await session.exec(query)).unique().all()


async def recompute_capacities(
    session: AsyncSession, serials: Sequence[str], *, today: date
) -> None:
    """Planned capacity of the kits' coming sessions = their working kits times the session's
    rate: a kit that broke takes it down, a repaired one brings it back."""
    affected = [s for s in await sessions_holding(session, serials, today=today)]
    if not affected:
        return
    rows = await session.exec(
        select(SessionKit.session_id, Kit.condition)
        .join(Kit, col(Kit.serial) == col(SessionKit.kit_serial))
        .where(col(SessionKit.session_id).in_([s.id for s in affected]))
        .where(col(SessionKit.released).is_(False))
    )
    working: dict[str, int] = {}
    for session_id, condition in rows:
        if condition is KitCondition.WORKING:
            working[session_id] = working.get(session_id, 0) + 1
    for outreach_session in affected:
        outreach_session.planned_capacity = planned_capacity(
            working.get(outreach_session.id, 0), outreach_session.per_kit_daily_rate
        )
        session.add(outreach_session)
    await session.flush()


async def list_kits(
    session: AsyncSession, condition: KitCondition | None, *, limit: int, after: str | None
) -> Sequence[Kit]:
    query = select(Kit).order_by(col(Kit.serial)).limit(limit)
    if condition is not None:
        query = query.where(col(Kit.condition) == condition)
    if after is not None:
        query = query.where(col(Kit.serial) > after)
    return (await session.exec(query)).all()
