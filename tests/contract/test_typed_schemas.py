"""What the OpenAPI documents say of the data itself: every NIK (a path or query parameter, a
field of a body or of an answer) carries the NIK's pattern, in every service; the register
import documents the file it takes, its job's `state` values and its error list."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi import FastAPI

from jemput.analytics.entrypoints.http.app import create_app as analytics_app
from jemput.inventory.entrypoints.http.app import create_app as inventory_app
from jemput.outreach.entrypoints.http.app import create_app as outreach_app
from jemput.residents.entrypoints.http.app import create_app as residents_app
from jemput.shared.nik import NIK_PATTERN

SERVICES: dict[str, Callable[[], FastAPI]] = {
    "residents": residents_app,
    "outreach": outreach_app,
    "inventory": inventory_app,
    "analytics": analytics_app,
}
NIK_NAMES = ("nik", "niks")
# The offline batch takes any text as an item's NIK: a bad one rejects that item only, so the
# document cannot forbid it (the single upload's body does carry the pattern).
UNCHECKED_BY_DESIGN = {"outreach": {"components/schemas/BatchRecording/properties/nik"}}


def nik_schemas(node: Any, where: str = "") -> Iterator[tuple[str, Any]]:
    """Every schema of a NIK in the document: properties and parameters named nik or niks."""
    if isinstance(node, dict):
        if node.get("in") in ("path", "query") and node.get("name") in NIK_NAMES:
            yield f"{where}/{node['name']}", node["schema"]
        for key, value in node.items():
            if key == "properties" and isinstance(value, dict):
                for name in NIK_NAMES:
                    if name in value:
                        yield f"{where}/properties/{name}", value[name]
            yield from nik_schemas(value, f"{where}/{key}".lstrip("/"))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield from nik_schemas(value, f"{where}/{index}")


def patterns(schema: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(schema, dict):
        if "pattern" in schema:
            found.add(schema["pattern"])
        for key in ("anyOf", "items"):
            value = schema.get(key)
            for part in value if isinstance(value, list) else [value]:
                found |= patterns(part)
    return found


@pytest.mark.parametrize("service", list(SERVICES))
def test_every_nik_carries_its_pattern(service: str) -> None:
    schema = SERVICES[service]().openapi()
    found = dict(nik_schemas(schema))
    unpatterned = [
        where
        for where, nik in found.items()
        if NIK_PATTERN not in patterns(nik) and where not in UNCHECKED_BY_DESIGN.get(service, set())
    ]
    assert found or service == "analytics"
    assert not unpatterned, unpatterned


def test_the_register_import_documents_its_file_state_and_errors() -> None:
    schema: dict[str, Any] = residents_app().openapi()
    upload = schema["paths"]["/v1/import-jobs"]["post"]
    assert upload["requestBody"]["required"] is True
    assert {"text/csv", "application/x-ndjson"} <= set(upload["requestBody"]["content"])
    components = schema["components"]["schemas"]
    job = components["ImportJobPublic"]["properties"]
    assert job["state"]["enum"] == ["queued", "running", "succeeded", "failed"]
    assert job["file_format"]["enum"] == ["csv", "ndjson"]
    errors = schema["paths"]["/v1/import-jobs/{job_id}/errors"]["get"]["responses"]["200"]
    page_ref = errors["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    items = components[page_ref]["properties"]["items"]["items"]["$ref"].rsplit("/", 1)[-1]
    assert items == "ImportErrorPublic"
    assert set(components[items]["required"]) == {"line", "field", "code", "reason"}
