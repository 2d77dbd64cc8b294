"""Query parameters an operation does not declare are refused (422), on every route alike: a
misspelled filter (`?actoin=`) must not silently answer as if there were no filter."""

from __future__ import annotations

from weakref import WeakKeyDictionary

from fastapi import FastAPI, Request
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute, RouteContext, iter_route_contexts
from pydantic import BaseModel
from starlette.routing import Match

# The code and reason pydantic gives a field a model with extra="forbid" does not know, so a
# query model's own refusal and this one read the same.
UNKNOWN_CODE = "extra_forbidden"
UNKNOWN_REASON = "Extra inputs are not permitted"


async def refuse_unknown_query(request: Request) -> None:
    """An app-wide dependency: 422 naming each query parameter the route does not take."""
    declared = _declared_for(request)
    if declared is None:  # not an API operation (the API documentation, static files)
        return
    unknown = [name for name in dict.fromkeys(request.query_params.keys()) if name not in declared]
    if unknown:
        raise RequestValidationError(
            [
                {"type": UNKNOWN_CODE, "loc": ("query", name), "msg": UNKNOWN_REASON}
                for name in unknown
            ]
        )


# Per app, by the route as its router defined it (`id`: the app holds its routes for its
# life): each inclusion of that route with what it declares (router dependencies too). Built
# on the first request, so a request looks its route up instead of walking every route.
_Inclusions = dict[int, list[tuple[RouteContext, frozenset[str]]]]
_DECLARED: WeakKeyDictionary[FastAPI, _Inclusions] = WeakKeyDictionary()


def _inclusions(app: FastAPI) -> _Inclusions:
    if app not in _DECLARED:
        found: _Inclusions = {}
        for context in iter_route_contexts(app.routes):
            if isinstance(context.original_route, APIRoute):
                names = declared_query_parameters(context.dependant)
                found.setdefault(id(context.original_route), []).append((context, names))
        _DECLARED[app] = found
    return _DECLARED[app]


def _declared_for(request: Request) -> frozenset[str] | None:
    """What the request's route declares. `scope["route"]` is the route as its router defined
    it; the dependencies `include_router` added are only in the app's view of it."""
    route = request.scope.get("route")
    # The documentation pages are routes too, but not operations of the API.
    if not isinstance(route, APIRoute) or not route.include_in_schema:
        return None
    found = _inclusions(request.app).get(id(route), [])
    if len(found) > 1:  # one router included twice: the inclusion that matched
        found = [(c, names) for c, names in found if c.matches(request.scope)[0] is Match.FULL]
    return found[0][1] if found else declared_query_parameters(route.dependant)


def declared_query_parameters(dependant: Dependant) -> frozenset[str]:
    """The names a route reads from the query string: its own parameters, its dependencies'
    and the fields of a query model (`Annotated[SearchQuery, Query()]`)."""
    names: set[str] = set()
    pending = [dependant]
    while pending:
        current = pending.pop()
        for field in current.query_params:
            model = field.field_info.annotation
            if isinstance(model, type) and issubclass(model, BaseModel):
                names.update(info.alias or name for name, info in model.model_fields.items())
            else:
                names.add(field.alias)
        pending.extend(current.dependencies)
    return frozenset(names)
