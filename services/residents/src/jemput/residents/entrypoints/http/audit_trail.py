"""Every read or change of a resident's personal data leaves an audit entry: who (client),
why (the `X-Purpose` header), whose (NIK), what (the action), when, and how it ended.

    async with trail.reading(AuditAction.RESIDENT_READ, nik):
        ...  # a 404 or 403 raised here is recorded as not_found or denied, then re-raised

Reads are recorded through the runtime's group-commit writer before the answer leaves; a
successful change is recorded in the change's own transaction (`trail.changed`), so the two
commit or roll back together. Partner systems (callers without `residents:read`) must say why
they ask: UU 27/2022 limits personal data to its purpose.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncSession

from jemput.shared.audit import AuditAction, AuditEntry, AuditResult, record_many
from jemput.shared.audit.writer import AuditUnavailable, AuditWriter
from jemput.shared.http.problems import FieldProblem, ProblemError
from jemput.shared.http.service_app import RuntimeDep
from jemput.shared.security import Principal, Scope, principal_of

PURPOSE_HEADER = "X-Purpose"
# Callers with one of these work for the office or the ministry; anyone else is a partner.
OFFICE_SCOPES = (Scope.RESIDENTS_READ, Scope.RESIDENTS_WRITE, Scope.RESIDENTS_CENTRAL)

_RESULT_OF_STATUS = {
    404: AuditResult.NOT_FOUND,
    403: AuditResult.DENIED,
    401: AuditResult.DENIED,
    409: AuditResult.REFUSED,
    422: AuditResult.INVALID,
}


@dataclass(frozen=True, slots=True)
class AuditTrail:
    writer: AuditWriter
    client_id: str
    purpose: str | None

    def entry(
        self,
        action: AuditAction,
        result: AuditResult,
        nik: str | None = None,
        detail: str | None = None,
    ) -> AuditEntry:
        return AuditEntry(
            client_id=self.client_id,
            action=action,
            result=result,
            nik=nik,
            purpose=self.purpose,
            detail=detail,
        )

    async def write(self, *entries: AuditEntry) -> None:
        try:
            await self.writer.write(*entries)
        except AuditUnavailable:
            raise ProblemError(
                503,
                "Service Unavailable",
                "The access could not be recorded in the audit log; try again shortly.",
            ) from None

    @asynccontextmanager
    async def reading(
        self, action: AuditAction, nik: str | None = None, detail: str | None = None
    ) -> AsyncIterator[None]:
        """Record a read: ok when the block ends, or the refusal it raised."""
        try:
            yield
        except ProblemError as problem:
            result = _RESULT_OF_STATUS.get(problem.status)
            if result is not None:
                await self.write(self.entry(action, result, nik, detail))
            raise
        await self.write(self.entry(action, AuditResult.OK, nik, detail))

    async def read_many(self, action: AuditAction, niks: Iterable[str], detail: str) -> None:
        """One entry per resident a list answered with."""
        await self.write(*(self.entry(action, AuditResult.OK, nik, detail) for nik in niks))

    @asynccontextmanager
    async def changing(
        self, action: AuditAction, nik: str | None = None, detail: str | None = None
    ) -> AsyncIterator[None]:
        """Record a refused change (the change's transaction rolls back, so the refusal is
        written after it, on its own); a successful change calls `changed` inside its
        transaction."""
        try:
            yield
        except ProblemError as problem:
            result = _RESULT_OF_STATUS.get(problem.status)
            if result is not None:
                self.writer.submit(self.entry(action, result, nik, detail))
            raise

    async def changed(
        self,
        session: AsyncSession,
        action: AuditAction,
        niks: Iterable[str | None],
        detail: str | None = None,
    ) -> None:
        await record_many(
            session, [self.entry(action, AuditResult.OK, nik, detail) for nik in niks]
        )


def audit_trail(
    request: Request,
    runtime: RuntimeDep,
    x_purpose: Annotated[
        str | None,
        Header(
            alias=PURPOSE_HEADER,
            min_length=3,
            max_length=200,
            description=(
                "Why the caller needs this resident's data (e.g. `verifikasi peserta JKN`); "
                "required for partner systems, recorded in the audit log."
            ),
        ),
    ] = None,
) -> AuditTrail:
    principal: Principal = principal_of(request)
    purpose = x_purpose.strip() if x_purpose else None
    if not purpose and not any(principal.has(scope) for scope in OFFICE_SCOPES):
        raise ProblemError(
            422,
            "Invalid request",
            f"Partner systems must state the purpose of each request in `{PURPOSE_HEADER}`.",
            errors=[
                FieldProblem(
                    field=PURPOSE_HEADER, code="purpose_required", reason="header is missing"
                )
            ],
        )
    return AuditTrail(writer=runtime.audit_writer, client_id=principal.client_id, purpose=purpose)


Trail = Annotated[AuditTrail, Depends(audit_trail)]
