"""The OpenAPI document says what the services really send for errors: every 4xx and 5xx
response is `application/problem+json` with the `Problem` schema, FastAPI's own validation
error schema included (the handlers in `problems.py` answer 422 as a problem document too)."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI

from jemput.shared.http.problems import PROBLEM_JSON, Problem

PROBLEM_REF = "#/components/schemas/Problem"
# FastAPI documents every 422 with these; no service ever sends them.
_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def document_problems(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()  # FastAPI caches it; rewriting it again changes nothing
        _rewrite_error_responses(schema)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _rewrite_error_responses(schema: dict[str, Any]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, definition in problem.pop("$defs", {}).items():
        components.setdefault(name, definition)
    components.setdefault("Problem", problem)
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            for status, response in operation.get("responses", {}).items():
                if str(status)[:1] in ("4", "5"):
                    response["content"] = {PROBLEM_JSON: _problem_media(response)}
    for name in _FASTAPI_VALIDATION_SCHEMAS:  # the error first, then what only it refers to
        others = {key: value for key, value in components.items() if key != name}
        if f"#/components/schemas/{name}" not in json.dumps([schema.get("paths"), others]):
            components.pop(name, None)


def _problem_media(response: dict[str, Any]) -> dict[str, Any]:
    """A route's own problem schema (an extension of `Problem`) is kept; anything documented
    as plain JSON is not what is sent."""
    declared = response.get("content", {}).get(PROBLEM_JSON, {})
    if declared.get("schema"):
        return dict(declared)
    return {"schema": {"$ref": PROBLEM_REF}}


def problem_responses(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI entries for the problem documents a route may answer with."""
    return {code: {"model": Problem, "content": {PROBLEM_JSON: {}}} for code in codes}
