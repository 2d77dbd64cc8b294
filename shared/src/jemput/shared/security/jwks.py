"""Public keys from a JWKS URL (Keycloak: `.../realms/<realm>/protocol/openid-connect/certs`),
cached for a while and fetched again when a token names a key id not seen yet (the identity
provider rotated its keys). Fetches are throttled, so tokens with made-up key ids cannot make
this service hammer the identity provider, and during its outage requests do not each wait for
a fetch to time out."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import httpx
import structlog
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jwt import PyJWK
from jwt.exceptions import PyJWKError

from jemput.shared.security.development import is_development_key_id
from jemput.shared.security.errors import AuthenticationError, VerificationUnavailable
from jemput.shared.security.keys import MIN_RSA_BITS

log = structlog.get_logger(__name__)

FETCH_TIMEOUT_SECONDS = 5.0


class JwksKeySource:
    def __init__(
        self,
        url: str,
        http: httpx.AsyncClient,
        *,
        cache_seconds: float = 300.0,
        min_refetch_seconds: float = 30.0,
        retry_seconds: float = 5.0,
        allow_development_keys: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.url = url
        self._http = http
        self._cache_seconds = cache_seconds
        self._min_refetch_seconds = min_refetch_seconds
        self._retry_seconds = retry_seconds
        self._allow_development_keys = allow_development_keys
        self._clock = clock
        self._keys: dict[str, RSAPublicKey] = {}
        self._fetched_at: float | None = None
        self._attempted_at: float | None = None
        self._failed_at: float | None = None
        self._generation = 0
        self._lock = asyncio.Lock()

    async def key_for(self, kid: str | None) -> RSAPublicKey:
        if self._stale() and not self._recently_failed():
            await self._refresh()
        if not self._keys:
            raise VerificationUnavailable(f"no signing keys from {self.url} yet")
        key = self._lookup(kid)
        if key is None and self._may_refetch() and not self._recently_failed():
            await self._refresh()
            key = self._lookup(kid)
        if key is None:
            raise AuthenticationError("The token is signed with a key this service does not know.")
        return key

    def _stale(self) -> bool:
        return self._fetched_at is None or self._clock() - self._fetched_at > self._cache_seconds

    def _recently_failed(self) -> bool:
        return self._failed_at is not None and self._clock() - self._failed_at < self._retry_seconds

    def _lookup(self, kid: str | None) -> RSAPublicKey | None:
        if kid is None:
            # A token without `kid` is acceptable only while the issuer has one signing key.
            return next(iter(self._keys.values())) if len(self._keys) == 1 else None
        return self._keys.get(kid)

    def _may_refetch(self) -> bool:
        return (
            self._attempted_at is None
            or self._clock() - self._attempted_at >= self._min_refetch_seconds
        )

    async def _refresh(self) -> None:
        generation = self._generation
        async with self._lock:
            if self._generation != generation:
                return  # another request fetched while this one waited
            self._attempted_at = self._clock()
            try:
                response = await self._http.get(self.url, timeout=FETCH_TIMEOUT_SECONDS)
                response.raise_for_status()
                keys = self._signing_keys(response.json())
            except (httpx.HTTPError, ValueError) as exc:
                # Stale keys beat no keys: an identity provider outage must not lock out
                # callers whose tokens were signed with keys we already know.
                log.warning("auth.jwks_unavailable", url=self.url, error=type(exc).__name__)
                self._failed_at = self._clock()
                self._generation += 1
                return
            self._keys = keys
            self._fetched_at = self._clock()
            self._failed_at = None
            self._generation += 1

    def _signing_keys(self, document: Any) -> dict[str, RSAPublicKey]:
        entries = document.get("keys") if isinstance(document, dict) else None
        if not isinstance(entries, list):
            raise ValueError("the JWKS document has no `keys` list")
        keys: dict[str, RSAPublicKey] = {}
        for entry in entries:
            key = self._signing_key(entry)
            if key is not None:
                keys[entry["kid"]] = key
        return keys

    def _signing_key(self, entry: Any) -> RSAPublicKey | None:
        if not isinstance(entry, dict) or not isinstance(entry.get("kid"), str):
            return None
        if entry.get("kty") != "RSA" or entry.get("use", "sig") != "sig":
            return None  # e.g. Keycloak's RSA-OAEP encryption key
        if entry.get("alg", "RS256") != "RS256":
            return None
        if is_development_key_id(entry["kid"]) and not self._allow_development_keys:
            log.error("auth.development_key_refused", kid=entry["kid"], url=self.url)
            return None
        try:
            key = PyJWK(entry).key
        except PyJWKError:
            return None
        if not isinstance(key, RSAPublicKey) or key.key_size < MIN_RSA_BITS:
            return None
        return key
