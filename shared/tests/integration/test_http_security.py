"""The guard, body limit and scope checks over real HTTP handling of a service app: 401, 403,
413, 429 and 503 as problem documents; public paths open; a route without a scope stops the
start; request logs carry the client and never a NIK."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any

import httpx
import pytest
import structlog
from asgi_lifespan import LifespanManager
from fastapi import APIRouter, Depends, FastAPI, Request

from jemput.shared.http.service_app import service_app
from jemput.shared.logging import configure_logging
from jemput.shared.runtime import ServiceRuntime
from jemput.shared.security import Principal, Scope, require_scope
from jemput.shared.security.api_keys import ApiKeyEntry, hash_api_key, new_api_key, write_entries
from jemput.shared.settings import ServiceSettings
from jemput.shared.testing.auth import IssuerForTests

NIK = "1602055705900012"
UPLOAD_LIMIT = 64 * 1024

Reader = Annotated[Principal, Depends(require_scope(Scope.RESIDENTS_READ))]


def demo_router() -> APIRouter:
    router = APIRouter(prefix="/v1")

    @router.get("/residents/{nik}")
    async def read(nik: str, principal: Reader) -> dict[str, Any]:
        return {"client_id": principal.client_id, "areas": principal.areas}

    @router.post("/notes", dependencies=[Depends(require_scope(Scope.RESIDENTS_WRITE))])
    async def note(body: dict[str, Any]) -> dict[str, int]:
        return {"fields": len(body)}

    @router.post("/uploads", dependencies=[Depends(require_scope(Scope.RESIDENTS_WRITE))])
    async def upload(request: Request) -> dict[str, int]:
        size = 0
        async for piece in request.stream():
            size += len(piece)
        return {"bytes": size}

    return router


def make_app(settings: ServiceSettings, router: APIRouter | None = None) -> FastAPI:
    app = service_app(
        title="t",
        description="t",
        settings=settings,
        runtime_factory=lambda: ServiceRuntime.from_settings(settings),
        larger_body_limits={"/v1/uploads": UPLOAD_LIMIT},
    )
    app.include_router(router or demo_router())
    return app


@pytest.fixture(scope="module")
def issuer(tmp_path_factory: pytest.TempPathFactory) -> IssuerForTests:
    return IssuerForTests(tmp_path_factory.mktemp("auth"))


@pytest.fixture
def api_key(tmp_path: Path) -> tuple[str, Path]:
    key = new_api_key()
    path = tmp_path / "api-keys.json"
    entry = ApiKeyEntry(
        client_id="kiosk",
        key_sha256=hash_api_key(key),
        scopes=["residents:read"],
        areas=["16.02.05"],
    )
    write_entries(path, [entry])
    return key, path


def settings_for(
    tmp_path: Path, kafka_bootstrap: str, kafka_namespace: str, **fields: Any
) -> ServiceSettings:
    return ServiceSettings(
        database_url=f"sqlite+aiosqlite:///{tmp_path / 'guard.db'}",
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_namespace=kafka_namespace,
        **fields,
    )


@pytest.fixture
async def client(
    tmp_path: Path,
    kafka_bootstrap: str,
    kafka_namespace: str,
    issuer: IssuerForTests,
    api_key: tuple[str, Path],
) -> AsyncIterator[httpx.AsyncClient]:
    settings = issuer.configure(
        settings_for(
            tmp_path,
            kafka_bootstrap,
            kafka_namespace,
            auth_api_keys_file=api_key[1],
            max_body_bytes=4096,
            rate_limit_per_minute=1000,
        )
    )
    async with serve(make_app(settings)) as http:
        yield http


@asynccontextmanager
async def serve(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    """An app's lifespan and an HTTP client of it."""
    async with LifespanManager(app, startup_timeout=30) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            yield http


