"""The OpenAPI document says what the services really send: every 4xx and 5xx response is
`application/problem+json` with the `Problem` schema, FastAPI's own validation error schema
included (the handlers in `problems.py` answer 422 as a problem document too), and every
operation lists the answers the shared layer gives for it (`document_shared_answers`)."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from fastapi import FastAPI

from jemput.shared.http.problems import PROBLEM_JSON, Problem
from jemput.shared.http.types import year_range_pattern

PROBLEM_REF = "#/components/schemas/Problem"
REPLAYED_HEADER = "Idempotent-Replayed"
# What the shared layer answers for any operation with a request body, whatever the route does.
BODY_ANSWERS = {
    "413": "The body is larger than the route accepts (`MAX_BODY_BYTES`, or an upload's own).",
    "415": "The body is not in a media type the route reads (see its request body).",
}
JSON_BODY_ANSWER = (
    "400",
    "The body cannot be read: not valid JSON, or not UTF-8 text.",
)
REPLAY_DESCRIPTION = (
    "A replay: an earlier request with the same `Idempotency-Key` and body made it; its answer "
    "again (`Idempotent-Replayed: true`), and nothing is done twice."
)
# FastAPI documents every 422 with these; no service ever sends them.
_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")


def document_problems(app: FastAPI) -> None:
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()  # FastAPI caches it; rewriting it again changes nothing
        document_shared_answers(schema)
        _standard_bounds(schema)
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


def document_shared_answers(schema: dict[str, Any]) -> None:
    """Adds to each operation what the shared layer may answer for it, derived from the
    operation itself: 413 and 415 for a request body, 400 for a JSON one (unreadable JSON, see
    `problems.py`), and 200 with the created answer's body for a create that takes an
    `Idempotency-Key` (the replay). Routes declare their own 404 and 409."""
    for path_item in schema.get("paths", {}).values():
        for operation in path_item.values():
            responses = operation.setdefault("responses", {})
            media_types = operation.get("requestBody", {}).get("content", {})
            if not media_types:
                continue
            if any(is_json(media_type) for media_type in media_types):
                status, description = JSON_BODY_ANSWER
                responses.setdefault(status, {"description": description})
            for status, description in BODY_ANSWERS.items():
                responses.setdefault(status, {"description": description})
            if not takes_idempotency_key(operation):
                continue
            if "201" in responses:
                responses.setdefault("200", replay_of(responses["201"]))
            elif "200" in responses:  # a write that answers 200 replays its 200
                headers = responses["200"].setdefault("headers", {})
                headers.setdefault(REPLAYED_HEADER, replay_of({})["headers"][REPLAYED_HEADER])


def is_json(media_type: str) -> bool:
    kind = media_type.split(";")[0].strip().lower()
    return kind == "application/json" or kind.endswith("+json")


def takes_idempotency_key(operation: dict[str, Any]) -> bool:
    return any(
        parameter.get("in") == "header" and parameter.get("name", "").lower() == "idempotency-key"
        for parameter in operation.get("parameters", [])
    )


def replay_of(created: dict[str, Any]) -> dict[str, Any]:
    """The 200 of a replayed create: the body of its 201, and the header that says so."""
    return {
        "description": REPLAY_DESCRIPTION,
        "headers": {
            REPLAYED_HEADER: {
                "description": "`true`: this answer is the replay of an earlier request.",
                "schema": {"type": "string", "enum": ["true"]},
            }
        },
        **({"content": created["content"]} if "content" in created else {}),
    }


def replay_response(model: type[Any], description: str) -> dict[int | str, dict[str, Any]]:
    """The 200 of a create whose resend is recognised by its body (the same record again):
    `description` says what makes a resend the same."""
    return {200: {"model": model, "description": description}}


# Pydantic's names of bounds that it leaves in a schema it cannot place them in (a parameter
# of a date, a number with a validator of its own in a union), and JSON Schema's.
_NUMBER_BOUNDS = {
    "ge": "minimum",
    "le": "maximum",
    "gt": "exclusiveMinimum",
    "lt": "exclusiveMaximum",
}


def _standard_bounds(node: Any) -> None:
    """Bounds left as `ge`, `le`, `gt` or `lt`, which JSON Schema does not know, become what it
    knows: `minimum` and the like for a number, `year_range_pattern` for a date."""
    if isinstance(node, list):
        for item in node:
            _standard_bounds(item)
        return
    if not isinstance(node, dict):
        return
    if node.get("type") in ("integer", "number"):
        for bound, keyword in _NUMBER_BOUNDS.items():
            if bound in node:
                node[keyword] = node.pop(bound)
    if node.get("format") in ("date", "date-time") and {"ge", "le"} <= node.keys():
        try:
            pattern = year_range_pattern(
                date.fromisoformat(str(node["ge"])[:10]), date.fromisoformat(str(node["le"])[:10])
            )
        except ValueError:
            pattern = None
        if pattern is not None:
            node.pop("ge")
            node.pop("le")
            node["pattern"] = pattern
    for value in node.values():
        _standard_bounds(value)
