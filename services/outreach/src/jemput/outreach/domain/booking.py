"""A team or a kit is in one place a day: the rules a new session must pass against the
sessions already holding that day."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from jemput.outreach.domain.model import KitCondition


@dataclass(frozen=True, slots=True)
class Booking:
    """An existing (not cancelled) session's hold on a team and its kits for one day."""

    session_id: str
    team_id: str
    day: date
    kit_serials: frozenset[str]


@dataclass(frozen=True, slots=True)
class KitState:
    serial: str
    team_id: str | None
    condition: KitCondition

    @property
    def working(self) -> bool:
        return self.condition is KitCondition.WORKING


class ClashKind(StrEnum):
    TEAM = "team_double_booked"
    KIT = "kit_double_booked"


@dataclass(frozen=True, slots=True)
class Clash:
    kind: ClashKind
    session_id: str
    kit_serial: str | None = None

    def describe(self) -> str:
        if self.kind is ClashKind.TEAM:
            return f"the team already has session {self.session_id} on that day"
        return f"kit {self.kit_serial} is already in session {self.session_id} on that day"


def clashes(
    team_id: str, day: date, kit_serials: Iterable[str], existing: Iterable[Booking]
) -> list[Clash]:
    """Every way the new session would put a team or a kit in two places on `day`."""
    wanted = set(kit_serials)
    found: list[Clash] = []
    for booking in existing:
        if booking.day != day:
            continue
        if booking.team_id == team_id:
            # The team's own session: its kits are there with it, one clash says it all.
            found.append(Clash(ClashKind.TEAM, booking.session_id))
            continue
        found.extend(
            Clash(ClashKind.KIT, booking.session_id, serial)
            for serial in sorted(wanted & booking.kit_serials)
        )
    return found


class KitProblemKind(StrEnum):
    UNKNOWN = "unknown_kit"
    OTHER_TEAM = "kit_not_in_team"
    NOT_WORKING = "kit_not_working"


@dataclass(frozen=True, slots=True)
class KitProblem:
    kind: KitProblemKind
    serial: str

    def describe(self) -> str:
        return {
            KitProblemKind.UNKNOWN: f"kit {self.serial} is not registered",
            KitProblemKind.OTHER_TEAM: f"kit {self.serial} does not belong to the team",
            KitProblemKind.NOT_WORKING: f"kit {self.serial} is not working",
        }[self.kind]


def kit_problems(
    team_id: str, requested: Sequence[str], kits: Mapping[str, KitState]
) -> list[KitProblem]:
    """A session takes only working kits of its own team."""
    problems = []
    for serial in requested:
        kit = kits.get(serial)
        if kit is None:
            problems.append(KitProblem(KitProblemKind.UNKNOWN, serial))
        elif kit.team_id != team_id:
            problems.append(KitProblem(KitProblemKind.OTHER_TEAM, serial))
        elif not kit.working:
            problems.append(KitProblem(KitProblemKind.NOT_WORKING, serial))
    return problems