def assert_problem(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    problem: dict[str, Any] = response.json()
    assert problem["status"] == status
    return problem


async def test_no_or_bad_credentials_are_a_401_with_a_bearer_challenge(
    client: httpx.AsyncClient, issuer: IssuerForTests
) -> None:
    missing = await client.get(f"/v1/residents/{NIK}")
    assert_problem(missing, 401)
    assert missing.headers["www-authenticate"] == 'Bearer realm="jemput"'
    assert "x-request-id" in missing.headers

    token = issuer.token("residents:read", lifetime=-timedelta(minutes=5))
    expired = await client.get(f"/v1/residents/{NIK}", headers={"Authorization": f"Bearer {token}"})
    problem = assert_problem(expired, 401)
    assert "expired" in problem["detail"]
    assert 'error="invalid_token"' in expired.headers["www-authenticate"]
    assert token not in expired.text

    unknown_key, good_token = "jk_" + "A" * 43, issuer.token()
    for headers in (
        {"Authorization": "Basic dXNlcjpwYXNz"},
        {"Authorization": "Bearer"},
        {"X-API-Key": unknown_key},
        {"X-API-Key": "x", "Authorization": f"Bearer {good_token}"},  # one at a time
    ):
        answer = await client.get(f"/v1/residents/{NIK}", headers=headers)
        assert_problem(answer, 401)
        for secret in ("dXNlcjpwYXNz", unknown_key, good_token):
            assert secret not in answer.text


async def test_a_good_token_or_api_key_reaches_the_route(
    client: httpx.AsyncClient, issuer: IssuerForTests, api_key: tuple[str, Path]
) -> None:
    by_token = await client.get(
        f"/v1/residents/{NIK}",
        headers=issuer.headers("residents:read", client_id="dinsos", areas=["16.02"]),
    )
    assert by_token.status_code == 200
    assert by_token.json() == {"client_id": "dinsos", "areas": ["16.02"]}
    by_key = await client.get(f"/v1/residents/{NIK}", headers={"X-API-Key": api_key[0]})
    assert by_key.status_code == 200
    assert by_key.json() == {"client_id": "kiosk", "areas": ["16.02.05"]}


async def test_a_missing_scope_is_a_403(
    client: httpx.AsyncClient, issuer: IssuerForTests, api_key: tuple[str, Path]
) -> None:
    partner = issuer.headers("residents:status", client_id="bpjs")
    problem = assert_problem(await client.get(f"/v1/residents/{NIK}", headers=partner), 403)
    assert "residents:read" in problem["detail"]
    kiosk = {"X-API-Key": api_key[0]}
    assert_problem(await client.post("/v1/notes", json={"a": 1}, headers=kiosk), 403)


async def test_public_paths_need_no_credentials(client: httpx.AsyncClient) -> None:
    for path in ("/healthz", "/metrics", "/openapi.json", "/docs", "/redoc"):
        assert (await client.get(path)).status_code == 200, path
    assert (await client.get("/readyz")).status_code in (200, 503)
    assert_problem(await client.get("/nowhere"), 401)  # unknown paths reveal nothing


async def test_the_documentation_pages_load_their_files_from_the_service(
    client: httpx.AsyncClient,
) -> None:
    for page in ("/docs", "/redoc"):
        answer = await client.get(page)
        assert answer.status_code == 200, page
        assert "/docs-assets/" in answer.text and "cdn" not in answer.text, page
        policy = answer.headers["content-security-policy"]
        assert policy.startswith("default-src 'self'; script-src 'self' "), page
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css", "redoc.standalone.js", "favicon.png"):
        assert (await client.get(f"/docs-assets/{asset}")).status_code == 200, asset
    # Only the files the pages load are public.
    assert_problem(await client.get("/docs-assets/nothing.js"), 401)


async def test_the_openapi_document_names_each_operation_scope(client: httpx.AsyncClient) -> None:
    document = (await client.get("/openapi.json")).json()
    read = document["paths"]["/v1/residents/{nik}"]["get"]
    assert read["x-jemput-scope"] == "residents:read"
    assert "`residents:read`" in read["description"]
    assert {"401", "403", "429"} <= set(read["responses"])
    assert {"HTTPBearer", "APIKeyHeader"} <= set(document["components"]["securitySchemes"])


async def test_bodies_over_the_limit_are_a_413(
    client: httpx.AsyncClient, issuer: IssuerForTests
) -> None:
    writer = issuer.headers("residents:write")
    big = json.dumps({"padding": "x" * 5000})
    declared = await client.post(
        "/v1/notes", content=big, headers={**writer, "content-type": "application/json"}
    )
    problem = assert_problem(declared, 413)
    assert problem["title"] == "Content Too Large" and "4 KiB" in problem["detail"]

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: counted as it streams
        for _ in range(10):
            yield b"x" * 1000

    streamed = await client.post(
        "/v1/notes", content=chunks(), headers={**writer, "content-type": "application/json"}
    )
    assert_problem(streamed, 413)

    small = await client.post("/v1/notes", json={"a": 1, "b": 2}, headers=writer)
    assert small.json() == {"fields": 2}
    upload = await client.post("/v1/uploads", content=b"y" * 20_000, headers=writer)
    assert upload.json() == {"bytes": 20_000}  # the upload route's own, larger limit
    too_big = await client.post("/v1/uploads", content=b"y" * (UPLOAD_LIMIT + 1), headers=writer)
    assert_problem(too_big, 413)
    nobody = await client.post("/v1/notes", content=big)
    assert_problem(nobody, 401)  # authentication comes before the body


async def test_over_the_rate_a_client_gets_429_with_retry_after(
    tmp_path: Path, kafka_bootstrap: str, kafka_namespace: str, issuer: IssuerForTests
) -> None:
    settings = issuer.configure(
        settings_for(tmp_path, kafka_bootstrap, kafka_namespace, rate_limit_per_minute=3)
    )
    async with serve(make_app(settings)) as http:
        busy = issuer.headers("residents:read", client_id="busy")
        answers = [await http.get(f"/v1/residents/{NIK}", headers=busy) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        problem = assert_problem(answers[-1], 429)
        assert int(answers[-1].headers["retry-after"]) >= 1
        assert problem["title"] == "Too Many Requests"
        calm = issuer.headers("residents:read", client_id="calm")
        assert (await http.get(f"/v1/residents/{NIK}", headers=calm)).status_code == 200
        # Requests that fail to authenticate spend their address's allowance.
        failures = [(await http.get(f"/v1/residents/{NIK}")).status_code for _ in range(4)]
        assert failures == [401, 401, 401, 429]
        assert (await http.get("/healthz")).status_code == 200  # probes are never limited


async def test_an_unreachable_identity_provider_is_a_503_not_a_401(
    tmp_path: Path, kafka_bootstrap: str, kafka_namespace: str, issuer: IssuerForTests
) -> None:
    settings = settings_for(
        tmp_path,
        kafka_bootstrap,
        kafka_namespace,
        auth_jwks_url="http://127.0.0.1:9/certs",  # the discard port: nothing answers
        auth_issuer="https://sso/realms/oki",
    )
    async with serve(make_app(settings)) as http:
        answer = await http.get(f"/v1/residents/{NIK}", headers=issuer.headers())
        assert_problem(answer, 503)
        assert answer.headers["retry-after"]


async def test_a_route_without_a_scope_stops_the_start(
    tmp_path: Path, kafka_bootstrap: str, kafka_namespace: str, issuer: IssuerForTests
) -> None:
    router = demo_router()

    @router.get("/forgotten")
    async def forgotten() -> dict[str, str]:
        return {}

    app = make_app(
        issuer.configure(settings_for(tmp_path, kafka_bootstrap, kafka_namespace)), router
    )
    with pytest.raises(RuntimeError, match="GET /v1/forgotten"):
        async with LifespanManager(app):
            pass


async def test_a_development_api_key_stops_a_production_start(
    tmp_path: Path, kafka_bootstrap: str, kafka_namespace: str
) -> None:
    path = tmp_path / "api-keys.json"
    write_entries(
        path,
        [
            ApiKeyEntry(
                client_id="dev-admin", key_sha256="0" * 64, scopes=["admin"], development=True
            )
        ],
    )
    settings = settings_for(
        tmp_path,
        kafka_bootstrap,
        kafka_namespace,
        environment="production",
        auth_api_keys_file=path,
    )
    with pytest.raises(Exception, match="development keys"):
        async with LifespanManager(make_app(settings)):
            pass


@pytest.fixture
def json_logs() -> Iterator[io.StringIO]:
    """The service's JSON log lines, as production writes them."""
    configure_logging(level="INFO", json=True)
    buffer = io.StringIO()
    handler = logging.getLogger().handlers[0]
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)
    try:
        yield buffer
    finally:
        structlog.reset_defaults()
        logging.getLogger().handlers.clear()


async def test_request_logs_carry_the_client_and_never_a_nik(
    json_logs: io.StringIO,
    tmp_path: Path,
    kafka_bootstrap: str,
    kafka_namespace: str,
    issuer: IssuerForTests,
) -> None:
    settings = issuer.configure(settings_for(tmp_path, kafka_bootstrap, kafka_namespace))
    async with serve(make_app(settings)) as http:
        await http.get(f"/v1/residents/{NIK}", headers=issuer.headers(client_id="bpjs"))
        await http.get(f"/v1/residents/{NIK}?q={NIK}")
    output = json_logs.getvalue()
    assert NIK not in output
    lines = [json.loads(line) for line in output.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line.get("event") == "http.request"]
    assert [(r["route"], r["status"], r.get("client_id")) for r in requests] == [
        ("/v1/residents/{nik}", 200, "bpjs"),
        ("unmatched", 401, None),
    ]
    assert any(line.get("event") == "auth.refused" for line in lines)
