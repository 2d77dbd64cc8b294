"""Turns a request's credentials into a `Principal`: a bearer JWT (`Authorization: Bearer`) or
an API key (`X-API-Key`). Built from the settings without I/O; `start` reads the key files."""

from __future__ import annotations

from collections.abc import Mapping

import httpx
import structlog

from jemput.shared.security.api_keys import ApiKeyStore
from jemput.shared.security.errors import AuthenticationError
from jemput.shared.security.jwks import JwksKeySource
from jemput.shared.security.keys import PemKeySource
from jemput.shared.security.principal import Principal
from jemput.shared.security.tokens import JwtVerifier
from jemput.shared.settings import ServiceSettings

log = structlog.get_logger(__name__)

API_KEY_HEADER = "x-api-key"


class Authenticator:
    def __init__(self, settings: ServiceSettings) -> None:
        self.settings = settings
        self._http: httpx.AsyncClient | None = None
        self._jwt: JwtVerifier | None = None
        self._api_keys: ApiKeyStore | None = None

    async def start(self) -> None:
        """Read the key files (and prepare the JWKS client); raises `AuthConfigurationError`."""
        settings = self.settings
        allow_dev = settings.allows_development_credentials
        if settings.auth_public_key_file is not None:
            pem = PemKeySource(settings.auth_public_key_file)
            await pem.load()
            self._jwt = self._verifier(pem)
        elif settings.auth_jwks_url:
            self._http = httpx.AsyncClient(follow_redirects=False)
            jwks = JwksKeySource(
                settings.auth_jwks_url,
                self._http,
                cache_seconds=settings.auth_jwks_cache_seconds,
                allow_development_keys=allow_dev,
            )
            self._jwt = self._verifier(jwks)
        if settings.auth_api_keys_file is not None:
            self._api_keys = ApiKeyStore(
                settings.auth_api_keys_file, allow_development_keys=allow_dev
            )
            await self._api_keys.load()
        if self._jwt is None and self._api_keys is None:
            log.warning(
                "auth.no_verifier",
                hint="every request except health, metrics and docs is refused; "
                "run `jemput auth init` and set AUTH_PUBLIC_KEY_FILE and AUTH_API_KEYS_FILE",
            )

    async def stop(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    def _verifier(self, keys: PemKeySource | JwksKeySource) -> JwtVerifier:
        assert self.settings.auth_issuer is not None  # the settings insist on one
        return JwtVerifier(
            keys, issuer=self.settings.auth_issuer, audience=self.settings.auth_audience
        )

    async def authenticate(self, headers: Mapping[str, str]) -> Principal:
        """Raises `AuthenticationError` (401) or `VerificationUnavailable` (503)."""
        authorization = headers.get("authorization")
        api_key = headers.get(API_KEY_HEADER)
        if authorization is not None and api_key is not None:
            raise AuthenticationError("Send a bearer token or an API key, not both.")
        if authorization is not None:
            return await self._bearer(authorization)
        if api_key is not None:
            return await self._api_key(api_key)
        raise AuthenticationError(
            "Credentials are required: an `Authorization: Bearer` token or an `X-API-Key`."
        )

    async def _bearer(self, authorization: str) -> Principal:
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationError("The Authorization header must be `Bearer <token>`.")
        if self._jwt is None:
            raise AuthenticationError("This service does not accept bearer tokens.")
        return await self._jwt.verify(token.strip())

    async def _api_key(self, key: str) -> Principal:
        if self._api_keys is None:
            raise AuthenticationError("This service does not accept API keys.")
        principal = await self._api_keys.principal_for(key.strip())
        if principal is None:
            raise AuthenticationError("The API key is not valid.")
        return principal
