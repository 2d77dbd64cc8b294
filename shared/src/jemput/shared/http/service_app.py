"""A service's FastAPI app around its `ServiceRuntime`, and the typed dependencies routes use."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from sqlmodel.ext.asyncio.session import AsyncSession
from starlette.middleware import Middleware

from jemput.shared.http.app import HttpMetrics, create_app
from jemput.shared.runtime import ServiceRuntime
from jemput.shared.security.body_limit import BodyLimitMiddleware
from jemput.shared.security.dependencies import routes_without_scope
from jemput.shared.security.guard import GuardMiddleware, RequestGuard
from jemput.shared.security.openapi import document_scopes
from jemput.shared.settings import ServiceSettings


def service_app(
    *,
    title: str,
    description: str,
    settings: ServiceSettings,
    runtime_factory: Callable[[], ServiceRuntime],
    larger_body_limits: Mapping[str, int] | None = None,
    public_paths: Iterable[str] = (),
) -> FastAPI:
    """`larger_body_limits`: exact paths allowed a body over `settings.max_body_bytes` (an
    upload); `public_paths`: paths served without credentials besides health, metrics and
    the API documentation (a dashboard page)."""
    guard = RequestGuard(settings, public_paths=public_paths)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        unguarded = routes_without_scope(app, guard.public_paths)
        if unguarded:
            raise RuntimeError(
                "routes without a scope (add require_scope): " + "; ".join(unguarded)
            )
        await guard.start()
        try:
            runtime = runtime_factory()
            app.state.runtime = runtime
            app.state.http_metrics = HttpMetrics(runtime.registry)
            await runtime.start()
            try:
                yield
            finally:
                await runtime.stop()
        finally:
            await guard.stop()

    app = create_app(
        title=title,
        description=description,
        lifespan=lifespan,
        readiness=lambda app: app.state.runtime.readiness,
        registry=lambda app: app.state.runtime.registry,
        middleware=[
            # Authenticate first: a caller without credentials gets its 401 before any of its
            # body is read.
            Middleware(GuardMiddleware, guard=guard),
            Middleware(
                BodyLimitMiddleware,
                max_bytes=settings.max_body_bytes,
                larger_limits=larger_body_limits,
            ),
        ],
    )
    document_scopes(app)
    return app


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
# scope="function": the transaction commits before the answer is sent. With the default
# ("request") FastAPI sends the answer first, so a process killed in between would have
# acknowledged writes it never committed, and a failed commit could not change the answer.
WriteSession = Annotated[AsyncSession, Depends(get_write_session, scope="function")]
ReadSession = Annotated[AsyncSession, Depends(get_read_session)]
