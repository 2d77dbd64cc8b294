"""Route-level authorization: `require_scope(Scope.X)` as a FastAPI dependency, and the
checks a route makes against the areas a principal may see.

    Reader = Annotated[Principal, Depends(require_scope(Scope.RESIDENTS_READ))]

    @router.get("/{nik}")
    async def read_resident(nik: str, principal: Reader) -> ...

The guard middleware has already authenticated the caller; these add what it may do. Every
route outside the public paths must carry a requirement (`routes_without_scope`)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import FastAPI, Request, Security
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from jemput.shared.http.problems import ProblemError
from jemput.shared.security.errors import (
    ConcealedOutsideAreas,
    missing_scope,
    outside_areas,
    regency_wide_only,
    unauthenticated,
)
from jemput.shared.security.principal import PRINCIPAL_SCOPE_KEY, Principal
from jemput.shared.security.scopes import Scope

# Declared for the OpenAPI document (and the "Authorize" button of /docs) only: the guard
# middleware does the checking.
bearer_scheme = HTTPBearer(
    bearerFormat="JWT",
    description="An OAuth2 client-credentials access token (RS256) from the identity provider.",
    auto_error=False,
)
api_key_scheme = APIKeyHeader(
    name="X-API-Key", description="An API key issued by the office.", auto_error=False
)


def principal_of(request: Request) -> Principal:
    """The authenticated caller of this request."""
    principal = request.scope.get(PRINCIPAL_SCOPE_KEY)
    if not isinstance(principal, Principal):
        # A route reached without the guard (a public path with a scope): refuse, never allow.
        raise unauthenticated("Credentials are required.", credentials_sent=False)
    return principal


class ScopeRequirement:
    """A dependency that lets through principals with `scope` (and, with `whole_regency`,
    only those not limited to areas)."""

    def __init__(self, scope: Scope, *, whole_regency: bool = False) -> None:
        self.scope = scope
        self.whole_regency = whole_regency

    async def __call__(
        self,
        request: Request,
        _bearer: Annotated[HTTPAuthorizationCredentials | None, Security(bearer_scheme)],
        _api_key: Annotated[str | None, Security(api_key_scheme)],
    ) -> Principal:
        principal = principal_of(request)
        if not principal.has(self.scope):
            raise missing_scope(self.scope)
        if self.whole_regency and principal.limited_to_areas:
            raise regency_wide_only()
        return principal


def require_scope(scope: Scope, *, whole_regency: bool = False) -> ScopeRequirement:
    return ScopeRequirement(scope, whole_regency=whole_regency)


def ensure_may_see(principal: Principal, area_code: str, what: str) -> None:
    """403 unless the area lies within the principal's areas; `what` names it, e.g.
    "This resident" (never with personal data)."""
    if not principal.may_see(area_code):
        raise outside_areas(what)


def ensure_may_see_resident(
    principal: Principal, area_code: str, not_found: Callable[[], ProblemError]
) -> None:
    """For a resident found by NIK (or a family by KK): unless it lives within the principal's
    areas, the route's `not_found()` problem, the same answer as for one never registered (a
    403 would tell that it exists)."""
    if not principal.may_see(area_code):
        raise ConcealedOutsideAreas(not_found())


@dataclass(frozen=True, slots=True)
class ApiOperation:
    """One API route as the app serves it (router prefixes and dependencies applied)."""

    path: str
    methods: frozenset[str]
    requirement: ScopeRequirement | None

    def __str__(self) -> str:
        return f"{','.join(sorted(self.methods))} {self.path}"


def api_operations(app: FastAPI) -> list[ApiOperation]:
    """Every API route of the app, included routers' too, with the scope it requires."""
    operations = []
    for context in iter_route_contexts(app.routes):
        # The documentation pages are routes too, but not operations of the API.
        route = context.original_route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        dependant: Dependant | None = context.dependant
        requirements = (
            [d.call for d in _walk(dependant) if isinstance(d.call, ScopeRequirement)]
            if dependant is not None
            else []
        )
        operations.append(
            ApiOperation(
                path=str(context.path_format),
                methods=frozenset(context.methods or ()),
                requirement=requirements[0] if requirements else None,
            )
        )
    return operations


def routes_without_scope(app: FastAPI, public_paths: Iterable[str]) -> list[str]:
    """`METHOD path` of every API route outside the public paths that no scope protects."""
    public = set(public_paths)
    return [
        str(operation)
        for operation in api_operations(app)
        if operation.path not in public and operation.requirement is None
    ]


def _walk(dependant: Dependant) -> Iterator[Dependant]:
    for dependency in dependant.dependencies:
        yield dependency
        yield from _walk(dependency)
