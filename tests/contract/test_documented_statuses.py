"""Every operation of every service documents the answers the shared layer gives for it, read
from the routes themselves (so a new route cannot escape): a route with a JSON body 400 (an
unreadable body), 413 and 415; a route that reads its body itself 413 and 415 and what it
reads; a protected route 401 and 403; a route with parameters or a body 422; a create that takes
an `Idempotency-Key` the 200 of its replay. And no operation without a body documents 400, 413
or 415, which it cannot answer."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute, iter_route_contexts

from jemput.analytics.entrypoints.http.app import create_app as analytics_app
from jemput.inventory.entrypoints.http.app import create_app as inventory_app
from jemput.outreach.entrypoints.http.app import create_app as outreach_app
from jemput.residents.entrypoints.http.app import create_app as residents_app
from jemput.shared.security.dependencies import api_operations

SERVICES: dict[str, Callable[[], FastAPI]] = {
    "residents": residents_app,
    "outreach": outreach_app,
    "inventory": inventory_app,
    "analytics": analytics_app,
}
BODY_STATUSES = {"413", "415"}
# How a route that reads its own body does so (the register upload streams it to disk).
RAW_BODY_READS = ("request.stream()", "request.body()", "request.form()")


@dataclass(frozen=True)
class Operation:
    method: str
    path: str
    route: APIRoute
    dependant: Dependant
    scope_required: bool

    def __str__(self) -> str:
        return f"{self.method.upper()} {self.path}"

    @property
    def json_body(self) -> bool:
        return self.route.body_field is not None

    @property
    def raw_body(self) -> bool:
        source = inspect.getsource(self.route.endpoint)
        return any(read in source for read in RAW_BODY_READS)

    @property
    def parameters(self) -> bool:
        return any(d.path_params or d.query_params or d.header_params for d in walk(self.dependant))

    @property
    def takes_idempotency_key(self) -> bool:
        return any(
            (param.alias or param.name).lower().replace("_", "-") == "idempotency-key"
            for d in walk(self.dependant)
            for param in d.header_params
        )


def walk(dependant: Dependant) -> Iterator[Dependant]:
    yield dependant
    for dependency in dependant.dependencies:
        yield from walk(dependency)


def operations(app: FastAPI) -> Iterator[Operation]:
    protected = {
        (method, operation.path)
        for operation in api_operations(app)
        if operation.requirement is not None
        for method in operation.methods
    }
    for context in iter_route_contexts(app.routes):
        route = context.original_route
        if not isinstance(route, APIRoute) or not route.include_in_schema:
            continue
        assert context.dependant is not None
        for method in sorted(context.methods or ()):
            path = str(context.path_format)
            scoped = (method, path) in protected
            yield Operation(method.lower(), path, route, context.dependant, scoped)


def expected(operation: Operation) -> set[str]:
    statuses = set()
    if operation.json_body:
        statuses |= {"400", *BODY_STATUSES}
    if operation.raw_body:
        statuses |= BODY_STATUSES
    if operation.scope_required:
        statuses |= {"401", "403"}
    if operation.parameters or operation.json_body:
        statuses.add("422")
    if operation.takes_idempotency_key:
        statuses.add("200")
    return statuses


@pytest.mark.parametrize("service", list(SERVICES))
def test_every_operation_documents_what_the_shared_layer_answers(service: str) -> None:
    app = SERVICES[service]()
    schema: dict[str, Any] = app.openapi()
    missing, extra, undeclared_bodies = [], [], []
    checked = 0
    for operation in operations(app):
        entry = schema["paths"][operation.path][operation.method]
        documented = set(entry["responses"])
        checked += 1
        if expected(operation) - documented:
            missing.append(f"{operation}: {sorted(expected(operation) - documented)}")
        bodiless = not (operation.json_body or operation.raw_body)
        if bodiless and {"400", *BODY_STATUSES} & documented:
            extra.append(str(operation))
        if operation.raw_body and not entry.get("requestBody", {}).get("content"):
            undeclared_bodies.append(str(operation))
    assert checked > 5
    assert not missing, f"undocumented answers: {missing}"
    assert not extra, f"body answers documented on operations without a body: {extra}"
    assert not undeclared_bodies, f"bodies read but not documented: {undeclared_bodies}"
