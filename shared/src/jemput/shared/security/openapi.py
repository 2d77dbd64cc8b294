"""Each operation of the OpenAPI document says which scope it needs and that it may answer
401, 403 and 429: partner agencies read the contract in /docs, not in our code."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from jemput.shared.security.dependencies import ApiOperation, api_operations

REFUSALS = {
    "401": "No credentials, or invalid or expired ones.",
    "403": "The credentials lack the scope, or the data lies outside the client's areas.",
    "429": "Over the client's rate limit; see `Retry-After`.",
}


def document_scopes(app: FastAPI) -> None:
    generate = app.openapi
    described: list[int] = []  # FastAPI regenerates the document when routes change

    def openapi() -> dict[str, Any]:
        schema = generate()
        if id(schema) not in described:
            for operation in api_operations(app):
                _describe(schema, operation)
            described[:] = [id(schema)]
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


def _describe(schema: dict[str, Any], operation: ApiOperation) -> None:
    requirement = operation.requirement
    if requirement is None:
        return
    problem = {"$ref": "#/components/schemas/Problem"}
    has_problem = "Problem" in schema.get("components", {}).get("schemas", {})
    note = f"**Scope:** `{requirement.scope}`"
    if requirement.whole_regency:
        note += " from a client not limited to areas"
    for method in operation.methods:
        entry = schema.get("paths", {}).get(operation.path, {}).get(method.lower())
        if entry is None:
            continue
        entry["description"] = (entry.get("description", "") + "\n\n" + note).strip()
        entry["x-jemput-scope"] = str(requirement.scope)
        responses = entry.setdefault("responses", {})
        for status, text in REFUSALS.items():
            content = {"application/problem+json": {"schema": problem} if has_problem else {}}
            responses.setdefault(status, {"description": text, "content": content})
