"""The problem documents inventory answers with: one place for their shape and type URIs.

Details name entries, jobs, locations and serials, never a resident."""

from __future__ import annotations

from jemput.shared.http.problems import FieldProblem, ProblemError

TYPE_BASE = "https://jemput.go.id/problems/"


def field(name: str, code: str, reason: str) -> FieldProblem:
    return FieldProblem(field=name, code=code, reason=reason)


def invalid(*problems: FieldProblem) -> ProblemError:
    return ProblemError(
        422, "Invalid request", "One or more fields are invalid; see `errors`.", errors=problems
    )


def refused(detail: str, code: str) -> ProblemError:
    """The ledger or the print queue refused the movement: nothing was written."""
    return ProblemError(409, "Conflict", detail, type_=TYPE_BASE + code)


def not_found(what: str) -> ProblemError:
    return ProblemError(404, "Not Found", f"No {what} with this id.")
