"""The problem documents outreach answers with: one place for their shape and type URIs.

Details and reasons name sessions, kits, teams and dates, never a NIK or a person."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.shared.http.problems import FieldProblem, ProblemError

TYPE_BASE = "https://jemput.go.id/problems/"


def field(name: str, code: str, reason: str) -> FieldProblem:
    return FieldProblem(field=name, code=code, reason=reason)


def invalid(*problems: FieldProblem) -> ProblemError:
    return ProblemError(
        422, "Invalid request", "One or more fields are invalid; see `errors`.", errors=problems
    )


def conflict(detail: str, code: str, errors: Sequence[FieldProblem] = ()) -> ProblemError:
    return ProblemError(409, "Conflict", detail, type_=TYPE_BASE + code, errors=errors or None)


def not_found(what: str) -> ProblemError:
    return ProblemError(404, "Not Found", f"No {what} with this id.")


def prefixed(prefix: str, problems: Sequence[FieldProblem]) -> list[FieldProblem]:
    """Field problems of one item of a list, named after its place (`sessions.3.day`)."""
    return [
        FieldProblem(
            field=f"{prefix}.{p.field}" if p.field else prefix, code=p.code, reason=p.reason
        )
        for p in problems
    ]


async def flush_or_conflict(session: AsyncSession, detail: str) -> None:
    """Flush; a unique index refusing the row (two identical requests at the same moment)
    answers 409, never a 500. The caller's transaction is rolled back with it."""
    try:
        await session.flush()
    except IntegrityError:
        raise conflict(
            detail + " Another request did the same at the same moment.", "raced"
        ) from None
