"""RFC 9457 problem details for every error a service returns."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import structlog
from aiokafka.errors import KafkaError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import iter_route_contexts
from pydantic import BaseModel
from sqlalchemy import exc as sa_exc
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from jemput.shared.logging import mask_niks

PROBLEM_JSON = "application/problem+json"
log = structlog.get_logger(__name__)


class FieldProblem(BaseModel):
    """One invalid field: where it is, a machine-readable code and a readable reason."""

    field: str
    code: str
    reason: str


class Problem(BaseModel):
    type: str = "about:blank"
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldProblem] | None = None


class ProblemError(Exception):
    """Raise from a route or a service function to answer with a problem document."""

    def __init__(
        self,
        status: int,
        title: str,
        detail: str | None = None,
        *,
        type_: str = "about:blank",
        errors: Sequence[FieldProblem] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail or title)
        self.status = status
        self.title = title
        self.detail = detail
        self.type = type_
        self.errors = list(errors) if errors else None
        self.headers = headers


def problem_response(
    request: Request,
    status: int,
    title: str,
    detail: str | None = None,
    *,
    type_: str = "about:blank",
    errors: Sequence[FieldProblem] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = Problem(
        type=type_,
        title=title,
        status=status,
        detail=detail,
        # The path may hold a NIK (/v1/residents/{nik}): errors never carry personal data.
        instance=mask_niks(request.url.path),
        errors=list(errors) if errors else None,
    )
    return JSONResponse(
        body.model_dump(exclude_none=True),
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def problem_error_response(request: Request, error: ProblemError) -> JSONResponse:
    """The problem document of a `ProblemError` (also for middleware, outside the handlers)."""
    return problem_response(
        request,
        error.status,
        error.title,
        error.detail,
        type_=error.type,
        errors=error.errors,
        headers=error.headers,
    )


def field_problems(errors: Sequence[Any]) -> list[FieldProblem]:
    """Pydantic/FastAPI validation errors as field problems, without echoing the input."""
    problems = []
    for error in errors:
        location = [str(part) for part in error.get("loc", ())]
        if location and location[0] in ("body", "query", "path", "header"):
            location = location[1:] if len(location) > 1 else location
        problems.append(
            FieldProblem(
                field=".".join(location) or "(body)",
                code=str(error.get("type", "invalid")),
                reason=str(error.get("msg", "invalid value")).removeprefix("Value error, "),
            )
        )
    return problems


def install_problem_handlers(app: FastAPI) -> None:
    async def on_problem(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ProblemError)
        return problem_error_response(request, exc)

    async def on_validation(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        errors = exc.errors()
        if _body_not_json(errors):
            return problem_response(
                request,
                415,
                "Unsupported Media Type",
                "Send the body as application/json.",
            )
        unreadable = [error for error in errors if error.get("type") == "json_invalid"]
        if unreadable:
            return problem_response(
                request,
                400,
                "Bad Request",
                "The body is not valid JSON.",
                errors=[_json_problem(unreadable[0])],
            )
        return problem_response(
            request,
            422,
            "Invalid request",
            "One or more fields are invalid; see `errors`.",
            errors=field_problems(errors),
        )

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            headers = {**(headers or {}), "Allow": ", ".join(allowed_methods(request))}
        return problem_response(
            request,
            exc.status_code,
            _reason(exc.status_code),
            str(exc.detail) if exc.detail else None,
            headers=headers,
        )

    async def on_unexpected(request: Request, exc: Exception) -> JSONResponse:
        if dependency_unavailable(exc):
            log.warning(
                "http.dependency_unavailable", path=request.url.path, error=type(exc).__name__
            )
            return problem_response(
                request,
                503,
                "Service Unavailable",
                "A dependency is not reachable; try again shortly.",
                headers={"Retry-After": "5"},
            )
        # Never leak internals (or personal data inside them) to the caller.
        log.exception("http.unhandled_error", path=request.url.path, error=type(exc).__name__)
        return problem_response(request, 500, "Internal Server Error")

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_unexpected)


def _body_not_json(errors: Sequence[Any]) -> bool:
    """FastAPI hands a JSON body route the raw bytes when the body came with another (or no)
    content type: the route never read it, so the answer is 415, not a field error."""
    return any(
        tuple(error.get("loc", ())) == ("body",) and isinstance(error.get("input"), bytes)
        for error in errors
    )


def _json_problem(error: Any) -> FieldProblem:
    where = [part for part in error.get("loc", ()) if part != "body"]
    reason = str(error.get("ctx", {}).get("error") or error.get("msg", "invalid JSON"))
    if where:
        reason += f" (at character {where[0]})"
    return FieldProblem(field="(body)", code="json_invalid", reason=reason)


# SQLSTATE classes of a connection that failed or a server shutting down or starting up.
_UNAVAILABLE_SQLSTATE_CLASSES = ("08", "57")


def dependency_unavailable(exc: BaseException) -> bool:
    """The database or the broker is down or restarting: the request may succeed later (503),
    it is not a fault of the service (500)."""
    if isinstance(exc, sa_exc.DBAPIError):
        if exc.connection_invalidated or isinstance(
            exc, sa_exc.OperationalError | sa_exc.InterfaceError
        ):
            return True
        for cause in (exc.orig, getattr(exc.orig, "__cause__", None)):
            sqlstate = getattr(cause, "sqlstate", None)
            if isinstance(sqlstate, str) and sqlstate[:2] in _UNAVAILABLE_SQLSTATE_CLASSES:
                return True
        return isinstance(getattr(exc.orig, "__cause__", None), OSError)
    # sa_exc.TimeoutError: every pooled connection is busy (overload, or a database that stopped
    # answering); the caller should come back later, as for an outage.
    return isinstance(exc, OSError | TimeoutError | KafkaError | sa_exc.TimeoutError)


def allowed_methods(request: Request) -> list[str]:
    """Every method the request's path answers to. Starlette's 405 names only the methods of
    the first route on the path, but each method of a path is a route of its own here, and
    RFC 9110 wants them all in `Allow`. An included router is one entry of `app.routes`
    (without methods): its routes are read as the app serves them."""
    methods: set[str] = set()
    for route in iter_route_contexts(request.app.routes):
        match, _ = route.matches(request.scope)
        if match is not Match.NONE:  # PARTIAL: the path matches, the method does not
            methods |= route.methods or set()
    return sorted(methods)


# RFC 9110 names where Python's table still has the older ones.
_RFC_9110_REASONS = {413: "Content Too Large"}


def _reason(status: int) -> str:
    from http import HTTPStatus

    if status in _RFC_9110_REASONS:
        return _RFC_9110_REASONS[status]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"
