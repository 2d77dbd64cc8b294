"""`/v1/families/{kk}`: the members of a family card and whether every eligible one is recorded."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from jemput.residents.adapters.tables import ResidentPublic
from jemput.residents.entrypoints.http.residents import AsOf, problem_responses
from jemput.residents.service_layer import queries
from jemput.shared.http.problems import ProblemError
from jemput.shared.http.service_app import ReadSession
from jemput.shared.timezone import today_in_office

router = APIRouter(prefix="/v1/families", tags=["families"])

KkPath = Annotated[str, Path(pattern=r"^[0-9]{16}$", description="16-digit family card number")]


class FamilyPublic(BaseModel):
    kk: str
    members: list[ResidentPublic] = Field(description="Eldest first.")
    eligible: int = Field(description="Members required to hold an e-KTP as of `as_of`.")
    recorded: int = Field(description="Eligible members recorded (SUDAH_REKAM or further).")
    complete: bool = Field(description="Every eligible member is recorded.")


@router.get(
    "/{kk}",
    response_model=FamilyPublic,
    responses=problem_responses(404, 422),
    summary="A family card's members and their recording",
    description=(
        "The residents on a family card (KK) with their e-KTP status as of `as_of`, how many "
        "must hold an e-KTP, how many of those are recorded, and whether that is all of them."
    ),
)
async def read_family(kk: KkPath, session: ReadSession, as_of: AsOf = None) -> FamilyPublic:
    family = await queries.family(session, kk, as_of or today_in_office())
    if family is None:
        raise ProblemError(404, "Not Found", "No resident carries this family card number.")
    return FamilyPublic(
        kk=family.kk,
        members=family.members,
        eligible=family.eligible,
        recorded=family.recorded,
        complete=family.complete,
    )
