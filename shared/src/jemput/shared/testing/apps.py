"""Run a service app in-process (real lifespan, real database and Kafka) for HTTP tests."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from jemput.shared.testing.auth import IssuerForTests, shared_issuer


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
