"""`/v1/residents`: register a resident, read one (as of a date), their status history, the
partner status API, and search."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncConnection

from jemput.residents.adapters.tables import ResidentCreate, ResidentPublic, StatusChangePublic
from jemput.residents.domain.model import DomicileStatus, EktpStatus
from jemput.residents.entrypoints.http.access import Reader, StatusReader, Writer, history_actor
from jemput.residents.entrypoints.http.audit_trail import Trail
from jemput.residents.service_layer import queries, registration
from jemput.residents.service_layer.queries import ResidentSearch, Vulnerability
from jemput.shared.audit import AuditAction
from jemput.shared.db import read_only
from jemput.shared.http.openapi import problem_responses as problem_responses
from jemput.shared.http.openapi import replay_response
from jemput.shared.http.pagination import (
    DEFAULT_PAGE_SIZE,
    MAX_PAGE_SIZE,
    Page,
    cut_page,
    decode_page_token,
)
from jemput.shared.http.problems import FieldProblem, ProblemError
from jemput.shared.http.service_app import ReadSession, RuntimeDep, WriteSession
from jemput.shared.http.types import IsoDate
from jemput.shared.nik import NIK_PATTERN, NikText
from jemput.shared.reference.areas import AreaLevel, load_area_table
from jemput.shared.security import ensure_may_see, ensure_may_see_resident
from jemput.shared.timezone import today_in_office

router = APIRouter(prefix="/v1/residents", tags=["residents"])


NikPath = Annotated[str, Path(pattern=NIK_PATTERN, description="16-digit NIK")]
AsOf = Annotated[
    IsoDate | None,
    Query(
        ge=date(1900, 1, 1),
        le=date(2199, 12, 31),
        description="Compute age-dependent values as of this date (default: today, WIB).",
    ),
]


async def read_connection(runtime: RuntimeDep) -> AsyncIterator[AsyncConnection]:
    """A bare connection for the hottest reads: cheaper than a session."""
    async with read_only(runtime.engine).connect() as conn:
        yield conn


ReadConnection = Annotated[AsyncConnection, Depends(read_connection)]


def not_found() -> ProblemError:
    # Also the answer for a resident outside the caller's areas: existence is not disclosed.
    return ProblemError(404, "Not Found", "No resident with this NIK is registered.")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ResidentPublic,
    responses={
        **problem_responses(409, 422),
        **replay_response(ResidentPublic, "The same record again: the stored resident."),
    },
    summary="Register a resident",
    description=(
        "Registers a resident and publishes `resident_registered.v1`. Sending the same record "
        "again returns the stored resident with 200; a different record for a registered NIK "
        "is a 409. A client limited to areas registers residents of its areas only."
    ),
)
async def create_resident(
    body: ResidentCreate,
    principal: Writer,
    trail: Trail,
    session: WriteSession,
    runtime: RuntimeDep,
    request: Request,
    response: Response,
) -> ResidentPublic:
    settings = request.app.state.settings
    today = today_in_office()
    async with trail.changing(AuditAction.RESIDENT_CREATE, body.nik):
        ensure_may_see(principal, body.village_code, "The resident's village")
        resident, created = await registration.create(
            session,
            runtime.outbox,
            body,
            regency_code=settings.regency_code,
            today=today,
            actor=history_actor(principal),
        )
    await trail.changed(
        session,
        AuditAction.RESIDENT_CREATE,
        [resident.nik],
        detail="registered" if created else "already registered, unchanged",
    )
    if not created:
        response.status_code = status.HTTP_200_OK
    response.headers["Location"] = f"/v1/residents/{resident.nik}"
    return queries.public_view(resident, today)


class SearchQuery(BaseModel):
    """Filters of `GET /v1/residents`; age conditions are evaluated as of `as_of`."""

    model_config = ConfigDict(extra="forbid")

    village: str | None = Field(
        default=None,
        pattern=r"^[0-9]{2}\.[0-9]{2}\.[0-9]{2}\.[0-9]{4}$",
        description="Kemendagri village code, e.g. 16.02.05.1001.",
    )
    district: str | None = Field(
        default=None,
        pattern=r"^[0-9]{2}\.[0-9]{2}\.[0-9]{2}$",
        description="Kemendagri district (kecamatan) code, e.g. 16.02.05.",
    )
    status: EktpStatus | None = Field(
        default=None,
        description="e-KTP status as of `as_of` (BELUM_WAJIB and BELUM_REKAM follow birthdays).",
    )
    eligible: bool | None = Field(
        default=None, description="Required to hold an e-KTP (wajib KTP) as of `as_of`."
    )
    vulnerable: bool | None = Field(
        default=None,
        description="Elderly (60+ as of `as_of`), disabled, chronically ill or mentally ill.",
    )
    vulnerability: Vulnerability | None = Field(
        default=None, description="One kind of vulnerability."
    )
    turns_17_within_days: int | None = Field(
        default=None,
        ge=1,
        le=366,
        description="Never married, under 17 on `as_of` and 17 within this many days after it.",
    )
    name_prefix: str | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="Start of the full name, case-insensitive.",
    )
    domicile: DomicileStatus = Field(default=DomicileStatus.RESIDENT)
    as_of: IsoDate | None = Field(
        default=None,
        ge=date(1900, 1, 1),
        le=date(2199, 12, 31),
        description="The date of every age condition (default: today, WIB).",
    )
    page_size: int = Field(default=DEFAULT_PAGE_SIZE, ge=1, le=MAX_PAGE_SIZE)
    page_token: str | None = Field(
        default=None,
        max_length=512,
        description="`next_page_token` of the previous page; omit for the first page.",
    )


@router.get(
    "",
    response_model=Page[ResidentPublic],
    responses=problem_responses(422),
    summary="Search residents",
    description=(
        "Residents matching every filter given, in NIK order, one page at a time: pass "
        "`next_page_token` back as `page_token` for the next page. Only residents domiciled "
        "in the regency unless `domicile` says otherwise. A client limited to areas finds "
        "the residents of its areas only, and may not name a village or district outside them."
    ),
)
async def search_residents(
    params: Annotated[SearchQuery, Query()], principal: Reader, trail: Trail, session: ReadSession
) -> Page[ResidentPublic]:
    _check_area(params.village, AreaLevel.VILLAGE, "village")
    _check_area(params.district, AreaLevel.DISTRICT, "district")
    if params.village is not None:
        ensure_may_see(principal, params.village, "The village")
    if params.district is not None:
        ensure_may_see(principal, params.district, "The district")
    after_nik = _after_nik(params.page_token)
    as_of = params.as_of or today_in_office()
    search = ResidentSearch(
        as_of=as_of,
        domicile=params.domicile,
        village_code=params.village,
        district_code=params.district,
        status=params.status,
        eligible=params.eligible,
        vulnerable=params.vulnerable,
        vulnerability=params.vulnerability,
        turns_17_within_days=params.turns_17_within_days,
        name_prefix=params.name_prefix,
        areas=principal.areas,
    )
    rows = await queries.search(session, search, limit=params.page_size + 1, after_nik=after_nik)
    items, token = cut_page(rows, params.page_size, lambda resident: (resident.nik,))
    await trail.read_many(
        AuditAction.RESIDENT_SEARCH, (r.nik for r in items), detail=_search_detail(params)
    )
    return Page(items=[queries.public_view(r, as_of) for r in items], next_page_token=token)


def _search_detail(params: SearchQuery) -> str:
    """The filters for the auditor, without the name prefix (personal data)."""
    used = params.model_dump(exclude_none=True, exclude={"name_prefix", "page_token"})
    if params.name_prefix is not None:
        used["name_prefix"] = "…"
    return " ".join(f"{key}={value}" for key, value in sorted(used.items()))


def _after_nik(page_token: str | None) -> str | None:
    if page_token is None:
        return None
    (nik,) = decode_page_token(page_token)
    if not (isinstance(nik, str) and nik.isdigit() and len(nik) == 16):
        raise _invalid("page_token", "invalid_page_token", "page_token is not from this list")
    return nik


def _check_area(code: str | None, level: AreaLevel, field: str) -> None:
    if code is None:
        return
    area = load_area_table().get(code)
    if area is None or area.level is not level:
        raise _invalid(
            field, f"unknown_{level}", f"{field} is not a {level} in the Kemendagri table"
        )


def _invalid(field: str, code: str, reason: str) -> ProblemError:
    return ProblemError(
        422,
        "Invalid request",
        "One or more fields are invalid; see `errors`.",
        errors=[FieldProblem(field=field, code=code, reason=reason)],
    )


@router.get(
    "/{nik}",
    response_model=ResidentPublic,
    responses=problem_responses(404, 422),
    summary="Read a resident",
    description="The register's record, with the e-KTP status and eligibility as of `as_of`.",
)
async def read_resident(
    nik: NikPath, principal: Reader, trail: Trail, session: ReadSession, as_of: AsOf = None
) -> ResidentPublic:
    async with trail.reading(AuditAction.RESIDENT_READ, nik):
        resident = await queries.get_resident(session, nik)
        if resident is None:
            raise not_found()
        ensure_may_see_resident(principal, resident.village_code, not_found)
    return queries.public_view(resident, as_of or today_in_office())


@router.get(
    "/{nik}/history",
    response_model=list[StatusChangePublic],
    responses=problem_responses(404, 422),
    summary="A resident's e-KTP status history",
    description="Every status transition with its cause and actor, oldest first.",
)
async def read_history(
    nik: NikPath, principal: Reader, trail: Trail, session: ReadSession
) -> list[StatusChangePublic]:
    async with trail.reading(AuditAction.RESIDENT_HISTORY_READ, nik):
        village = await queries.village_of(session, nik)
        if village is None:
            raise not_found()
        ensure_may_see_resident(principal, village, not_found)
        changes = await queries.history(session, nik)
    return [StatusChangePublic.model_validate(change) for change in changes]


class EktpStatusPublic(BaseModel):
    """What a partner agency may know of a resident's e-KTP: no name, address or birth date."""

    nik: NikText
    ektp_status: EktpStatus
    suket_outstanding: bool
    last_changed: date = Field(description="The date (WIB) the status last changed.")


@router.get(
    "/{nik}/ektp-status",
    response_model=EktpStatusPublic,
    responses=problem_responses(404, 422),
    summary="e-KTP status for partner agencies",
    description=(
        "The status as of today, whether a temporary certificate (SUKET) is outstanding, and "
        "when the status last changed. Nothing else about the resident."
    ),
)
async def read_ektp_status(
    nik: NikPath, principal: StatusReader, trail: Trail, conn: ReadConnection
) -> EktpStatusPublic:
    async with trail.reading(AuditAction.RESIDENT_STATUS_READ, nik):
        found = await queries.partner_status(conn, nik, today_in_office())
        if found is None:
            raise not_found()
        ensure_may_see_resident(principal, found.village_code, not_found)
    return EktpStatusPublic(
        nik=found.nik,
        ektp_status=found.ektp_status,
        suket_outstanding=found.suket_outstanding,
        last_changed=found.last_changed,
    )
