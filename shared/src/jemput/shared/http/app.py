"""The FastAPI app every service starts from: problems, request ids, health, metrics."""

from __future__ import annotations

import re
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import structlog
from fastapi import Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware import Middleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jemput.shared import tracing
from jemput.shared.http.docs import install_docs
from jemput.shared.http.openapi import document_problems, problem_responses
from jemput.shared.http.problems import install_problem_handlers, problem_response
from jemput.shared.http.query import refuse_unknown_query
from jemput.shared.security.principal import PRINCIPAL_SCOPE_KEY

log = structlog.get_logger(__name__)

OPERATIONS_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})
# A caller's request id is taken only if it is short and plain: it goes into every log line
# and back into the answer, so it must not be able to forge or flood either.
REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# On every answer: none may be kept by a browser or a proxy (most name residents), and none is
# to be read as anything but its declared type. A response may set its own Cache-Control (the
# analytics dashboard page, which holds no data, and analytics' coverage, counts of areas with
# an ETag, are revalidated instead).
ANSWER_HEADERS = {"cache-control": "no-store", "x-content-type-options": "nosniff"}

ReadinessCheck = Callable[[], Awaitable[dict[str, str]]]
Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def create_app(
    *,
    title: str,
    description: str,
    lifespan: Lifespan,
    readiness: Callable[[FastAPI], ReadinessCheck],
    registry: Callable[[FastAPI], CollectorRegistry],
    version: str = "1.0.0",
    middleware: Sequence[Middleware] = (),
) -> FastAPI:
    """A service app; `readiness` and `registry` read what the lifespan put on `app.state`.

    `middleware` (outermost first) runs inside the request context, so its responses carry
    the request id and are logged too.
    """
    # The documentation pages are the service's own, with their files (no CDN).
    app = FastAPI(
        title=title,
        description=description,
        version=version,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
        # Every operation refuses query parameters it does not declare, and says so.
        dependencies=[Depends(refuse_unknown_query)],
        responses=problem_responses(422),
    )
    install_docs(app)
    install_problem_handlers(app)
    document_problems(app)
    for layer in reversed(middleware):  # each add_middleware wraps the ones added before
        app.add_middleware(layer.cls, *layer.args, **layer.kwargs)

    # Outermost of the service's layers, added last.
    app.add_middleware(RequestContextMiddleware)

    @app.get("/healthz", tags=["operations"], summary="The process is alive")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="The database and Kafka are reachable",
        responses={503: {"description": "A dependency is not reachable"}},
    )
    async def readyz(request: Request) -> Response:
        checks = await readiness(request.app)()
        if all(v == "ok" for v in checks.values()):
            return JSONResponse({"status": "ready", "checks": checks})
        return problem_response(
            request,
            503,
            "Service Unavailable",
            "A dependency is not reachable: "
            + ", ".join(k for k, v in checks.items() if v != "ok"),
        )

    @app.get(
        "/metrics",
        tags=["operations"],
        summary="Prometheus metrics",
        response_class=PlainTextResponse,  # the text exposition format, as documented
    )
    async def metrics(request: Request) -> Response:
        return Response(generate_latest(registry(request.app)), media_type=CONTENT_TYPE_LATEST)

    return app


class HttpMetrics:
    def __init__(self, registry: CollectorRegistry) -> None:
        self.requests = Counter(
            "jemput_http_requests",
            "HTTP requests",
            ["method", "route", "status"],
            registry=registry,
        )
        self.latency = Histogram(
            "jemput_http_request_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=registry,
            buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5),
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)


class RequestContextMiddleware:
    """Each request's id, trace, metrics, log line and common headers.

    Plain ASGI rather than `@app.middleware("http")`: Starlette's `BaseHTTPMiddleware` runs
    the rest of the app in a task of its own and streams the answer through a memory channel,
    which was a fixed cost on every request (the largest in a profile of `/healthz`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        request_id = _request_id(headers.get("x-request-id"))
        started = time.perf_counter()
        status = 500
        response_started = False
        structlog.contextvars.bind_contextvars(request_id=request_id)
        # Events this request publishes carry its trace (the caller's, or a new one).
        with tracing.continued(headers.get(tracing.TRACEPARENT)) as traceparent:

            async def send_with_context(message: Message) -> None:
                nonlocal status, response_started
                if message["type"] == "http.response.start":
                    response_started = True
                    status = message["status"]
                    answer = MutableHeaders(scope=message)
                    answer["x-request-id"] = request_id
                    answer[tracing.TRACEPARENT] = traceparent
                    for name, value in ANSWER_HEADERS.items():
                        answer.setdefault(name, value)
                await send(message)

            try:
                await self.app(scope, receive, send_with_context)
            except Exception as exc:
                if response_started:
                    raise
                # Starlette would answer an unhandled error outside every middleware, without
                # the request id and the headers above; answered here, it has them.
                request = Request(scope, receive)
                handler = scope["app"].exception_handlers[Exception]
                await (await handler(request, exc))(scope, receive, send_with_context)
            finally:
                structlog.contextvars.unbind_contextvars("request_id")
                self._record(scope, request_id, status, time.perf_counter() - started, traceparent)

    @staticmethod
    def _record(
        scope: Scope, request_id: str, status: int, elapsed: float, traceparent: str
    ) -> None:
        route = scope.get("route")
        # The route's template (/v1/residents/{nik}), never the path itself: paths hold NIKs.
        path = getattr(route, "path", "unmatched")
        metrics = getattr(scope["app"].state, "http_metrics", None)
        if metrics is not None:
            metrics.observe(scope["method"], path, status, elapsed)
        # Probes and scrapes every few seconds would drown the requests people make.
        write = log.debug if path in OPERATIONS_PATHS else log.info
        write(
            "http.request",
            request_id=request_id,
            method=scope["method"],
            route=path,
            status=status,
            duration_ms=round(elapsed * 1000, 1),
            client_id=_client_id(scope),
            trace_id=tracing.trace_id_of(traceparent),
        )


def _request_id(given: str | None) -> str:
    if given is not None and REQUEST_ID.fullmatch(given):
        return given
    return uuid.uuid4().hex


def _client_id(scope: Scope) -> str | None:
    """The authenticated caller, left in the request's scope by the guard middleware."""
    principal = scope.get(PRINCIPAL_SCOPE_KEY)
    return getattr(principal, "client_id", None)


def state(app: FastAPI, name: str) -> Any:
    return getattr(app.state, name)
