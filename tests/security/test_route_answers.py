"""Every route of every service, enumerated from the app itself: a query parameter the route
does not declare is a 422 problem (a misspelled audit filter included, instead of every entry);
a method the path does not take is a 405 naming every method it does in `Allow`; and each of
these answers, like the data they stand beside, is not to be stored (`Cache-Control: no-store`)
or sniffed (`X-Content-Type-Options: nosniff`), and carries a request id that is the caller's
only when short and plain."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from jemput.analytics.entrypoints.http.app import create_app as analytics_app
from jemput.analytics.settings import AnalyticsSettings
from jemput.inventory.entrypoints.http.app import create_app as inventory_app
from jemput.inventory.settings import InventorySettings
from jemput.outreach.entrypoints.http.app import create_app as outreach_app
from jemput.outreach.settings import OutreachSettings
from jemput.residents.entrypoints.http.app import create_app as residents_app
from jemput.residents.settings import ResidentsSettings
from jemput.shared.security.dependencies import api_operations
from jemput.shared.settings import ServiceSettings
from jemput.shared.testing.apps import app_client
from jemput.shared.testing.fixtures import migrate

pytestmark = pytest.mark.kafka

SERVICES: dict[str, tuple[Callable[..., FastAPI], type[ServiceSettings]]] = {
    "residents": (residents_app, ResidentsSettings),
    "outreach": (outreach_app, OutreachSettings),
    "inventory": (inventory_app, InventorySettings),
    "analytics": (analytics_app, AnalyticsSettings),
}
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
UNKNOWN = {"field": "no_such_filter", "code": "extra_forbidden"}
PROBLEM_JSON = "application/problem+json"


@dataclass
class Service:
    name: str
    client: httpx.AsyncClient
    app: FastAPI


@pytest.fixture(params=list(SERVICES))
async def service(
    request: pytest.FixtureRequest, database_url: str, kafka_bootstrap: str, kafka_namespace: str
) -> AsyncIterator[Service]:
    name = request.param
    create_app, settings_class = SERVICES[name]
    await migrate(name, database_url)
    settings = settings_class(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_namespace=kafka_namespace,
        rate_limit_per_minute=100_000,
    )
    async with app_client(create_app, settings) as (client, app):
        # Partners state their purpose (residents' audit log); other routes ignore it.
        client.headers["X-Purpose"] = "route answers test"
        yield Service(name, client, app)


def filled(path: str) -> str:
    """A path with every parameter given (a number fits `{id:int}` and text alike): the query
    is refused before anything is looked up."""
    return re.sub(r"{\w+(?::\w+)?}", "1", path)


def answer_problems(answer: httpx.Response) -> list[str]:
    problems = []
    if answer.headers.get("cache-control") != "no-store":
        problems.append(f"Cache-Control {answer.headers.get('cache-control')}")
    if answer.headers.get("x-content-type-options") != "nosniff":
        problems.append("no nosniff")
    if answer.headers.get("content-type") != PROBLEM_JSON:
        problems.append(f"content type {answer.headers.get('content-type')}")
    return problems


async def test_every_route_refuses_an_unknown_query_parameter(service: Service) -> None:
    failures = []
    operations = api_operations(service.app)
    assert any("GET" in operation.methods for operation in operations)
    for operation in operations:
        for method in sorted(operation.methods - {"HEAD"}):
            answer = await service.client.request(
                method, filled(operation.path), params={"no_such_filter": "x"}
            )
            where = f"{method} {operation.path}"
            if answer.status_code != 422:
                failures.append(f"{where}: {answer.status_code} {answer.text[:200]}")
                continue
            errors = [{k: e[k] for k in ("field", "code")} for e in answer.json()["errors"]]
            if errors != [UNKNOWN]:
                failures.append(f"{where}: {errors}")
            failures.extend(f"{where}: {problem}" for problem in answer_problems(answer))
    assert not failures, "\n".join(failures)


async def test_every_route_documents_its_422(service: Service) -> None:
    schema = service.app.openapi()
    missing = [
        f"{method.upper()} {path}"
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if "422" not in operation["responses"]
    ]
    assert not missing


def template_pattern(path: str) -> re.Pattern[str]:
    return re.compile(re.sub(r"{\w+(?::\w+)?}", "[^/]+", path) + "$")


async def test_a_wrong_method_is_405_naming_every_method_of_the_path(service: Service) -> None:
    operations = api_operations(service.app)
    templates = [(template_pattern(op.path), op.methods) for op in operations]
    failures = []
    for url in sorted({filled(op.path) for op in operations}):
        # Every route answering this URL (`/v1/sessions/1:start` is also a session id).
        methods = set().union(*(m for pattern, m in templates if pattern.match(url)))
        wrong = next(m for m in METHODS if m not in methods)
        answer = await service.client.request(wrong, url)
        if answer.status_code != 405:
            failures.append(f"{wrong} {url}: {answer.status_code}")
            continue
        if answer.headers.get("allow") != ", ".join(sorted(methods)):
            failures.append(f"{wrong} {url}: Allow {answer.headers.get('allow')}")
        failures.extend(f"{wrong} {url}: {problem}" for problem in answer_problems(answer))
    assert not failures, "\n".join(failures)


# A list of personal or office data of each service.
DATA = {
    "residents": ("/v1/residents", {}),
    "outreach": ("/v1/teams", {}),
    "inventory": ("/v1/print-jobs", {}),
    # Not coverage nor progress: their answers (counts of an area, nobody's data) are
    # revalidated instead, see the test below.
    "analytics": ("/v1/at-risk", {"area": "16.02"}),
}


async def test_answers_are_not_stored_and_request_ids_are_plain(service: Service) -> None:
    listing, params = DATA[service.name]
    given = {"office-batch.7_2026": True, "x" * 65: False, "id with spaces": False, "": False}
    for path, status in ((listing, 200), ("/healthz", 200), ("/v1/no-such-route", 404)):
        for request_id, kept in given.items():
            answer = await service.client.get(
                path, params=params if path == listing else {}, headers={"X-Request-ID": request_id}
            )
            assert answer.status_code == status, (path, answer.text)
            assert answer.headers["cache-control"] == "no-store", path
            assert answer.headers["x-content-type-options"] == "nosniff", path
            echoed = answer.headers["x-request-id"]
            if kept:
                assert echoed == request_id, path
            else:
                assert echoed != request_id and re.fullmatch("[0-9a-f]{32}", echoed), path


@pytest.mark.parametrize("path", ["/v1/coverage", "/v1/progress"])
async def test_coverage_and_progress_are_kept_privately_and_revalidated_each_time(
    service: Service, path: str
) -> None:
    if service.name != "analytics":
        pytest.skip("coverage and progress are analytics'")
    answer = await service.client.get(path, params={"area": "16.02"})
    assert answer.status_code == 200, answer.text
    # Never by a shared cache, never used without asking (the ETag makes asking cheap).
    assert answer.headers["cache-control"] == "private, no-cache"
    assert answer.headers["etag"].startswith('W/"')
    assert answer.headers["x-content-type-options"] == "nosniff"


async def test_a_misspelled_audit_filter_is_refused(service: Service) -> None:
    if not any(op.path == "/v1/audit/entries" for op in api_operations(service.app)):
        pytest.skip(f"{service.name} keeps no audit log")
    auditor = service.client
    spelled = await auditor.get("/v1/audit/entries", params={"client_id": "nobody"})
    misspelled = await auditor.get("/v1/audit/entries", params={"clientid": "nobody"})
    assert spelled.status_code == 200, spelled.text
    assert spelled.json()["items"] == []
    # Before, the misspelled filter was ignored and every entry was listed.
    assert misspelled.status_code == 422, misspelled.text
    assert [(e["field"], e["code"]) for e in misspelled.json()["errors"]] == [
        ("clientid", "extra_forbidden")
    ]
