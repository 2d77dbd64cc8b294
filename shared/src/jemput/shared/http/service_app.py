"""A service's FastAPI app around its `ServiceRuntime`, and the typed dependencies routes use."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from sqlmodel.ext.asyncio.session import AsyncSession

from jemput.shared.http.app import HttpMetrics, create_app
from jemput.shared.runtime import ServiceRuntime


def service_app(
    *, title: str, description: str, runtime_factory: Callable[[], ServiceRuntime]
) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        runtime = runtime_factory()
        app.state.runtime = runtime
        app.state.http_metrics = HttpMetrics(runtime.registry)
        await runtime.start()
        try:
            yield
        finally:
            await runtime.stop()

    return create_app(
        title=title,
        description=description,
        lifespan=lifespan,
        readiness=lambda app: app.state.runtime.readiness,
        registry=lambda app: app.state.runtime.registry,
    )


def get_runtime(request: Request) -> ServiceRuntime:
    runtime: ServiceRuntime = request.app.state.runtime
    return runtime


async def get_write_session(request: Request) -> AsyncIterator[AsyncSession]:
    """A session in one transaction, committed when the route returns without error."""
    async with get_runtime(request).sessions() as session, session.begin():
        yield session


async def get_read_session(request: Request) -> AsyncIterator[AsyncSession]:
    async with get_runtime(request).read_sessions() as session:
        yield session


RuntimeDep = Annotated[ServiceRuntime, Depends(get_runtime)]
WriteSession = Annotated[AsyncSession, Depends(get_write_session)]
ReadSession = Annotated[AsyncSession, Depends(get_read_session)]
