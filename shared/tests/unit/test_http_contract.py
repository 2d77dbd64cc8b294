"""What the shared app promises in its OpenAPI document holds for errors: they are documented
as problem documents (FastAPI's own validation error schema is gone), metrics as text, and a
405 names every method of the path in `Allow`."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI
from prometheus_client import CollectorRegistry
from pydantic import BaseModel

from jemput.shared.http.app import create_app
from jemput.shared.http.problems import PROBLEM_JSON, Problem


class Thing(BaseModel):
    name: str


def make_app() -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield

    async def ready() -> dict[str, str]:
        return {"database": "ok"}

    registry = CollectorRegistry()
    app = create_app(
        title="t",
        description="t",
        lifespan=lifespan,
        readiness=lambda _: ready,
        registry=lambda _: registry,
    )

    @app.get("/things")
    async def list_things() -> list[Thing]:
        return []

    @app.post(
        "/things",
        status_code=201,
        responses={409: {"model": Problem, "content": {PROBLEM_JSON: {}}}},
    )
    async def create_thing(thing: Thing) -> Thing:
        return thing

    @app.post("/things/{thing_id}:close")
    async def close_thing(thing_id: int) -> dict[str, int]:
        return {"closed": thing_id}

    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


def test_every_documented_error_is_a_problem_document() -> None:
    schema: dict[str, Any] = make_app().openapi()
    errors = {
        f"{method.upper()} {path} {status}": response
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        for status, response in operation["responses"].items()
        if status.startswith(("4", "5"))
    }
    assert {"POST /things 409", "POST /things 422", "GET /readyz 503"} <= set(errors)
    for where, response in errors.items():
        assert response["content"] == {
            PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}
        }, where
    components = schema["components"]["schemas"]
    assert components["Problem"]["required"] == ["title", "status"]
    assert "FieldProblem" in components
    assert "HTTPValidationError" not in components
    assert "ValidationError" not in components


def test_metrics_are_documented_as_text() -> None:
    schema: dict[str, Any] = make_app().openapi()
    content = schema["paths"]["/metrics"]["get"]["responses"]["200"]["content"]
    assert list(content) == ["text/plain"]


async def test_a_wrong_method_names_every_method_of_the_path() -> None:
    async with client(make_app()) as http:
        response = await http.delete("/things")
        custom_method = await http.get("/things/7:close")
    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM_JSON
    assert response.headers["allow"] == "GET, POST"
    assert response.json()["status"] == 405
    assert custom_method.status_code == 405
    assert custom_method.headers["allow"] == "POST"
