"""What every answer of the shared app carries and refuses: `Cache-Control: no-store` and
`X-Content-Type-Options: nosniff` on every answer (problem documents and unhandled errors
included), a caller's `X-Request-ID` only when short and plain, and a 422 problem for any
query parameter the operation does not declare (its own, a dependency's, a query model's)."""

from __future__ import annotations

from typing import Annotated, Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI, Query
from pydantic import BaseModel, ConfigDict

from jemput.shared.http.pagination import PageSize, PageToken
from jemput.shared.http.problems import PROBLEM_JSON
from jemput.shared.testing.apps import bare_app


class Filters(BaseModel):
    model_config = ConfigDict(extra="forbid")

    village: str | None = None
    page_size: int = 10


def area(district: Annotated[str | None, Query()] = None) -> str | None:
    return district


def purpose(purpose: Annotated[str | None, Query()] = None) -> str | None:
    return purpose


def make_app() -> FastAPI:
    app = bare_app()

    @app.get("/plain")
    async def plain() -> dict[str, str]:
        return {"nik": "1602050403800001"}

    @app.get("/pages")
    async def pages(
        page_size: PageSize = 50,
        page_token: PageToken = None,
        from_: Annotated[str | None, Query(alias="from")] = None,
        district: Annotated[str | None, Depends(area)] = None,
    ) -> dict[str, Any]:
        return {"page_size": page_size, "page_token": page_token, "from": from_, "d": district}

    @app.get("/model")
    async def model(filters: Annotated[Filters, Query()]) -> Filters:
        return filters

    @app.post("/things/{thing_id}:close")
    async def close(thing_id: int) -> dict[str, int]:
        return {"closed": thing_id}

    @app.get("/bug")
    async def bug() -> None:
        raise ValueError("a bug")

    # A parameter that only the inclusion of a router adds (a dependency of all its routes).
    router = APIRouter(prefix="/v1/items")

    @router.get("")
    async def items(limit: int = 1) -> dict[str, int]:
        return {"limit": limit}

    app.include_router(router, dependencies=[Depends(purpose)])
    return app


def client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://t")


async def test_every_answer_is_not_stored_and_not_sniffed() -> None:
    async with client(make_app()) as http:
        answers = {
            "200": await http.get("/plain"),
            "404": await http.get("/nothing-here"),
            "405": await http.get("/things/1:close"),
            "422": await http.get("/pages", params={"page_size": "0"}),
            "500": await http.get("/bug"),
            "health": await http.get("/healthz"),
            "docs": await http.get("/openapi.json"),
        }
    for what, answer in answers.items():
        assert answer.headers["cache-control"] == "no-store", what
        assert answer.headers["x-content-type-options"] == "nosniff", what
        assert answer.headers["x-request-id"], what
    assert answers["500"].status_code == 500
    assert answers["500"].headers["content-type"] == PROBLEM_JSON


@pytest.mark.parametrize(
    ("given", "kept"),
    [
        ("req-42", True),
        ("a" * 64, True),
        ("Office.Batch_7-2026", True),
        ("a" * 65, False),
        ("", False),
        ("req 42", False),
        ("req-42\u00e9", False),
        ("<script>", False),
        ("a,b", False),
    ],
)
async def test_a_request_id_is_kept_only_when_short_and_plain(given: str, kept: bool) -> None:
    async with client(make_app()) as http:
        answer = await http.get("/plain", headers={b"x-request-id": given.encode()})
    request_id = answer.headers["x-request-id"]
    if kept:
        assert request_id == given
    else:
        assert request_id != given
        assert len(request_id) == 32 and int(request_id, 16) >= 0  # a generated one


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/plain", {"nikk": "1"}),
        ("/pages", {"page_size": "5", "pagesize": "5"}),
        ("/pages", {"district_code": "16.02.05"}),
        ("/model", {"villag": "16.02.05.1001"}),
        ("/healthz", {"verbose": "1"}),
        ("/v1/items", {"purpose": "x", "limt": "2"}),
    ],
)
async def test_an_undeclared_query_parameter_is_a_422_problem(
    path: str, params: dict[str, str]
) -> None:
    async with client(make_app()) as http:
        answer = await http.get(path, params=params)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == PROBLEM_JSON
    (unknown,) = set(params) - {"page_size", "purpose"}
    assert answer.json()["errors"] == [
        {"field": unknown, "code": "extra_forbidden", "reason": "Extra inputs are not permitted"}
    ]


async def test_declared_parameters_still_work_and_unknown_ones_are_all_named() -> None:
    async with client(make_app()) as http:
        pages = await http.get(
            "/pages",
            params={"page_size": "5", "page_token": "abc", "from": "x", "district": "16.02.05"},
        )
        model = await http.get("/model", params={"village": "16.02.05.1001", "page_size": "3"})
        closed = await http.post("/things/7:close")
        included = await http.get("/v1/items", params={"purpose": "audit", "limit": "2"})
        several = await http.post("/things/7:close", params=[("a", "1"), ("b", "2"), ("a", "3")])
    assert pages.json() == {"page_size": 5, "page_token": "abc", "from": "x", "d": "16.02.05"}
    assert model.json() == {"village": "16.02.05.1001", "page_size": 3}
    assert closed.json() == {"closed": 7}
    assert included.json() == {"limit": 2}
    assert several.status_code == 422
    assert [e["field"] for e in several.json()["errors"]] == ["a", "b"]


def test_every_operation_documents_its_422() -> None:
    schema: dict[str, Any] = make_app().openapi()
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            response = operation["responses"].get("422")
            assert response is not None, f"{method.upper()} {path}"
            assert response["content"] == {
                PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}
            }
