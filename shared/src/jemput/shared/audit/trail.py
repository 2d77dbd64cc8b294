"""A request's audit trail: every read or change of a resident's personal data leaves an entry
saying who (client), why (the `X-Purpose` header), whose (NIK), what (the action), when, and how
it ended.

    async with trail.reading(AuditAction.RESIDENT_READ, nik):
        ...  # a 404 or 403 raised here is recorded as not_found or denied, then re-raised

Reads are recorded through the runtime's group-commit writer before the answer leaves; a
successful change is recorded in the change's own transaction (`trail.changed`), so the two
commit or roll back together. When the NIK is known only inside the block (a print job, a home
visit), the block sets it on the subject the context manager yields. Partner systems (callers
without one of the service's office scopes) must say why they ask: UU 27/2022 limits personal
data to its purpose.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Header, Request
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.util import identity_key

from jemput.shared.audit.entry import AuditAction, AuditEntry, AuditResult
from jemput.shared.audit.recording import record_many
from jemput.shared.audit.writer import AuditUnavailable, AuditWriter
from jemput.shared.http.problems import FieldProblem, ProblemError
from jemput.shared.http.service_app import RuntimeDep
from jemput.shared.security import Principal, Scope, principal_of
from jemput.shared.security.errors import ConcealedOutsideAreas

PURPOSE_HEADER = "X-Purpose"

_RESULT_OF_STATUS = {
    404: AuditResult.NOT_FOUND,
    403: AuditResult.DENIED,
    401: AuditResult.DENIED,
    409: AuditResult.REFUSED,
    422: AuditResult.INVALID,
}


def _result_of(problem: ProblemError) -> AuditResult | None:
    # An out-of-area request answered like "not found" was still refused: the log says so.
    if isinstance(problem, ConcealedOutsideAreas):
        return AuditResult.DENIED
    return _RESULT_OF_STATUS.get(problem.status)


@dataclass(slots=True)
class AuditSubject:
    """Whose data a block reads or changes; the block may name the resident once it knows."""

    nik: str | None = None


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
    ) -> AsyncIterator[AuditSubject]:
        """Record a read: ok when the block ends, or the refusal it raised."""
        subject = AuditSubject(nik)
        try:
            yield subject
        except ProblemError as problem:
            result = _result_of(problem)
            if result is not None:
                await self.write(self.entry(action, result, subject.nik, detail))
            raise
        await self.write(self.entry(action, AuditResult.OK, subject.nik, detail))

    async def read_many(self, action: AuditAction, niks: Iterable[str], detail: str) -> None:
        """One entry per resident a list answered with."""
        await self.write(*(self.entry(action, AuditResult.OK, nik, detail) for nik in niks))

    @asynccontextmanager
    async def changing(
        self, action: AuditAction, nik: str | None = None, detail: str | None = None
    ) -> AsyncIterator[AuditSubject]:
        """Record a refused change (the change's transaction rolls back, so the refusal is
        written after it, on its own); a successful change calls `changed` inside its
        transaction."""
        subject = AuditSubject(nik)
        try:
            yield subject
        except ProblemError as problem:
            self.refused(problem, action, subject.nik, detail)
            raise

    def refused(
        self,
        problem: ProblemError,
        action: AuditAction,
        nik: str | None = None,
        detail: str | None = None,
    ) -> None:
        """Store a refused change soon, without waiting for its transaction to roll back."""
        result = _result_of(problem)
        if result is not None:
            self.writer.submit(self.entry(action, result, nik, detail))

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

    async def changed_each(self, session: AsyncSession, entries: Iterable[AuditEntry]) -> None:
        """Entries made with `entry` (results per item of a batch), in the change's
        transaction."""
        await record_many(session, entries)


def audit_trail_dependency(office_scopes: Sequence[Scope]) -> Callable[..., AuditTrail]:
    """The FastAPI dependency giving a route its trail. Callers holding one of
    `office_scopes` work for the office or the ministry; anyone else is a partner and must
    state the purpose of each request."""

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
        if not purpose and not any(principal.has(scope) for scope in office_scopes):
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
        return AuditTrail(
            writer=runtime.audit_writer, client_id=principal.client_id, purpose=purpose
        )

    return audit_trail


def result_of_status(status: int) -> AuditResult:
    """What an HTTP status says about the access, for items answered with a status each (a
    batch): a success is ok, a refusal its kind, anything else invalid."""
    if 200 <= status < 300:
        return AuditResult.OK
    return _RESULT_OF_STATUS.get(status, AuditResult.INVALID)


def loaded_nik(session: AsyncSession, model: type[Any], key: Any) -> str | None:
    """The NIK of a row the request's session has already loaded, without a query: after a
    refusal the session may be unusable, and the refusal is recorded all the same."""
    row = session.identity_map.get(identity_key(model, key))
    nik = getattr(row, "nik", None)
    return nik if isinstance(nik, str) else None


def well_formed_nik(text: str) -> str | None:
    """`text` if it has the shape of a NIK (16 digits), for entries about input not yet
    checked; None otherwise (the entry then names no resident)."""
    return text if len(text) == 16 and text.isdigit() else None
