"""`GET /v1/audit/entries` for auditors. Authentication is added where the router is included
(`app.include_router(audit_router(), dependencies=[...])`), not here."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Query, params

from jemput.shared.audit.entry import AuditAction
from jemput.shared.audit.queries import AuditRecord, search
from jemput.shared.http.openapi import problem_responses
from jemput.shared.http.pagination import DEFAULT_PAGE_SIZE, Page, PageSize, PageToken
from jemput.shared.http.problems import FieldProblem, ProblemError
from jemput.shared.http.service_app import ReadSession
from jemput.shared.http.types import IsoAwareDatetime
from jemput.shared.nik import NIK_PATTERN

PROBLEMS = problem_responses(422)


def audit_router(
    prefix: str = "/v1/audit", *, dependencies: Sequence[params.Depends] | None = None
) -> APIRouter:
    router = APIRouter(prefix=prefix, tags=["audit"], dependencies=dependencies)

    @router.get(
        "/entries",
        response_model=Page[AuditRecord],
        responses=PROBLEMS,
        summary="Search the audit log of access to residents' personal data",
        description=(
            "Who read or changed which resident's data, why, when and with what result, newest "
            "first, one page at a time: pass `next_page_token` back as `page_token`. Entries "
            "are sealed into a hash chain within seconds; `sealed` tells which are."
        ),
    )
    async def list_entries(
        session: ReadSession,
        nik: Annotated[
            str | None, Query(pattern=NIK_PATTERN, description="Whose data (NIK).")
        ] = None,
        client_id: Annotated[
            str | None, Query(max_length=128, description="The caller's client id.")
        ] = None,
        action: Annotated[AuditAction | None, Query(description="What was done.")] = None,
        from_: Annotated[
            IsoAwareDatetime | None,
            Query(alias="from", description="Recorded at or after (with a time zone)."),
        ] = None,
        to: Annotated[
            IsoAwareDatetime | None, Query(description="Recorded before (with a time zone).")
        ] = None,
        page_size: PageSize = DEFAULT_PAGE_SIZE,
        page_token: PageToken = None,
    ) -> Page[AuditRecord]:
        if from_ is not None and to is not None and from_ >= to:
            raise ProblemError(
                422,
                "Invalid request",
                "One or more fields are invalid; see `errors`.",
                errors=[
                    FieldProblem(field="to", code="empty_range", reason="to is not after from")
                ],
            )
        return await search(
            session,
            nik=nik,
            client_id=client_id,
            action=action,
            from_=from_,
            to=to,
            page_size=page_size,
            page_token=page_token,
        )

    return router
