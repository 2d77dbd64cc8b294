"""Bearer tokens: OAuth2 client-credentials JWTs signed with RS256, checked for signature,
issuer, audience, expiry and not-before, and read into a `Principal`."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import jwt
from cachetools import TLRUCache
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from jwt.exceptions import (
    ExpiredSignatureError,
    ImmatureSignatureError,
    InvalidAudienceError,
    InvalidIssuerError,
    MissingRequiredClaimError,
    PyJWTError,
)

from jemput.shared.reference.areas import is_area_code
from jemput.shared.security.errors import AuthenticationError
from jemput.shared.security.keys import KeySource
from jemput.shared.security.principal import Principal

# Asymmetric only: with HS256 the verification key could sign tokens, and `none` signs nothing.
ALGORITHM = "RS256"
AREAS_CLAIM = "jemput_areas"
MAX_TOKEN_LENGTH = 16_384
MAX_CLIENT_ID_LENGTH = 128
# A partner sends the same token for its whole lifetime, and an RS256 check costs more than
# the status read it guards. Verified tokens are kept by their hash for at most a minute (and
# never past `exp`), so a key withdrawn from the JWKS stops them within that minute at most.
VERIFIED_CACHE_SIZE = 4096
VERIFIED_CACHE_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class _Verified:
    principal: Principal
    kid: str | None
    key: RSAPublicKey
    expires_at: float


class JwtVerifier:
    def __init__(
        self,
        keys: KeySource,
        *,
        issuer: str,
        audience: str,
        leeway_seconds: float = 30.0,
        cache_size: int = VERIFIED_CACHE_SIZE,
        cache_seconds: float = VERIFIED_CACHE_SECONDS,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.keys = keys
        self.issuer = issuer
        self.audience = audience
        # Clocks of the identity provider and this service differ a little.
        self.leeway_seconds = leeway_seconds
        self._cache_seconds = cache_seconds
        # Wall-clock, because `exp` is; failures are never kept, only verified principals.
        self._verified: TLRUCache[bytes, _Verified] = TLRUCache(
            maxsize=cache_size, ttu=self._keep_until, timer=clock
        )

    def _keep_until(self, _digest: bytes, verified: _Verified, now: float) -> float:
        return min(verified.expires_at, now + self._cache_seconds)

    async def verify(self, token: str) -> Principal:
        if len(token) > MAX_TOKEN_LENGTH:
            raise AuthenticationError("The bearer token is too long.")
        digest = hashlib.sha256(token.encode()).digest()
        known = self._verified.get(digest)
        # Asked again for the key so that a rotated-out key ends the entry at once.
        if known is not None and await self.keys.key_for(known.kid) == known.key:
            return known.principal
        self._verified.pop(digest, None)
        principal, kid, key, expires_at = await self._verify(token)
        if self._cache_seconds > 0:
            self._verified[digest] = _Verified(principal, kid, key, expires_at)
        return principal

    async def _verify(self, token: str) -> tuple[Principal, str | None, RSAPublicKey, float]:
        try:
            header = jwt.get_unverified_header(token)
        except PyJWTError as exc:
            raise AuthenticationError("The bearer token is not a JWT.") from exc
        if header.get("alg") != ALGORITHM:
            raise AuthenticationError(f"Only {ALGORITHM}-signed tokens are accepted.")
        kid = header.get("kid") if isinstance(header.get("kid"), str) else None
        key = await self.keys.key_for(kid)
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[ALGORITHM],
                audience=self.audience,
                issuer=self.issuer,
                leeway=self.leeway_seconds,
                options={"require": ["exp", "iss", "aud"]},
            )
        except ExpiredSignatureError as exc:
            raise AuthenticationError("The token has expired.") from exc
        except ImmatureSignatureError as exc:
            raise AuthenticationError("The token is not valid yet (nbf).") from exc
        except InvalidIssuerError as exc:
            raise AuthenticationError("The token is from another issuer.") from exc
        except InvalidAudienceError as exc:
            raise AuthenticationError("The token is meant for another audience.") from exc
        except MissingRequiredClaimError as exc:
            raise AuthenticationError(f"The token has no `{exc.claim}` claim.") from exc
        except PyJWTError as exc:  # any other flaw: a bad signature, a malformed claim ...
            raise AuthenticationError("The token's signature or claims are invalid.") from exc
        return principal_from_claims(claims), kid, key, float(claims["exp"])


def principal_from_claims(claims: Mapping[str, Any]) -> Principal:
    """Keycloak puts the client in `azp` (and `client_id` in older versions); other providers
    use `client_id` or `sub`. Scopes are OAuth2's space-separated `scope`."""
    client_id = next(
        (claims[name] for name in ("client_id", "azp", "sub") if claims.get(name)), None
    )
    if not isinstance(client_id, str) or len(client_id) > MAX_CLIENT_ID_LENGTH:
        raise AuthenticationError("The token names no client (client_id, azp or sub).")
    return Principal(
        client_id=client_id,
        scopes=_scopes(claims.get("scope")),
        areas=_areas(claims.get(AREAS_CLAIM)),
        kind="jwt",
    )


def _scopes(claim: Any) -> frozenset[str]:
    if claim is None:
        return frozenset()
    if isinstance(claim, str):
        return frozenset(claim.split())
    if isinstance(claim, list) and all(isinstance(s, str) for s in claim):
        return frozenset(claim)
    raise AuthenticationError("The token's `scope` claim is not a space-separated string.")


def _areas(claim: Any) -> tuple[str, ...] | None:
    if claim is None:
        return None
    if isinstance(claim, list) and all(isinstance(c, str) and is_area_code(c) for c in claim):
        return tuple(claim)
    raise AuthenticationError(f"The token's `{AREAS_CLAIM}` claim is not a list of area codes.")
