"""`/v1/teams` and `/v1/kits`: the teams, their recording kits and what they can record."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Response, status
from pydantic import BaseModel, ConfigDict, Field

from jemput.outreach.adapters.tables import Kit, Team
from jemput.outreach.domain.model import KitCondition
from jemput.outreach.entrypoints.http.access import Planner
from jemput.outreach.entrypoints.http.deps import (
    ClockDep,
    ConfigDep,
    problem_responses,
    replay_response,
    text_cursor,
)
from jemput.outreach.service_layer import teams
from jemput.shared.http.pagination import Page, PageSize, PageToken, cut_page
from jemput.shared.http.service_app import ReadSession, WriteSession
from jemput.shared.reference.areas import AREA_CODE_PATTERN

router = APIRouter(tags=["teams and kits"])

SERIAL_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{2,39}$"
SerialPath = Annotated[str, Path(pattern=SERIAL_PATTERN, description="The kit's serial.")]
TeamIdPath = Annotated[str, Path(max_length=32)]


class TeamCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="Unique, e.g. `Tim 1`.")
    members: list[Annotated[str, Field(min_length=1, max_length=100)]] = Field(
        default_factory=list, max_length=30, description="Staff names or NIPs."
    )
    base_code: str = Field(
        pattern=AREA_CODE_PATTERN,
        description="Kemendagri code of the district or village the team is based in.",
    )


class KitPublic(BaseModel):
    serial: str
    team_id: str | None
    condition: KitCondition
    note: str | None
    updated_at: datetime


class TeamPublic(BaseModel):
    id: str
    name: str
    members: list[str]
    base_code: str
    kits: list[KitPublic]
    working_kits: int
    daily_capacity: int = Field(description="Working kits times the per-kit daily rate.")
    created_at: datetime


def kit_view(kit: Kit) -> KitPublic:
    return KitPublic(
        serial=kit.serial,
        team_id=kit.team_id,
        condition=kit.condition,
        note=kit.note,
        updated_at=kit.updated_at,
    )


def team_view(team: Team, kits: list[Kit], rate: int) -> TeamPublic:
    return TeamPublic(
        id=team.id,
        name=team.name,
        members=list(team.members),
        base_code=team.base_code,
        kits=[kit_view(kit) for kit in kits],
        working_kits=sum(1 for kit in kits if kit.condition is KitCondition.WORKING),
        daily_capacity=teams.daily_capacity(kits, rate),
        created_at=team.created_at,
    )


@router.post(
    "/v1/teams",
    status_code=status.HTTP_201_CREATED,
    response_model=TeamPublic,
    responses={
        **problem_responses(409, 422),
        **replay_response(TeamPublic, "The same team again: the stored one."),
    },
    summary="Create a team",
    description="The same team again answers 200 with the stored one; another team under a "
    "taken name is a 409.",
)
async def create_team(
    body: TeamCreate,
    _: Planner,
    session: WriteSession,
    config: ConfigDep,
    response: Response,
) -> TeamPublic:
    spec = teams.TeamSpec(body.name, tuple(body.members), body.base_code)
    team, created = await teams.create_team(
        session, spec, regency_code=config.settings.regency_code
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/v1/teams/{team.id}"
    kits = await teams.kits_of(session, [team.id])
    return team_view(team, kits[team.id], config.settings.per_kit_daily_rate)


@router.get(
    "/v1/teams",
    response_model=Page[TeamPublic],
    responses=problem_responses(422),
    summary="List teams",
    description="Teams in name order, with their kits and daily capacity.",
)
async def list_teams(
    _: Planner,
    session: ReadSession,
    config: ConfigDep,
    page_size: PageSize = 50,
    page_token: PageToken = None,
) -> Page[TeamPublic]:
    rows = await teams.list_teams(session, limit=page_size + 1, after=text_cursor(page_token))
    items, token = cut_page(rows, page_size, lambda team: (team.name,))
    kits = await teams.kits_of(session, [team.id for team in items])
    rate = config.settings.per_kit_daily_rate
    return Page(items=[team_view(t, kits[t.id], rate) for t in items], next_page_token=token)


@router.get(
    "/v1/teams/{team_id}",
    response_model=TeamPublic,
    responses=problem_responses(404, 422),
    summary="Read a team",
)
async def read_team(
    team_id: TeamIdPath, _: Planner, session: ReadSession, config: ConfigDep
) -> TeamPublic:
    team = await teams.get_team(session, team_id)
    kits = await teams.kits_of(session, [team.id])
    return team_view(team, kits[team.id], config.settings.per_kit_daily_rate)


class KitCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    serial: str = Field(pattern=SERIAL_PATTERN)
    team_id: str | None = Field(default=None, max_length=32)
    condition: KitCondition = KitCondition.WORKING
    note: str | None = Field(default=None, max_length=200)


class KitPatch(BaseModel):
    """Only the fields sent change; `team_id: null` takes the kit off its team."""

    model_config = ConfigDict(extra="forbid")

    team_id: str | None = Field(default=None, max_length=32)
    condition: KitCondition | None = None
    note: str | None = Field(default=None, max_length=200)


@router.post(
    "/v1/kits",
    status_code=status.HTTP_201_CREATED,
    response_model=KitPublic,
    responses={
        **problem_responses(409, 422),
        **replay_response(KitPublic, "The same kit again: the stored one."),
    },
    summary="Register a recording kit",
    description="A set of PC, camera, fingerprint scanner, iris scanner and signature pad, "
    "under its serial. The same kit again answers 200; another kit under the serial is a 409.",
)
async def create_kit(
    body: KitCreate, _: Planner, session: WriteSession, response: Response
) -> KitPublic:
    spec = teams.KitSpec(body.serial, body.team_id, body.condition, body.note)
    kit, created = await teams.create_kit(session, spec)
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/v1/kits/{kit.serial}"
    return kit_view(kit)


@router.get(
    "/v1/kits",
    response_model=Page[KitPublic],
    responses=problem_responses(422),
    summary="List kits",
    description="Kits in serial order, optionally of one condition.",
)
async def list_kits(
    _: Planner,
    session: ReadSession,
    condition: KitCondition | None = None,
    page_size: PageSize = 50,
    page_token: PageToken = None,
) -> Page[KitPublic]:
    rows = await teams.list_kits(
        session, condition, limit=page_size + 1, after=text_cursor(page_token)
    )
    items, token = cut_page(rows, page_size, lambda kit: (kit.serial,))
    return Page(items=[kit_view(kit) for kit in items], next_page_token=token)


@router.patch(
    "/v1/kits/{serial}",
    response_model=KitPublic,
    responses=problem_responses(404, 409, 422),
    summary="Move a kit to a team or report its condition",
    description="A kit that is not `working` takes the planned capacity of its coming "
    "sessions down (and a repaired one brings it back). A kit moved to another team stays "
    "with the sessions already scheduled for it on their days; the new team cannot book it "
    "on those days (a kit is in one place a day).",
)
async def change_kit(
    serial: SerialPath, body: KitPatch, _: Planner, session: WriteSession, clock: ClockDep
) -> KitPublic:
    sent = body.model_fields_set
    change = teams.KitChange(
        team_id=body.team_id,
        team_given="team_id" in sent,
        condition=body.condition,
        note=body.note,
        note_given="note" in sent,
    )
    kit = await teams.change_kit(session, serial, change, today=clock.today())
    return kit_view(kit)
