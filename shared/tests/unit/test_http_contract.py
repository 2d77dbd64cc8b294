"""What the shared app promises in its OpenAPI document holds for errors: they are documented
as problem documents (FastAPI's own validation error schema is gone), metrics as text, and a
405 names every method of the path in `Allow`; an unreadable JSON body is a 400 and a body in
another media type a 415, both documented on the operations with a body (with 413), and a
create that takes an `Idempotency-Key` documents the 200 of its replay."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
from fastapi import FastAPI, Header
from pydantic import BaseModel

from jemput.shared.http.problems import PROBLEM_JSON, Problem
from jemput.shared.testing.apps import bare_app


class Thing(BaseModel):
    name: str


def make_app() -> FastAPI:
    app = bare_app()

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

    @app.post("/orders", status_code=201)
    async def create_order(
        thing: Thing, idempotency_key: Annotated[str | None, Header()] = None
    ) -> Thing:
        return thing

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


def responses_of(schema: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    responses: dict[str, Any] = schema["paths"][path][method]["responses"]
    return responses


def test_operations_with_a_body_document_400_413_and_415_and_only_they() -> None:
    schema: dict[str, Any] = make_app().openapi()
    assert {"400", "413", "415", "422"} <= set(responses_of(schema, "post", "/things"))
    for method, path in (("get", "/things"), ("post", "/things/{thing_id}:close")):
        assert not {"400", "413", "415"} & set(responses_of(schema, method, path)), path
    too_large = responses_of(schema, "post", "/things")["413"]
    assert too_large["content"] == {
        PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}
    }


def test_a_create_with_an_idempotency_key_documents_its_replay() -> None:
    schema: dict[str, Any] = make_app().openapi()
    responses = responses_of(schema, "post", "/orders")
    assert responses["200"]["content"] == responses["201"]["content"]
    assert "Idempotent-Replayed" in responses["200"]["headers"]
    assert "200" not in responses_of(schema, "post", "/things")  # no key, no replay


async def test_an_unreadable_body_is_a_400_and_another_media_type_a_415() -> None:
    async with client(make_app()) as http:
        broken = await http.post(
            "/things", content=b'{"name": ', headers={"content-type": "application/json"}
        )
        text = await http.post(
            "/things", content=b'{"name": "a"}', headers={"content-type": "text/plain"}
        )
        untyped = await http.post("/things", content=b'{"name": "a"}')
        not_utf8 = await http.post(
            "/things", content=b'{"name": "\xff"}', headers={"content-type": "application/json"}
        )
        fine = await http.post("/things", json={"name": "a"})
        invalid = await http.post("/things", json={"name": 1})
    assert (broken.status_code, broken.headers["content-type"]) == (400, PROBLEM_JSON)
    assert broken.json()["errors"][0]["code"] == "json_invalid"
    assert (text.status_code, untyped.status_code, not_utf8.status_code) == (415, 415, 400)
    assert text.json()["title"] == "Unsupported Media Type"
    assert (fine.status_code, invalid.status_code) == (201, 422)
