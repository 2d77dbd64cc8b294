"""Every request except the public operations and documentation paths must authenticate,
before its body is read or a route runs; then the client's rate limit applies. The principal is
left in the request's scope for the routes' scope checks (`dependencies.principal_of`)."""

from __future__ import annotations

from collections.abc import Iterable

import structlog
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from jemput.shared.http.docs import PUBLIC_DOCS_PATHS
from jemput.shared.http.problems import ProblemError, problem_error_response
from jemput.shared.security.authenticator import API_KEY_HEADER, Authenticator
from jemput.shared.security.errors import (
    AuthenticationError,
    VerificationUnavailable,
    too_many_requests,
    unauthenticated,
    verification_unavailable,
)
from jemput.shared.security.principal import PRINCIPAL_SCOPE_KEY, Principal
from jemput.shared.security.rate_limit import RateLimiter
from jemput.shared.settings import ServiceSettings

log = structlog.get_logger(__name__)

# Probes, metrics scrapers and people reading the API documentation (its pages and the files
# they load) carry no credentials.
PUBLIC_PATHS = frozenset({"/healthz", "/readyz", "/metrics"}) | PUBLIC_DOCS_PATHS


class RequestGuard:
    def __init__(self, settings: ServiceSettings, *, public_paths: Iterable[str] = ()) -> None:
        self.authenticator = Authenticator(settings)
        self.limiter = RateLimiter(settings.rate_limit_per_minute)
        self.public_paths = PUBLIC_PATHS | frozenset(public_paths)

    async def start(self) -> None:
        await self.authenticator.start()

    async def stop(self) -> None:
        await self.authenticator.stop()

    def is_public(self, path: str) -> bool:
        return path in self.public_paths

    async def admit(self, scope: Scope) -> Principal:
        """The caller, or a `ProblemError`: 401, 429 (over its rate), 503 (keys unavailable)."""
        headers = Headers(scope=scope)
        try:
            principal = await self.authenticator.authenticate(headers)
        except AuthenticationError as exc:
            # Failures are limited per address: guessing keys or replaying junk tokens costs
            # the sender, and never the clients that authenticate.
            self._spend(f"ip:{_client_address(scope)}")
            log.info("auth.refused", reason=str(exc))
            sent = "authorization" in headers or API_KEY_HEADER in headers
            raise unauthenticated(str(exc), credentials_sent=sent) from exc
        except VerificationUnavailable as exc:
            raise verification_unavailable() from exc
        self._spend(f"client:{principal.client_id}")
        return principal

    def _spend(self, key: str) -> None:
        wait = self.limiter.take(key)
        if wait > 0:
            raise too_many_requests(wait)


class GuardMiddleware:
    def __init__(self, app: ASGIApp, *, guard: RequestGuard) -> None:
        self.app = app
        self.guard = guard

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.guard.is_public(scope["path"]):
            await self.app(scope, receive, send)
            return
        try:
            principal = await self.guard.admit(scope)
        except ProblemError as problem:
            await problem_error_response(Request(scope), problem)(scope, receive, send)
            return
        scope[PRINCIPAL_SCOPE_KEY] = principal
        with structlog.contextvars.bound_contextvars(client_id=principal.client_id):
            await self.app(scope, receive, send)


def _client_address(scope: Scope) -> str:
    # Behind a proxy, uvicorn's --proxy-headers (with --forwarded-allow-ips) puts the real
    # caller here; X-Forwarded-For is not read directly, since anyone can send it.
    client = scope.get("client")
    return str(client[0]) if client else "unknown"
