"""`/v1/residents`: register a resident, read one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response, status

from jemput.residents.adapters.tables import ResidentCreate, ResidentPublic
from jemput.residents.service_layer import registration
from jemput.shared.http.problems import Problem, ProblemError
from jemput.shared.http.service_app import ReadSession, RuntimeDep, WriteSession
from jemput.shared.timezone import today_in_office

router = APIRouter(prefix="/v1/residents", tags=["residents"])

PROBLEMS: dict[int | str, dict[str, object]] = {
    code: {"model": Problem, "content": {"application/problem+json": {}}}
    for code in (404, 409, 422)
}

NikPath = Annotated[str, Path(pattern=r"^[0-9]{16}$", description="16-digit NIK")]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ResidentPublic,
    responses=PROBLEMS,
    summary="Register a resident",
    description=(
        "Registers a resident and publishes `resident_registered.v1`. Sending the same record "
        "again returns the stored resident with 200; a different record for a registered NIK "
        "is a 409."
    ),
)
async def create_resident(
    body: ResidentCreate,
    session: WriteSession,
    runtime: RuntimeDep,
    request: Request,
    response: Response,
) -> ResidentPublic:
    settings = request.app.state.settings
    resident, created = await registration.create(
        session,
        runtime.outbox,
        body,
        regency_code=settings.regency_code,
        today=today_in_office(),
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/v1/residents/{resident.nik}"
    return ResidentPublic.model_validate(resident)


@router.get("/{nik}", response_model=ResidentPublic, responses=PROBLEMS, summary="Read a resident")
async def read_resident(nik: NikPath, session: ReadSession) -> ResidentPublic:
    resident = await registration.get(session, nik)
    if resident is None:
        raise ProblemError(404, "Not Found", "No resident with this NIK is registered.")
    return ResidentPublic.model_validate(resident)
