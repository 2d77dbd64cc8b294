"""`/v1/families/{kk}`: the members of a family card and whether every eligible one is recorded."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path
from pydantic import BaseModel, Field

from jemput.residents.adapters.tables import ResidentPublic
from jemput.residents.entrypoints.http.access import Reader
from jemput.residents.entrypoints.http.audit_trail import Trail
from jemput.residents.entrypoints.http.residents import AsOf, problem_responses
from jemput.residents.service_layer import queries
from jemput.shared.audit import AuditAction
from jemput.shared.http.problems import ProblemError
from jemput.shared.http.service_app import ReadSession
from jemput.shared.security.errors import ConcealedOutsideAreas
from jemput.shared.timezone import today_in_office

router = APIRouter(prefix="/v1/families", tags=["families"])

KkPath = Annotated[str, Path(pattern=r"^[0-9]{16}$", description="16-digit family card number")]


class FamilyPublic(BaseModel):
    kk: str
    members: list[ResidentPublic] = Field(description="Eldest first.")
    eligible: int = Field(description="Members required to hold an e-KTP as of `as_of`.")
    recorded: int = Field(description="Eligible members recorded (SUDAH_REKAM or further).")
    complete: bool = Field(description="Every eligible member is recorded.")


def family_not_found() -> ProblemError:
    return ProblemError(404, "Not Found", "No resident carries this family card number.")


@router.get(
    "/{kk}",
    response_model=FamilyPublic,
    responses=problem_responses(404, 422),
    summary="A family card's members and their recording",
    description=(
        "The residents on a family card (KK) with their e-KTP status as of `as_of`, how many "
        "must hold an e-KTP, how many of those are recorded, and whether that is all of them. "
        "A client limited to areas sees the members living in its areas, and the counts are of "
        "those members; none there answers 404, as for an unknown KK."
    ),
)
async def read_family(
    kk: KkPath, principal: Reader, trail: Trail, session: ReadSession, as_of: AsOf = None
) -> FamilyPublic:
    # The KK is not a NIK: the entry names it in `detail`, and each member read by NIK.
    detail = f"kk {kk}"
    async with trail.reading(AuditAction.FAMILY_READ, detail=detail):
        family = await queries.family(
            session, kk, as_of or today_in_office(), areas=principal.areas
        )
        if family is None:
            if principal.limited_to_areas and await queries.family_registered(session, kk):
                # Recorded as denied, answered like an unknown KK: existence is not disclosed.
                raise ConcealedOutsideAreas(family_not_found())
            raise family_not_found()
    await trail.read_many(AuditAction.FAMILY_READ, (m.nik for m in family.members), detail)
    return FamilyPublic(
        kk=family.kk,
        members=family.members,
        eligible=family.eligible,
        recorded=family.recorded,
        complete=family.complete,
    )
