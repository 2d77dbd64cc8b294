"""Run a service app in-process (real lifespan, real database and Kafka) for HTTP tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from prometheus_client import CollectorRegistry

from jemput.shared.http.app import create_app as create_service_app
from jemput.shared.testing.auth import IssuerForTests, shared_issuer


def bare_app() -> FastAPI:
    """An app of the shared HTTP layer alone (no database, no Kafka), for tests of that layer:
    routes are added to it by the test."""

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield

    async def ready() -> dict[str, str]:
        return {"database": "ok"}

    registry = CollectorRegistry()
    return create_service_app(
        title="t",
        description="t",
        lifespan=lifespan,
        readiness=lambda _: ready,
        registry=lambda _: registry,
    )


@asynccontextmanager
async def app_client(
    create_app: Callable[..., FastAPI],
    settings: Any,
    *,
    issuer: IssuerForTests | None = None,
    scopes: str | None = "admin",
) -> AsyncIterator[tuple[httpx.AsyncClient, FastAPI]]:
    """The app and a client of it. Unless the settings bring their own way to check
    credentials, the app trusts `issuer` (one per test process by default) and the client
    sends a token of it with `scopes` (none with `scopes=None`)."""
    issuer = issuer or shared_issuer()
    if not settings.checks_tokens:
        settings = issuer.configure(settings)
    headers = issuer.headers(scopes) if scopes is not None else {}
    app = create_app(settings)
    async with LifespanManager(app, startup_timeout=60, shutdown_timeout=60) as manager:
        transport = httpx.ASGITransport(app=manager.app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://testserver", headers=headers
        ) as client:
            yield client, app
