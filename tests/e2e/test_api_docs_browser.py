"""The API documentation of each of the four services (served by uvicorn on a loopback port,
real database and Kafka) in headless Chromium on a network without internet: every request to a
host other than the service's own is aborted and recorded. `/docs` (Swagger UI) lists every
operation of the service's OpenAPI document, `/redoc` renders them too, no request was made
off the machine, and the pages and their files answer without credentials while the API does
not."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from jemput.analytics.entrypoints.http.app import create_app as analytics_app
from jemput.analytics.settings import AnalyticsSettings
from jemput.inventory.entrypoints.http.app import create_app as inventory_app
from jemput.inventory.settings import InventorySettings
from jemput.outreach.entrypoints.http.app import create_app as outreach_app
from jemput.outreach.settings import OutreachSettings
from jemput.residents.entrypoints.http.app import create_app as residents_app
from jemput.residents.settings import ResidentsSettings
from jemput.shared.settings import ServiceSettings
from jemput.shared.testing.auth import shared_issuer
from jemput.shared.testing.browser import ARGS as CHROMIUM_ARGS
from jemput.shared.testing.browser import CHROMIUM, needs_chromium
from jemput.shared.testing.fixtures import migrate
from jemput.shared.testing.fleet import free_port

if TYPE_CHECKING:
    from playwright.async_api import Route

SERVICES: dict[str, tuple[Callable[..., FastAPI], type[ServiceSettings]]] = {
    "residents": (residents_app, ResidentsSettings),
    "outreach": (outreach_app, OutreachSettings),
    "inventory": (inventory_app, InventorySettings),
    "analytics": (analytics_app, AnalyticsSettings),
}
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}
ASSETS = {
    "/docs-assets/swagger-ui-bundle.js",
    "/docs-assets/swagger-ui.css",
    "/docs-assets/redoc.standalone.js",
    "/openapi.json",
}

pytestmark = [
    pytest.mark.kafka,
    pytest.mark.slow,
    needs_chromium,
]


@asynccontextmanager
async def serving(app: FastAPI) -> AsyncIterator[str]:
    """The app under uvicorn on a free loopback port, in this event loop; its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_config=None, access_log=False)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            await task
            raise RuntimeError("the server stopped before it started")
        await asyncio.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def only_to(own: str, off_machine: list[str]) -> Callable[[Route], Awaitable[None]]:
    """A route handler letting requests to `own` (host:port) through; any other is aborted, as
    on an office network without internet, and recorded."""

    async def handle(route: Route) -> None:
        if urlsplit(route.request.url).netloc == own:
            await route.continue_()
        else:
            off_machine.append(route.request.url)
            await route.abort()

    return handle


def operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        operation
        for item in document["paths"].values()
        for method, operation in item.items()
        if method in METHODS
    ]


@pytest.mark.parametrize("service", list(SERVICES))
async def test_docs_and_redoc_render_offline_from_the_service_itself(
    service: str, tmp_path: Path, kafka_bootstrap: str, kafka_namespace: str
) -> None:
    from playwright.async_api import async_playwright, expect

    create_app, settings_class = SERVICES[service]
    database_url = f"sqlite+aiosqlite:///{tmp_path / f'{service}.db'}"
    await migrate(service, database_url)
    settings = settings_class(
        database_url=database_url,
        kafka_bootstrap_servers=kafka_bootstrap,
        kafka_namespace=kafka_namespace,
        relay_enabled=False,
        consumer_enabled=False,
    )
    app = create_app(shared_issuer().configure(settings))
    async with serving(app) as url, async_playwright() as playwright:
        async with httpx.AsyncClient(base_url=url, timeout=10) as client:
            document = (await client.get("/openapi.json")).json()
            assert (await client.get("/v1/nothing-here")).status_code == 401
        expected = operations(document)
        assert expected
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = await browser.new_context()
            off_machine: list[str] = []
            await context.route("**/*", only_to(urlsplit(url).netloc, off_machine))
            page = await context.new_page()
            answers: list[tuple[str, int]] = []
            page.on("response", lambda r: answers.append((r.url, r.status)))

            await page.goto(url + "/docs")
            summaries = page.locator(".opblock .opblock-summary")
            await expect(summaries.first).to_be_visible(timeout=30_000)
            await expect(summaries).to_have_count(len(expected))
            first = expected[0]["summary"]
            described = page.locator(".opblock-summary-description", has_text=first)
            await expect(described.first).to_be_visible()

            await page.goto(url + "/redoc")
            # ReDoc shows each operation in a section, under a heading of its summary.
            heading = page.locator("h2", has_text=first).first
            await expect(heading).to_be_visible(timeout=30_000)
            sections = page.locator("[data-section-id*='/operation/']")
            await expect(sections).to_have_count(len(expected))
        finally:
            await browser.close()

    assert off_machine == []
    assert [(u, status) for u, status in answers if status >= 400] == []
    assert {urlsplit(u).path for u, _ in answers} >= ASSETS
